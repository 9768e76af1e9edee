// The free-space watch (store/disk_space.hpp) with a probe the test sets: sizes as
// flags write them, the three states with their hysteresis, what each admits, the
// reserve file, and the database's writes refused before they reach RocksDB.
#include "store/disk_space.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>

#include "store/database.hpp"
#include "store/database_impl.hpp"
#include "store/delivery_queue.hpp"
#include "tests/support/store_printers.hpp"
#include "tests/support/temp_dir.hpp"

namespace hookd::store {
namespace {

constexpr std::uint64_t k_mib = std::uint64_t{1} << 20;

TEST(ParseBytes, ReadsEveryUnit) {
  EXPECT_EQ(parse_bytes("1000000"), 1'000'000u);
  EXPECT_EQ(parse_bytes("0"), 0u);
  EXPECT_EQ(parse_bytes("12B"), 12u);
  EXPECT_EQ(parse_bytes("512KiB"), 512u << 10);
  EXPECT_EQ(parse_bytes("256MiB"), 256u << 20);
  EXPECT_EQ(parse_bytes("1GiB"), std::uint64_t{1} << 30);
  EXPECT_EQ(parse_bytes("2TiB"), std::uint64_t{2} << 40);
  EXPECT_EQ(parse_bytes("64KB"), 64'000u);
  EXPECT_EQ(parse_bytes("64MB"), 64'000'000u);
  EXPECT_EQ(parse_bytes("3GB"), 3'000'000'000u);
  EXPECT_EQ(parse_bytes("1000TB"), 1'000'000'000'000'000u);
}

TEST(ParseBytes, RefusesWhatDoesNotFitIn64Bits) {
  EXPECT_EQ(parse_bytes("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parse_bytes("18446744073709551616"), std::nullopt);
  EXPECT_EQ(parse_bytes("16777215TiB"), std::uint64_t{16777215} << 40);
  EXPECT_EQ(parse_bytes("16777216TiB"), std::nullopt);  // 2^64
  EXPECT_EQ(parse_bytes("17179869184GiB"), std::nullopt);
  EXPECT_EQ(parse_bytes("18446744073709552KB"), std::nullopt);
}

TEST(ParseBytes, RefusesJunk) {
  for (const char* junk : {"", "MiB", "-1", "+5", " 5", "5 ", "12 MiB", "12mib", "12MiBx", "1.5GiB",
                           "12M", "12k", "0x10", "ten"}) {
    EXPECT_EQ(parse_bytes(junk), std::nullopt) << '"' << junk << '"';
  }
}

TEST(FormatBytes, PicksTheLargestUnitWithOneDecimal) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(300 * 1024), "300.0 KiB");
  EXPECT_EQ(format_bytes(3 * k_mib / 2), "1.5 MiB");
  EXPECT_EQ(format_bytes(std::uint64_t{5} << 30), "5.0 GiB");
}

// A guard whose probe reads free_, a number the test sets: a disk filling up and
// emptying without writing a byte (but the reserve file, which is real).
class SpaceGuard : public ::testing::Test {
 protected:
  static constexpr std::uint64_t k_min = 8 * k_mib;
  static constexpr std::uint64_t k_floor = k_min / 4;
  static constexpr std::uint64_t k_plenty = 100 * k_mib;

  std::unique_ptr<space_guard> make(std::uint64_t min_free = k_min) {
    return std::make_unique<space_guard>(
        dir_.path(), space_options{.min_free = min_free, .probe = [this](const auto&) {
                                     probes_.fetch_add(1);
                                     return std::optional<std::uint64_t>(free_.load());
                                   }});
  }

  // Sets the free space and checks it.
  space_state at(space_guard& g, std::uint64_t free) {
    free_ = free;
    return g.check();
  }

  bool reserve_exists() const { return std::filesystem::exists(dir_ / "hookd.reserve"); }

  test::temp_dir dir_;
  std::atomic<std::uint64_t> free_{k_plenty};
  std::atomic<int> probes_{0};
};

TEST_F(SpaceGuard, GoesLowUnderMinFreeAndCriticalUnderTheFloor) {
  auto g = make();
  EXPECT_EQ(g->state(), space_state::ok);
  EXPECT_EQ(g->min_free(), k_min);
  EXPECT_EQ(g->floor(), k_floor);
  EXPECT_EQ(at(*g, k_min), space_state::ok);  // exactly min_free is still enough
  EXPECT_EQ(at(*g, k_min - 1), space_state::low);
  EXPECT_EQ(g->free_estimate(), k_min - 1);
  EXPECT_EQ(at(*g, k_floor), space_state::low);
  EXPECT_EQ(at(*g, k_floor - 1), space_state::critical);
  EXPECT_EQ(at(*g, 0), space_state::critical);
  EXPECT_EQ(space_state_name(g->state()), "critical");
}

TEST_F(SpaceGuard, FallsStraightToCriticalFromOk) {
  auto g = make();
  EXPECT_EQ(at(*g, k_floor - 1), space_state::critical);
}

TEST_F(SpaceGuard, LeavesLowOnlyWithAnEighthAboveMinFree) {
  auto g = make();
  ASSERT_EQ(at(*g, k_min - 1), space_state::low);
  EXPECT_EQ(at(*g, k_min), space_state::low);
  EXPECT_EQ(at(*g, k_min + k_min / 8 - 1), space_state::low);
  EXPECT_EQ(at(*g, k_min + k_min / 8), space_state::ok);
}

TEST_F(SpaceGuard, LeavesCriticalOnlyWithHalfTheFloorToSpare) {
  auto g = make();
  ASSERT_EQ(at(*g, k_floor - 1), space_state::critical);
  EXPECT_EQ(at(*g, k_floor), space_state::critical);
  EXPECT_EQ(at(*g, k_floor + k_floor / 2 - 1), space_state::critical);
  EXPECT_EQ(at(*g, k_floor + k_floor / 2), space_state::low);
  // From low, the way up to ok needs the eighth above min_free as usual.
  EXPECT_EQ(at(*g, k_min), space_state::low);
  EXPECT_EQ(at(*g, k_min + k_min / 8), space_state::ok);
}

TEST_F(SpaceGuard, LeavesCriticalForOkWhenPlentyReturnsAtOnce) {
  auto g = make();
  ASSERT_EQ(at(*g, 0), space_state::critical);
  EXPECT_EQ(at(*g, k_plenty), space_state::ok);
}

TEST_F(SpaceGuard, PendingBytesCountAsUsed) {
  auto g = make();
  free_ = k_min + k_mib;
  EXPECT_EQ(g->check(k_mib / 2), space_state::ok);
  EXPECT_EQ(g->free_estimate(), k_min + k_mib / 2);
  EXPECT_EQ(g->check(2 * k_mib), space_state::low);
  EXPECT_EQ(g->free_estimate(), k_min - k_mib);
}

TEST_F(SpaceGuard, AdmitsIntakeOnlyWhenOkAndProgressDownToTheFloor) {
  auto g = make();
  ASSERT_EQ(at(*g, k_plenty), space_state::ok);
  EXPECT_TRUE(g->admits(write_kind::intake, k_mib));
  EXPECT_TRUE(g->admits(write_kind::progress, k_mib));
  // A write is counted twice (the log now, a table file later): intake of 46 MiB
  // would leave 8 MiB, of 47 MiB less than min_free.
  EXPECT_TRUE(g->admits(write_kind::intake, 46 * k_mib));
  EXPECT_FALSE(g->admits(write_kind::intake, 47 * k_mib));
  EXPECT_TRUE(g->admits(write_kind::progress, 49 * k_mib));
  EXPECT_FALSE(g->admits(write_kind::progress, 50 * k_mib));

  ASSERT_EQ(at(*g, k_min - 1), space_state::low);
  EXPECT_FALSE(g->admits(write_kind::intake, 0));
  EXPECT_TRUE(g->admits(write_kind::progress, 1024));
  // Progress never takes the estimate under the floor.
  const std::uint64_t room = (k_min - 1 - k_floor) / 2;
  EXPECT_TRUE(g->admits(write_kind::progress, room));
  EXPECT_FALSE(g->admits(write_kind::progress, room + 1));

  ASSERT_EQ(at(*g, k_floor - 1), space_state::critical);
  EXPECT_FALSE(g->admits(write_kind::intake, 0));
  EXPECT_FALSE(g->admits(write_kind::progress, 0));

  // Half the floor above it: low again, and progress goes on.
  ASSERT_EQ(at(*g, k_floor + k_floor / 2), space_state::low);
  EXPECT_FALSE(g->admits(write_kind::intake, 0));
  EXPECT_TRUE(g->admits(write_kind::progress, 1024));
}

TEST_F(SpaceGuard, WrittenBytesLowerTheEstimateUntilTheNextCheck) {
  auto g = make();
  ASSERT_TRUE(reserve_exists());  // so no check below creates it
  ASSERT_EQ(at(*g, k_min + 2 * k_mib), space_state::ok);
  EXPECT_TRUE(g->admits(write_kind::intake, k_mib / 2));
  g->wrote(k_mib);
  // Twice what was written: 2 MiB off the estimate, so min_free is all that is left.
  EXPECT_EQ(g->free_estimate(), k_min);
  EXPECT_EQ(g->state(), space_state::ok);
  EXPECT_TRUE(g->admits(write_kind::intake, 0));
  EXPECT_FALSE(g->admits(write_kind::intake, k_mib / 2));
  EXPECT_TRUE(g->admits(write_kind::progress, k_mib / 2));
  g->wrote(k_min);
  EXPECT_EQ(g->free_estimate(), 0u);
  EXPECT_FALSE(g->admits(write_kind::progress, 0));
  // The next check reads the disk again.
  EXPECT_EQ(g->check(), space_state::ok);
  EXPECT_EQ(g->free_estimate(), k_min + 2 * k_mib);
  EXPECT_TRUE(g->admits(write_kind::intake, k_mib / 2));
}

TEST_F(SpaceGuard, ReserveIsHeldWhenOkReleasedWhenCriticalAndTakenBackWithRoomForIt) {
  auto g = make();
  ASSERT_EQ(g->state(), space_state::ok);
  ASSERT_TRUE(reserve_exists());
  // Real blocks of a quarter of min_free: space this folder can give back.
  EXPECT_EQ(std::filesystem::file_size(dir_ / "hookd.reserve"), k_floor);

  EXPECT_EQ(at(*g, k_min - 1), space_state::low);
  EXPECT_TRUE(reserve_exists()) << "kept while low";
  EXPECT_EQ(at(*g, k_floor - 1), space_state::critical);
  EXPECT_FALSE(reserve_exists()) << "released when critical";

  // Back to ok, but without room for the reserve besides the way back to ok: not
  // taken yet.
  EXPECT_EQ(at(*g, k_min + k_min / 8), space_state::ok);
  EXPECT_FALSE(reserve_exists());
  EXPECT_EQ(at(*g, k_min + k_min / 8 + k_floor - 1), space_state::ok);
  EXPECT_FALSE(reserve_exists());
  EXPECT_EQ(at(*g, k_min + k_min / 8 + k_floor), space_state::ok);
  EXPECT_TRUE(reserve_exists());
  EXPECT_EQ(std::filesystem::file_size(dir_ / "hookd.reserve"), k_floor);
  // Its own bytes are counted as gone until the disk is read again.
  EXPECT_EQ(g->free_estimate(), k_min + k_min / 8);
}

TEST_F(SpaceGuard, ReserveIsNotTakenWhenStartingShortOfSpace) {
  free_ = k_min + k_min / 8 + k_floor - 1;
  auto g = make();
  EXPECT_EQ(g->state(), space_state::ok);
  EXPECT_FALSE(reserve_exists());
}

TEST_F(SpaceGuard, ReserveLeftByAnEarlierRunIsHeldAndReleased) {
  { auto first = make(); }
  ASSERT_TRUE(reserve_exists());
  auto g = make();
  EXPECT_TRUE(reserve_exists());
  EXPECT_EQ(at(*g, 0), space_state::critical);
  EXPECT_FALSE(reserve_exists());
}

TEST_F(SpaceGuard, MinFreeZeroTurnsEverythingOff) {
  free_ = 0;
  auto g = make(0);
  EXPECT_EQ(g->check(), space_state::ok);
  EXPECT_EQ(g->check(UINT64_MAX / 2), space_state::ok);
  EXPECT_EQ(g->state(), space_state::ok);
  EXPECT_TRUE(g->admits(write_kind::intake, UINT64_MAX / 4));
  EXPECT_TRUE(g->admits(write_kind::progress, UINT64_MAX / 4));
  g->wrote(k_plenty);
  EXPECT_TRUE(g->admits(write_kind::intake, k_plenty));
  EXPECT_FALSE(reserve_exists());
  EXPECT_EQ(probes_.load(), 0) << "the disk is never even read";
}

TEST_F(SpaceGuard, UnreadableDiskKeepsTheLastState) {
  bool readable = true;
  space_guard g(dir_.path(),
                {.min_free = k_min, .probe = [&](const auto&) -> std::optional<std::uint64_t> {
                   if (!readable) return std::nullopt;
                   return free_.load();
                 }});
  ASSERT_EQ(at(g, k_min - 1), space_state::low);
  readable = false;
  EXPECT_EQ(at(g, k_plenty), space_state::low);
  EXPECT_EQ(g.free_estimate(), k_min - 1);
  readable = true;
  EXPECT_EQ(g.check(), space_state::ok);
}

TEST_F(SpaceGuard, DescribeNamesTheFreeSpaceAndTheWatermark) {
  auto g = make();
  ASSERT_EQ(at(*g, 3 * k_mib / 2), space_state::critical);
  EXPECT_EQ(g->describe(),
            "1.5 MiB free on the data folder's file system, under the 8.0 MiB kept free "
            "(--min-free-space)");
}

// The database with the same injected probe: opening and writing as the watch says.
class DatabaseSpace : public ::testing::Test {
 protected:
  static constexpr std::uint64_t k_min = 8 * k_mib;
  static constexpr std::uint64_t k_plenty = 100 * k_mib;

  database_options options() {
    return {.path = dir_ / "db", .space = {.min_free = k_min, .probe = [this](const auto&) {
                                             return std::optional<std::uint64_t>(free_.load());
                                           }}};
  }

  void open() {
    db_ = std::move(database::open(options()).value());
    queue_ = std::make_unique<delivery_queue>(*db_);
  }

  // Every family's keys and values: what RocksDB holds, read back raw.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> contents() {
    auto& d = db_->internals();
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> out;
    for (auto* h : d.handles) {
      std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), h));
      auto& rows = out[h->GetName()];
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        rows.emplace_back(it->key().ToString(), it->value().ToString());
      }
    }
    return out;
  }

