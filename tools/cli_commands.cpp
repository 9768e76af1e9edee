#include "tools/cli_commands.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "engine/delivery/payload.hpp"
#include "tools/api_client.hpp"
#include "tools/cli_flags.hpp"

namespace hookd::cli {
namespace {

namespace json = boost::json;

constexpr int k_exit_refused = 1;
constexpr int k_exit_unreachable = 3;

constexpr const char* k_common_options = R"(
Options of every command:
  --server URL     the hookd server, http only (env HOOKD_SERVER;
                   default http://127.0.0.1:8080)
  --token TOKEN    the API token (env HOOKD_TOKEN)
  --json           print the API's JSON as returned (for scripts); a list without
                   --limit joins its pages into one {"...": [...], "next_after": null}
  --help           show this help

Exit codes: 0 done; 1 the API refused the request (its error code, message and each
detail's "field: message" on stderr); 2 bad usage; 3 the server cannot be reached
(connection refused, DNS, timeout) or answered with a 5xx.
)";

constexpr const char* k_webhooks_help =
    R"(Usage: hookd webhooks list [--limit N]
       hookd webhooks show ID
       hookd webhooks create (--name NAME --url URL [--method M] [--events A,B]
                              [--active true|false] [--retry-schedule S] | --body JSON|@FILE)
       hookd webhooks update ID (field flags as create | --body JSON|@FILE)
       hookd webhooks delete ID
       hookd webhooks rotate-secret ID [--grace D] [--secret whsec_...]
       hookd webhooks recover ID --since TIME
       hookd webhooks stats ID [--window 24h]

list: every webhook of the account (all pages), as ID NAME METHOD URL ACTIVE EVENTS;
  --limit N prints one page of N (1 to 500).
show: the webhook as key/value lines (never its secret).
create: builds Sonar's {"webhook": {...}} from the flags (--method defaults to POST,
  --events lists the subscribed event types, --active defaults to false as in Sonar),
  or sends --body as given; prints the new webhook with its signing secret.
update: changes only the fields given (PATCH; --events subscribes to more types).
delete: deletes the webhook; its pending deliveries are cancelled.
rotate-secret: a new signing secret (--secret, or a generated one); the previous one
  keeps signing for --grace (default 24h, "0s" drops it at once). Prints the secret.
recover: every failed delivery created at or after TIME (RFC 3339, like
  2026-11-26T00:00:00Z) gets one more attempt now.
stats: the webhook's attempts over the last --window (whole hours up to 48h, or whole
  days up to 30d; default 24h), as START ATTEMPTS SUCCEEDED FAILED GIVEN_UP RATE AVG_MS
  per hour (or day), then the totals.
)";

constexpr const char* k_events_help =
    R"(Usage: hookd events publish TYPE [--payload JSON|@FILE] [--id KEY]

publish: stores an event of TYPE (a type of the server's event catalog) with the
  payload (a JSON object, default {}; sent as written) and makes one delivery for each
  active webhook subscribed to TYPE. --id KEY makes the publish idempotent: the same
  KEY again returns the first answer and creates nothing.
)";

constexpr const char* k_deliveries_help =
    R"(Usage: hookd deliveries list --webhook ID [--status S] [--limit N]
       hookd deliveries show UUID
       hookd deliveries retry UUID

list: the webhook's deliveries (all pages), as UUID STATUS ATTEMPTS CREATED NEXT;
  --status pending|succeeded|failed|cancelled keeps one status; --limit N prints one
  page of N (1 to 500).
show: the delivery as key/value lines, then every attempt.
retry: attempts the delivery again now (logged as manual).
)";

// ---- flags ----

// The client's own flags, --server, --token and --json, with the command's.
parsed_args parse_client_args(const std::vector<std::string>& args, std::vector<std::string> known,
                              std::vector<std::string> switches) {
  known.insert(known.end(), {"server", "token"});
  switches.emplace_back("json");
  return parse_args(args, known, switches);
}

