// The stable names of error kinds, as stored in the attempt log and shown by the
// API; changing one changes the stored data's meaning.

#include "engine/http/error_kind.hpp"

namespace hookd::engine {

std::string_view to_string(error_kind k) noexcept {
  switch (k) {
    case error_kind::none:
      return "none";
    case error_kind::timeout:
      return "timeout";
    case error_kind::connect:
      return "connect";
    case error_kind::tls:
      return "tls";
    case error_kind::dns:
      return "dns";
    case error_kind::http_status:
      return "http_status";
    case error_kind::protocol:
      return "protocol";
    case error_kind::blocked_destination:
      return "blocked_destination";
    case error_kind::origin_unavailable:
      return "origin_unavailable";
  }
  return "none";
}

}  // namespace hookd::engine