  static event_record event(const std::string& id) {
    return {"acme", id, "customer_created", 1'800'000'000'000, R"({"n": 1})", 1};
  }

  static attempt_record success(const delivery_record& d) {
    attempt_record a;
    a.number = 1;
    a.at_ms = d.created_at_ms;
    a.status_code = 200;
    return a;
  }

  static delivery_record delivery(std::uint8_t n, const std::string& event_id) {
    delivery_record d;
    d.id[0] = 0x01;
    d.id[6] = 0x70;
    d.id[15] = n;
    d.webhook_id = 7;
    d.account = "acme";
    d.event_id = event_id;
    d.event_type = "customer_created";
    d.created_at_ms = d.updated_at_ms = d.next_attempt_at_ms = 1'800'000'000'000;
    return d;
  }

  test::temp_dir dir_;
  std::atomic<std::uint64_t> free_{k_plenty};
  std::unique_ptr<database> db_;
  std::unique_ptr<delivery_queue> queue_;
};

TEST_F(DatabaseSpace, RefusesToOpenUnderTheFloorNamingTheFreeSpace) {
  free_ = k_mib;  // under the floor, 2 MiB
  auto opened = database::open(options());
  ASSERT_FALSE(opened);
  const std::string& m = opened.error().message;
  EXPECT_NE(m.find("not enough free space to open " + (dir_ / "db").string()), std::string::npos)
      << m;
  EXPECT_NE(m.find("1.0 MiB free"), std::string::npos) << m;
  EXPECT_NE(m.find("opening needs at least 2.0 MiB"), std::string::npos) << m;
  // RocksDB was never opened: no manifest, no log.
  EXPECT_FALSE(std::filesystem::exists(dir_ / "db" / "CURRENT"));
}

