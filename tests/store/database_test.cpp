// The store's boundary: RocksDB's statuses become hookd errors that keep RocksDB's own
// words, so a failure's cause reaches the log line and the API's error body.
#include <gtest/gtest.h>

#include "store/database_impl.hpp"

namespace hookd::test {
namespace {

TEST(StoreErrors, IoErrorKeepsRocksDbText) {
  const error e = store::to_error(
      rocksdb::Status::IOError("While appending to file", "No space left on device"));
  EXPECT_EQ(e, errc::storage_io);
  EXPECT_NE(e.detail.find("No space left on device"), std::string::npos) << e.detail;
  EXPECT_EQ(e.message(), "storage I/O error: " + e.detail);
}

TEST(StoreErrors, EachStatusClassMapsToWhatTheCallerShouldDo) {
  EXPECT_EQ(store::to_error(rocksdb::Status::Corruption("bad block")), errc::storage_corruption);
  EXPECT_EQ(store::to_error(rocksdb::Status::Busy()), errc::storage_busy);
  EXPECT_EQ(store::to_error(rocksdb::Status::TryAgain()), errc::storage_busy);
  EXPECT_EQ(store::to_error(rocksdb::Status::InvalidArgument("x")), errc::invalid_argument);
  EXPECT_EQ(store::to_error(rocksdb::Status::ShutdownInProgress()), errc::shutting_down);
  EXPECT_EQ(store::to_error(rocksdb::Status::Corruption("bad block")).detail,
            "Corruption: bad block");
}

TEST(StoreErrors, NotFoundAndOkCarryNoDetail) {
  const error missing = store::to_error(rocksdb::Status::NotFound());
  EXPECT_EQ(missing, errc::not_found);
  EXPECT_TRUE(missing.detail.empty());
  EXPECT_EQ(missing.message(), "not found");
  EXPECT_FALSE(store::to_error(rocksdb::Status::OK()));
}

}  // namespace
}  // namespace hookd::test
