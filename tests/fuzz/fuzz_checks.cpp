// The properties the fuzz targets check; see fuzz_checks.hpp. Every check reads its
// input through the function under test first, so a crash is found before any property.
#include "tests/fuzz/fuzz_checks.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

#include <boost/json/error.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/ipv6_address.hpp>
#include <boost/url/parse.hpp>

#include "engine/delivery/payload.hpp"
#include "engine/delivery/retry_policy.hpp"
#include "engine/registry/webhook_url.hpp"
#include "engine/registry/webhook_validation.hpp"

namespace hookd::fuzz {
namespace {

using engine::webhook_fields;
using engine::webhook_mode;

constexpr std::string_view k_uuid = "0190163d-8694-739b-aea5-966c26f8ad91";

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string_view mode_name(webhook_mode mode) {
  switch (mode) {
    case webhook_mode::create:
      return "create";
    case webhook_mode::replace:
      return "replace";
    case webhook_mode::patch:
      return "patch";
  }
  return "?";
}

// What Boost.JSON, an independent reader, makes of a text. It refuses two things RFC
// 8259 allows and simdjson reads: nesting deeper than max_depth (raised here above
// simdjson's 1024) and exponents past its range ("3e-3115678901234"); on those it has
// no say (`undecided`).
struct json_reading {
  std::optional<boost::json::value> value;
  bool undecided = false;
};

json_reading read_json(std::string_view text) {
  boost::json::parse_options options;
  options.max_depth = 4096;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec, {}, options);
  if (!ec) return {std::move(v), false};
  return {std::nullopt, ec == boost::json::error::exponent_overflow};
}

// What every failure of the engine's input parsers is: errc::malformed_input, or
// errc::invalid_argument with at least one field under `root` (or "body").
verdict check_failure(const engine::failure& f, std::string_view root, std::string_view what) {
  if (f.code == errc::malformed_input) return std::nullopt;
  if (f.code != errc::invalid_argument) {
    return std::string(what) + " failed with " + f.code.message() + ": " + f.message;
  }
  if (f.details.empty()) return std::string(what) + " is invalid_argument without a field";
  for (const auto& d : f.details) {
    const bool under_root = d.field == root || d.field.starts_with(std::string(root) + ".") ||
                            d.field.starts_with(std::string(root) + "[");
    if (!under_root && d.field != "body") {
      return std::string(what) + " names the field " + in_quotes(d.field) + " outside " +
             in_quotes(root);
    }
    if (d.message.empty()) return std::string(what) + " has no message for " + in_quotes(d.field);
  }
  return std::nullopt;
}

bool equal_fields(const webhook_fields& a, const webhook_fields& b) {
  return a.name == b.name && a.active == b.active && a.settings == b.settings && a.url == b.url &&
         a.http_method == b.http_method && a.retry_schedule == b.retry_schedule;
}

// The field rules of webhook_validation.hpp, on what one mode accepted.
verdict check_accepted_webhook(const webhook_fields& f, webhook_mode mode) {
  const std::string what = "parse_webhook_request(" + std::string(mode_name(mode)) + ")";
  if (mode != webhook_mode::patch) {
    if (!f.name || !f.active || !f.settings || !f.url || !f.http_method || !f.retry_schedule) {
      return what + " accepted a webhook without a required field";
    }
  }
  if (f.name) {
    if (f.name->size() > engine::k_max_name_bytes) return what + " accepted a name too long";
    if (f.name->find_first_not_of(" \t\r\n") == std::string::npos) {
      return what + " accepted a blank name";
    }
  }
  if (f.settings) {
    for (const auto& [type, on] : *f.settings) {
      if (!fuzz_catalog().contains(type)) {
        return what + " accepted the setting " + in_quotes(type) + " not in the catalog";
      }
    }
  }
  if (f.url) {
    if (auto url = engine::parse_webhook_url(*f.url); !url) {
      return what + " accepted a url parse_webhook_url refuses: " + url.error().message;
    }
  }
  if (f.http_method && engine::normalize_http_method(*f.http_method) != *f.http_method) {
    return what + " accepted the method " + in_quotes(*f.http_method) + " not in normal form";
  }
  if (f.retry_schedule && !f.retry_schedule->empty()) {
    // The normalised text is what is stored and read back at every attempt.
    auto schedule = engine::parse_retry_schedule(*f.retry_schedule);
    if (!schedule) {
      return what + " stored the retry schedule " + in_quotes(*f.retry_schedule) +
             " that does not read back: " + schedule.error().message;
    }
    if (schedule->size() > engine::k_max_retry_schedule_entries) {
      return what + " accepted a retry schedule of " + std::to_string(schedule->size()) +
             " entries";
    }
    if (engine::format_retry_schedule(*schedule) != *f.retry_schedule) {
      return what + " stored the retry schedule " + in_quotes(*f.retry_schedule) +
             " that is not in normal form";
    }
  }
  return std::nullopt;
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

// The characters a Rack query may hold: unreserved ones, '%' escapes, and the
// separators and literal brackets of the encoding; never what the HTTP client refuses
// in a target (bytes up to space, DEL).
verdict check_query_text(std::string_view query) {
  for (std::size_t i = 0; i < query.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(query[i]);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved || c == '[' || c == ']' || c == '=' || c == '&') continue;
    if (c == '%' && i + 2 < query.size() && is_hex(query[i + 1]) && is_hex(query[i + 2])) {
      continue;
    }
    return "the Rack query has the byte " + std::to_string(c) + " at " + std::to_string(i) +
           " unescaped";
  }
  return std::nullopt;
}

// Whether the JSON object `payload` has a top-level key publish reserves.
bool has_reserved_key(const boost::json::object& payload) {
  return payload.contains("uuid") || payload.contains("action");
}

// check_payload's promises on a payload, and delivery_body's on one it accepted.
verdict check_payload_forms(std::string_view payload, std::string_view action) {
  auto query = engine::check_payload(payload, true);
  auto plain = engine::check_payload(payload, false);
  if (!query && plain) {
    // Only the query may be refused alone: when it would pass its bound.
    const auto& f = query.error();
    if (f.details.size() != 1 || f.details[0].message.find("query string") == std::string::npos) {
      return "check_payload refused only with the query, not for its size: " + f.message;
    }
    return std::nullopt;
  }
  if (query.has_value() != plain.has_value()) {
    return std::string("check_payload with and without the query disagree");
  }
  if (!query) {
    const auto& f = query.error();
    if (f.code != errc::invalid_argument || f.details.size() != 1 ||
        f.details[0].field != "event.payload" || f.details[0].message.empty()) {
      return "check_payload failed without its event.payload error: " + f.message;
    }
    return std::nullopt;
  }
  if (!plain->query.empty()) return std::string("check_payload without the query returned one");
  if (plain->text != query->text) {
    return std::string("check_payload minifies otherwise with the query than without");
  }
  if (payload.size() > engine::k_max_payload_bytes) {
    return "check_payload accepted " + std::to_string(payload.size()) + " bytes";
  }
  if (query->query.size() > engine::k_max_query_bytes) {
    return "check_payload built a query of " + std::to_string(query->query.size()) + " bytes";
  }
  if (auto broken = check_query_text(query->query)) return broken;
  // The minified text is what is stored and checked again when a delivery is built.
  const std::string& text = query->text;
  if (text.size() > payload.size()) return std::string("the minified payload is longer");
  if (auto again = engine::check_payload(text, false); !again || again->text != text) {
    return "the minified payload does not check to itself: " + text.substr(0, 200);
  }

  // The engine delivers the minified text (engine::publish stores it).
  const std::string body = engine::delivery_body(text, k_uuid, action);
  const auto parsed = read_json(payload);
  if (parsed.undecided) return std::nullopt;
  if (!parsed.value || !parsed.value->is_object()) {
    return std::string("check_payload accepted what Boost.JSON does not read as an object");
  }
  const auto& members = parsed.value->get_object();
  if (has_reserved_key(members)) {
    return std::string("check_payload accepted a top-level uuid or action");
  }
  // Compared as serialised: Boost.JSON reads "0e3083" as NaN, which equals nothing.
  if (const auto minified = read_json(text);
      !minified.value ||
      boost::json::serialize(*minified.value) != boost::json::serialize(*parsed.value)) {
    return "minifying changed the payload's value: " + text.substr(0, 200);
  }
  const auto delivered = read_json(body);
  if (!delivered.value || !delivered.value->is_object()) {
    return "delivery_body is not a JSON object: " + body.substr(0, 200);
  }
  const auto& object = delivered.value->get_object();
  const auto* uuid = object.if_contains("uuid");
  const auto* act = object.if_contains("action");
  if (!uuid || !uuid->is_string() || uuid->get_string() != k_uuid || !act || !act->is_string() ||
      act->get_string() != action) {
    return "delivery_body lost its uuid or action: " + body.substr(0, 200);
  }
  if (object.size() != members.size() + 2) {
    return "delivery_body has " + std::to_string(object.size()) + " members for a payload of " +
           std::to_string(members.size());
  }
  return std::nullopt;
}

}  // namespace

