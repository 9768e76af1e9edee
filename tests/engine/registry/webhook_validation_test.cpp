// The validation table of DESIGN.md "Validation of a webhook": each rule with values
// it accepts and values it rejects, the shape of the request body, and the promise
// that every invalid field is reported at once with its JSON path.
#include "engine/registry/webhook_validation.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "hookd/engine/event_catalog.hpp"
#include "hookd/engine/failure.hpp"

namespace hookd::engine {
namespace {

// Raw JSON text of each member of the "webhook" object, in order.
using members = std::vector<std::pair<std::string, std::string>>;

// The request of Sonar's "Create Webhook" documentation (sonar/create-webhook.txt).
constexpr std::string_view k_sonar_example = R"({
  "webhook": {
    "name": "webhook to capture customer state changes",
    "active": "true",
    "settings": {
      "customer_state_changed": "true"
    },
    "url": "https://endpoint.com/catch-a-hook",
    "http_method": "POST"
  }
})";

members sonar_members() {
  return {
      {"name", R"("webhook to capture customer state changes")"},
      {"active", R"("true")"},
      {"settings", R"({"customer_state_changed": "true"})"},
      {"url", R"("https://endpoint.com/catch-a-hook")"},
      {"http_method", R"("POST")"},
  };
}

members with(members m, const std::string& key, std::string raw) {
  auto it = std::find_if(m.begin(), m.end(), [&](const auto& kv) { return kv.first == key; });
  if (it == m.end()) {
    m.emplace_back(key, std::move(raw));
  } else {
    it->second = std::move(raw);
  }
  return m;
}

members without(members m, const std::string& key) {
  std::erase_if(m, [&](const auto& kv) { return kv.first == key; });
  return m;
}

std::string body_of(const members& m) {
  std::string out = R"({"webhook": {)";
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (i > 0) out += ", ";
    out += '"' + m[i].first + "\": " + m[i].second;
  }
  return out + "}}";
}

// A JSON string literal for test text (which holds no control characters).
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// The text of an event catalog error, whether the error type is a plain string or
// carries its text in a `message` member.
template <class E>
std::string message_of(const E& e) {
  if constexpr (requires { e.message; }) {
    return std::string(e.message);
  } else {
    return std::string(e);
  }
}

std::string describe(const failure& f) {
  std::string out = f.code.message() + ": " + f.message;
  for (const auto& d : f.details) out += "\n  " + d.field + ": " + d.message;
  return out;
}

std::vector<std::string> fields_of(const failure& f) {
  std::vector<std::string> out;
  for (const auto& d : f.details) out.push_back(d.field);
  std::sort(out.begin(), out.end());
  return out;
}

const event_catalog& sonar_catalog() {
  static const event_catalog catalog = event_catalog::sonar_default();
  return catalog;
}

outcome<webhook_fields> parse(std::string_view body, webhook_mode mode = webhook_mode::create) {
  return parse_webhook_request(body, sonar_catalog(), mode);
}

std::string mode_name(webhook_mode mode) {
  switch (mode) {
    case webhook_mode::create:
      return "Create";
    case webhook_mode::replace:
      return "Replace";
    case webhook_mode::patch:
      return "Patch";
  }
  return "Unknown";
}

// --- The documented example and the happy path --------------------------------

TEST(WebhookValidation, AcceptsSonarDocumentationExample) {
  auto parsed = parse(k_sonar_example);
  ASSERT_TRUE(parsed) << describe(parsed.error());
  EXPECT_EQ(parsed->name, "webhook to capture customer state changes");
  EXPECT_EQ(parsed->active, true);
  ASSERT_TRUE(parsed->settings);
  const std::vector<std::pair<std::string, bool>> expected = {{"customer_state_changed", true}};
  EXPECT_EQ(*parsed->settings, expected);
  EXPECT_EQ(parsed->url, "https://endpoint.com/catch-a-hook");
  EXPECT_EQ(parsed->http_method, "POST");
}

