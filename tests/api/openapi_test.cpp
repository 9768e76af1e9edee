// The OpenAPI document served at /api/v1/openapi.json against the table of routes: every
// route is an operation of the document and every operation a route, with the same
// access and body rules, so neither can drift from the other. Whether real responses
// match the document's schemas is tests/openapi/validate_responses.py's (ctest label
// "openapi").
#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <utility>

#include <boost/json/parse.hpp>

#include "api/openapi_document.hpp"
#include "api/routes.hpp"
#include "hookd/version.hpp"
#include "tests/api/api_fixture.hpp"

namespace hookd::test {
namespace {

namespace json = boost::json;

using OpenApi = api_fixture;

// The operations of a path item (its other keys are parameters, summary, ...).
const std::set<std::string> k_operation_keys = {"get",     "put",  "post",  "delete",
                                                "options", "head", "patch", "trace"};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

// `o` itself, or the component its $ref names ("#/components/<kind>/<name>").
const json::object& resolve(const json::object& doc, const json::object& o,
                            const std::string& kind) {
  const json::value* ref = o.if_contains("$ref");
  if (ref == nullptr) return o;
  const std::string text(ref->as_string());
  const std::string prefix = "#/components/" + kind + "/";
  EXPECT_TRUE(text.starts_with(prefix)) << text;
  return doc.at("components").at(kind).at(text.substr(prefix.size())).as_object();
}

// The served document, parsed; fails the test when it is not there or not JSON.
json::object served_document(const http_response& r) {
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  EXPECT_FALSE(ec) << "not JSON: " << ec.message();
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "the document is not a JSON object";
    return {};
  }
  return std::move(v.as_object());
}

TEST_F(OpenApi, DocumentIsServedWithoutATokenAsOpenApi31) {
  const auto r = call("GET", "/api/v1/openapi.json", {}, "");
  const json::object doc = served_document(r);
  EXPECT_EQ(r.body, api::openapi_json()) << "served as compiled in";
  ASSERT_TRUE(doc.contains("openapi"));
  const std::string version(doc.at("openapi").as_string());
  EXPECT_TRUE(version.starts_with("3.1.")) << version;
  EXPECT_EQ(doc.at("info").at("version").as_string(), engine::k_version)
      << "info.version is hookd's version (engine/version.hpp)";
  // Every token kind gets it too: the route is open.
  EXPECT_EQ(call("GET", "/api/v1/openapi.json", {}, "tok_wrong").status, 200u);
  EXPECT_EQ(call("GET", "/api/v1/openapi.json", {}, "tok_ops").status, 200u);
}

TEST_F(OpenApi, EveryRouteIsAnOperationAndEveryOperationARoute) {
  const json::object doc = served_document(call("GET", "/api/v1/openapi.json", {}, ""));
  ASSERT_TRUE(doc.contains("paths"));
  const json::object& paths = doc.at("paths").as_object();

  std::set<std::pair<std::string, std::string>> routes;  // method, pattern
  for (const auto& r : api::admin_routes().routes()) {
    const std::string method(r.method);
    const std::string pattern(r.pattern);
    routes.emplace(method, pattern);
    SCOPED_TRACE(method + " " + pattern);
    const json::value* item = paths.if_contains(pattern);
    ASSERT_NE(item, nullptr) << "a route missing from api/openapi.yaml's paths";
    const json::value* op = item->as_object().if_contains(lower(method));
    ASSERT_NE(op, nullptr) << "a route whose method is missing from api/openapi.yaml";

    // Open routes say so (security: []); the others use the document's X-Token.
    const json::value* security = op->as_object().if_contains("security");
    if (r.access == api::route_access::open) {
      ASSERT_NE(security, nullptr) << "an open route without security: []";
      EXPECT_TRUE(security->as_array().empty());
    } else {
      EXPECT_EQ(security, nullptr) << "a token route overriding the document's security";
    }
    // A JSON route requires a JSON body; the others require none.
    const json::value* body = op->as_object().if_contains("requestBody");
    if (r.body == api::route_body::json) {
      ASSERT_NE(body, nullptr) << "a JSON route without a body";
    }
    if (body != nullptr) {
      const json::object& b = resolve(doc, body->as_object(), "requestBodies");
      const json::value* required = b.if_contains("required");
      const bool is_required = required != nullptr && required->as_bool();
      EXPECT_EQ(is_required, r.body == api::route_body::json);
      EXPECT_TRUE(b.at("content").as_object().contains("application/json"));
    }
  }

  for (const auto& [pattern, item] : paths) {
    for (const auto& [key, op] : item.as_object()) {
      if (!k_operation_keys.contains(std::string(key))) continue;
      EXPECT_TRUE(routes.contains({upper(key), std::string(pattern)}))
          << upper(key) << " " << std::string(pattern)
          << " is in api/openapi.yaml but not a route of api/routes.cpp";
    }
  }
}

}  // namespace
}  // namespace hookd::test