// "JSON" as is, or "@FILE" read whole.
explained<std::string> text_or_file(const std::string& flag, const std::string& value) {
  // in_place_value: a std::string converts to explained_error too.
  if (!value.starts_with("@")) return {boost::system::in_place_value, value};
  std::ifstream in(value.substr(1), std::ios::binary);
  if (!in) return explained_error("--" + flag + ": cannot read " + value.substr(1));
  std::ostringstream text;
  text << in.rdbuf();
  return {boost::system::in_place_value, text.str()};
}

// Query values escaped as the engine escapes a payload's Rack query.
std::string percent_encode(const std::string& s) {
  std::string out;
  engine::append_query_escaped(out, s);
  return out;
}

// ---- output ----

std::string scalar_text(const json::value& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return std::string(v.get_string());
  return json::serialize(v);
}

// The subscribed types of a webhook's settings, comma separated.
std::string subscribed_events(const json::value& settings) {
  std::string out;
  if (!settings.is_object()) return "-";
  for (const auto& [type, on] : settings.get_object()) {
    if (on.is_bool() && on.get_bool()) out += (out.empty() ? "" : ",") + std::string(type);
  }
  return out.empty() ? "-" : out;
}

// Columns padded to their widest cell, two spaces apart; the last one unpadded.
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      out += cells[c];
      if (c + 1 < cells.size()) out += std::string(width[c] - cells[c].size() + 2, ' ');
    }
    std::cout << out << "\n";
  };
  line(header);
  for (const auto& row : rows) line(row);
}

// An object's members as "key  value" lines; a webhook's settings as "events".
void print_key_values(const json::object& o) {
  std::vector<std::pair<std::string, std::string>> lines;
  for (const auto& [key, value] : o) {
    if (key == "settings") {
      lines.emplace_back("events", subscribed_events(value));
    } else if (value.is_array() || value.is_object()) {
      continue;  // shown apart (a delivery's attempts)
    } else {
      lines.emplace_back(std::string(key), scalar_text(value));
    }
  }
  std::size_t width = 0;
  for (const auto& l : lines) width = std::max(width, l.first.size());
  for (const auto& [key, value] : lines) {
    std::cout << key << ":" << std::string(width - key.size() + 1, ' ') << value << "\n";
  }
}

std::vector<std::string> webhook_row(const json::object& w) {
  auto field = [&](const char* k) { return w.contains(k) ? scalar_text(w.at(k)) : "-"; };
  return {field("id"),          field("name"),
          field("http_method"), field("url"),
          field("active"),      w.contains("settings") ? subscribed_events(w.at("settings")) : "-"};
}

std::vector<std::string> delivery_row(const json::object& d) {
  auto field = [&](const char* k) { return d.contains(k) ? scalar_text(d.at(k)) : "-"; };
  return {field("uuid"), field("status"), field("attempt_count"), field("created_at"),
          field("next_attempt_at")};
}

// ---- one session against the server ----

class session {
 public:
  session(const parsed_args& a, const char* hint, const usage_error_fn& usage_error)
      : args_(a), hint_(hint), usage_error_(usage_error) {}

  // Reads --server/--token; nonzero when the URL is unusable (a usage error).
  int open() {
    const std::string url =
        args_.get("server").value_or(env_or("HOOKD_SERVER", "http://127.0.0.1:8080"));
    auto parsed = parse_server_url(url);
    if (!parsed) return usage_error_(parsed.error().message, hint_);
    client_.emplace(*parsed, args_.get("token").value_or(env_or("HOOKD_TOKEN", "")));
    return 0;
  }

  bool json_output() const { return args_.has("json"); }

  // The answer when it is a 2xx; else prints why and sets `exit_code`.
  std::optional<api_response> call(const std::string& method, const std::string& target,
                                   const std::string& body = {}) {
    auto r = client_->request(method, target, body);
    if (!r) {
      std::cerr << "hookd: " << r.error().message << "\n";
      exit_code = k_exit_unreachable;
      return std::nullopt;
    }
    if (r->status >= 200 && r->status < 300) return std::move(*r);
    report_api_error(*r);
    exit_code = r->status >= 500 ? k_exit_unreachable : k_exit_refused;
    return std::nullopt;
  }

