// Event payloads (engine/payload.hpp): what publish accepts, the JSON body and the
// Rack-style query string a delivery carries (DESIGN.md "Delivery contract"), and
// the shape checks of POST /api/v1/events.
#include "engine/delivery/payload.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "hookd/engine/event_catalog.hpp"
#include "hookd/errc.hpp"

namespace hookd::engine {
namespace {

constexpr std::string_view k_uuid = "0190163d-8694-739b-aea5-966c26f8ad91";

// A JSON object {"k":"xxx..."} of exactly `size` bytes.
std::string object_of_size(std::size_t size) {
  const std::string head = R"({"k":")";
  const std::string tail = R"("})";
  return head + std::string(size - head.size() - tail.size(), 'x') + tail;
}

// Expects `r` to be the invalid_argument failure check_payload reports, on the
// "event.payload" field.
template <class T>
void expect_payload_error(const outcome<T>& r) {
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  ASSERT_EQ(r.error().details.size(), 1u);
  EXPECT_EQ(r.error().details[0].field, "event.payload");
  EXPECT_FALSE(r.error().details[0].message.empty());
}

const event_catalog& sonar_types() {
  static const event_catalog catalog = event_catalog::sonar_default();
  return catalog;
}

std::vector<std::string> fields_of(const failure& f) {
  std::vector<std::string> fields;
  for (const auto& d : f.details) fields.push_back(d.field);
  return fields;
}

// --- check_payload ---------------------------------------------------------------------

TEST(Payload, AcceptsFlatObject) {
  EXPECT_TRUE(check_payload(R"({"id":1,"name":"Ann"})", false).has_value());
}

TEST(Payload, AcceptsNestedObject) {
  EXPECT_TRUE(check_payload(R"({"customer":{"address":{"city":"Oslo"}},"tags":[1,[2]]})", false)
                  .has_value());
}

TEST(Payload, AcceptsEmptyObject) {
  const auto r = check_payload("{}", true);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->query, "");
}

TEST(Payload, ReturnsEmptyQueryWhenQueryNotRequested) {
  const auto r = check_payload(R"({"a":1})", false);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->query, "");
}

TEST(Payload, RejectsArray) { expect_payload_error(check_payload(R"([{"a":1}])", false)); }

TEST(Payload, RejectsString) { expect_payload_error(check_payload(R"("text")", false)); }

TEST(Payload, RejectsNumber) { expect_payload_error(check_payload("42", false)); }

TEST(Payload, RejectsNull) { expect_payload_error(check_payload("null", false)); }

TEST(Payload, RejectsMalformedJson) {
  expect_payload_error(check_payload(R"({"a":)", false));
  expect_payload_error(check_payload(R"({"a":1,})", false));
  expect_payload_error(check_payload("", false));
  expect_payload_error(check_payload(R"({a:1})", false));
}

TEST(Payload, AcceptsPayloadOfExactly256KiB) {
  const std::string payload = object_of_size(k_max_payload_bytes);
  ASSERT_EQ(payload.size(), 256u * 1024u);
  EXPECT_TRUE(check_payload(payload, false).has_value());
}

TEST(Payload, RejectsPayloadOneByteOver256KiB) {
  const std::string payload = object_of_size(k_max_payload_bytes + 1);
  const auto r = check_payload(payload, false);
  expect_payload_error(r);
  EXPECT_NE(r.error().details[0].message.find("262144"), std::string::npos)
      << r.error().details[0].message;
}

TEST(Payload, RejectsTopLevelUuid) {
  const auto r = check_payload(R"({"a":1,"uuid":"x"})", false);
  expect_payload_error(r);
  EXPECT_NE(r.error().details[0].message.find("uuid"), std::string::npos);
}

TEST(Payload, RejectsTopLevelAction) {
  const auto r = check_payload(R"({"action":"x"})", true);
  expect_payload_error(r);
  EXPECT_NE(r.error().details[0].message.find("action"), std::string::npos);
}

TEST(Payload, AllowsUuidAndActionInsideNestedValues) {
  EXPECT_TRUE(
      check_payload(R"({"x":{"uuid":"u","action":"a"},"l":[{"uuid":1}]})", true).has_value());
}

// --- delivery_body ---------------------------------------------------------------------

TEST(PayloadDeliveryBody, AddsUuidAndActionToEmptyObject) {
  const std::string body = delivery_body("{}", k_uuid, "customer.created");
  EXPECT_EQ(body, std::string(R"({"uuid":")") + std::string(k_uuid) +
                      R"(","action":"customer.created"})");
  const boost::json::value v = boost::json::parse(body);
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.as_object().size(), 2u);
}