TEST_F(DatabaseSpace, OpensWhenLowButAboveTheFloor) {
  free_ = k_min - 1;
  open();
  EXPECT_EQ(db_->space().state(), space_state::low);
  EXPECT_EQ(db_->check_space(), space_state::low);
}

TEST_F(DatabaseSpace, EstimateCountsWhatOpeningTook) {
  // Plenty before opening; once RocksDB has written its files (CURRENT among them),
  // what is left is under min_free. New work is refused from the first write on, not
  // from the first check after it.
  auto o = options();
  o.space.probe = [this](const auto&) {
    return std::optional<std::uint64_t>(
        std::filesystem::exists(dir_ / "db" / "CURRENT") ? k_min - 2 * k_mib : k_plenty);
  };
  db_ = std::move(database::open(o).value());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "db" / "hookd.reserve")) << "taken before opening";
  EXPECT_LE(db_->space().free_estimate(), k_min - 2 * k_mib);
  EXPECT_EQ(db_->space().state(), space_state::low);
  EXPECT_FALSE(db_->space().admits(write_kind::intake, 0));
}

TEST_F(DatabaseSpace, PublishIsRefusedWhenLowWhileProgressIsWritten) {
  open();
  auto first = delivery(1, "evt_1");
  ASSERT_TRUE(queue_->publish(event("evt_1"), {&first, 1}));

  free_ = k_min - k_mib;
  ASSERT_EQ(db_->check_space(), space_state::low);
  const auto before = contents();
  const auto sequence = db_->internals().db->GetLatestSequenceNumber();
  auto second = delivery(2, "evt_2");
  auto refused = queue_->publish(event("evt_2"), {&second, 1});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), errc::storage_full);
  EXPECT_NE(refused.error().message().find("MiB free on the data folder's file system, under "
                                           "the 8.0 MiB kept free"),
            std::string::npos)
      << refused.error().message();
  // Nothing of it reached RocksDB: not a key, not even a sequence number.
  EXPECT_EQ(db_->internals().db->GetLatestSequenceNumber(), sequence);
  EXPECT_EQ(contents(), before);
  EXPECT_EQ(queue_->find_event("acme", "evt_2").error(), errc::not_found);
  EXPECT_EQ(queue_->get(second.id).error(), errc::not_found);

  // The outcome of the delivery accepted before is progress: written.
  auto after = first;
  after.status = delivery_status::succeeded;
  after.attempts = 1;
  after.next_attempt_at_ms = 0;
  const auto a = success(first);
  auto w = queue_->writes();
  w.update(after, first.next_attempt_at_ms, delivery_status::pending, &a);
  ASSERT_TRUE(queue_->commit(w));
  EXPECT_EQ(queue_->get(first.id)->status, delivery_status::succeeded);
  EXPECT_EQ(queue_->attempts(first.id)->size(), 1u);
}

