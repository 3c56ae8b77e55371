// Compiled as if it were a file of the part it is built for (see CMakeLists.txt): in
// daemon/bus it must compile; in the parts below it the include must fail.
#if defined(PROBE_SD_BUS)
#include <systemd/sd-bus.h>
int probe() { return sd_bus_message_ref(nullptr) == nullptr; }
#else
#include <sdbus-c++/sdbus-c++.h>
int probe() { return sdbus::Error("a.b", "c").getName().size() > 0; }
#endif