TEST(WebhookValidation, SettingsKeepRequestOrderAndMixedFlagSpellings) {
  auto parsed = parse(body_of(with(sonar_members(), "settings", R"({
        "outbound_message": "true",
        "customer_created": false,
        "new_assigned_message": true,
        "customer_subscribed": "false"})")));
  ASSERT_TRUE(parsed) << describe(parsed.error());
  const std::vector<std::pair<std::string, bool>> expected = {
      {"outbound_message", true},
      {"customer_created", false},
      {"new_assigned_message", true},
      {"customer_subscribed", false},
  };
  EXPECT_EQ(parsed->settings, expected);
}

TEST(WebhookValidation, EmptySettingsObjectSubscribesToNothing) {
  auto parsed = parse(body_of(with(sonar_members(), "settings", "{}")));
  ASSERT_TRUE(parsed) << describe(parsed.error());
  ASSERT_TRUE(parsed->settings);
  EXPECT_TRUE(parsed->settings->empty());
}

TEST(WebhookValidation, IgnoresUnknownFieldsInWebhookAndBody) {
  const std::string body = R"({"webhook": {
      "name": "n", "settings": {}, "url": "https://example.com/", "http_method": "POST",
      "id": 7, "secret": "whsec_client_sent_this", "nested": {"a": [1, 2]}},
    "meta": {"trace": "abc"}})";
  auto parsed = parse(body);
  ASSERT_TRUE(parsed) << describe(parsed.error());
  EXPECT_EQ(parsed->name, "n");
  EXPECT_EQ(parsed->url, "https://example.com/");
}

// --- active and settings values: four accepted spellings ------------------------

struct flag_case {
  std::string name;
  std::string raw;  // JSON text
  bool expected;
};

class WebhookFlagValues : public ::testing::TestWithParam<flag_case> {};

TEST_P(WebhookFlagValues, AreAcceptedForActive) {
  auto parsed = parse(body_of(with(sonar_members(), "active", GetParam().raw)));
  ASSERT_TRUE(parsed) << describe(parsed.error());
  EXPECT_EQ(parsed->active, GetParam().expected);
}

TEST_P(WebhookFlagValues, AreAcceptedForSettingsValues) {
  auto parsed = parse(body_of(
      with(sonar_members(), "settings", R"({"customer_created": )" + GetParam().raw + "}")));
  ASSERT_TRUE(parsed) << describe(parsed.error());
  const std::vector<std::pair<std::string, bool>> expected = {
      {"customer_created", GetParam().expected}};
  EXPECT_EQ(parsed->settings, expected);
}

INSTANTIATE_TEST_SUITE_P(, WebhookFlagValues,
                         ::testing::Values(flag_case{"StringTrue", R"("true")", true},
                                           flag_case{"StringFalse", R"("false")", false},
                                           flag_case{"BooleanTrue", "true", true},
                                           flag_case{"BooleanFalse", "false", false}),
                         [](const auto& info) { return info.param.name; });

TEST(WebhookValidation, OmittedActiveMeansInactiveOnCreate) {
  auto parsed = parse(body_of(without(sonar_members(), "active")), webhook_mode::create);
  ASSERT_TRUE(parsed) << describe(parsed.error());
  EXPECT_EQ(parsed->active, false);
}

TEST(WebhookValidation, OmittedActiveMeansInactiveOnReplace) {
  auto parsed = parse(body_of(without(sonar_members(), "active")), webhook_mode::replace);
  ASSERT_TRUE(parsed) << describe(parsed.error());
  EXPECT_EQ(parsed->active, false);
}

TEST(WebhookValidation, OmittedActiveIsLeftUnchangedOnPatch) {
  auto parsed = parse(R"({"webhook": {"name": "renamed"}})", webhook_mode::patch);
  ASSERT_TRUE(parsed) << describe(parsed.error());
  EXPECT_FALSE(parsed->active.has_value());
  EXPECT_EQ(parsed->name, "renamed");
}

// --- Required fields ---------------------------------------------------------------

