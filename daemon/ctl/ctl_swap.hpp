// How mlockctl shows the swap a child backs (SwapDevice, SwapState, SwapError,
// SwapSizeBytes, SwapUsedBytes): status lines, the --json member, the metrics.
#pragma once

#include <string>

#include "ctl/ctl_format.hpp"

namespace duende::supervisor {

// Whether the child backs a swap: a device known, or a state other than "off".
bool has_swap(const CtlChild& c);
// "NAME: swap /dev/loop7 on, 37 MiB used of 128 MiB" (the state when not on: "off",
// "activating", "deactivating"); "" for a child without swap. A failed one is trouble:
// "NAME: swap /dev/loop7 failed: WHY".
std::string swap_line(const CtlChild& c);
// Appends the swap metric families to `out`: sizes and use of children with a device,
// and the state of every child that backs a swap.
void swap_metrics(std::string& out, const CtlSnapshot& s);

}  // namespace duende::supervisor
