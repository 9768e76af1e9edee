// Strict JSON text (engine/json_text.hpp): what RFC 8259 allows passes and is minified
// with every token unchanged; what it does not, or a member name twice, is refused
// with where it happened.
#include "engine/json_text.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hookd::engine {
namespace {

std::string minified(std::string_view text) {
  std::string out;
  auto problem = strict_minify(text, out);
  EXPECT_FALSE(problem) << text << ": " << (problem ? problem->message : "");
  return out;
}

std::optional<json_problem> problem_of(std::string_view text) {
  std::string out;
  return strict_minify(text, out);
}

TEST(JsonText, AcceptsEveryKindOfValueAndKeepsTokensAsWritten) {
  EXPECT_EQ(minified(R"( { "a" : [ 1 , -0.5e+10 , true , false , null , "x y" ] } )"),
            R"({"a":[1,-0.5e+10,true,false,null,"x y"]})");
  EXPECT_EQ(minified("123456789012345678901234567890"), "123456789012345678901234567890");
  EXPECT_EQ(minified(R"("\u00e9\ud83d\ude00\n\/")"), R"("\u00e9\ud83d\ude00\n\/")");
  EXPECT_EQ(minified("[]"), "[]");
  EXPECT_EQ(minified("{}"), "{}");
  EXPECT_EQ(minified("\"caf\xc3\xa9\""), "\"caf\xc3\xa9\"");
}

TEST(JsonText, RefusesWhatRfc8259DoesNotAllow) {
  for (const char* bad :
       {"",      " ",       "{",         "}",           "[1,]",        "{\"a\":1,}",
        "{a:1}", "{'a':1}", "01",        "1.",          ".5",          "-",
        "+1",    "1e",      "0x10",      "NaN",         "Infinity",    "tru",
        "nul",   "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"a\tb\"",
        "\"a",   "[1 2]",   "{\"a\" 1}", "1 2",         "\"\xff\"",    "\"\xc3\""}) {
    SCOPED_TRACE(bad);
    auto p = problem_of(bad);
    ASSERT_TRUE(p.has_value());
    EXPECT_FALSE(p->duplicate);
    EXPECT_FALSE(p->message.empty());
  }
}

TEST(JsonText, SyntaxErrorsSayWhere) {
  auto p = problem_of(R"({"a":1,,})");
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(p->message.find("at byte 7"), std::string::npos) << p->message;
}

TEST(JsonText, DuplicateMemberNamesAreRefusedWithTheirPath) {
  struct example {
    const char* text;
    const char* path;
  };
  for (const auto& e : std::vector<example>{
           {R"({"a":1,"b":2,"a":3})", "a"},
           {R"({"o":{"x":[],"x":{}}})", "o.x"},
           {R"([{"k":1},{"k":2,"k":3}])", "[1].k"},
           {R"({"\u0061":1,"a":2})", "a"},
       }) {
    SCOPED_TRACE(e.text);
    auto p = problem_of(e.text);
    ASSERT_TRUE(p.has_value());
    EXPECT_TRUE(p->duplicate);
    EXPECT_EQ(p->path, e.path);
  }
  // Many members switch the check to a set: a duplicate far apart is still found.
  std::string many = "{";
  for (int i = 0; i < 100; ++i) many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  auto p = problem_of(many + "\"k3\":0}");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->path, "k3");
  EXPECT_FALSE(problem_of(many + "\"k100\":0}").has_value());
  // The same name in different objects is fine.
  EXPECT_FALSE(problem_of(R"({"a":{"id":1},"b":{"id":2},"id":3})").has_value());
}

// The scanner reads a string eight bytes at a time: its end, an escape, a control
// character or a multi-byte character are found wherever they fall in those eight.
TEST(JsonText, StringsAreReadWhereverTheirSpecialBytesFall) {
  for (std::size_t before = 0; before < 20; ++before) {
    const std::string run(before, 'a');
    SCOPED_TRACE(before);
    const std::string plain = "[\"" + run + "\",1]";
    EXPECT_EQ(minified(plain), plain);
    const std::string escaped = "[\"" + run + "\\\"b\\\\c\\u00e9" + run + "\"]";
    EXPECT_EQ(minified(escaped), escaped);
    const std::string accented = "{\"" + run + "caf\xc3\xa9" + run + "\":true}";
    EXPECT_EQ(minified(accented), accented);
    for (const char control : {'\0', '\n', '\x1f'}) {
      auto p = problem_of("[\"" + run + control + "z\"]");
      ASSERT_TRUE(p.has_value());
      EXPECT_NE(p->message.find("control character"), std::string::npos) << p->message;
      EXPECT_NE(p->message.find("at byte " + std::to_string(2 + before)), std::string::npos)
          << p->message;
    }
    auto open = problem_of("[\"" + run);
    ASSERT_TRUE(open.has_value());
    EXPECT_NE(open->message.find("unterminated"), std::string::npos) << open->message;
  }
}

TEST(JsonText, NestingIsBounded) {
  EXPECT_FALSE(problem_of(std::string(k_max_json_depth, '[') + std::string(k_max_json_depth, ']'))
                   .has_value());
  auto p =
      problem_of(std::string(k_max_json_depth + 1, '[') + std::string(k_max_json_depth + 1, ']'));
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(p->message.find("deeper"), std::string::npos) << p->message;
}

}  // namespace
}  // namespace hookd::engine