TEST(PayloadDeliveryBody, AddsUuidAndActionToEmptyObjectWithInnerWhitespace) {
  const boost::json::value v = boost::json::parse(delivery_body("{ \n\t}", k_uuid, "a.b"));
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.as_object().size(), 2u);
  EXPECT_EQ(v.at("uuid").as_string(), k_uuid);
  EXPECT_EQ(v.at("action").as_string(), "a.b");
}

TEST(PayloadDeliveryBody, SplicesUuidAndActionBeforePayloadFields) {
  const std::string body = delivery_body(R"({"a":1})", k_uuid, "customer.created");
  EXPECT_EQ(body, std::string(R"({"uuid":")") + std::string(k_uuid) +
                      R"(","action":"customer.created","a":1})");
  const boost::json::value v = boost::json::parse(body);
  EXPECT_EQ(v.at("a").as_int64(), 1);
  EXPECT_EQ(v.at("uuid").as_string(), k_uuid);
  EXPECT_EQ(v.at("action").as_string(), "customer.created");
}

TEST(PayloadDeliveryBody, HandlesPayloadWithLeadingWhitespace) {
  const boost::json::value v = boost::json::parse(
      delivery_body(" \n\t{ \"a\" : 1 , \"b\" : [true] }\n", k_uuid, "customer.updated"));
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.as_object().size(), 4u);
  EXPECT_EQ(v.at("uuid").as_string(), k_uuid);
  EXPECT_EQ(v.at("action").as_string(), "customer.updated");
  EXPECT_EQ(v.at("a").as_int64(), 1);
  EXPECT_EQ(v.at("b").at(0).as_bool(), true);
}

TEST(PayloadDeliveryBody, KeepsNestedPayloadFieldsIntact) {
  const std::string payload =
      R"({"customer":{"first_name":"Ann","uuid":"inner"},"tags":["a","b"],"n":3.5,"none":null})";
  ASSERT_TRUE(check_payload(payload, false).has_value());
  const boost::json::value v = boost::json::parse(delivery_body(payload, k_uuid, "x.y"));
  boost::json::value expected = boost::json::parse(payload);
  expected.as_object()["uuid"] = k_uuid;
  expected.as_object()["action"] = "x.y";
  EXPECT_EQ(v, expected);
}

// --- Rack-style query string -----------------------------------------------------------

TEST(PayloadQuery, BuildsRackNestedQueryWithPercentEncodedValues) {
  const auto r = check_payload(
      R"({"customer":{"first_name":"Ann","phone_number":"+1 555"},"tags":["a","b"],"n":3,)"
      R"("ok":true,"none":null,"items":[{"k":"v"}],"empty":[]})",
      true);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->query,
            "customer[first_name]=Ann&customer[phone_number]=%2B1%20555&tags[]=a&tags[]=b&n=3&"
            "ok=true&none=&items[][k]=v&empty[]=");
}

TEST(PayloadQuery, PercentEncodesKeysWithSpecialCharacters) {
  const auto r = check_payload(R"({"a b":{"c&d":"x","e=f":"y"},"x[y]":1,"caf\u00e9":"z"})", true);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->query, "a%20b[c%26d]=x&a%20b[e%3Df]=y&x%5By%5D=1&caf%C3%A9=z");
}

TEST(PayloadQuery, PercentEncodesAllButUnreservedCharactersInValues) {
  const auto r = check_payload(R"({"v":"aZ09-._~ /?#&=+%"})", true);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->query, "v=aZ09-._~%20%2F%3F%23%26%3D%2B%25");
}

TEST(PayloadQuery, DeliveryQueryPrefixesUuidAndAction) {
  EXPECT_EQ(delivery_query(k_uuid, "customer.created", "a=1&b[]=2"),
            "uuid=" + std::string(k_uuid) + "&action=customer.created&a=1&b[]=2");
}

TEST(PayloadQuery, DeliveryQueryOfEmptyPayloadHasOnlyUuidAndAction) {
  EXPECT_EQ(delivery_query(k_uuid, "customer.created", ""),
            "uuid=" + std::string(k_uuid) + "&action=customer.created");
}

// --- parse_event_request ---------------------------------------------------------------

TEST(EventRequest, ParsesValidRequest) {
  const auto r = parse_event_request(
      R"({"event": {"type": "customer_created", "payload": {"id": 7, "tags": ["a"]},)"
      R"( "id": "evt-1"}})",
      sonar_types());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->type, "customer_created");
  EXPECT_EQ(r->payload, R"({"id":7,"tags":["a"]})");
  EXPECT_EQ(r->id, "evt-1");
}

