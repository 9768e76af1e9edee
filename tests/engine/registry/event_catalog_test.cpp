// The event catalog: Sonar's default types, a deployment's own types from a file, and
// the errors a bad file gives (naming the file and line).
#include "hookd/engine/event_catalog.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace hookd::engine {
namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// The text of a catalog error, whether the error type is a plain string or carries
// its text in a `message` member.
template <class E>
std::string message_of(const E& e) {
  if constexpr (requires { e.message; }) {
    return std::string(e.message);
  } else {
    return std::string(e);
  }
}

class EventCatalogFile : public ::testing::Test {
 protected:
  std::filesystem::path write(std::string_view text) {
    const auto path = dir_ / "events.txt";
    std::ofstream out(path, std::ios::binary);
    out << text;
    return path;
  }

  test::temp_dir dir_;
};

// --- The default catalog -------------------------------------------------------------

TEST(EventCatalog, DefaultIsSonarsElevenTypesInDocumentedOrder) {
  // The "Events" table of sonar/create-webhook.txt, top to bottom.
  const std::vector<std::string> documented = {
      "new_assigned_message",     "new_unassigned_message", "outbound_message",
      "customer_subscribed",      "customer_unsubscribed",  "user_assignment",
      "customer_created",         "tag_added_to_message",   "tag_removed_from_message",
      "customer_double_opted_in", "customer_state_changed",
  };
  EXPECT_EQ(event_catalog::sonar_default().types(), documented);
}

TEST(EventCatalog, DefaultContainsEachTypeAndNothingElse) {
  const auto catalog = event_catalog::sonar_default();
  for (const auto& type : catalog.types()) EXPECT_TRUE(catalog.contains(type)) << type;
  EXPECT_FALSE(catalog.contains(""));
  EXPECT_FALSE(catalog.contains("customer_deleted"));
  EXPECT_FALSE(catalog.contains("Customer_Created"));
  EXPECT_FALSE(catalog.contains("customer_created "));
  EXPECT_FALSE(catalog.contains("customer"));
}

TEST(EventCatalog, JoinedListsTypesInOrderSeparatedByCommas) {
  auto catalog = event_catalog::from_types({"b.second", "a.first", "c"});
  ASSERT_TRUE(catalog) << message_of(catalog.error());
  EXPECT_EQ(catalog->joined(), "b.second, a.first, c");
}

TEST(EventCatalog, DefaultJoinedNamesEveryType) {
  const auto catalog = event_catalog::sonar_default();
  const std::string joined = catalog.joined();
  for (const auto& type : catalog.types()) EXPECT_TRUE(contains(joined, type)) << type;
  EXPECT_EQ(joined.substr(0, std::string_view("new_assigned_message, ").size()),
            "new_assigned_message, ");
}

// --- Names -----------------------------------------------------------------------------

TEST(EventCatalog, ValidNamesAreOneTo64LowerCaseDigitsUnderscoreDotDash) {
  EXPECT_TRUE(valid_event_type_name("a"));
  EXPECT_TRUE(valid_event_type_name("order.created"));
  EXPECT_TRUE(valid_event_type_name("invoice-paid_v2"));
  EXPECT_TRUE(valid_event_type_name("0"));
  EXPECT_TRUE(valid_event_type_name(std::string(64, 'x')));
}

TEST(EventCatalog, InvalidNamesAreRejected) {
  for (const std::string& name :
       {std::string(), std::string(65, 'x'), std::string("Order"), std::string("order created"),
        std::string("order/created"), std::string("order:created"), std::string("caf\u00e9"),
        std::string("tab\there")}) {
    EXPECT_FALSE(valid_event_type_name(name)) << '"' << name << '"';
  }
}

TEST(EventCatalog, FromTypesKeepsOrder) {
  auto catalog = event_catalog::from_types({"z", "a", "m"});
  ASSERT_TRUE(catalog) << message_of(catalog.error());
  EXPECT_EQ(catalog->types(), (std::vector<std::string>{"z", "a", "m"}));
  EXPECT_TRUE(catalog->contains("a"));
  EXPECT_FALSE(catalog->contains("customer_created"));
}

TEST(EventCatalog, FromTypesRejectsEmptyList) {
  auto catalog = event_catalog::from_types({});
  ASSERT_FALSE(catalog);
  EXPECT_TRUE(contains(message_of(catalog.error()), "empty")) << message_of(catalog.error());
}