void abort_if_broken(const verdict& v, std::string_view target) {
  if (!v) return;
  std::fprintf(stderr, "fuzz_%.*s: property broken: %s\n", static_cast<int>(target.size()),
               target.data(), v->c_str());
  std::abort();
}

const engine::event_catalog& fuzz_catalog() {
  static const engine::event_catalog catalog =
      engine::event_catalog::from_types(
          {"customer_created", "customer_state_changed", "order.paid", "invoice-sent-2"})
          .value();
  return catalog;
}

verdict check_webhook_body(std::string_view input) {
  const auto create = engine::parse_webhook_request(input, fuzz_catalog(), webhook_mode::create);
  const auto replace = engine::parse_webhook_request(input, fuzz_catalog(), webhook_mode::replace);
  const auto patch = engine::parse_webhook_request(input, fuzz_catalog(), webhook_mode::patch);
  for (const auto& [r, mode] :
       {std::pair{&create, webhook_mode::create}, std::pair{&replace, webhook_mode::replace},
        std::pair{&patch, webhook_mode::patch}}) {
    const std::string what = "parse_webhook_request(" + std::string(mode_name(mode)) + ")";
    auto broken = r->has_value() ? check_accepted_webhook(**r, mode)
                                 : check_failure(r->error(), "webhook", what);
    if (broken) return broken;
  }
  if (create.has_value() != replace.has_value() || (create && !equal_fields(*create, *replace))) {
    return std::string("parse_webhook_request: create and replace disagree");
  }
  if (create && !patch) {
    return "parse_webhook_request: patch refuses what create accepts: " + patch.error().message;
  }
  if (create) {
    // Patch leaves out what create defaults (active, retry_schedule) when absent.
    webhook_fields defaulted = *patch;
    if (!defaulted.active) defaulted.active = create->active;
    if (!defaulted.retry_schedule) defaulted.retry_schedule = create->retry_schedule;
    if (!equal_fields(*create, defaulted)) {
      return std::string("parse_webhook_request: patch reads other values than create");
    }
  }
  return std::nullopt;
}

