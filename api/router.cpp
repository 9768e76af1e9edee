#include "api/router.hpp"

#include <charconv>
#include <optional>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

#include "engine/encoding.hpp"
#include "engine/delivery/payload.hpp"

namespace hookd::api {
namespace {

namespace json = boost::json;
using engine::failure;
using engine::webhook_record;

std::string to_body(const json::value& v) { return json::serialize(v); }

response json_response(unsigned status, const json::value& v) { return {status, to_body(v), {}}; }

response failure_response(const failure& f) {
  unsigned status = 500;
  std::string_view code = "internal";
  if (f.code == errc::invalid_argument) {
    status = 422;
    code = "validation_failed";
  } else if (f.code == errc::malformed_input) {
    status = 400;
    code = "malformed_json";
  } else if (f.code == errc::not_found) {
    status = 404;
    code = "not_found";
  } else if (f.code == errc::already_exists) {
    status = 409;
    code = "conflict";
  } else if (f.code == errc::storage_busy || f.code == errc::shutting_down) {
    status = 503;
    code = "unavailable";
  }
  json::object error{{"code", code}, {"message", f.message}};
  if (!f.details.empty()) {
    json::array details;
    for (const auto& d : f.details) {
      details.push_back(json::object{{"field", d.field}, {"message", d.message}});
    }
    error["details"] = std::move(details);
  }
  return json_response(status, json::object{{"error", std::move(error)}});
}

json::object webhook_json(const webhook_record& r, const engine::event_catalog& catalog,
                          bool with_secret) {
  // Settings list every catalog type, so clients see what they could subscribe to.
  json::object settings;
  for (const auto& type : catalog.types()) settings[type] = r.subscribes_to(type);
  json::object o{
      {"id", r.id},         {"name", r.name},
      {"active", r.active}, {"settings", std::move(settings)},
      {"url", r.url},       {"http_method", r.http_method},
  };
  o["retry_schedule"] =
      r.retry_schedule.empty() ? json::value(nullptr) : json::value(r.retry_schedule);
  if (with_secret) o["secret"] = r.secret;
  o["disabled_reason"] =
      r.disabled_reason.empty() ? json::value(nullptr) : json::value(r.disabled_reason);
  o["created_at"] = engine::format_rfc3339(r.created_at_ms);
  o["updated_at"] = engine::format_rfc3339(r.updated_at_ms);
  return o;
}

json::value time_or_null(const std::optional<std::int64_t>& ms) {
  return ms ? json::value(engine::format_rfc3339(*ms)) : json::value(nullptr);
}

json::object delivery_json(const engine::delivery_view& d, bool with_attempts) {
  json::object o{
      {"uuid", d.uuid},
      {"webhook_id", d.webhook_id},
      {"event_id", d.event_id},
      {"event_type", d.event_type},
      {"status", d.status},
      {"created_at", engine::format_rfc3339(d.created_at_ms)},
      {"updated_at", engine::format_rfc3339(d.updated_at_ms)},
      {"attempt_count", d.attempt_count},
      {"next_attempt_at", time_or_null(d.next_attempt_at_ms)},
  };
  if (with_attempts) {
    json::array attempts;
    for (const auto& a : d.attempts) {
      attempts.push_back(json::object{
          {"number", a.number},
          {"at", engine::format_rfc3339(a.at_ms)},
          {"duration_ms", a.duration_ms},
          {"status_code", a.status_code ? json::value(*a.status_code) : json::value(nullptr)},
          {"error_kind", a.error_kind.empty() ? json::value(nullptr) : json::value(a.error_kind)},
          {"error", a.error.empty() ? json::value(nullptr) : json::value(a.error)},
          {"response_excerpt", a.response_excerpt},
          {"manual", a.manual},
      });
    }
    o["attempts"] = std::move(attempts);
  }
  return o;
}

// limit and after query parameters shared by the paginated lists.
struct page_params {
  std::size_t limit = engine::k_default_page_size;
  std::optional<std::string> after;
  std::optional<std::string> status;
};

std::optional<std::uint64_t> parse_u64(std::string_view s);

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

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty() || s.size() > 20 || s[0] == '+' || s[0] == '-') return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

bool is_json_content_type(std::string_view ct) {
  const auto semi = ct.find(';');
  std::string_view media = ct.substr(0, semi);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  std::string lower(media);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "application/json" ||
         (lower.starts_with("application/") && lower.ends_with("+json"));
}

response unsupported_media_type(std::string_view content_type) {
  return router::error(415, "unsupported_media_type",
                       content_type.empty() ? "Content-Type must be application/json"
                                            : "Content-Type must be application/json, got " +
                                                  std::string(content_type));
}

response method_not_allowed(std::string_view method, std::string allow) {
  response r = router::error(405, "method_not_allowed",
                             std::string(method) + " is not allowed here; allowed: " + allow);
  r.allow = std::move(allow);
  return r;
}

}  // namespace

