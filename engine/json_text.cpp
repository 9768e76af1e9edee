// A one-pass recursive-descent scanner: validates the grammar of RFC 8259 (UTF-8 by
// simdjson first), decodes member names only to compare them, and copies every token
// unchanged into the minified output.
#include "engine/json_text.hpp"

#include <simdjson.h>

#include <algorithm>
#include <unordered_set>
#include <vector>

namespace hookd::engine {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class scanner {
 public:
  scanner(std::string_view text, std::string& out)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), out_(out) {}

  std::optional<json_problem> run() {
    out_.clear();
    out_.reserve(static_cast<std::size_t>(end_ - begin_));
    skip_ws();
    if (!value(0)) return std::move(problem_);
    skip_ws();
    if (p_ != end_) fail("unexpected text after the JSON value");
    return std::move(problem_);
  }

 private:
  bool fail(std::string what) {
    if (!problem_) {
      problem_ = json_problem{
          .path = {},
          .message = std::move(what) + " at byte " + std::to_string(p_ - begin_),
          .duplicate = false,
      };
    }
    return false;
  }

  void skip_ws() {
    while (p_ != end_ && is_ws(*p_)) ++p_;
  }

  bool value(std::size_t depth) {
    if (p_ == end_) return fail("unexpected end of input");
    switch (*p_) {
      case '{':
        return object(depth + 1);
      case '[':
        return array(depth + 1);
      case '"':
        return string(nullptr);
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        if (*p_ == '-' || is_digit(*p_)) return number();
        return fail("unexpected character");
    }
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word) {
      return fail("invalid literal");
    }
    out_.append(word);
    p_ += word.size();
    return true;
  }

  bool number() {
    const char* start = p_;
    if (*p_ == '-') ++p_;
    if (p_ == end_ || !is_digit(*p_)) return fail("invalid number");
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ != end_ && is_digit(*p_)) ++p_;
    }
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || !is_digit(*p_)) return fail("invalid number");
      while (p_ != end_ && is_digit(*p_)) ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !is_digit(*p_)) return fail("invalid number");
      while (p_ != end_ && is_digit(*p_)) ++p_;
    }
    out_.append(start, p_);
    return true;
  }

  // Four hex digits after "\u"; -1 when malformed.
  long hex4() {
    if (end_ - p_ < 4) return -1;
    long v = 0;
    for (int k = 0; k < 4; ++k) {
      const int h = hex_value(p_[k]);
      if (h < 0) return -1;
      v = v * 16 + h;
    }
    p_ += 4;
    return v;
  }

  // Copies the string token; with `decoded`, also its value (member names only).
  bool string(std::string* decoded) {
    const char* start = p_++;
    for (;;) {
      if (p_ == end_) return fail("unterminated string");
      const char c = *p_;
      if (c == '"') break;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in a string");
      if (c != '\\') {
        if (decoded) decoded->push_back(c);
        ++p_;
        continue;
      }
      ++p_;
      if (p_ == end_) return fail("unterminated string");
      const char e = *p_++;
      char simple = 0;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          simple = e;
          break;
        case 'b':
          simple = '\b';
          break;
        case 'f':
          simple = '\f';
          break;
        case 'n':
          simple = '\n';
          break;
        case 'r':
          simple = '\r';
          break;
        case 't':
          simple = '\t';
          break;
        case 'u': {
          long cp = hex4();
          if (cp < 0) return fail("invalid \\u escape");
          if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
              return fail("high surrogate without its low surrogate");
            }
            p_ += 2;
            const long low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) {
              return fail("high surrogate without its low surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          if (decoded) append_utf8(*decoded, static_cast<std::uint32_t>(cp));
          continue;
        }
        default:
          --p_;
          return fail("invalid escape");
      }
      if (decoded) decoded->push_back(simple);
    }
    ++p_;  // the closing quote
    out_.append(start, p_);
    return true;
  }

  std::string path_to(const std::string& key) const {
    std::string path;
    for (const auto& part : path_) {
      if (!path.empty() && part.front() != '[') path.push_back('.');
      path += part;
    }
    if (!path.empty()) path.push_back('.');
    return path + key;
  }

  bool object(std::size_t depth) {
    if (depth > k_max_json_depth) return fail("nested deeper than 128 levels");
    out_.push_back('{');
    ++p_;
    skip_ws();
    if (p_ != end_ && *p_ == '}') {
      out_.push_back('}');
      ++p_;
      return true;
    }
    // Names seen in this object; a vector while small (most objects), a set beyond.
    std::vector<std::string> names;
    std::unordered_set<std::string> many;
    for (;;) {
      if (p_ == end_ || *p_ != '"') return fail("expected a member name in double quotes");
      std::string name;
      if (!string(&name)) return false;
      const bool seen = many.empty() ? std::find(names.begin(), names.end(), name) != names.end()
                                     : many.contains(name);
      if (seen) {
        problem_ = json_problem{
            .path = path_to(name),
            .message = "appears more than once in the same object; send each key once",
            .duplicate = true,
        };
        return false;
      }
      if (!many.empty()) {
        many.insert(name);
      } else if (names.size() < 16) {
        names.push_back(name);
      } else {
        many.insert(names.begin(), names.end());
        many.insert(name);
      }
      skip_ws();
      if (p_ == end_ || *p_ != ':') return fail("expected ':' after a member name");
      out_.push_back(':');
      ++p_;
      skip_ws();
      path_.push_back(std::move(name));
      const bool ok = value(depth);
      path_.pop_back();
      if (!ok) return false;
      skip_ws();
      if (p_ != end_ && *p_ == ',') {
        out_.push_back(',');
        ++p_;
        skip_ws();
        continue;
      }
      if (p_ != end_ && *p_ == '}') {
        out_.push_back('}');
        ++p_;
        return true;
      }
      return fail("expected ',' or '}' in an object");
    }
  }

  bool array(std::size_t depth) {
    if (depth > k_max_json_depth) return fail("nested deeper than 128 levels");
    out_.push_back('[');
    ++p_;
    skip_ws();
    if (p_ != end_ && *p_ == ']') {
      out_.push_back(']');
      ++p_;
      return true;
    }
    for (std::size_t index = 0;; ++index) {
      path_.push_back("[" + std::to_string(index) + "]");
      const bool ok = value(depth);
      path_.pop_back();
      if (!ok) return false;
      skip_ws();
      if (p_ != end_ && *p_ == ',') {
        out_.push_back(',');
        ++p_;
        skip_ws();
        continue;
      }
      if (p_ != end_ && *p_ == ']') {
        out_.push_back(']');
        ++p_;
        return true;
      }
      return fail("expected ',' or ']' in an array");
    }
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  std::string& out_;
  std::vector<std::string> path_;  // member names and [index] of the values entered
  std::optional<json_problem> problem_;
};

}  // namespace

std::optional<json_problem> strict_minify(std::string_view text, std::string& out) {
  if (!simdjson::validate_utf8(text.data(), text.size())) {
    out.clear();
    return json_problem{.path = {}, .message = "is not valid UTF-8", .duplicate = false};
  }
  return scanner(text, out).run();
}

std::optional<failure> check_request_json(std::string_view body, std::string& minified) {
  auto problem = strict_minify(body, minified);
  if (!problem) return std::nullopt;
  if (!problem->duplicate) {
    return failure::from(errc::malformed_input,
                         "request body is not valid JSON: " + problem->message);
  }
  failure f =
      failure::from(errc::malformed_input, "request body has a duplicate key: " + problem->path);
  f.details.push_back({problem->path, problem->message});
  return f;
}

}  // namespace hookd::engine
