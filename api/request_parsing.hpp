// Reading what a request carries besides its body: the Content-Type check, the
// paging query parameters, and the strict unsigned integers of ids and limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/url/url_view.hpp>

#include "hookd/engine/failure.hpp"
#include "hookd/engine/webhook_service.hpp"

namespace hookd::api {

// Decimal digits only (no sign, no spaces), within uint64; nullopt otherwise.
std::optional<std::uint64_t> parse_u64(std::string_view s);

// application/json or application/<anything>+json, any case, parameters ignored.
bool is_json_content_type(std::string_view content_type);

// The limit, after and status query parameters shared by the paginated lists.
struct page_params {
  std::size_t limit = engine::k_default_page_size;  // 1 to engine::k_max_page_size
  std::optional<std::string> after;                 // checked by the list that uses it
  std::optional<std::string> status;                // checked by the list that uses it
};

// Appends a problem to `problems` for a limit that is not an integer in range.
page_params read_page_params(const boost::urls::url_view& target,
                             std::vector<engine::field_error>& problems);

// The webhook id a list of webhooks starts after (0: from the first); appends a problem
// for an `after` that is not one.
std::uint64_t webhook_after(const page_params& params, std::vector<engine::field_error>& problems);

}  // namespace hookd::api
