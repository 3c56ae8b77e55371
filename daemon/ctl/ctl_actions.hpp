// mlockctl start, stop, restart and reload: the call, then the wait for its outcome.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include "ctl/ctl_args.hpp"

namespace duende::supervisor {

// `mlockctl start|stop|restart NAME`: prints the outcome (ctl_outcome.hpp); the exit
// status: 0 done or already so, 1 failed or timed out. Throws CtlError for a refusal.
int run_child_action(sdbus::IConnection& connection, const CtlArgs& args);

// `mlockctl reload`: prints what changed and waits for the changed children; 0, or 1 when
// the configuration was rejected or a changed child did not settle. With --main-pid and
// no supervisor on the bus (or no bus: `connection` null), SIGHUP to that pid instead.
int run_reload(sdbus::IConnection* connection, const CtlArgs& args);

}  // namespace duende::supervisor
