// The example modules (each in its own .cc, registered with BRIGADE_MODULE), for tests that
// register them one by one.

#ifndef EXAMPLES_EXAMPLES_H_
#define EXAMPLES_EXAMPLES_H_

#include "server/module.h"

namespace brigade::examples {

server::Module BasicAuthModule();  // basic-auth, require-user; AuthName, AuthUser, RequireUser
server::Module CountModule();      // count
server::Module DenyFromModule();   // deny-from; DenyFrom
server::Module HelloModule();      // hello
server::Module StackedModule();    // stacked; StackedLog
server::Module UppercaseModule();  // the UPPERCASE filter

}  // namespace brigade::examples

#endif  // EXAMPLES_EXAMPLES_H_
