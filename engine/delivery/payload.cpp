// Event payloads in and out: the checks publish makes with simdjson, the JSON body with
// uuid and action spliced in, the Rack query for GET/DELETE, and the API's event bodies.
#include "engine/delivery/payload.hpp"

#include <simdjson.h>

#include "engine/encoding.hpp"
#include "engine/json_text.hpp"
#include "engine/request_json.hpp"

namespace hookd::engine {
namespace {

namespace ondemand = simdjson::ondemand;

// `text` with room for simdjson's padding after it, so On-Demand reads it in place.
const std::string& with_json_padding(std::string& text) {
  if (text.capacity() - text.size() < simdjson::SIMDJSON_PADDING) {
    text.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  }
  return text;
}

failure payload_error(std::string message) {
  failure f = failure::from(errc::invalid_argument, "the event is invalid");
  f.details.push_back({"event.payload", std::move(message)});
  return f;
}

// Rack/Rails nesting: a[b]=1, tags[]=x, items[][k]=v. Brackets stay literal, as in
// DESIGN.md's example; everything else is percent-encoded. The text was checked by
// strict_minify, so On-Demand meets only valid JSON; numbers are never converted, and
// keep their spelling whatever their size.
simdjson::error_code append_pairs(std::string& out, const std::string& prefix, ondemand::value v) {
  // Each leaf repeats its whole key path: a long key over many leaves would multiply
  // the payload's size, so the query stops at a bound (checked at every value).
  if (out.size() > k_max_query_bytes) return simdjson::CAPACITY;
  auto add = [&](std::string_view value) {
    if (!out.empty()) out.push_back('&');
    out += prefix;
    out.push_back('=');
    append_query_escaped(out, value);
  };
  ondemand::json_type type{};
  if (auto error = v.type().get(type)) return error;
  switch (type) {
    case ondemand::json_type::object: {
      ondemand::object members;
      if (auto error = v.get_object().get(members)) return error;
      for (auto field : members) {
        std::string_view key;
        if (auto error = field.unescaped_key().get(key)) return error;
        std::string name = prefix;
        name.push_back('[');
        append_query_escaped(name, key);
        name.push_back(']');
        ondemand::value child;
        if (auto error = field.value().get(child)) return error;
        if (auto error = append_pairs(out, name, child)) return error;
      }
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::array: {
      ondemand::array items;
      if (auto error = v.get_array().get(items)) return error;
      bool any = false;
      for (auto item : items) {
        ondemand::value child;
        if (auto error = item.get(child)) return error;
        if (auto error = append_pairs(out, prefix + "[]", child)) return error;
        any = true;
      }
      if (!any) {  // an empty list still names its key: tags[]=
        if (!out.empty()) out.push_back('&');
        out += prefix;
        out += "[]=";
      }
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::string: {
      std::string_view text;
      if (auto error = v.get_string().get(text)) return error;
      add(text);
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::boolean: {
      bool b = false;
      if (auto error = v.get_bool().get(b)) return error;
      add(b ? "true" : "false");
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::null:
      add("");
      return simdjson::SUCCESS;
    case ondemand::json_type::number:
      // As written: the token, which minified text ends without whitespace.
      add(v.raw_json_token());
      return simdjson::SUCCESS;
  }
  return simdjson::INCORRECT_TYPE;
}

}  // namespace

void append_query_escaped(std::string& out, std::string_view text) {
  constexpr std::string_view hex = "0123456789ABCDEF";
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
}

outcome<checked_payload> check_payload(std::string_view payload, bool with_query) {
  if (payload.size() > k_max_payload_bytes) {
    return payload_error("must be at most " + std::to_string(k_max_payload_bytes) + " bytes, got " +
                         std::to_string(payload.size()));
  }
  std::string text;
  if (auto problem = strict_minify(payload, text)) {
    if (problem->duplicate) {
      return payload_error("key \"" + problem->path + "\" " + problem->message);
    }
    return payload_error("is not valid JSON: " + problem->message);
  }
  return check_minified_payload(std::move(text), with_query);
}

outcome<checked_payload> check_minified_payload(std::string text, bool with_query) {
  if (text.size() > k_max_payload_bytes) {
    return payload_error("must be at most " + std::to_string(k_max_payload_bytes) + " bytes, got " +
                         std::to_string(text.size()));
  }
  if (text.empty() || text.front() != '{') return payload_error("must be a JSON object");
  checked_payload out;
  out.text = std::move(text);
  thread_local ondemand::parser parser;
  ondemand::document doc;
  ondemand::object members;
  if (parser.iterate(with_json_padding(out.text)).get(doc) || doc.get_object().get(members)) {
    return payload_error("must be a JSON object");
  }
  for (auto field : members) {
    std::string_view key;
    ondemand::value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) {
      return payload_error("could not be read");
    }
    if (key == "uuid" || key == "action") {
      return payload_error("must not contain the top-level key \"" + std::string(key) +
                           "\": hookd adds it to every delivery");
    }
    if (with_query) {
      std::string name;
      append_query_escaped(name, key);
      if (auto error = append_pairs(out.query, name, value)) {
        if (error != simdjson::CAPACITY) return payload_error("could not be read");
        return payload_error("as the query string of a GET or DELETE webhook would exceed " +
                             std::to_string(k_max_query_bytes) +
                             " bytes: shorten its keys, or deliver it with POST");
      }
    }
  }
  if (out.query.size() > k_max_query_bytes) {
    return payload_error("as the query string of a GET or DELETE webhook would exceed " +
                         std::to_string(k_max_query_bytes) +
                         " bytes: shorten its keys, or deliver it with POST");
  }
  return out;
}

std::string delivery_body(std::string_view payload, std::string_view uuid,
                          std::string_view action) {
  // The payload is an object: drop its '{' and splice our two fields in front.
  const auto open = payload.find('{');
  std::string_view rest = payload.substr(open + 1);
  const auto first = rest.find_first_not_of(" \t\r\n");
  const bool empty_object = first != std::string_view::npos && rest[first] == '}';
  std::string body;
  body.reserve(payload.size() + uuid.size() + action.size() + 32);
  body += R"({"uuid":")";
  body += uuid;
  body += R"(","action":")";
  body += action;
  body += '"';
  if (empty_object) {
    body += '}';
  } else {
    body += ',';
    body += rest;
  }
  return body;
}

std::string delivery_query(std::string_view uuid, std::string_view action,
                           std::string_view payload_query) {
  std::string q;
  q.reserve(uuid.size() + action.size() + payload_query.size() + 16);
  q += "uuid=";
  q += uuid;
  q += "&action=";
  append_query_escaped(q, action);
  if (!payload_query.empty()) {
    q += '&';
    q += payload_query;
  }
  return q;
}

}  // namespace hookd::engine

namespace hookd::engine {

outcome<event_request> parse_event_request(std::string_view body, const event_catalog& catalog) {
  // Strict first: a duplicate key or a syntax error is the caller's to fix, and
  // On-Demand then meets only valid, minified JSON. The payload is taken as text,
  // never converted, so big or exotic numbers and key order reach the receiver.
  std::string minified;
  if (auto bad = check_request_json(body, minified)) return std::move(*bad);
  thread_local ondemand::parser parser;
  std::vector<field_error> problems;
  event_request out;
  bool has_event = false;
  bool has_type = false;
  bool has_payload = false;
  ondemand::document doc;
  ondemand::object root;
  std::string_view payload_raw;
  if (!parser.iterate(with_json_padding(minified)).get(doc) && !doc.get_object().get(root)) {
    for (auto member : root) {
      std::string_view key;
      if (member.unescaped_key().get(key) || key != "event") continue;
      ondemand::object event;
      if (member.value().get_object().get(event)) break;
      has_event = true;
      for (auto field : event) {
        std::string_view name;
        ondemand::value v;
        if (field.unescaped_key().get(name) || field.value().get(v)) break;
        ondemand::json_type type{};
        if (v.type().get(type)) break;
        if (name == "type") {
          has_type = true;
          std::string_view text;
          if (type != ondemand::json_type::string || v.get_string().get(text)) {
            problems.push_back({"event.type", "must be a string"});
            continue;
          }
          out.type = std::string(text);
          if (!catalog.contains(out.type)) {
            problems.push_back(
                {"event.type",
                 "\"" + out.type + "\" is not a known event type; accepted: " + catalog.joined()});
          }
        } else if (name == "payload") {
          has_payload = true;
          ondemand::object payload;
          std::string_view raw;
          if (type != ondemand::json_type::object || v.get_object().get(payload) ||
              payload.raw_json().get(raw)) {
            problems.push_back({"event.payload", "must be a JSON object"});
            continue;
          }
          payload_raw = raw;
        } else if (name == "id") {
          std::string_view text;
          if (type != ondemand::json_type::string || v.get_string().get(text)) {
            problems.push_back({"event.id", "must be a string"});
            continue;
          }
          out.id = std::string(text);
        }
      }
      break;
    }
  }
  if (!has_event) {
    problems.push_back({"event", "is required: the request body must be {\"event\": {...}}"});
  } else {
    if (!has_type) problems.insert(problems.begin(), {"event.type", "is required"});
    if (!has_payload) problems.push_back({"event.payload", "is required"});
  }
  if (!problems.empty()) {
    failure f = failure::from(errc::invalid_argument, "the event request is invalid");
    f.details = std::move(problems);
    return f;
  }
  // The payload is cut out of the minified body where it lies: no copy of its bytes
  // into another allocation.
  const auto at = static_cast<std::size_t>(payload_raw.data() - minified.data());
  const auto size = payload_raw.size();
  minified.erase(at + size);
  minified.erase(0, at);
  out.payload = std::move(minified);
  return out;
}

}  // namespace hookd::engine

namespace hookd::engine {

outcome<std::int64_t> parse_recover_request(std::string_view body) {
  auto parsed = parse_request_dom(body);
  if (!parsed) return parsed.error();
  const simdjson::dom::element root = *parsed;
  simdjson::dom::element since;
  std::string problem;
  if (root.type() != simdjson::dom::element_type::OBJECT ||
      root.get_object().value_unsafe()["since"].get(since) != simdjson::SUCCESS) {
    problem = "is required: the request body must be {\"since\": \"<RFC 3339 time>\"}";
  } else if (since.type() != simdjson::dom::element_type::STRING) {
    problem = "must be an RFC 3339 time string like 2026-11-26T10:00:00Z";
  } else if (auto ms = parse_rfc3339(since.get_string().value_unsafe())) {
    return *ms;
  } else {
    problem = "must be an RFC 3339 time like 2026-11-26T10:00:00Z";
  }
  failure f = failure::from(errc::invalid_argument, "the recover request is invalid");
  f.details.push_back({"since", std::move(problem)});
  return f;
}

}  // namespace hookd::engine
