// The route table on its own, with a small table of labelled handlers: how paths match
// patterns, how {id} and {uuid} are read, and when a path is a 404 or a 405.
#include "api/route_table.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hookd::test {
namespace {

using api::route;
using api::route_access;
using api::route_body;
using api::route_table;

api::response labelled(std::string label) {
  api::response r;
  r.body = std::move(label);
  return r;
}

api::response list_things(const api::route_call&) { return labelled("list"); }
api::response add_thing(const api::route_call&) { return labelled("add"); }
api::response new_form(const api::route_call&) { return labelled("new"); }
api::response show_thing(const api::route_call&) { return labelled("show"); }
api::response show_part(const api::route_call&) { return labelled("part"); }
api::response ping(const api::route_call&) { return labelled("ping"); }

route_table sample() {
  return route_table({
      {"GET", "/ping", ping, route_body::any, route_access::open},
      {"GET", "/things", list_things},
      {"POST", "/things", add_thing, route_body::json},
      {"GET", "/things/new", new_form},
      {"GET", "/things/{id}", show_thing},
      {"DELETE", "/things/{id}", show_thing},
      {"GET", "/parts/{uuid}", show_part},
  });
}

TEST(RouteTable, MatchesLiteralsAndReadsParameters) {
  const auto t = sample();
  auto m = t.find("GET", "/things/42");
  ASSERT_NE(m.found, nullptr);
  EXPECT_EQ(m.found->handle, &show_thing);
  EXPECT_EQ(m.pattern, "/things/{id}");
  EXPECT_EQ(m.id, 42u);

  m = t.find("GET", "/parts/0190163d-8694-739b-aea5-966c26f8ad91");
  ASSERT_NE(m.found, nullptr);
  EXPECT_EQ(m.uuid, "0190163d-8694-739b-aea5-966c26f8ad91");

  m = t.find("POST", "/things");
  ASSERT_NE(m.found, nullptr);
  EXPECT_EQ(m.found->body, route_body::json);
}

TEST(RouteTable, IdIsAUint64ElseTheRouteIsNotFound) {
  const auto t = sample();
  auto max = t.find("GET", "/things/18446744073709551615");
  ASSERT_NE(max.found, nullptr);
  EXPECT_EQ(max.id, 18446744073709551615u);
  for (const char* bad : {"18446744073709551616", "-1", "+1", "1x", "0x10", " 1", "abc"}) {
    // Whatever the method: a path that cannot name a webhook is not a 405.
    for (const char* method : {"GET", "PUT"}) {
      auto m = t.find(method, std::string("/things/") + bad);
      EXPECT_EQ(m.found, nullptr) << bad;
      EXPECT_TRUE(m.pattern.empty()) << bad;
      EXPECT_EQ(m.not_found, std::string("webhook ") + bad + " not found");
    }
  }
}

TEST(RouteTable, KnownPathWithAnotherMethodListsAllowInTableOrder) {
  const auto t = sample();
  auto m = t.find("DELETE", "/things");
  EXPECT_EQ(m.found, nullptr);
  EXPECT_EQ(m.pattern, "/things");
  EXPECT_EQ(m.allow, "GET, POST");
  EXPECT_EQ(t.find("PATCH", "/things/3").allow, "GET, DELETE");
  EXPECT_TRUE(t.find("GET", "/things").allow.empty()) << "Allow is only for a 405";
}

TEST(RouteTable, UnknownPathsAreNotFound) {
  const auto t = sample();
  for (const char* path :
       {"/", "/nothing", "/things/3/extra", "/thingsx", "/parts", "/parts//", "things", ""}) {
    auto m = t.find("GET", path);
    EXPECT_EQ(m.found, nullptr) << path;
    EXPECT_TRUE(m.pattern.empty()) << path;
    EXPECT_FALSE(m.not_found.empty()) << path;
  }
}

TEST(RouteTable, OneTrailingSlashIsIgnored) {
  const auto t = sample();
  EXPECT_NE(t.find("GET", "/things/").found, nullptr);
  EXPECT_NE(t.find("GET", "/things/5/").found, nullptr);
  EXPECT_EQ(t.find("GET", "/things//").found, nullptr);
}

TEST(RouteTable, FirstMatchingPatternWins) {
  const auto t = sample();
  auto literal = t.find("GET", "/things/new");
  ASSERT_NE(literal.found, nullptr);
  EXPECT_EQ(literal.found->handle, &new_form);
  // The literal's pattern has no DELETE; the {id} pattern is not consulted.
  EXPECT_EQ(t.find("DELETE", "/things/new").allow, "GET");
}

TEST(RouteTable, APathParameterTakesTheRestOfThePath) {
  const route_table t({
      {"GET", "/files/index", ping},
      {"GET", "/files/{path}", show_part},
  });
  auto one = t.find("GET", "/files/app.js");
  ASSERT_NE(one.found, nullptr);
  EXPECT_EQ(one.found->handle, &show_part);
  EXPECT_EQ(one.rest, "app.js");
  auto deep = t.find("GET", "/files/vendor/lib/x.css/");
  ASSERT_NE(deep.found, nullptr);
  EXPECT_EQ(deep.rest, "vendor/lib/x.css");
  EXPECT_EQ(t.find("GET", "/files/index").found->handle, &ping);
  EXPECT_EQ(t.find("GET", "/files").found, nullptr) << "the rest is at least one segment";
  EXPECT_EQ(t.find("POST", "/files/a/b").allow, "GET");
}

TEST(RouteTable, OnlyOpenPatternsSkipTheToken) {
  const auto t = sample();
  EXPECT_TRUE(t.find("GET", "/ping").open);
  EXPECT_TRUE(t.find("POST", "/ping").open) << "a 405 on an open path needs no token";
  EXPECT_FALSE(t.find("GET", "/ping/x").open);
  EXPECT_FALSE(t.find("GET", "/things").open);
  EXPECT_FALSE(t.find("GET", "/nothing").open);
}

TEST(RouteTable, RejectsTablesThatAreBugs) {
  auto build = [](std::vector<route> routes) { return route_table(std::move(routes)); };
  EXPECT_THROW(build({{"GET", "/things/{name}", show_thing}}), std::invalid_argument);
  EXPECT_THROW(build({{"GET", "/a/{id}/{id}", show_thing}}), std::invalid_argument);
  EXPECT_THROW(build({{"GET", "things", show_thing}}), std::invalid_argument);
  EXPECT_THROW(build({{"GET", "/a//b", show_thing}}), std::invalid_argument);
  EXPECT_THROW(build({{"GET", "/a", nullptr}}), std::invalid_argument);
  EXPECT_THROW(build({{"GET", "/a/{path}/b", show_thing}}), std::invalid_argument);
  EXPECT_THROW(build({{"GET", "/a", ping}, {"GET", "/a", ping}}), std::invalid_argument);
  EXPECT_THROW(
      build({{"GET", "/a", ping, route_body::any, route_access::open}, {"POST", "/a", ping}}),
      std::invalid_argument);
}

}  // namespace
}  // namespace hookd::test
