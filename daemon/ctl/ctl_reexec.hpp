// `mlockctl reexec`: asks for a re-exec in place and waits until the new image answers.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

namespace duende::supervisor {

// Prints format_reexec() and returns 0; throws CtlError (exit 1) when the re-exec was
// refused, failed, or not seen within 60 s.
int run_reexec(sdbus::IConnection& connection, bool json);

}  // namespace duende::supervisor
