// `mlockctl watch`: changes as they happen, in words (ctl_watch_filter.hpp) or as JSON
// lines, through the supervisor going away and coming back.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

namespace duende::supervisor {

// Runs until interrupted (or the bus goes away: exit 69). Never starts the supervisor:
// when it is not running, says so and waits for it (NameOwnerChanged).
int run_watch(sdbus::IConnection& connection, bool json);

}  // namespace duende::supervisor
