// Log lines (engine/log.hpp): logfmt and JSON renderings, and escaping, so no value
// (a path, a receiver's error text) can break a line or forge another.
#include "engine/log.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace hookd::engine::log {
namespace {

TEST(Log, TextIsLogfmtWithValuesQuotedWhenNeeded) {
  EXPECT_EQ(render(format::text, level::info, "2026-11-29T10:00:00.000Z", "request",
                   {{"status", "200"}, {"path", "/api/v1/webhooks"}, {"error", "a b"}}),
            "ts=2026-11-29T10:00:00.000Z level=info msg=request status=200 "
            "path=/api/v1/webhooks error=\"a b\"\n");
}

TEST(Log, ControlCharactersAreEscapedInText) {
  const std::string line = render(format::text, level::warn, "t", "m",
                                  {{"path", "/x\nts=forged level=error\r\t\x01\x7f\"\\"}});
  EXPECT_EQ(line,
            "ts=t level=warn msg=m path=\"/x\\nts=forged level=error\\r\\t\\x01\\x7f\\\"\\\\\"\n");
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line";
}

TEST(Log, JsonIsOneObjectPerLineWithEveryFieldAString) {
  const std::string line = render(format::json, level::error, "t", "delivery attempt failed",
                                  {{"delivery", "0190-..."}, {"error", "bad\n\x01\"q\""}});
  ASSERT_EQ(line.find('\n'), line.size() - 1);
  const auto v = boost::json::parse(line);
  EXPECT_EQ(v.at("ts").as_string(), "t");
  EXPECT_EQ(v.at("level").as_string(), "error");
  EXPECT_EQ(v.at("msg").as_string(), "delivery attempt failed");
  EXPECT_EQ(v.at("delivery").as_string(), "0190-...");
  EXPECT_EQ(v.at("error").as_string(), "bad\n\x01\"q\"");
}

TEST(Log, LevelsAndFormatsParseByName) {
  EXPECT_EQ(parse_level("debug"), level::debug);
  EXPECT_EQ(parse_level("error"), level::error);
  EXPECT_EQ(parse_level("verbose"), std::nullopt);
  EXPECT_EQ(parse_format("json"), format::json);
  EXPECT_EQ(parse_format("text"), format::text);
  EXPECT_EQ(parse_format("xml"), std::nullopt);
}

}  // namespace
}  // namespace hookd::engine::log