TEST(EventCatalog, FromTypesRejectsInvalidNameNamingIt) {
  auto catalog = event_catalog::from_types({"ok", "Not OK"});
  ASSERT_FALSE(catalog);
  EXPECT_TRUE(contains(message_of(catalog.error()), "\"Not OK\"")) << message_of(catalog.error());
}

TEST(EventCatalog, FromTypesRejectsDuplicateNamingIt) {
  auto catalog = event_catalog::from_types({"a", "b", "a"});
  ASSERT_FALSE(catalog);
  EXPECT_TRUE(contains(message_of(catalog.error()), "\"a\" is listed twice"))
      << message_of(catalog.error());
}

// --- Loading from a file ---------------------------------------------------------------

TEST_F(EventCatalogFile, LoadsOneTypePerLineInFileOrder) {
  auto catalog = event_catalog::load(write("order.created\norder.paid\norder.refunded\n"));
  ASSERT_TRUE(catalog) << message_of(catalog.error());
  EXPECT_EQ(catalog->types(),
            (std::vector<std::string>{"order.created", "order.paid", "order.refunded"}));
}

TEST_F(EventCatalogFile, SkipsCommentsAndBlankLinesAndTrimsWhitespace) {
  auto catalog =
      event_catalog::load(write("# Event types of the shop\n"
                                "\n"
                                "   order.created   \n"
                                "\t\torder.paid\t\n"
                                "   # indented comment\n"
                                "  \t \n"
                                "order.refunded\r\n"
                                "last.without.newline"));
  ASSERT_TRUE(catalog) << message_of(catalog.error());
  EXPECT_EQ(catalog->types(), (std::vector<std::string>{"order.created", "order.paid",
                                                        "order.refunded", "last.without.newline"}));
}

TEST_F(EventCatalogFile, LoadedCatalogReplacesTheDefault) {
  auto catalog = event_catalog::load(write("order.created\n"));
  ASSERT_TRUE(catalog) << message_of(catalog.error());
  EXPECT_TRUE(catalog->contains("order.created"));
  EXPECT_FALSE(catalog->contains("customer_created"));
}

TEST_F(EventCatalogFile, InvalidNameIsRejectedWithFileAndLine) {
  const auto path = write("# comment\norder.created\n\nOrder Paid\n");
  auto catalog = event_catalog::load(path);
  ASSERT_FALSE(catalog);
  const std::string message = message_of(catalog.error());
  EXPECT_TRUE(contains(message, path.string() + ":4:")) << message;
  EXPECT_TRUE(contains(message, "\"Order Paid\"")) << message;
}

TEST_F(EventCatalogFile, TooLongNameIsRejectedWithFileAndLine) {
  const auto path = write("ok\n" + std::string(65, 'x') + "\n");
  auto catalog = event_catalog::load(path);
  ASSERT_FALSE(catalog);
  EXPECT_TRUE(contains(message_of(catalog.error()), path.string() + ":2:"))
      << message_of(catalog.error());
}

TEST_F(EventCatalogFile, DuplicateIsRejectedWithFileAndLine) {
  const auto path = write("order.created\norder.paid\n# again:\norder.created\n");
  auto catalog = event_catalog::load(path);
  ASSERT_FALSE(catalog);
  const std::string message = message_of(catalog.error());
  EXPECT_TRUE(contains(message, path.string() + ":4:")) << message;
  EXPECT_TRUE(contains(message, "\"order.created\"")) << message;
  EXPECT_TRUE(contains(message, "twice")) << message;
}

TEST_F(EventCatalogFile, FileWithOnlyCommentsAndBlankLinesIsRejectedAsEmpty) {
  const auto path = write("# nothing here yet\n\n   \n");
  auto catalog = event_catalog::load(path);
  ASSERT_FALSE(catalog);
  const std::string message = message_of(catalog.error());
  EXPECT_TRUE(contains(message, path.string())) << message;
  EXPECT_TRUE(contains(message, "empty")) << message;
}

TEST_F(EventCatalogFile, EmptyFileIsRejectedAsEmpty) {
  auto catalog = event_catalog::load(write(""));
  ASSERT_FALSE(catalog);
  EXPECT_TRUE(contains(message_of(catalog.error()), "empty")) << message_of(catalog.error());
}

TEST_F(EventCatalogFile, MissingFileIsRejectedNamingIt) {
  const auto path = dir_ / "does-not-exist.txt";
  auto catalog = event_catalog::load(path);
  ASSERT_FALSE(catalog);
  const std::string message = message_of(catalog.error());
  EXPECT_TRUE(contains(message, path.string())) << message;
  EXPECT_TRUE(contains(message, "cannot read")) << message;
}

}  // namespace
}  // namespace hookd::engine
