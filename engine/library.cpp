// The one source of libhookd itself (engine/CMakeLists.txt): the rest of the library is
// hookd_engine, linked whole, and the parts of hookd_store it uses.
#include "hookd/version.hpp"

namespace hookd {

const char* library_version() noexcept { return HOOKD_VERSION_STRING; }

}  // namespace hookd
