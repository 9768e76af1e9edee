// Routing of the admin API: patterns split once into segments, a request's path
// compared segment by segment; 404 and 405 decided here, answered by the router.
#include "api/route_table.hpp"

#include <stdexcept>
#include <utility>

#include "api/request_parsing.hpp"

namespace hookd::api {
namespace {

// "/a/b" → {"a", "b"}; "/" → {}. The caller has checked the leading slash.
std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  if (path.empty()) return out;
  for (;;) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    path.remove_prefix(slash + 1);
  }
}

}  // namespace

route_table::route_table(std::vector<route> routes) : routes_(std::move(routes)) {
  for (const auto& r : routes_) {
    auto bad = [&](std::string_view why) {
      return std::invalid_argument("route " + std::string(r.method) + " " + std::string(r.pattern) +
                                   ": " + std::string(why));
    };
    if (r.handle == nullptr) throw bad("no handler");
    if (r.method.empty()) throw bad("no method");
    if (!r.pattern.starts_with('/')) throw bad("the pattern must start with /");
    path_entry* entry = nullptr;
    for (auto& p : paths_) {
      if (p.pattern == r.pattern) entry = &p;
    }
    if (entry == nullptr) {
      path_entry p;
      p.pattern = r.pattern;
      bool has_id = false;
      bool has_uuid = false;
      for (auto text : split(r.pattern)) {
        if (text == "{id}") {
          if (std::exchange(has_id, true)) throw bad("{id} twice");
          p.segments.push_back({segment_kind::id, {}});
        } else if (text == "{path}") {
          p.segments.push_back({segment_kind::rest, {}});
        } else if (text == "{uuid}") {
          if (std::exchange(has_uuid, true)) throw bad("{uuid} twice");
          p.segments.push_back({segment_kind::uuid, {}});
        } else if (text.empty() || text.find_first_of("{}") != std::string_view::npos) {
          throw bad("segments are literals, {id}, {uuid} or {path}");
        } else {
          p.segments.push_back({segment_kind::literal, text});
        }
      }
      for (std::size_t i = 0; i + 1 < p.segments.size(); ++i) {
        if (p.segments[i].kind == segment_kind::rest) throw bad("{path} must be the last segment");
      }
      p.open = r.access == route_access::open;
      p.for_operator = r.access == route_access::operator_token;
      p.token_only = r.access == route_access::token_only;
      paths_.push_back(std::move(p));
      entry = &paths_.back();
    } else if (entry->open != (r.access == route_access::open) ||
               entry->for_operator != (r.access == route_access::operator_token) ||
               entry->token_only != (r.access == route_access::token_only)) {
      throw bad("the routes of one pattern must agree on access");
    }
    for (const route* other : entry->routes) {
      if (other->method == r.method) throw bad("listed twice");
    }
    entry->routes.push_back(&r);
    if (!entry->allow.empty()) entry->allow += ", ";
    entry->allow += r.method;
  }
}

route_match route_table::find(std::string_view method, std::string_view path) const {
  route_match m;
  if (!path.starts_with('/')) {
    m.not_found = "no route for " + std::string(path);
    return m;
  }
  std::string_view trimmed = path;
  if (trimmed.size() > 1 && trimmed.ends_with('/')) trimmed.remove_suffix(1);
  const auto parts = split(trimmed);

  for (const auto& p : paths_) {
    const bool has_rest = !p.segments.empty() && p.segments.back().kind == segment_kind::rest;
    if (has_rest ? parts.size() < p.segments.size() : p.segments.size() != parts.size()) continue;
    bool matched = true;
    std::string bad_parameter;
    route_match candidate;
    for (std::size_t i = 0; i < p.segments.size() && matched; ++i) {
      const auto& s = p.segments[i];
      switch (s.kind) {
        case segment_kind::literal:
          matched = parts[i] == s.text;
          break;
        case segment_kind::id:
          if (auto id = parse_u64(parts[i])) {
            candidate.id = *id;
          } else {
            bad_parameter = "webhook " + std::string(parts[i]) + " not found";
          }
          break;
        case segment_kind::uuid:
          if (parts[i].empty()) bad_parameter = "delivery not found";
          candidate.uuid = parts[i];
          break;
        case segment_kind::rest:
          // From this segment to the end of the (trimmed) path.
          candidate.rest =
              trimmed.substr(static_cast<std::size_t>(parts[i].data() - trimmed.data()));
          break;
      }
    }
    if (!matched) continue;
    // The shape fits but a parameter cannot name anything: 404 whatever the method,
    // unless a later pattern takes the path.
    if (!bad_parameter.empty()) {
      if (m.not_found.empty()) m.not_found = std::move(bad_parameter);
      continue;
    }
    candidate.pattern = p.pattern;
    candidate.open = p.open;
    candidate.for_operator = p.for_operator;
    candidate.token_only = p.token_only;
    for (const route* r : p.routes) {
      if (r->method == method) candidate.found = r;
    }
    if (candidate.found == nullptr) candidate.allow = p.allow;
    return candidate;
  }
  if (m.not_found.empty()) m.not_found = "no route for " + std::string(path);
  return m;
}

}  // namespace hookd::api
