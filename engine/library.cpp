// The one source of libhookd itself (engine/CMakeLists.txt): the rest of the library is
// hookd_engine and hookd_store, linked whole.
#include "hookd/version.hpp"

namespace hookd {

const char* library_version() noexcept { return HOOKD_VERSION_STRING; }

}  // namespace hookd