router::router(engine::engine& engine, const token_store& tokens)
    : engine_(engine), webhooks_(engine.webhooks()), tokens_(tokens) {}

response router::error(unsigned status, std::string_view code, std::string_view message) {
  return json_response(status,
                       json::object{{"error", json::object{{"code", code}, {"message", message}}}});
}

response router::handle(const request& req) const {
  auto target = boost::urls::parse_origin_form(req.target);
  if (!target) return error(400, "bad_request", "the request target is not a valid path");
  const std::string path = target->path();

  if (path == "/healthz") {
    if (req.method != "GET") return method_not_allowed(req.method, "GET");
    return json_response(200, json::object{{"status", "ok"}});
  }

  auto account = tokens_.authenticate(req.token);
  if (!account) {
    return error(401, "unauthorized",
                 req.token.empty() ? "the X-Token header is required"
                                   : "the X-Token header does not name a valid token");
  }

  if (path == "/metrics") {
    if (req.method != "GET") return method_not_allowed(req.method, "GET");
    return metrics();
  }

  if (path == "/api/v1/events" || path == "/api/v1/events/") {
    if (req.method != "POST") return method_not_allowed(req.method, "POST");
    if (!is_json_content_type(req.content_type)) return unsupported_media_type(req.content_type);
    return events(req, *account);
  }
  constexpr std::string_view k_deliveries = "/api/v1/deliveries/";
  if (path.starts_with(k_deliveries)) {
    return deliveries(req, *account, std::string_view(path).substr(k_deliveries.size()));
  }

  // Path segments after /api/v1/webhooks.
  constexpr std::string_view k_root = "/api/v1/webhooks";
  std::string_view rest = path;
  if (!rest.starts_with(k_root)) return error(404, "not_found", "no route for " + path);
  rest.remove_prefix(k_root.size());
  if (rest == "/") rest = {};

  auto require_json = [&]() -> std::optional<response> {
    if (is_json_content_type(req.content_type)) return std::nullopt;
    return unsupported_media_type(req.content_type);
  };

  if (rest.empty()) {
    if (req.method == "POST") {
      if (auto bad = require_json()) return *bad;
      auto created = webhooks_.create(*account, req.body);
      if (!created) return failure_response(created.error());
      return json_response(201, webhook_json(*created, webhooks_.catalog(), true));
    }
    if (req.method == "GET") {
      std::vector<engine::field_error> problems;
      const page_params params = read_page_params(*target, problems);
      std::uint64_t after = 0;
      if (params.after) {
        auto v = parse_u64(*params.after);
        if (!v) {
          problems.push_back({"after", "must be a webhook id (a non-negative integer)"});
        } else {
          after = *v;
        }
      }
      if (!problems.empty()) {
        failure f = failure::from(errc::invalid_argument, "invalid query parameters");
        f.details = std::move(problems);
        return failure_response(f);
      }
      const std::size_t limit = params.limit;
      auto page = webhooks_.list(*account, after, limit);
      if (!page) return failure_response(page.error());
      json::array items;
      for (const auto& r : page->webhooks) {
        items.push_back(webhook_json(r, webhooks_.catalog(), false));
      }
      return json_response(
          200, json::object{{"webhooks", std::move(items)},
                            {"next_after", page->next_after ? json::value(*page->next_after)
                                                            : json::value(nullptr)}});
    }
    return method_not_allowed(req.method, "GET, POST");
  }

  if (rest[0] != '/') return error(404, "not_found", "no route for " + path);
  rest.remove_prefix(1);
  const auto slash = rest.find('/');
  const std::string_view id_text = rest.substr(0, slash);
  const std::string_view sub =
      slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  const auto id = parse_u64(id_text);
  if (!id) return error(404, "not_found", "webhook " + std::string(id_text) + " not found");

  if (sub == "/deliveries") {
    if (req.method != "GET") return method_not_allowed(req.method, "GET");
    std::vector<engine::field_error> problems;
    const page_params params = read_page_params(*target, problems);
    if (!problems.empty()) {
      failure f = failure::from(errc::invalid_argument, "invalid query parameters");
      f.details = std::move(problems);
      return failure_response(f);
    }
    auto list = engine_.deliveries(*account, *id, params.status, params.after, params.limit);
    if (!list) return failure_response(list.error());
    json::array items;
    for (const auto& d : list->deliveries) items.push_back(delivery_json(d, false));
    return json_response(
        200, json::object{{"deliveries", std::move(items)},
                          {"next_after", list->next_after ? json::value(*list->next_after)
                                                          : json::value(nullptr)}});
  }
  if (sub == "/recover") {
    if (req.method != "POST") return method_not_allowed(req.method, "POST");
    if (auto bad = require_json()) return *bad;
    auto since = engine::parse_recover_request(req.body);
    if (!since) return failure_response(since.error());
    auto n = engine_.recover(*account, *id, *since);
    if (!n) return failure_response(n.error());
    return json_response(202, json::object{{"recovered", *n}});
  }
  if (sub == "/secret") {
    if (req.method != "GET") return method_not_allowed(req.method, "GET");
    auto r = webhooks_.get(*account, *id);
    if (!r) return failure_response(r.error());
    return json_response(200, json::object{{"secret", r->secret}});
  }
  if (!sub.empty() && sub != "/") return error(404, "not_found", "no route for " + path);

  if (req.method == "GET") {
    auto r = webhooks_.get(*account, *id);
    if (!r) return failure_response(r.error());
    return json_response(200, webhook_json(*r, webhooks_.catalog(), false));
  }
  if (req.method == "PUT" || req.method == "PATCH") {
    if (auto bad = require_json()) return *bad;
    auto r = req.method == "PUT" ? webhooks_.replace(*account, *id, req.body)
                                 : webhooks_.patch(*account, *id, req.body);
    if (!r) return failure_response(r.error());
    return json_response(200, webhook_json(*r, webhooks_.catalog(), false));
  }
  if (req.method == "DELETE") {
    auto r = webhooks_.remove(*account, *id);
    if (!r) return failure_response(r.error());
    return {204, {}, {}};
  }
  return method_not_allowed(req.method, "GET, PUT, PATCH, DELETE");
}