TEST_F(DatabaseSpace, ProgressWaitsWhenCriticalAndIsWrittenWhenSpaceReturns) {
  open();
  auto first = delivery(1, "evt_1");
  ASSERT_TRUE(queue_->publish(event("evt_1"), {&first, 1}));

  // Opening is refused under the floor, but a disk filled by someone else while
  // running gets there.
  free_ = k_mib;
  ASSERT_EQ(db_->check_space(), space_state::critical);
  auto after = first;
  after.status = delivery_status::succeeded;
  after.attempts = 1;
  after.next_attempt_at_ms = 0;
  const auto a = success(first);
  auto w = queue_->writes();
  w.update(after, first.next_attempt_at_ms, delivery_status::pending, &a);
  const auto before = contents();
  auto refused = queue_->commit(w);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), errc::storage_full);
  EXPECT_NE(refused.error().message().find("even the progress of accepted work waits"),
            std::string::npos)
      << refused.error().message();
  EXPECT_EQ(contents(), before);
  EXPECT_EQ(queue_->get(first.id)->status, delivery_status::pending);
  // The batch is kept whole for the next try.
  EXPECT_EQ(w.count(), 1u);

  free_ = k_plenty;
  ASSERT_EQ(db_->check_space(), space_state::ok);
  ASSERT_TRUE(queue_->commit(w));
  EXPECT_EQ(queue_->get(first.id)->status, delivery_status::succeeded);
  EXPECT_EQ(queue_->attempts(first.id)->size(), 1u);
  auto second = delivery(2, "evt_2");
  EXPECT_TRUE(queue_->publish(event("evt_2"), {&second, 1}));
}

}  // namespace
}  // namespace hookd::store
