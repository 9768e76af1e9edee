// Building the immutable subscription snapshot from webhook records, and matching an
// event's (account, type) against it without allocating.
#include "engine/registry/subscription_snapshot.hpp"

#include <algorithm>
#include <array>

#include "engine/delivery/signer.hpp"

namespace hookd::engine {

std::shared_ptr<const subscription_snapshot> subscription_snapshot::build(
    const std::vector<store::webhook_record>& webhooks, double jitter) {
  auto snap = std::make_shared<subscription_snapshot>();
  for (const auto& w : webhooks) {
    auto t = std::make_shared<webhook_target>();
    t->id = w.id;
    t->account = w.account;
    t->url = w.url;
    t->http_method = w.http_method;
    t->body_method = w.http_method != "GET" && w.http_method != "DELETE";
    t->active = w.active;
    t->signing_key = secret_key(w.secret).value_or(std::string());
    // Leniently: a record stored under older URL rules still builds (its attempts fail
    // with the reason when it cannot be delivered at all).
    t->endpoint = parse_stored_webhook_url(w.url);
    if (!w.retry_schedule.empty()) {
      if (auto schedule = parse_retry_schedule(w.retry_schedule)) {
        t->policy = std::make_shared<const retry_policy>(std::move(*schedule), jitter);
      }
    }
    snap->by_id_.emplace(w.id, t);
    if (!w.active) continue;
    for (const auto& type : w.events) {
      std::string key = w.account;
      key.push_back('\0');
      key += type;
      snap->by_subscription_[std::move(key)].push_back(t);
    }
  }
  // match() promises id order whatever order the records came in.
  for (auto& [key, targets] : snap->by_subscription_) {
    std::sort(targets.begin(), targets.end(),
              [](const auto& a, const auto& b) { return a->id < b->id; });
  }
  return snap;
}

std::span<const std::shared_ptr<const webhook_target>> subscription_snapshot::match(
    std::string_view account, std::string_view type) const {
  // A small stack buffer for the lookup key keeps publish free of allocations for
  // ordinary account and type names.
  std::array<char, 192> buf{};
  std::string heap;
  std::string_view key;
  const std::size_t n = account.size() + 1 + type.size();
  if (n <= buf.size()) {
    std::copy(account.begin(), account.end(), buf.begin());
    buf[account.size()] = '\0';
    std::copy(type.begin(), type.end(),
              buf.begin() + static_cast<std::ptrdiff_t>(account.size() + 1));
    key = std::string_view(buf.data(), n);
  } else {
    heap = std::string(account) + '\0' + std::string(type);
    key = heap;
  }
  auto it = by_subscription_.find(key);
  if (it == by_subscription_.end()) return {};
  return it->second;
}

std::shared_ptr<const webhook_target> subscription_snapshot::find(std::uint64_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

}  // namespace hookd::engine