  // The answer's JSON object; prints why and sets `exit_code` when it is not one.
  std::optional<json::object> object_of(const api_response& r) {
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    if (ec || !v.is_object()) {
      std::cerr << "hookd: the server's answer is not a JSON object: " << r.body.substr(0, 200)
                << "\n";
      exit_code = k_exit_unreachable;
      return std::nullopt;
    }
    return std::move(v.get_object());
  }

  int usage(const std::string& message) const { return usage_error_(message, hint_); }

  int exit_code = 0;

 private:
  static void report_api_error(const api_response& r) {
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    const json::object* error = nullptr;
    if (!ec && v.is_object()) {
      if (auto* e = v.get_object().if_contains("error"); e && e->is_object()) {
        error = &e->get_object();
      }
    }
    if (!error) {
      std::cerr << "hookd: the server answered HTTP " << r.status
                << (r.body.empty() ? "" : ": " + r.body.substr(0, 200)) << "\n";
      return;
    }
    auto text = [](const json::object& o, const char* k) {
      auto* v = o.if_contains(k);
      return v && v->is_string() ? std::string(v->get_string()) : std::string();
    };
    std::cerr << "hookd: " << text(*error, "code") << ": " << text(*error, "message") << "\n";
    if (auto* details = error->if_contains("details"); details && details->is_array()) {
      for (const auto& d : details->get_array()) {
        if (!d.is_object()) continue;
        std::cerr << "  " << text(d.get_object(), "field") << ": "
                  << text(d.get_object(), "message") << "\n";
      }
    }
  }

  const parsed_args& args_;
  const char* hint_;
  const usage_error_fn& usage_error_;
  std::optional<api_client> client_;
};

// Prints a list: every page (following next_after) or the one page of --limit.
int list_pages(session& s, const parsed_args& a, const std::string& path, const std::string& query,
               const char* member, const std::vector<std::string>& header,
               std::vector<std::string> (*row)(const json::object&)) {
  const auto limit = a.get("limit");
  json::array items;
  std::optional<std::string> after;
  for (;;) {
    std::string target = path;
    target += "?limit=" + percent_encode(limit.value_or("500"));
    target += query;
    if (after) target += "&after=" + percent_encode(*after);
    auto r = s.call("GET", target);
    if (!r) return s.exit_code;
    if (limit && s.json_output()) {
      std::cout << r->body << "\n";
      return 0;
    }
    auto page = s.object_of(*r);
    if (!page) return s.exit_code;
    if (auto* list = page->if_contains(member); list && list->is_array()) {
      for (auto& item : list->get_array()) items.push_back(std::move(item));
    }
    const json::value* next = page->if_contains("next_after");
    if (limit || !next || next->is_null()) break;
    after = scalar_text(*next);
  }
  if (s.json_output()) {
    std::cout << json::serialize(json::object{{member, std::move(items)}, {"next_after", nullptr}})
              << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : items) {
    if (item.is_object()) rows.push_back(row(item.get_object()));
  }
  print_table(header, rows);
  return 0;
}

// Prints a 2xx answer: as returned with --json, else its object as key/value lines.
int print_object(session& s, const api_response& r) {
  if (s.json_output()) {
    std::cout << r.body << "\n";
    return 0;
  }
  auto o = s.object_of(r);
  if (!o) return s.exit_code;
  print_key_values(*o);
  return 0;
}