struct required_case {
  webhook_mode mode;
  std::string field;
};

// Whether parse_webhook_request returned a value for the member `field`.
bool is_set(const webhook_fields& f, std::string_view field) {
  if (field == "name") return f.name.has_value();
  if (field == "url") return f.url.has_value();
  if (field == "http_method") return f.http_method.has_value();
  if (field == "settings") return f.settings.has_value();
  if (field == "active") return f.active.has_value();
  ADD_FAILURE() << "no such field " << field;
  return false;
}

class WebhookRequiredFields : public ::testing::TestWithParam<required_case> {};

TEST_P(WebhookRequiredFields, MissingFieldIsReportedOnCreateAndReplaceOnly) {
  const auto& [mode, field] = GetParam();
  auto parsed = parse(body_of(without(sonar_members(), field)), mode);
  if (mode == webhook_mode::patch) {
    ASSERT_TRUE(parsed) << describe(parsed.error());
    for (const char* other : {"name", "url", "http_method", "settings"}) {
      EXPECT_EQ(is_set(*parsed, other), other != field) << other;
    }
    return;
  }
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, errc::invalid_argument);
  ASSERT_EQ(parsed.error().details.size(), 1u) << describe(parsed.error());
  EXPECT_EQ(parsed.error().details[0].field, "webhook." + field);
  EXPECT_EQ(parsed.error().details[0].message, "is required");
}

