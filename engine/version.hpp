// hookd's version, as sent in User-Agent and Server headers.
#pragma once

namespace hookd::engine {

inline constexpr const char* k_version = "0.1.0";
inline constexpr const char* k_user_agent = "hookd/0.1.0";

}  // namespace hookd::engine