// The body of a create or an update: --body as given, or {"webhook": {...}} from the
// field flags. Empty with a usage error printed (`exit_code` 2) when the flags are bad.
std::optional<std::string> webhook_body(session& s, const parsed_args& a, bool create) {
  static const std::vector<std::string> fields = {"name",   "url",    "method",
                                                  "events", "active", "retry-schedule"};
  const bool any_field =
      std::any_of(fields.begin(), fields.end(), [&](const auto& f) { return a.has(f); });
  if (a.has("body")) {
    if (any_field) {
      s.exit_code = s.usage("--body and the field flags (--name, --url, ...) exclude each other");
      return std::nullopt;
    }
    auto text = text_or_file("body", *a.get("body"));
    if (!text) s.exit_code = s.usage(text.error().message);
    return text ? std::optional(*text) : std::nullopt;
  }
  if (!create && !any_field) {
    s.exit_code = s.usage("nothing to change: give field flags or --body");
    return std::nullopt;
  }
  json::object webhook;
  if (auto v = a.get("name")) webhook["name"] = *v;
  if (auto v = a.get("url")) webhook["url"] = *v;
  if (auto v = a.get("method")) {
    webhook["http_method"] = *v;
  } else if (create) {
    webhook["http_method"] = "POST";
  }
  if (auto v = a.get("active")) {
    if (*v != "true" && *v != "false") {
      s.exit_code = s.usage("--active \"" + *v + "\" is not true or false");
      return std::nullopt;
    }
    webhook["active"] = *v == "true";
  }
  if (auto v = a.get("events")) {
    json::object settings;
    for (std::size_t pos = 0; pos <= v->size();) {
      const auto comma = std::min(v->find(',', pos), v->size());
      if (comma > pos) settings[v->substr(pos, comma - pos)] = true;
      pos = comma + 1;
    }
    webhook["settings"] = std::move(settings);
  } else if (create) {
    webhook["settings"] = json::object();
  }
  if (auto v = a.get("retry-schedule")) webhook["retry_schedule"] = *v;
  return json::serialize(json::object{{"webhook", std::move(webhook)}});
}

// The one positional argument of VERB ARG, or a usage error.
std::optional<std::string> one_argument(session& s, const parsed_args& a, const char* what) {
  if (a.positional.size() == 2) return a.positional[1];
  s.exit_code =
      s.usage(a.positional.size() < 2 ? std::string(what) + " is required"
                                      : "unexpected argument \"" + a.positional[2] + "\"");
  return std::nullopt;
}

}  // namespace