std::vector<required_case> required_cases() {
  std::vector<required_case> out;
  for (auto mode : {webhook_mode::create, webhook_mode::replace, webhook_mode::patch}) {
    for (const char* field : {"name", "url", "http_method", "settings"}) {
      out.push_back({mode, field});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(, WebhookRequiredFields, ::testing::ValuesIn(required_cases()),
                         [](const auto& info) {
                           return mode_name(info.param.mode) + "_" + info.param.field;
                         });

TEST(WebhookValidation, EmptyWebhookOnCreateReportsEveryRequiredField) {
  auto parsed = parse(R"({"webhook": {}})", webhook_mode::create);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, errc::invalid_argument);
  const std::vector<std::string> expected = {"webhook.http_method", "webhook.name",
                                             "webhook.settings", "webhook.url"};
  EXPECT_EQ(fields_of(parsed.error()), expected) << describe(parsed.error());
  for (const auto& d : parsed.error().details) EXPECT_EQ(d.message, "is required") << d.field;
}

TEST(WebhookValidation, EmptyWebhookOnPatchIsValidAndSetsNothing) {
  auto parsed = parse(R"({"webhook": {}})", webhook_mode::patch);
  ASSERT_TRUE(parsed) << describe(parsed.error());
  EXPECT_FALSE(parsed->name);
  EXPECT_FALSE(parsed->active);
  EXPECT_FALSE(parsed->settings);
  EXPECT_FALSE(parsed->url);
  EXPECT_FALSE(parsed->http_method);
}

TEST(WebhookValidation, PatchStillValidatesTheFieldsItGives) {
  auto parsed =
      parse(R"({"webhook": {"url": "ftp://example.com/", "active": "yes"}})", webhook_mode::patch);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, errc::invalid_argument);
  const std::vector<std::string> expected = {"webhook.active", "webhook.url"};
  EXPECT_EQ(fields_of(parsed.error()), expected) << describe(parsed.error());
}

// --- Accepted values ---------------------------------------------------------------

struct accepted_case {
  std::string name;
  std::string field;     // member of "webhook"
  std::string value;     // a JSON string value, unquoted
  std::string expected;  // what parse_webhook_request returns for it
};

class WebhookAcceptedValue : public ::testing::TestWithParam<accepted_case> {};

TEST_P(WebhookAcceptedValue, IsAcceptedAndReturnedNormalized) {
  const auto& c = GetParam();
  auto parsed = parse(body_of(with(sonar_members(), c.field, json_string(c.value))));
  ASSERT_TRUE(parsed) << describe(parsed.error());
  const std::optional<std::string>& got = c.field == "name"  ? parsed->name
                                          : c.field == "url" ? parsed->url
                                                             : parsed->http_method;
  EXPECT_EQ(got, c.expected);
}

std::vector<accepted_case> accepted_cases() {
  const std::string url_prefix = "https://example.com/";
  const std::string longest_url =
      url_prefix + std::string(k_max_url_bytes - url_prefix.size(), 'a');
  return {
      {"NameOfOneCharacter", "name", "x", "x"},
      {"NameOfExactly255Bytes", "name", std::string(k_max_name_bytes, 'n'),
       std::string(k_max_name_bytes, 'n')},
      {"NameWithInnerAndOuterSpacesKeptAsGiven", "name", " my hook ", " my hook "},
      {"NameInUtf8Within255Bytes", "name", "Webhook f\u00fcr Kunden", "Webhook f\u00fcr Kunden"},
      {"HttpsUrl", "url", "https://endpoint.com/catch-a-hook", "https://endpoint.com/catch-a-hook"},
      {"HttpUrlWithPortPathAndQuery", "url", "http://example.com:8080/hooks/in?token=abc&v=2",
       "http://example.com:8080/hooks/in?token=abc&v=2"},
      {"HttpsUrlWithPortPathAndQuery", "url", "https://hooks.example.org:8443/a/b/c?x=1",
       "https://hooks.example.org:8443/a/b/c?x=1"},
      {"UrlWithIpv4Host", "url", "http://203.0.113.7/hook", "http://203.0.113.7/hook"},
      {"UrlWithIpv6Host", "url", "http://[2001:db8::1]:8080/", "http://[2001:db8::1]:8080/"},
      {"UrlWithUpperCaseScheme", "url", "HTTPS://example.com/", "HTTPS://example.com/"},
      {"UrlOfExactly2048Bytes", "url", longest_url, longest_url},
      {"UrlWithHighestPort", "url", "https://example.com:65535/", "https://example.com:65535/"},
      {"UrlWithPercentEncodedPathAndQuery", "url", "https://example.com/a%20b?q=%2F",
       "https://example.com/a%20b?q=%2F"},
      {"MethodPost", "http_method", "POST", "POST"},
      {"MethodPut", "http_method", "PUT", "PUT"},
      {"MethodPatch", "http_method", "PATCH", "PATCH"},
      {"MethodGet", "http_method", "GET", "GET"},
      {"MethodDelete", "http_method", "DELETE", "DELETE"},
      {"MethodLowerCaseReturnedUpperCase", "http_method", "post", "POST"},
      {"MethodMixedCaseReturnedUpperCase", "http_method", "pAtCh", "PATCH"},
      {"MethodLowerCaseDeleteReturnedUpperCase", "http_method", "delete", "DELETE"},
  };
}

INSTANTIATE_TEST_SUITE_P(, WebhookAcceptedValue, ::testing::ValuesIn(accepted_cases()),
                         [](const auto& info) { return info.param.name; });

// --- Rejected values: one bad field in an otherwise valid request -------------------

struct rejected_case {
  std::string name;
  std::string field;        // member of "webhook" to set
  std::string raw;          // its JSON text
  std::string path;         // the reported JSON path
  std::string message_has;  // a part of the reported message
};

class WebhookRejectedValue : public ::testing::TestWithParam<rejected_case> {};

TEST_P(WebhookRejectedValue, IsReportedAsTheOnlyInvalidField) {
  const auto& c = GetParam();
  for (auto mode : {webhook_mode::create, webhook_mode::replace, webhook_mode::patch}) {
    SCOPED_TRACE(mode_name(mode));
    auto parsed = parse(body_of(with(sonar_members(), c.field, c.raw)), mode);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, errc::invalid_argument);
    ASSERT_EQ(parsed.error().details.size(), 1u) << describe(parsed.error());
    EXPECT_EQ(parsed.error().details[0].field, c.path);
    EXPECT_TRUE(contains(parsed.error().details[0].message, c.message_has))
        << "message: " << parsed.error().details[0].message << "\nexpected part: " << c.message_has;
    EXPECT_EQ(parsed.error().message, "the webhook has 1 invalid field");
  }
}

std::vector<rejected_case> rejected_cases() {
  const std::string url_prefix = "https://example.com/";
  const std::string too_long_url =
      url_prefix + std::string(k_max_url_bytes + 1 - url_prefix.size(), 'a');
  std::string utf8_256_bytes;
  for (int i = 0; i < 128; ++i) utf8_256_bytes += "\u00e9";  // 2 bytes each
  return {
      // name
      {"NameEmpty", "name", R"("")", "webhook.name", "must not be empty"},
      {"NameBlank", "name", R"("   ")", "webhook.name", "must not be empty"},
      {"NameOnlyTabsAndNewlines", "name", R"(" \t\r\n ")", "webhook.name", "must not be empty"},
      {"NameOf256Bytes", "name", json_string(std::string(k_max_name_bytes + 1, 'n')),
       "webhook.name", "must be at most 255 bytes, got 256"},
      {"NameOf128CharactersButOver255Bytes", "name", json_string(utf8_256_bytes), "webhook.name",
       "got 256"},
      {"NameNumber", "name", "42", "webhook.name", "must be a string, got a number"},
      {"NameNull", "name", "null", "webhook.name", "must be a string, got null"},
      {"NameArray", "name", R"(["a"])", "webhook.name", "must be a string, got an array"},
      // url
      {"UrlEmpty", "url", R"("")", "webhook.url", "must not be empty"},
      {"UrlRelativePath", "url", R"("/catch-a-hook")", "webhook.url", "absolute"},
      {"UrlWithoutScheme", "url", R"("endpoint.com/catch-a-hook")", "webhook.url", "absolute"},
      {"UrlSchemeRelative", "url", R"("//endpoint.com/catch-a-hook")", "webhook.url", "absolute"},
      {"UrlFtpScheme", "url", R"("ftp://endpoint.com/hook")", "webhook.url",
       "must use http or https, got \"ftp\""},
      {"UrlMailtoScheme", "url", R"("mailto:ops@example.com")", "webhook.url",
       "must use http or https"},
      {"UrlWithEmptyHost", "url", R"("https:///catch-a-hook")", "webhook.url", "must have a host"},
      {"UrlWithoutAuthority", "url", R"("http:catch-a-hook")", "webhook.url", "must have a host"},
      {"UrlOnlyScheme", "url", R"("https://")", "webhook.url", "must have a host"},
      {"UrlWithSpace", "url", R"("https://end point.com/")", "webhook.url", "absolute"},
      {"UrlOf2049Bytes", "url", json_string(too_long_url), "webhook.url",
       "must be at most 2048 bytes, got 2049"},
      {"UrlWithUserInfo", "url", R"("https://user:pass@endpoint.com/hook")", "webhook.url",
       "must not contain user-info"},
      {"UrlWithEmptyUserInfo", "url", R"("https://@endpoint.com/hook")", "webhook.url",
       "must not contain user-info"},
      {"UrlWithFragment", "url", R"("https://endpoint.com/hook#section")", "webhook.url",
       "must not contain a fragment"},
      {"UrlWithEmptyFragment", "url", R"("https://endpoint.com/hook#")", "webhook.url",
       "must not contain a fragment"},
      {"UrlWithPortZero", "url", R"("https://endpoint.com:0/hook")", "webhook.url",
       "must have a port from 1 to 65535, got \"0\""},
      {"UrlWithPortOver65535", "url", R"("https://endpoint.com:65536/hook")", "webhook.url",
       "must have a port from 1 to 65535, got \"65536\""},
      {"UrlWithLettersInPort", "url", R"("https://endpoint.com:80a/hook")", "webhook.url",
       "must have a port from 1 to 65535 after the host, got \"80a\""},
      {"UrlWithPercentEncodedHost", "url", R"("https://end%70oint.com/hook")", "webhook.url",
       "must not percent-encode the host name"},
      {"UrlWithIpvFutureHost", "url", R"("https://[v1.x]/hook")", "webhook.url",
       "must not use an IPvFuture host"},
      {"UrlNumber", "url", "1.5", "webhook.url", "must be a string, got a number"},
      {"UrlObject", "url", R"({"host": "x"})", "webhook.url", "must be a string, got an object"},
      // http_method
      {"MethodUnknown", "http_method", R"("FETCH")", "webhook.http_method",
       "must be one of POST, PUT, PATCH, GET, DELETE, got \"FETCH\""},
      {"MethodOptions", "http_method", R"("OPTIONS")", "webhook.http_method", "got \"OPTIONS\""},
      {"MethodEmpty", "http_method", R"("")", "webhook.http_method", "must be one of"},
      {"MethodWithTrailingSpace", "http_method", R"("POST ")", "webhook.http_method",
       "must be one of"},
      {"MethodBoolean", "http_method", "true", "webhook.http_method",
       "must be a string, got a boolean"},
      // active
      {"ActiveYes", "active", R"("yes")", "webhook.active",
       R"(must be "true", "false", true or false, got "yes")"},
      {"ActiveCapitalizedTrue", "active", R"("True")", "webhook.active", R"(got "True")"},
      {"ActiveNumber", "active", "1", "webhook.active", "got a number"},
      {"ActiveNull", "active", "null", "webhook.active", "got null"},
      {"ActiveArray", "active", R"(["true"])", "webhook.active", "got an array"},
      {"ActiveObject", "active", "{}", "webhook.active", "got an object"},
      // settings as a whole
      {"SettingsString", "settings", R"("customer_created")", "webhook.settings",
       "must be an object of event type to \"true\"/\"false\", got a string"},
      {"SettingsArray", "settings", R"(["customer_created"])", "webhook.settings", "got an array"},
      {"SettingsNull", "settings", "null", "webhook.settings", "got null"},
      {"SettingsNumber", "settings", "1", "webhook.settings", "got a number"},
      // settings values
      {"SettingsValueNumber", "settings", R"({"customer_created": 1})",
       "webhook.settings.customer_created", "got a number"},
      {"SettingsValueNull", "settings", R"({"customer_created": null})",
       "webhook.settings.customer_created", "got null"},
      {"SettingsValueArray", "settings", R"({"customer_created": ["true"]})",
       "webhook.settings.customer_created", "got an array"},
      {"SettingsValueObject", "settings", R"({"customer_created": {}})",
       "webhook.settings.customer_created", "got an object"},
      {"SettingsValueOtherString", "settings", R"({"customer_created": "on"})",
       "webhook.settings.customer_created", R"(must be "true", "false", true or false, got "on")"},
      // settings keys
      {"SettingsUnknownKey", "settings", R"({"customer_deleted": "true"})",
       "webhook.settings.customer_deleted", "is not a known event type; accepted: "},
      {"SettingsKeyOfOtherCase", "settings", R"({"Customer_Created": "true"})",
       "webhook.settings.Customer_Created", "is not a known event type"},
      {"SettingsKeyWithSpaceUsesBracketPath", "settings", R"({"customer created": "true"})",
       R"(webhook.settings["customer created"])", "is not a known event type"},
      {"SettingsKeyWithQuoteIsEscapedInPath", "settings", R"({"a\"b": "true"})",
       R"(webhook.settings["a\"b"])", "is not a known event type"},
      {"SettingsEmptyKeyUsesBracketPath", "settings", R"({"": "true"})", R"(webhook.settings[""])",
       "is not a known event type"},
  };
}

INSTANTIATE_TEST_SUITE_P(, WebhookRejectedValue, ::testing::ValuesIn(rejected_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(WebhookValidation, UnknownSettingsKeyMessageListsEveryAcceptedKey) {
  auto parsed =
      parse(body_of(with(sonar_members(), "settings", R"({"customer_deleted": "true"})")));
  ASSERT_FALSE(parsed);
  ASSERT_EQ(parsed.error().details.size(), 1u) << describe(parsed.error());
  const std::string message = parsed.error().details[0].message;
  ASSERT_EQ(sonar_catalog().types().size(), 11u);
  for (const auto& type : sonar_catalog().types()) {
    EXPECT_TRUE(contains(message, type)) << type << " missing from: " << message;
  }
  EXPECT_TRUE(contains(message, sonar_catalog().joined())) << message;
}

TEST(WebhookValidation, EveryBadSettingsEntryIsReported) {
  auto parsed = parse(body_of(with(sonar_members(), "settings", R"({
      "customer_created": "true",
      "customer_deleted": "true",
      "outbound_message": 0,
      "made_up": false})")));
  ASSERT_FALSE(parsed);
  const std::vector<std::string> expected = {"webhook.settings.customer_deleted",
                                             "webhook.settings.made_up",
                                             "webhook.settings.outbound_message"};
  EXPECT_EQ(fields_of(parsed.error()), expected) << describe(parsed.error());
}

// --- The body around the webhook object --------------------------------------------

struct malformed_case {
  std::string name;
  std::string body;
};

class WebhookMalformedBody : public ::testing::TestWithParam<malformed_case> {};

TEST_P(WebhookMalformedBody, IsMalformedInputWithoutFieldDetails) {
  auto parsed = parse(GetParam().body);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, errc::malformed_input) << describe(parsed.error());
  EXPECT_TRUE(parsed.error().details.empty()) << describe(parsed.error());
  EXPECT_TRUE(contains(parsed.error().message, "not valid JSON")) << parsed.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    , WebhookMalformedBody,
    ::testing::Values(malformed_case{"Empty", ""}, malformed_case{"Whitespace", "  \n "},
                      malformed_case{"PlainText", "webhook please"},
                      malformed_case{"UnclosedObject", R"({"webhook": {"name": "x")"},
                      malformed_case{"TrailingComma", R"({"webhook": {"name": "x",}})"},
                      malformed_case{"SingleQuotes", R"({'webhook': {}})"},
                      malformed_case{"MissingValue", R"({"webhook": })"},
                      malformed_case{"TrailingGarbage", R"({"webhook": {}} x)"}),
    [](const auto& info) { return info.param.name; });

struct shape_case {
  std::string name;
  std::string body;
  std::string path;
  std::string message_has;
};

class WebhookBodyShape : public ::testing::TestWithParam<shape_case> {};

TEST_P(WebhookBodyShape, IsInvalidArgumentNamingTheField) {
  const auto& c = GetParam();
  auto parsed = parse(c.body);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, errc::invalid_argument);
  ASSERT_EQ(parsed.error().details.size(), 1u) << describe(parsed.error());
  EXPECT_EQ(parsed.error().details[0].field, c.path);
  EXPECT_TRUE(contains(parsed.error().details[0].message, c.message_has))
      << parsed.error().details[0].message;
}

INSTANTIATE_TEST_SUITE_P(
    , WebhookBodyShape,
    ::testing::Values(
        shape_case{"BodyArray", R"([{"webhook": {}}])", "body", "must be a JSON object"},
        shape_case{"BodyString", R"("webhook")", "body", "got a string"},
        shape_case{"BodyNumber", "42", "body", "got a number"},
        shape_case{"BodyNull", "null", "body", "got null"},
        shape_case{"EmptyObject", "{}", "webhook", "is required"},
        shape_case{"FieldsAtTopLevelWithoutWebhook",
                   R"({"name": "n", "url": "https://example.com/", "http_method": "POST",
                       "settings": {}})",
                   "webhook", "is required"},
        shape_case{"WebhookKeyOfOtherCase", R"({"Webhook": {}})", "webhook", "is required"},
        shape_case{"WebhookString", R"({"webhook": "x"})", "webhook",
                   "must be an object, got a string"},
        shape_case{"WebhookArray", R"({"webhook": []})", "webhook", "got an array"},
        shape_case{"WebhookNull", R"({"webhook": null})", "webhook", "got null"},
        shape_case{"WebhookBoolean", R"({"webhook": true})", "webhook", "got a boolean"}),
    [](const auto& info) { return info.param.name; });

// --- Every invalid field at once ----------------------------------------------------

TEST(WebhookValidation, ReportsEveryInvalidFieldAtOnce) {
  const std::string body = R"({"webhook": {
      "name": "",
      "active": "maybe",
      "settings": {"customer_created": "true", "not_an_event": "true"},
      "url": "ftp://endpoint.com/hook",
      "http_method": "FETCH"}})";
  for (auto mode : {webhook_mode::create, webhook_mode::replace, webhook_mode::patch}) {
    SCOPED_TRACE(mode_name(mode));
    auto parsed = parse(body, mode);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, errc::invalid_argument);
    EXPECT_EQ(parsed.error().message, "the webhook has 5 invalid fields");
    const std::vector<std::string> expected = {"webhook.active", "webhook.http_method",
                                               "webhook.name", "webhook.settings.not_an_event",
                                               "webhook.url"};
    EXPECT_EQ(fields_of(parsed.error()), expected) << describe(parsed.error());
    for (const auto& d : parsed.error().details) EXPECT_FALSE(d.message.empty()) << d.field;
  }
}

