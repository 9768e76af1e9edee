// Reading what a request carries besides its body: Content-Type, paging query
// parameters, strict unsigned integers.
#include "api/request_parsing.hpp"

#include <cctype>
#include <charconv>

namespace hookd::api {

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty() || s.size() > 20 || s[0] == '+' || s[0] == '-') return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

bool is_json_content_type(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  std::string lower(media);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "application/json" ||
         (lower.starts_with("application/") && lower.ends_with("+json"));
}

page_params read_page_params(const boost::urls::url_view& target,
                             std::vector<engine::field_error>& problems) {
  page_params p;
  for (auto param : target.params()) {
    if (param.key == "limit") {
      auto v = parse_u64(param.value);
      if (!v || *v < 1 || *v > engine::k_max_page_size) {
        problems.push_back(
            {"limit", "must be an integer from 1 to " + std::to_string(engine::k_max_page_size)});
      } else {
        p.limit = *v;
      }
    } else if (param.key == "after") {
      p.after = param.value;
    } else if (param.key == "status") {
      p.status = param.value;
    }
  }
  return p;
}

std::uint64_t webhook_after(const page_params& params, std::vector<engine::field_error>& problems) {
  if (!params.after) return 0;
  if (auto v = parse_u64(*params.after)) return *v;
  problems.push_back({"after", "must be a webhook id (a non-negative integer)"});
  return 0;
}

}  // namespace hookd::api