int webhooks_command(const std::vector<std::string>& args, const usage_error_fn& usage_error) {
  const auto a = parse_client_args(args,
                                   {"limit", "name", "url", "method", "events", "active",
                                    "retry-schedule", "body", "grace", "secret", "since", "window"},
                                   {});
  if (a.help) {
    std::cout << k_webhooks_help << k_common_options;
    return 0;
  }
  const char* hint = "hookd webhooks";
  if (a.error) return usage_error(*a.error, hint);
  if (a.positional.empty()) {
    return usage_error(
        "a command is required: list, show, create, update, delete, "
        "rotate-secret, recover or stats",
        hint);
  }
  const std::string verb = a.positional[0];
  // Flags that belong to some verbs only.
  const std::map<std::string, std::set<std::string>> allowed = {
      {"list", {"limit"}},
      {"show", {}},
      {"create", {"name", "url", "method", "events", "active", "retry-schedule", "body"}},
      {"update", {"name", "url", "method", "events", "active", "retry-schedule", "body"}},
      {"delete", {}},
      {"rotate-secret", {"grace", "secret"}},
      {"recover", {"since"}},
      {"stats", {"window"}},
  };
  auto verb_flags = allowed.find(verb);
  if (verb_flags == allowed.end()) {
    return usage_error("unknown webhooks command \"" + verb + "\"", hint);
  }
  for (const auto& [name, value] : a.values) {
    if (name != "server" && name != "token" && name != "json" &&
        !verb_flags->second.contains(name)) {
      std::string message = "--" + name;
      message += " does not apply to webhooks " + verb;
      return usage_error(message, hint);
    }
  }
  session s(a, hint, usage_error);
  if (int rc = s.open()) return rc;

  if (verb == "list") {
    if (a.positional.size() > 1) return s.usage("unexpected argument \"" + a.positional[1] + "\"");
    return list_pages(s, a, "/api/v1/webhooks", "", "webhooks",
                      {"ID", "NAME", "METHOD", "URL", "ACTIVE", "EVENTS"}, webhook_row);
  }
  if (verb == "create") {
    if (a.positional.size() > 1) return s.usage("unexpected argument \"" + a.positional[1] + "\"");
    auto body = webhook_body(s, a, true);
    if (!body) return s.exit_code;
    auto r = s.call("POST", "/api/v1/webhooks", *body);
    return r ? print_object(s, *r) : s.exit_code;
  }
  auto id = one_argument(s, a, "the webhook's ID");
  if (!id) return s.exit_code;
  const std::string path = "/api/v1/webhooks/" + percent_encode(*id);
  if (verb == "show") {
    auto r = s.call("GET", path);
    return r ? print_object(s, *r) : s.exit_code;
  }
  if (verb == "update") {
    auto body = webhook_body(s, a, false);
    if (!body) return s.exit_code;
    auto r = s.call("PATCH", path, *body);
    return r ? print_object(s, *r) : s.exit_code;
  }
  if (verb == "delete") {
    auto r = s.call("DELETE", path);
    if (!r) return s.exit_code;
    if (!s.json_output()) std::cout << "deleted webhook " << *id << "\n";
    return 0;
  }
  if (verb == "rotate-secret") {
    json::object rotation;
    if (auto v = a.get("grace")) rotation["grace"] = *v;
    if (auto v = a.get("secret")) rotation["secret"] = *v;
    auto r = s.call("POST", path + "/secret/rotate",
                    rotation.empty() ? std::string() : json::serialize(rotation));
    return r ? print_object(s, *r) : s.exit_code;
  }
  if (verb == "stats") {
    std::string query;
    if (auto w = a.get("window")) query = "?window=" + percent_encode(*w);
    auto r = s.call("GET", path + "/stats" + query);
    if (!r) return s.exit_code;
    if (s.json_output()) return print_object(s, *r);
    auto o = s.object_of(*r);
    if (!o) return s.exit_code;
    const auto row = [](std::string first, const json::value& c) {
      const auto field = [&](const char* name) {
        return c.is_object() && c.get_object().contains(name) ? scalar_text(c.get_object().at(name))
                                                              : std::string("-");
      };
      std::string rate = "-";
      if (c.is_object() && c.get_object().contains("success_rate") &&
          c.get_object().at("success_rate").is_number()) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%.1f%%",
                      100 * c.get_object().at("success_rate").to_number<double>());
        rate = buf;
      }
      return std::vector<std::string>{std::move(first),
                                      field("attempts"),
                                      field("succeeded"),
                                      field("failed_attempts"),
                                      field("failed_deliveries"),
                                      rate,
                                      field("average_duration_ms")};
    };
    std::vector<std::vector<std::string>> rows;
    if (auto it = o->find("buckets"); it != o->end() && it->value().is_array()) {
      for (const auto& b : it->value().get_array()) {
        rows.push_back(row(b.is_object() && b.get_object().contains("start")
                               ? scalar_text(b.get_object().at("start"))
                               : "-",
                           b));
      }
    }
    if (auto it = o->find("totals"); it != o->end()) rows.push_back(row("total", it->value()));
    print_table({"START", "ATTEMPTS", "SUCCEEDED", "FAILED", "GIVEN_UP", "RATE", "AVG_MS"}, rows);
    return 0;
  }
  // recover
  auto since = a.get("since");
  if (!since) return s.usage("--since TIME is required");
  auto r = s.call("POST", path + "/recover", json::serialize(json::object{{"since", *since}}));
  if (!r) return s.exit_code;
  if (s.json_output()) return print_object(s, *r);
  auto o = s.object_of(*r);
  if (!o) return s.exit_code;
  std::cout << "recovered " << (o->contains("recovered") ? scalar_text(o->at("recovered")) : "?")
            << " deliveries\n";
  return 0;
}

