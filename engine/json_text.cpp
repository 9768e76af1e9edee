// A one-pass recursive-descent scanner: validates the grammar of RFC 8259 (UTF-8 by
// simdjson first), decodes member names only to compare them, and copies every token
// unchanged into the minified output.
#include "engine/json_text.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <forward_list>
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

// Decodes the content of a member name already checked by scanner::string (for a
// duplicate's comparison and its path; names without escapes are compared as written).
std::string decode_name(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') {
      out.push_back(raw[i]);
      continue;
    }
    const char e = raw[++i];
    switch (e) {
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        auto hex4 = [&](std::size_t at) {
          std::uint32_t v = 0;
          for (std::size_t k = 0; k < 4; ++k)
            v = v * 16 + static_cast<std::uint32_t>(hex_value(raw[at + k]));
          return v;
        };
        std::uint32_t cp = hex4(i + 1);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {  // its low surrogate follows, as checked
          cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(i + 3) - 0xDC00);
          i += 6;
        }
        append_utf8(out, cp);
        break;
      }
      default:  // '"', '\\', '/'
        out.push_back(e);
    }
  }
  return out;
}

// Without allocating in the common case: member names are compared as views of the
// text (decoded only when they hold an escape), and the path of the values entered is
// kept as views and indexes, made into text only for a duplicate's report.
class scanner {
 public:
  scanner(std::string_view text, std::string& out)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), out_(out) {}

  std::optional<json_problem> run() {
    // The output is never longer than the text: it is written through a cursor into
    // room made once, with simdjson's padding after it too, so On-Demand can read the
    // result in place.
    out_.resize(static_cast<std::size_t>(end_ - begin_) + simdjson::SIMDJSON_PADDING);
    w_ = out_.data();
    path_.reserve(16);
    skip_ws();
    bool ok = value(0);
    if (ok) {
      skip_ws();
      if (p_ != end_) ok = fail("unexpected text after the JSON value");
    }
    out_.resize(ok ? static_cast<std::size_t>(w_ - out_.data()) : 0);
    return std::move(problem_);
  }

 private:
  // A member name (its content as written) or an array index on the way to a value.
  struct step {
    std::string_view name;
    std::size_t index = 0;
    bool in_array = false;
    bool escaped = false;
  };

  void put(const char* bytes, std::size_t size) {
    std::memcpy(w_, bytes, size);
    w_ += size;
  }

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
        return string(nullptr, nullptr);
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
    put(word.data(), word.size());
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
    put(start, static_cast<std::size_t>(p_ - start));
    return true;
  }

  // Moves p_ to the next '"', '\\' or control character in a string, or to the end:
  // eight bytes at a time (a byte of `special` is flagged where one of them is; the
  // lowest flag is exact, a borrow reaches only bytes above it), then byte by byte.
  void skip_plain() {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    while (end_ - p_ >= 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, p_, sizeof w);
      // The first byte of the text is the lowest of `w`, whatever the machine: the
      // borrows then run from earlier bytes to later ones only.
      if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
      const std::uint64_t quote = w ^ (ones * '"');
      const std::uint64_t slash = w ^ (ones * '\\');
      const std::uint64_t special =
          ((quote - ones) & ~quote) | ((slash - ones) & ~slash) | ((w - ones * 0x20) & ~w);
      if (const std::uint64_t flags = special & highs; flags != 0) {
        p_ += std::countr_zero(flags) / 8;
        return;
      }
      p_ += 8;
    }
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"' || c == '\\' || c < 0x20) return;
      ++p_;
    }
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

  // Copies the string token; with `content`, also gives its content as written and
  // whether it holds an escape (member names only).
  bool string(std::string_view* content, bool* escaped) {
    const char* start = p_++;
    bool any_escape = false;
    for (;;) {
      skip_plain();
      if (p_ == end_) return fail("unterminated string");
      const char c = *p_;
      if (c == '"') break;
      if (c != '\\') return fail("control character in a string");
      any_escape = true;
      ++p_;
      if (p_ == end_) return fail("unterminated string");
      switch (*p_++) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          break;
        case 'u': {
          const long cp = hex4();
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
          }
          break;
        }
        default:
          --p_;
          return fail("invalid escape");
      }
    }
    ++p_;  // the closing quote
    if (content) {
      *content = std::string_view(start + 1, static_cast<std::size_t>(p_ - start - 2));
      *escaped = any_escape;
    }
    put(start, static_cast<std::size_t>(p_ - start));
    return true;
  }

  std::string path_to(std::string_view key) const {
    std::string path;
    for (const auto& s : path_) {
      if (s.in_array) {
        path += '[';
        path += std::to_string(s.index);
        path += ']';
        continue;
      }
      const std::string name = s.escaped ? decode_name(s.name) : std::string(s.name);
      if (!path.empty() && (name.empty() || name.front() != '[')) path.push_back('.');
      path += name;
    }
    if (!path.empty()) path.push_back('.');
    path += key;
    return path;
  }

  bool object(std::size_t depth) {
    if (depth > k_max_json_depth) return fail("nested deeper than 128 levels");
    *w_++ = '{';
    ++p_;
    skip_ws();
    if (p_ != end_ && *p_ == '}') {
      *w_++ = '}';
      ++p_;
      return true;
    }
    // Names seen in this object, decoded: a small array while few (most objects), a
    // set beyond; names with an escape are decoded into `decoded`.
    std::array<std::string_view, 16> few;
    std::size_t count = 0;
    std::unordered_set<std::string_view> many;
    std::forward_list<std::string> decoded;
    for (;;) {
      if (p_ == end_ || *p_ != '"') return fail("expected a member name in double quotes");
      std::string_view raw;
      bool escaped = false;
      if (!string(&raw, &escaped)) return false;
      const std::string_view name = escaped ? decoded.emplace_front(decode_name(raw)) : raw;
      const bool seen =
          many.empty() ? std::find(few.begin(), few.begin() + count, name) != few.begin() + count
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
      } else if (count < few.size()) {
        few[count++] = name;
      } else {
        many.insert(few.begin(), few.end());
        many.insert(name);
      }
      skip_ws();
      if (p_ == end_ || *p_ != ':') return fail("expected ':' after a member name");
      *w_++ = ':';
      ++p_;
      skip_ws();
      path_.push_back({.name = raw, .index = 0, .in_array = false, .escaped = escaped});
      const bool ok = value(depth);
      path_.pop_back();
      if (!ok) return false;
      skip_ws();
      if (p_ != end_ && *p_ == ',') {
        *w_++ = ',';
        ++p_;
        skip_ws();
        continue;
      }
      if (p_ != end_ && *p_ == '}') {
        *w_++ = '}';
        ++p_;
        return true;
      }
      return fail("expected ',' or '}' in an object");
    }
  }

  bool array(std::size_t depth) {
    if (depth > k_max_json_depth) return fail("nested deeper than 128 levels");
    *w_++ = '[';
    ++p_;
    skip_ws();
    if (p_ != end_ && *p_ == ']') {
      *w_++ = ']';
      ++p_;
      return true;
    }
    path_.push_back({.name = {}, .index = 0, .in_array = true, .escaped = false});
    for (std::size_t index = 0;; ++index) {
      path_.back().index = index;
      if (!value(depth)) return false;
      skip_ws();
      if (p_ != end_ && *p_ == ',') {
        *w_++ = ',';
        ++p_;
        skip_ws();
        continue;
      }
      if (p_ != end_ && *p_ == ']') {
        *w_++ = ']';
        ++p_;
        path_.pop_back();
        return true;
      }
      return fail("expected ',' or ']' in an array");
    }
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  std::string& out_;
  char* w_ = nullptr;       // where the next byte of out_ goes
  std::vector<step> path_;  // the member names and array indexes of the values entered
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
