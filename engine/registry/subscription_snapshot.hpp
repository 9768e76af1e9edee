// The in-memory subscription index the hot path matches against: for each (account,
// event type), the active webhooks subscribed to it. A version is immutable; a
// registry change makes the next version by copying only the path to the keys the
// change touches (a three-level trie of 64-wide nodes over the key's hash, with
// 262,144 leaves), so a change costs about the same at a thousand webhooks as at a
// million, and publish matches without a lock shared with registry writes. A leaf is
// one allocation holding its keys' hashes, the keys and their subscribers, so a match
// reads two small nodes and one leaf.
//
// It holds ids only: what a delivery needs of its webhook (URL, secret, schedule) is
// read when the delivery is attempted (webhook_targets).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hookd/webhook_record.hpp"

namespace hookd::engine {

class subscription_snapshot {
 public:
  struct subscriber {
    std::uint64_t id = 0;
    bool body_method = true;  // POST, PUT, PATCH carry a JSON body; GET, DELETE a query
    friend bool operator==(const subscriber&, const subscriber&) = default;
  };

  // Builds a first version from many subscriptions at once (start-up).
  class builder {
   public:
    void add(std::string_view account, std::string_view type, subscriber s);
    std::shared_ptr<const subscription_snapshot> finish();

   private:
    std::unordered_map<std::string, std::vector<subscriber>> lists_;
  };

  static std::shared_ptr<const subscription_snapshot> empty();
  // The subscriptions of these records' active webhooks (tests, small tools).
  static std::shared_ptr<const subscription_snapshot> build(
      const std::vector<store::webhook_record>& webhooks);

  // The next version after one webhook changed from `before` to `after` (either null:
  // created, deleted). Cost: the subscribers of the (account, type) keys touched.
  std::shared_ptr<const subscription_snapshot> apply(const store::webhook_record* before,
                                                     const store::webhook_record* after) const;

  // Active webhooks of `account` subscribed to `type`, in id order.
  std::span<const subscriber> match(std::string_view account, std::string_view type) const;
  // How many (account, type, webhook) subscriptions there are.
  std::size_t size() const noexcept { return size_; }

  static bool is_body_method(std::string_view http_method);

 private:
  static constexpr std::size_t k_fan = 64;
  // A leaf's bytes: u32 count, u32 unused, then `count` heads, then per entry its key
  // (u32 length, the bytes, padded to 8) and its subscribers.
  struct head {
    std::uint64_t hash = 0;
    std::uint32_t offset = 0;  // of the entry's key length, from the leaf's start
    std::uint32_t count = 0;   // subscribers
  };
  // 8-byte words, so heads and subscribers placed in them are aligned.
  using leaf = std::shared_ptr<const std::uint64_t[]>;
  struct low {
    std::array<leaf, k_fan> leaves;
  };
  struct mid {
    std::array<std::shared_ptr<const low>, k_fan> lows;
  };
  class editor;

  std::array<std::shared_ptr<const mid>, k_fan> root_;
  std::size_t size_ = 0;
};

}  // namespace hookd::engine