response router::metrics() const {
  // Prometheus text format, for any valid token: process-wide counters only, no
  // account's data.
  const auto s = engine_.stats();
  std::string out;
  auto counter = [&](std::string_view name, std::string_view help, std::uint64_t value) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" counter\n");
    out.append(name).append(" ").append(std::to_string(value)).append("\n");
  };
  counter("hookd_events_published_total", "Events accepted by publish.", s.published_events);
  counter("hookd_deliveries_created_total", "Deliveries created by publish.", s.deliveries_created);
  counter("hookd_delivery_attempts_total", "HTTP attempts started.", s.attempts);
  counter("hookd_deliveries_succeeded_total", "Deliveries that got a 2xx.", s.succeeded);
  counter("hookd_delivery_attempts_failed_total", "Attempts that failed.", s.failed_attempts);
  counter("hookd_deliveries_failed_total", "Deliveries that exhausted their retries.",
          s.failed_deliveries);
  counter("hookd_deliveries_cancelled_total", "Deliveries cancelled with their webhook.",
          s.cancelled);
  counter("hookd_origin_backoffs_total", "Times a receiver origin's concurrency was halved.",
          s.backoff_events);
  counter("hookd_connections_opened_total", "Outbound connections opened.", s.connections_opened);
  response r{200, std::move(out), {}};
  r.content_type = "text/plain; version=0.0.4";
  return r;
}

response router::events(const request& req, const std::string& account) const {
  auto parsed = engine::parse_event_request(req.body, webhooks_.catalog());
  if (!parsed) return failure_response(parsed.error());
  std::optional<std::string_view> id;
  if (parsed->id) id = *parsed->id;
  if (!req.idempotency_key.empty()) {
    if (id && *id != req.idempotency_key) {
      failure f = failure::from(errc::invalid_argument, "the event request is invalid");
      f.details.push_back({"event.id",
                           "differs from the Idempotency-Key header; send one or "
                           "make them equal"});
      return failure_response(f);
    }
    id = req.idempotency_key;
  }
  auto published = engine_.publish(account, parsed->type, parsed->payload, id);
  if (!published) return failure_response(published.error());
  return json_response(202, json::object{{"event", json::object{
                                                       {"id", published->event_id},
                                                       {"type", published->type},
                                                       {"deliveries", published->deliveries},
                                                   }}});
}

response router::deliveries(const request& req, const std::string& account,
                            std::string_view rest) const {
  const auto slash = rest.find('/');
  const std::string_view uuid = rest.substr(0, slash);
  const std::string_view sub = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (sub == "/retry") {
    if (req.method != "POST") return method_not_allowed(req.method, "POST");
    auto d = engine_.retry(account, uuid);
    if (!d) return failure_response(d.error());
    return json_response(202, json::object{{"delivery", delivery_json(*d, false)}});
  }
  if (!sub.empty())
    return error(404, "not_found", "no route for /api/v1/deliveries/" + std::string(rest));
  if (req.method != "GET") return method_not_allowed(req.method, "GET");
  auto d = engine_.delivery(account, uuid);
  if (!d) return failure_response(d.error());
  return json_response(200, delivery_json(*d, true));
}

}  // namespace hookd::api