TEST(EventRequest, IdIsOptional) {
  const auto r =
      parse_event_request(R"({"event":{"type":"customer_created","payload":{}}})", sonar_types());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->payload, "{}");
  EXPECT_EQ(r->id, std::nullopt);
}

TEST(EventRequest, RejectsMissingEvent) {
  const auto r = parse_event_request(R"({"type":"customer_created","payload":{}})", sonar_types());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_EQ(fields_of(r.error()), std::vector<std::string>{"event"});
}

TEST(EventRequest, RejectsEventThatIsNotAnObject) {
  for (std::string_view body :
       {R"({"event":"x"})", R"({"event":[]})", R"({"event":null})", R"([{"event":{}}])", "3"}) {
    const auto r = parse_event_request(body, sonar_types());
    ASSERT_FALSE(r.has_value()) << body;
    EXPECT_EQ(r.error().code, errc::invalid_argument) << body;
    EXPECT_EQ(fields_of(r.error()), std::vector<std::string>{"event"}) << body;
  }
}

TEST(EventRequest, RejectsMissingType) {
  const auto r = parse_event_request(R"({"event":{"payload":{}}})", sonar_types());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_EQ(fields_of(r.error()), std::vector<std::string>{"event.type"});
}

TEST(EventRequest, RejectsMissingPayload) {
  const auto r = parse_event_request(R"({"event":{"type":"customer_created"}})", sonar_types());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_EQ(fields_of(r.error()), std::vector<std::string>{"event.payload"});
}

TEST(EventRequest, RejectsTypeNotInCatalog) {
  const auto r =
      parse_event_request(R"({"event":{"type":"customer.exploded","payload":{}}})", sonar_types());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_EQ(fields_of(r.error()), std::vector<std::string>{"event.type"});
  EXPECT_NE(r.error().details[0].message.find("customer_created"), std::string::npos)
      << r.error().details[0].message;
}

TEST(EventRequest, AcceptsTypeFromCustomCatalog) {
  const auto catalog = event_catalog::from_types({"order.paid"});
  ASSERT_TRUE(catalog.has_value());
  const auto r = parse_event_request(R"({"event":{"type":"order.paid","payload":{}}})", *catalog);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->type, "order.paid");
  EXPECT_FALSE(
      parse_event_request(R"({"event":{"type":"customer_created","payload":{}}})", *catalog)
          .has_value());
}

TEST(EventRequest, RejectsTypeThatIsNotAString) {
  const auto r = parse_event_request(R"({"event":{"type":5,"payload":{}}})", sonar_types());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(fields_of(r.error()), std::vector<std::string>{"event.type"});
}

TEST(EventRequest, RejectsPayloadThatIsNotAnObject) {
  for (std::string_view payload : {R"([])", R"("{}")", "1", "null"}) {
    const std::string body =
        R"({"event":{"type":"customer_created","payload":)" + std::string(payload) + "}}";
    const auto r = parse_event_request(body, sonar_types());
    ASSERT_FALSE(r.has_value()) << body;
    EXPECT_EQ(fields_of(r.error()), std::vector<std::string>{"event.payload"}) << body;
  }
}

TEST(EventRequest, RejectsIdThatIsNotAString) {
  for (std::string_view id : {"7", "null", R"({})", "true"}) {
    const std::string body =
        R"({"event":{"type":"customer_created","payload":{},"id":)" + std::string(id) + "}}";
    const auto r = parse_event_request(body, sonar_types());
    ASSERT_FALSE(r.has_value()) << body;
    EXPECT_EQ(fields_of(r.error()), std::vector<std::string>{"event.id"}) << body;
  }
}

TEST(EventRequest, ReportsEveryProblemWithItsField) {
  const auto r =
      parse_event_request(R"({"event":{"type":["x"],"payload":"p","id":1}})", sonar_types());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_EQ(fields_of(r.error()),
            (std::vector<std::string>{"event.type", "event.payload", "event.id"}));
  for (const auto& d : r.error().details) EXPECT_FALSE(d.message.empty()) << d.field;
}

TEST(EventRequest, ReportsMissingTypeAndPayloadTogether) {
  const auto r = parse_event_request(R"({"event":{}})", sonar_types());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(fields_of(r.error()), (std::vector<std::string>{"event.type", "event.payload"}));
}

TEST(EventRequest, RejectsMalformedJsonAsMalformedInput) {
  for (std::string_view body : {"", "{", R"({"event":{"type":"a",}})", "not json"}) {
    const auto r = parse_event_request(body, sonar_types());
    ASSERT_FALSE(r.has_value()) << body;
    EXPECT_EQ(r.error().code, errc::malformed_input) << body;
    EXPECT_TRUE(r.error().details.empty()) << body;
  }
}

}  // namespace
}  // namespace hookd::engine