verdict check_event_body(std::string_view input) {
  const auto r = engine::parse_event_request(input, fuzz_catalog());
  if (!r) return check_failure(r.error(), "event", "parse_event_request");
  if (!fuzz_catalog().contains(r->type)) {
    return "parse_event_request accepted the type " + in_quotes(r->type);
  }
  const auto payload = read_json(r->payload);
  if (payload.undecided) return check_payload_forms(r->payload, r->type);
  if (!payload.value || !payload.value->is_object()) {
    return "parse_event_request's payload is not a JSON object: " + r->payload.substr(0, 200);
  }
  if (auto query = engine::check_payload(r->payload, true); !query) {
    // Publish refuses these on purpose; anything else it refuses was read wrongly.
    if (has_reserved_key(payload.value->get_object()) ||
        r->payload.size() > engine::k_max_payload_bytes) {
      return std::nullopt;
    }
    return "check_payload refuses the payload parse_event_request accepted: " +
           query.error().details.at(0).message;
  }
  return check_payload_forms(r->payload, r->type);
}

verdict check_rack_query(std::string_view input) {
  return check_payload_forms(input, "customer_created");
}

verdict check_webhook_url(std::string_view input) {
  const auto parsed = engine::parse_webhook_url(input);
  const engine::webhook_url stored = engine::parse_stored_webhook_url(input);
  if (!parsed) {
    if (parsed.error().message.empty()) return std::string("parse_webhook_url gave no reason");
    return std::nullopt;
  }
  const engine::webhook_url& u = *parsed;
  const std::string what = "parse_webhook_url(" + in_quotes(input.substr(0, 200)) + ")";
  if (input.size() > engine::k_max_url_bytes) return what + " accepted a URL too long";
  if (!u.undeliverable.empty()) return what + " is undeliverable: " + u.undeliverable;
  if (u.host.empty()) return what + " has no host";
  if (std::any_of(u.host.begin(), u.host.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return what + " kept an upper-case host " + in_quotes(u.host);
  }
  if (u.port == 0) return what + " has port 0";
  if (u.target.empty() || u.target.front() != '/') return what + " has the target " + u.target;
  for (const char c : u.target) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == 0x7f || c == '#') {
      return what + " has a target the HTTP client refuses: " + in_quotes(u.target);
    }
  }

  std::array<std::uint8_t, 16> zero{};
  std::string authority = u.host;
  switch (u.host_kind) {
    case engine::url_host_kind::name:
      if (u.address != zero) return what + " has an address for a host name";
      break;
    case engine::url_host_kind::ipv4: {
      const auto& a = u.address;
      const bool mapped = std::all_of(a.begin(), a.begin() + 10, [](auto b) { return b == 0; }) &&
                          a[10] == 0xff && a[11] == 0xff;
      const std::string dotted = std::to_string(a[12]) + "." + std::to_string(a[13]) + "." +
                                 std::to_string(a[14]) + "." + std::to_string(a[15]);
      if (!mapped || dotted != u.host) return what + " has an IPv4 address unlike its host";
      break;
    }
    case engine::url_host_kind::ipv6: {
      const auto a = boost::urls::parse_ipv6_address(u.host);
      if (!a || a->to_string() != u.host || a->to_bytes() != u.address) {
        return what + " has an IPv6 host not in canonical form or unlike its address";
      }
      authority = "[" + u.host + "]";
      break;
    }
  }
  const std::string port = std::to_string(u.port);
  if (u.origin != (u.https ? "https://" : "http://") + authority + ":" + port) {
    return what + " has the origin " + in_quotes(u.origin);
  }
  const bool default_port = u.port == (u.https ? 443 : 80);
  if (u.host_header != (default_port ? authority : authority + ":" + port)) {
    return what + " has the Host header " + in_quotes(u.host_header);
  }
  if (stored.https != u.https || stored.host != u.host || stored.host_kind != u.host_kind ||
      stored.address != u.address || stored.port != u.port || stored.target != u.target ||
      stored.origin != u.origin || stored.host_header != u.host_header ||
      !stored.undeliverable.empty()) {
    return what + ": parse_stored_webhook_url reads it otherwise";
  }
  return std::nullopt;
}

}  // namespace hookd::fuzz
