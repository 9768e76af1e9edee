// Strict check, then one DOM parser per thread (simdjson parsers are reusable, not
// thread-safe).
#include "engine/request_json.hpp"

#include <string>

#include "engine/json_text.hpp"

namespace hookd::engine {

outcome<simdjson::dom::element> parse_request_dom(std::string_view body) {
  std::string minified;
  if (auto bad = check_request_json(body, minified)) return std::move(*bad);
  thread_local simdjson::dom::parser parser;
  const simdjson::padded_string padded(minified);
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root)) {
    return failure::from(errc::malformed_input, std::string("request body is not valid JSON: ") +
                                                    simdjson::error_message(error));
  }
  return root;
}

}  // namespace hookd::engine