namespace hookd::engine {
namespace {

// --- payloads as written ---------------------------------------------------------------

TEST(PayloadAsWritten, KeepsBigIntegersExoticNumbersKeyOrderAndEscapes) {
  // Beyond 64 bits, negative zero, exponents, trailing zeros, escapes that decode to
  // the same text: a receiver gets each token as the publisher wrote it.
  const std::string payload =
      R"({"z":1,"big":123456789012345678901234567890,"neg":-0,"e":1E+400,"x":1.50,)"
      R"("esc":"caf\u00e9 \/ \"q\"","a":[0.0,-1e-7]})";
  const auto r = check_payload(payload, false);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->text, payload);
  EXPECT_EQ(delivery_body(r->text, k_uuid, "x.y"), std::string(R"({"uuid":")") +
                                                       std::string(k_uuid) +
                                                       R"(","action":"x.y",)" + payload.substr(1));
}

TEST(PayloadAsWritten, DropsOnlyWhitespaceBetweenTokens) {
  const auto r = check_payload(" {\n \"a\" : [ 1 , 2.50 ] ,\t\"b\" : \" x  y \" }\r\n", false);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->text, R"({"a":[1,2.50],"b":" x  y "})");
}

TEST(PayloadAsWritten, TheQueryCarriesBigIntegersAsWritten) {
  const auto r = check_payload(R"({"id":123456789012345678901234567890,"f":1.50e3})", true);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->query, "id=123456789012345678901234567890&f=1.50e3");
}

TEST(PayloadAsWritten, DuplicateKeysAreRefusedNamingTheKey) {
  for (const auto& [payload, path] : std::vector<std::pair<std::string, std::string>>{
           {R"({"a":1,"a":2})", "a"},
           {R"({"a":{"b":1,"c":2,"b":3}})", "a.b"},
           {R"({"list":[{"k":1},{"k":1,"k":2}]})", "list[1].k"},
           {R"({"caf\u00e9":1,"café":2})", "café"},  // the same name, escaped or not
       }) {
    SCOPED_TRACE(payload);
    const auto r = check_payload(payload, false);
    expect_payload_error(r);
    if (!r) {
      EXPECT_NE(r.error().details[0].message.find('"' + path + '"'), std::string::npos)
          << r.error().details[0].message;
    }
  }
}

TEST(EventRequestStrict, DuplicateKeysAre400NamingThePath) {
  for (const auto& [body, path] : std::vector<std::pair<std::string, std::string>>{
           {R"({"event":{"type":"customer_created","type":"x","payload":{}}})", "event.type"},
           {R"({"event":{"type":"customer_created","payload":{"id":1,"id":2}}})",
            "event.payload.id"},
           {R"({"event":{"type":"customer_created","payload":{}},"event":{}})", "event"},
       }) {
    SCOPED_TRACE(body);
    const auto r = parse_event_request(body, sonar_types());
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::malformed_input);
    ASSERT_EQ(r.error().details.size(), 1u);
    EXPECT_EQ(r.error().details[0].field, path);
  }
}

TEST(EventRequestStrict, ThePayloadIsTakenAsWritten) {
  const auto r =
      parse_event_request(R"({"event": {"payload": {"n": 18446744073709551616, "m": -1.0E-2},)"
                          R"( "type": "customer_created"}})",
                          sonar_types());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->payload, R"({"n":18446744073709551616,"m":-1.0E-2})");
}

}  // namespace
}  // namespace hookd::engine

namespace hookd::engine {
namespace {

TEST(PayloadQuery, AQueryThatWouldMultiplyThePayloadIsRefused) {
  // A 100 KB key over thousands of leaves: each leaf repeats the key in the query,
  // which would take gigabytes. Found by the rack_query fuzz target's author.
  std::string payload = "{\"" + std::string(100'000, 'k') + "\":[";
  for (int i = 0; i < 5'000; ++i) payload += i ? ",0" : "0";
  payload += "]}";
  ASSERT_LE(payload.size(), k_max_payload_bytes);
  const auto refused = check_payload(payload, true);
  expect_payload_error(refused);
  if (!refused) {
    EXPECT_NE(refused.error().details[0].message.find("query string"), std::string::npos);
  }
  // Without a query (POST webhooks only) the same payload is fine.
  EXPECT_TRUE(check_payload(payload, false).has_value());
}

}  // namespace
}  // namespace hookd::engine