TEST(WebhookValidation, ReportsMissingAndInvalidFieldsTogether) {
  auto parsed = parse(R"({"webhook": {"name": 7, "active": null}})", webhook_mode::create);
  ASSERT_FALSE(parsed);
  const std::vector<std::string> expected = {"webhook.active", "webhook.http_method",
                                             "webhook.name", "webhook.settings", "webhook.url"};
  EXPECT_EQ(fields_of(parsed.error()), expected) << describe(parsed.error());
}

// --- The catalog decides which settings keys exist ----------------------------------

TEST(WebhookValidation, CustomCatalogAcceptsItsOwnTypes) {
  auto catalog = event_catalog::from_types({"order.created", "order.paid"});
  ASSERT_TRUE(catalog) << message_of(catalog.error());
  auto parsed =
      parse_webhook_request(body_of(with(sonar_members(), "settings",
                                         R"({"order.created": "true", "order.paid": false})")),
                            *catalog, webhook_mode::create);
  ASSERT_TRUE(parsed) << describe(parsed.error());
  const std::vector<std::pair<std::string, bool>> expected = {{"order.created", true},
                                                              {"order.paid", false}};
  EXPECT_EQ(parsed->settings, expected);
}

TEST(WebhookValidation, CustomCatalogRejectsSonarTypesAndListsItsOwn) {
  auto catalog = event_catalog::from_types({"order.created", "order.paid"});
  ASSERT_TRUE(catalog) << message_of(catalog.error());
  auto parsed = parse_webhook_request(k_sonar_example, *catalog, webhook_mode::create);
  ASSERT_FALSE(parsed);
  ASSERT_EQ(parsed.error().details.size(), 1u) << describe(parsed.error());
  EXPECT_EQ(parsed.error().details[0].field, "webhook.settings.customer_state_changed");
  EXPECT_TRUE(contains(parsed.error().details[0].message, "accepted: order.created, order.paid"))
      << parsed.error().details[0].message;
  EXPECT_FALSE(contains(parsed.error().details[0].message, "new_assigned_message"))
      << parsed.error().details[0].message;
}

TEST(WebhookValidation, DefaultCatalogRejectsCustomCatalogTypes) {
  auto parsed = parse(body_of(with(sonar_members(), "settings", R"({"order.created": "true"})")));
  ASSERT_FALSE(parsed);
  ASSERT_EQ(parsed.error().details.size(), 1u) << describe(parsed.error());
  // A dotted key would be ambiguous as a.b, so the path brackets it.
  EXPECT_EQ(parsed.error().details[0].field, R"(webhook.settings["order.created"])");
}

}  // namespace
}  // namespace hookd::engine