int events_command(const std::vector<std::string>& args, const usage_error_fn& usage_error) {
  const auto a = parse_client_args(args, {"payload", "id"}, {});
  if (a.help) {
    std::cout << k_events_help << k_common_options;
    return 0;
  }
  const char* hint = "hookd events";
  if (a.error) return usage_error(*a.error, hint);
  if (a.positional.empty()) return usage_error("a command is required: publish", hint);
  if (a.positional[0] != "publish") {
    return usage_error("unknown events command \"" + a.positional[0] + "\"", hint);
  }
  session s(a, hint, usage_error);
  auto type = one_argument(s, a, "the event TYPE");
  if (!type) return s.exit_code;
  std::string payload = "{}";
  if (auto v = a.get("payload")) {
    auto text = text_or_file("payload", *v);
    if (!text) return s.usage(text.error().message);
    payload = *text;
  }
  if (int rc = s.open()) return rc;
  // The payload goes as written (the receiver gets its tokens unchanged), so the body
  // is assembled around it rather than parsed and printed again.
  std::string body =
      R"({"event":{"type":)" + json::serialize(json::value(*type)) + R"(,"payload":)" + payload;
  if (auto id = a.get("id")) body += R"(,"id":)" + json::serialize(json::value(*id));
  body += "}}";
  auto r = s.call("POST", "/api/v1/events", body);
  if (!r) return s.exit_code;
  if (s.json_output()) return print_object(s, *r);
  auto o = s.object_of(*r);
  if (!o) return s.exit_code;
  const json::value* event = o->if_contains("event");
  if (!event || !event->is_object()) return print_object(s, *r);
  print_key_values(event->get_object());
  return 0;
}

int deliveries_command(const std::vector<std::string>& args, const usage_error_fn& usage_error) {
  const auto a = parse_client_args(args, {"webhook", "status", "limit"}, {});
  if (a.help) {
    std::cout << k_deliveries_help << k_common_options;
    return 0;
  }
  const char* hint = "hookd deliveries";
  if (a.error) return usage_error(*a.error, hint);
  if (a.positional.empty()) return usage_error("a command is required: list, show or retry", hint);
  const std::string verb = a.positional[0];
  if (verb != "list" && verb != "show" && verb != "retry") {
    return usage_error("unknown deliveries command \"" + verb + "\"", hint);
  }
  if (verb != "list") {
    for (const char* f : {"webhook", "status", "limit"}) {
      if (a.has(f)) return usage_error(std::string("--") + f + " applies to list only", hint);
    }
  }
  session s(a, hint, usage_error);
  if (verb == "list") {
    if (a.positional.size() > 1) return s.usage("unexpected argument \"" + a.positional[1] + "\"");
    auto webhook = a.get("webhook");
    if (!webhook) return s.usage("--webhook ID is required");
    if (int rc = s.open()) return rc;
    const std::string query =
        a.has("status") ? "&status=" + percent_encode(*a.get("status")) : std::string();
    return list_pages(s, a, "/api/v1/webhooks/" + percent_encode(*webhook) + "/deliveries", query,
                      "deliveries", {"UUID", "STATUS", "ATTEMPTS", "CREATED", "NEXT"},
                      delivery_row);
  }
  auto uuid = one_argument(s, a, "the delivery's UUID");
  if (!uuid) return s.exit_code;
  if (int rc = s.open()) return rc;
  const std::string path = "/api/v1/deliveries/" + percent_encode(*uuid);
  if (verb == "retry") {
    auto r = s.call("POST", path + "/retry");
    if (!r) return s.exit_code;
    if (s.json_output()) return print_object(s, *r);
    auto o = s.object_of(*r);
    if (!o) return s.exit_code;
    const json::value* d = o->if_contains("delivery");
    if (!d || !d->is_object()) return print_object(s, *r);
    print_key_values(d->get_object());
    return 0;
  }
  auto r = s.call("GET", path);
  if (!r) return s.exit_code;
  if (s.json_output()) return print_object(s, *r);
  auto o = s.object_of(*r);
  if (!o) return s.exit_code;
  print_key_values(*o);
  std::vector<std::vector<std::string>> rows;
  if (const json::value* attempts = o->if_contains("attempts"); attempts && attempts->is_array()) {
    for (const auto& at : attempts->get_array()) {
      if (!at.is_object()) continue;
      const auto& t = at.get_object();
      auto field = [&](const char* k) { return t.contains(k) ? scalar_text(t.at(k)) : "-"; };
      rows.push_back({field("number"), field("at"), field("status_code"),
                      field("duration_ms") + "ms", field("manual"), field("error")});
    }
  }
  std::cout << "\nattempts:\n";
  print_table({"#", "AT", "STATUS", "DURATION", "MANUAL", "ERROR"}, rows);
  return 0;
}

}  // namespace hookd::cli
