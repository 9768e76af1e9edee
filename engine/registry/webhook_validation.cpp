// Validation of the {"webhook": {...}} body with simdjson, every invalid field reported
// with its JSON path.
#include "engine/registry/webhook_validation.hpp"

#include <algorithm>
#include <array>

#include <simdjson.h>

#include "engine/delivery/retry_policy.hpp"
#include "engine/delivery/signer.hpp"
#include "engine/registry/webhook_url.hpp"
#include "engine/request_json.hpp"

namespace hookd::engine {
namespace {

namespace dom = simdjson::dom;

constexpr std::array<std::string_view, 5> k_methods = {"POST", "PUT", "PATCH", "GET", "DELETE"};

// Settings keys that are plain identifiers read as a.b; others as a["b"].
std::string child_path(std::string_view parent, std::string_view key) {
  const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  std::string out(parent);
  if (plain) {
    out += '.';
    out += key;
  } else {
    out += "[\"";
    for (char c : key) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\"]";
  }
  return out;
}

std::string_view type_name(dom::element_type t) {
  switch (t) {
    case dom::element_type::ARRAY:
      return "an array";
    case dom::element_type::OBJECT:
      return "an object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      return "a number";
    case dom::element_type::STRING:
      return "a string";
    case dom::element_type::BOOL:
      return "a boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

// "true", "false", true or false, as Sonar sends strings and clients send booleans.
std::optional<bool> flag_value(dom::element v) {
  if (v.type() == dom::element_type::BOOL) return bool(v.get_bool().value_unsafe());
  if (v.type() == dom::element_type::STRING) {
    const std::string_view s = v.get_string().value_unsafe();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return std::nullopt;
}

std::string flag_problem(dom::element v) {
  return "must be \"true\", \"false\", true or false, got " +
         (v.type() == dom::element_type::STRING
              ? "\"" + std::string(v.get_string().value_unsafe()) + "\""
              : std::string(type_name(v.type())));
}

class validator {
 public:
  validator(const event_catalog& catalog, webhook_mode mode) : catalog_(catalog), mode_(mode) {}

  void run(dom::element root) {
    if (root.type() != dom::element_type::OBJECT) {
      fail("body", "the request body must be a JSON object like {\"webhook\": {...}}, got " +
                       std::string(type_name(root.type())));
      return;
    }
    dom::element webhook;
    if (root.get_object().value_unsafe()["webhook"].get(webhook) != simdjson::SUCCESS) {
      fail("webhook", "is required: the request body must be {\"webhook\": {...}}");
      return;
    }
    if (webhook.type() != dom::element_type::OBJECT) {
      fail("webhook", "must be an object, got " + std::string(type_name(webhook.type())));
      return;
    }
    const dom::object obj = webhook.get_object().value_unsafe();
    // Unknown top-level fields are ignored (DESIGN.md), so clients may send more.
    read_name(obj);
    read_active(obj);
    read_settings(obj);
    read_url(obj);
    read_method(obj);
    read_retry_schedule(obj);
  }

  webhook_fields fields;
  std::vector<field_error> errors;

 private:
  void fail(std::string field, std::string message) {
    errors.push_back({std::move(field), std::move(message)});
  }

  bool required() const { return mode_ != webhook_mode::patch; }

  // The member `key`, or nullopt (with an error when required) when absent.
  std::optional<dom::element> member(const dom::object& obj, std::string_view key) {
    dom::element v;
    if (obj[key].get(v) == simdjson::SUCCESS) return v;
    if (required()) fail("webhook." + std::string(key), "is required");
    return std::nullopt;
  }

  std::optional<std::string_view> string_member(const dom::object& obj, std::string_view key) {
    auto v = member(obj, key);
    if (!v) return std::nullopt;
    if (v->type() != dom::element_type::STRING) {
      fail("webhook." + std::string(key),
           "must be a string, got " + std::string(type_name(v->type())));
      return std::nullopt;
    }
    return v->get_string().value_unsafe();
  }

  void read_name(const dom::object& obj) {
    auto name = string_member(obj, "name");
    if (!name) return;
    if (name->find_first_not_of(" \t\r\n") == std::string_view::npos) {
      fail("webhook.name", "must not be empty");
    } else if (name->size() > k_max_name_bytes) {
      fail("webhook.name", "must be at most " + std::to_string(k_max_name_bytes) + " bytes, got " +
                               std::to_string(name->size()));
    } else {
      fields.name = std::string(*name);
    }
  }

  void read_active(const dom::object& obj) {
    dom::element v;
    if (obj["active"].get(v) != simdjson::SUCCESS) {
      // Omitted active means inactive, as in Sonar; a patch leaves it unchanged.
      if (required()) fields.active = false;
      return;
    }
    if (auto flag = flag_value(v)) {
      fields.active = *flag;
    } else {
      fail("webhook.active", flag_problem(v));
    }
  }

  void read_settings(const dom::object& obj) {
    auto v = member(obj, "settings");
    if (!v) return;
    if (v->type() != dom::element_type::OBJECT) {
      fail("webhook.settings", "must be an object of event type to \"true\"/\"false\", got " +
                                   std::string(type_name(v->type())));
      return;
    }
    std::vector<std::pair<std::string, bool>> settings;
    bool ok = true;
    // A named copy: value_unsafe() on the temporary result returns a reference into it,
    // which a range-for would use after the temporary is gone.
    const dom::object entries = v->get_object().value_unsafe();
    for (auto [key, value] : entries) {
      const std::string path = child_path("webhook.settings", key);
      if (!catalog_.contains(key)) {
        fail(path, "is not a known event type; accepted: " + catalog_.joined());
        ok = false;
        continue;
      }
      auto flag = flag_value(value);
      if (!flag) {
        fail(path, flag_problem(value));
        ok = false;
        continue;
      }
      settings.emplace_back(std::string(key), *flag);
    }
    if (ok) fields.settings = std::move(settings);
  }

  void read_url(const dom::object& obj) {
    auto url = string_member(obj, "url");
    if (!url) return;
    if (auto parsed = parse_webhook_url(*url); !parsed) {
      fail("webhook.url", std::move(parsed.error().message));
    } else {
      fields.url = std::string(*url);
    }
  }

  void read_method(const dom::object& obj) {
    auto method = string_member(obj, "http_method");
    if (!method) return;
    if (auto upper = normalize_http_method(*method)) {
      fields.http_method = std::move(*upper);
    } else {
      fail("webhook.http_method",
           "must be one of POST, PUT, PATCH, GET, DELETE, got \"" + std::string(*method) + "\"");
    }
  }

  void read_retry_schedule(const dom::object& obj) {
    dom::element v;
    if (obj["retry_schedule"].get(v) != simdjson::SUCCESS) {
      // Optional; a replace without it goes back to the default.
      if (required()) fields.retry_schedule = std::string();
      return;
    }
    if (v.type() == dom::element_type::NULL_VALUE) {
      fields.retry_schedule = std::string();
      return;
    }
    if (v.type() != dom::element_type::STRING) {
      fail("webhook.retry_schedule", "must be a string like \"10s,30s,3m,30m\" or null, got " +
                                         std::string(type_name(v.type())));
      return;
    }
    const std::string_view text = v.get_string().value_unsafe();
    if (text.empty()) {
      fields.retry_schedule = std::string();
      return;
    }
    auto schedule = parse_retry_schedule(text);
    if (!schedule) {
      fail("webhook.retry_schedule", schedule.error().message);
      return;
    }
    if (schedule->size() > k_max_retry_schedule_entries) {
      fail("webhook.retry_schedule",
           "must have at most " + std::to_string(k_max_retry_schedule_entries) + " entries");
      return;
    }
    fields.retry_schedule = format_retry_schedule(*schedule);
  }

  const event_catalog& catalog_;
  webhook_mode mode_;
};

}  // namespace

std::optional<std::string> normalize_http_method(std::string_view method) {
  std::string upper(method);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (std::find(k_methods.begin(), k_methods.end(), upper) == k_methods.end()) {
    return std::nullopt;
  }
  return upper;
}

outcome<webhook_fields> parse_webhook_request(std::string_view body, const event_catalog& catalog,
                                              webhook_mode mode) {
  auto root = parse_request_dom(body);
  if (!root) return root.error();
  validator v(catalog, mode);
  v.run(*root);
  if (!v.errors.empty()) {
    failure f = failure::from(
        errc::invalid_argument,
        v.errors.size() == 1
            ? "the webhook has 1 invalid field"
            : "the webhook has " + std::to_string(v.errors.size()) + " invalid fields");
    f.details = std::move(v.errors);
    return f;
  }
  return std::move(v.fields);
}

outcome<rotation_fields> parse_rotation_request(std::string_view body) {
  auto parsed = parse_request_dom(body);
  if (!parsed) return parsed.error();
  const dom::element root = *parsed;
  std::vector<field_error> problems;
  rotation_fields out;
  if (root.type() != dom::element_type::OBJECT) {
    problems.push_back({"body", "must be a JSON object like {\"grace\": \"24h\"}"});
  } else {
    // Named: value_unsafe() of a temporary would dangle inside the loop.
    const dom::object members = root.get_object().value_unsafe();
    for (auto [key, value] : members) {
      const std::string field(key);
      if (field == "grace") {
        std::string_view text;
        if (value.get_string().get(text)) {
          problems.push_back({field, "must be a duration string like \"24h\" or \"0s\""});
          continue;
        }
        if (text == "0" || text == "0s" || text == "0ms") {
          out.grace = std::chrono::milliseconds(0);
          continue;
        }
        auto grace = parse_duration(text);
        if (!grace || *grace > k_max_rotation_grace) {
          problems.push_back({field, "must be a duration from 0s to 30d, like \"24h\"" +
                                         (grace ? std::string() : ": " + grace.error().message)});
          continue;
        }
        out.grace = *grace;
      } else if (field == "secret") {
        std::string_view text;
        std::optional<std::string> key;
        if (!value.get_string().get(text)) key = secret_key(text);
        if (!key || key->size() < 24 || key->size() > 64) {
          problems.push_back(
              {field, "must be \"whsec_\" followed by the base64 of 24 to 64 random bytes"});
          continue;
        }
        out.secret = std::string(text);
      } else {
        problems.push_back({field, "is not a field of a rotation; known: grace, secret"});
      }
    }
  }
  if (!problems.empty()) {
    failure f = failure::from(errc::invalid_argument, "the rotation request is invalid");
    f.details = std::move(problems);
    return f;
  }
  return out;
}

}  // namespace hookd::engine
