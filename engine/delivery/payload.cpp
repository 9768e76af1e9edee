// Event payloads in and out: the checks publish makes with simdjson, the JSON body with
// uuid and action spliced in, the Rack query for GET/DELETE, and the API's event bodies.
#include "engine/delivery/payload.hpp"

#include <simdjson.h>

#include "engine/encoding.hpp"

namespace hookd::engine {
namespace {

namespace dom = simdjson::dom;

failure payload_error(std::string message) {
  failure f = failure::from(errc::invalid_argument, "the event is invalid");
  f.details.push_back({"event.payload", std::move(message)});
  return f;
}

// Rack/Rails nesting: a[b]=1, tags[]=x, items[][k]=v. Brackets stay literal, as in
// DESIGN.md's example; everything else is percent-encoded.
void append_pairs(std::string& out, const std::string& prefix, dom::element v) {
  auto add = [&](std::string_view value) {
    if (!out.empty()) out.push_back('&');
    out += prefix;
    out.push_back('=');
    append_query_escaped(out, value);
  };
  switch (v.type()) {
    case dom::element_type::OBJECT: {
      // value_unsafe() on a temporary would dangle inside the loop: name the object.
      const dom::object members = v.get_object().value_unsafe();
      for (auto [key, child] : members) {
        std::string name = prefix;
        name.push_back('[');
        append_query_escaped(name, key);
        name.push_back(']');
        append_pairs(out, name, child);
      }
      break;
    }
    case dom::element_type::ARRAY: {
      bool any = false;
      const dom::array items = v.get_array().value_unsafe();
      for (auto child : items) {
        append_pairs(out, prefix + "[]", child);
        any = true;
      }
      if (!any) {  // an empty list still names its key: tags[]=
        if (!out.empty()) out.push_back('&');
        out += prefix;
        out += "[]=";
      }
      break;
    }
    case dom::element_type::STRING:
      add(v.get_string().value_unsafe());
      break;
    case dom::element_type::BOOL:
      add(v.get_bool().value_unsafe() ? "true" : "false");
      break;
    case dom::element_type::NULL_VALUE:
      add("");
      break;
    default: {
      // Numbers keep their JSON spelling.
      add(simdjson::minify(v));
      break;
    }
  }
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

outcome<std::string> check_payload(std::string_view payload, bool with_query) {
  if (payload.size() > k_max_payload_bytes) {
    return payload_error("must be at most " + std::to_string(k_max_payload_bytes) + " bytes, got " +
                         std::to_string(payload.size()));
  }
  thread_local dom::parser parser;
  const simdjson::padded_string padded(payload);
  dom::element root;
  if (auto error = parser.parse(padded).get(root)) {
    return payload_error(std::string("is not valid JSON: ") + simdjson::error_message(error));
  }
  if (root.type() != dom::element_type::OBJECT) return payload_error("must be a JSON object");
  std::string query;
  const dom::object members = root.get_object().value_unsafe();
  for (auto [key, value] : members) {
    if (key == "uuid" || key == "action") {
      return payload_error("must not contain the top-level key \"" + std::string(key) +
                           "\": hookd adds it to every delivery");
    }
    if (with_query) {
      std::string name;
      append_query_escaped(name, key);
      append_pairs(query, name, value);
    }
  }
  return query;
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
  thread_local simdjson::dom::parser parser;
  const simdjson::padded_string padded(body);
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root)) {
    return failure::from(errc::malformed_input, std::string("request body is not valid JSON: ") +
                                                    simdjson::error_message(error));
  }
  std::vector<field_error> problems;
  event_request out;
  simdjson::dom::element event;
  if (root.type() != simdjson::dom::element_type::OBJECT ||
      root.get_object().value_unsafe()["event"].get(event) != simdjson::SUCCESS ||
      event.type() != simdjson::dom::element_type::OBJECT) {
    problems.push_back({"event", "is required: the request body must be {\"event\": {...}}"});
  } else {
    const auto obj = event.get_object().value_unsafe();
    simdjson::dom::element v;
    if (obj["type"].get(v) != simdjson::SUCCESS) {
      problems.push_back({"event.type", "is required"});
    } else if (v.type() != simdjson::dom::element_type::STRING) {
      problems.push_back({"event.type", "must be a string"});
    } else {
      out.type = std::string(v.get_string().value_unsafe());
      if (!catalog.contains(out.type)) {
        problems.push_back(
            {"event.type",
             "\"" + out.type + "\" is not a known event type; accepted: " + catalog.joined()});
      }
    }
    if (obj["payload"].get(v) != simdjson::SUCCESS) {
      problems.push_back({"event.payload", "is required"});
    } else if (v.type() != simdjson::dom::element_type::OBJECT) {
      problems.push_back({"event.payload", "must be a JSON object"});
    } else {
      out.payload = simdjson::minify(v);
    }
    if (obj["id"].get(v) == simdjson::SUCCESS) {
      if (v.type() != simdjson::dom::element_type::STRING) {
        problems.push_back({"event.id", "must be a string"});
      } else {
        out.id = std::string(v.get_string().value_unsafe());
      }
    }
  }
  if (!problems.empty()) {
    failure f = failure::from(errc::invalid_argument, "the event request is invalid");
    f.details = std::move(problems);
    return f;
  }
  return out;
}

}  // namespace hookd::engine

namespace hookd::engine {

outcome<std::int64_t> parse_recover_request(std::string_view body) {
  thread_local simdjson::dom::parser parser;
  const simdjson::padded_string padded(body);
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root)) {
    return failure::from(errc::malformed_input, std::string("request body is not valid JSON: ") +
                                                    simdjson::error_message(error));
  }
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
