// The example modules (each in its own .cc, registered with BRIGADE_MODULE), for tests that
// register them one by one.

#ifndef EXAMPLES_EXAMPLES_H_
#define EXAMPLES_EXAMPLES_H_

#include "module/module.h"

namespace brigade::examples {

modules::Module BasicAuthModule();  // basic-auth, require-user; AuthName, AuthUser, RequireUser
modules::Module CountModule();      // count
modules::Module DenyFromModule();   // deny-from; DenyFrom
modules::Module HelloModule();      // hello
modules::Module StackedModule();    // stacked; StackedLog
modules::Module UppercaseModule();  // the UPPERCASE filter

}  // namespace brigade::examples

#endif  // EXAMPLES_EXAMPLES_H_
