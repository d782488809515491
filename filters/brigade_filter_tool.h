// brigade-filter: streams stdin (or --in FILE, read as file ranges) through filters, exactly in
// the order named, to stdout (or --out FILE).
//
//   bazel run //:brigade-filter -- DEFLATE:level=9 < in > out.gz
//
// Each named filter is a stage of one stream with its own message: an output filter transforms
// what reaches it; an input filter (DECHUNK) decodes the stream at that point. Kinds do not
// reorder the stages here, as they do in a server's chains.
//
// Exit status: 0 on success, 1 when a filter fails (a one-line message on stderr names the
// filter and the byte offset; everything produced before the failure has been written),
// 2 for bad usage.
//
// The tool is a function of its filter registry, so that a binary with more filters (made with
// brigade_filter_binary, see docs/MODULES.md) runs the same tool over them.

#ifndef FILTERS_BRIGADE_FILTER_TOOL_H_
#define FILTERS_BRIGADE_FILTER_TOOL_H_

#include "filters/registry.h"

namespace brigade::filters {

// Runs the tool with `argv` over the filters in `registry`; returns the exit status.
int RunBrigadeFilter(int argc, char** argv, const FilterRegistry& registry);

}  // namespace brigade::filters

#endif  // FILTERS_BRIGADE_FILTER_TOOL_H_
