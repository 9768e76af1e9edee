// The subscription trie: versions share every node a change does not touch; an edit
// copies the root's pointers and the two nodes on the path to each leaf it changes,
// and re-encodes that leaf. Matching reads two 64-wide nodes and one leaf without
// allocating.
#include "engine/registry/subscription_snapshot.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <new>

namespace hookd::engine {
namespace {

// The lookup key account 0x00 type, in a stack buffer for ordinary names.
class key_text {
 public:
  key_text(std::string_view account, std::string_view type) {
    const std::size_t n = account.size() + 1 + type.size();
    if (n <= buf_.size()) {
      std::copy(account.begin(), account.end(), buf_.begin());
      buf_[account.size()] = '\0';
      std::copy(type.begin(), type.end(),
                buf_.begin() + static_cast<std::ptrdiff_t>(account.size() + 1));
      view_ = std::string_view(buf_.data(), n);
    } else {
      heap_ = std::string(account) + '\0' + std::string(type);
      view_ = heap_;
    }
  }
  key_text(const key_text&) = delete;
  key_text& operator=(const key_text&) = delete;

  std::string_view view() const noexcept { return view_; }

 private:
  std::array<char, 192> buf_{};
  std::string heap_;
  std::string_view view_;
};

std::uint64_t hash_of(std::string_view key) { return std::hash<std::string_view>{}(key); }

// Six bits of the hash per level.
std::size_t level(std::uint64_t h, int n) {
  return static_cast<std::size_t>((h >> (58 - 6 * n)) & 63);
}

std::size_t align8(std::size_t n) { return (n + 7) & ~std::size_t{7}; }

using subscriber = subscription_snapshot::subscriber;

bool by_id(const subscriber& a, const subscriber& b) { return a.id < b.id; }

}  // namespace

// A leaf's entries while an edit changes them.
struct leaf_entry {
  std::uint64_t hash = 0;
  std::string key;
  std::vector<subscriber> subscribers;
};

// A version being made from another: nodes copied in this edit are written in place,
// the rest are shared with the base until touched; changed leaves are decoded, edited
// and encoded again once at the end.
class subscription_snapshot::editor {
 public:
  explicit editor(const subscription_snapshot& base)
      : next_(std::make_shared<subscription_snapshot>(base)) {}

  void insert(std::string_view key, subscriber s) {
    auto& list = entry_of(key).subscribers;
    auto it = std::lower_bound(list.begin(), list.end(), s, by_id);
    if (it != list.end() && it->id == s.id) {
      *it = s;
      return;
    }
    list.insert(it, s);
    ++next_->size_;
  }

  void remove(std::string_view key, std::uint64_t id) {
    const std::uint64_t h = hash_of(key);
    auto& es = entries_of(h);
    auto e = std::find_if(es.begin(), es.end(),
                          [&](const leaf_entry& x) { return x.hash == h && x.key == key; });
    if (e == es.end()) return;
    auto& list = e->subscribers;
    auto it = std::lower_bound(list.begin(), list.end(), subscriber{id, true}, by_id);
    if (it == list.end() || it->id != id) return;
    list.erase(it);
    --next_->size_;
    if (list.empty()) es.erase(e);
  }

  // A whole list at once (the builder's keys are unique).
  void put(std::string_view key, std::vector<subscriber> list) {
    std::sort(list.begin(), list.end(), by_id);
    next_->size_ += list.size();
    const std::uint64_t h = hash_of(key);
    entries_of(h).push_back({h, std::string(key), std::move(list)});
  }

  std::shared_ptr<const subscription_snapshot> finish() {
    for (auto& [index, es] : dirty_) {
      writable_low(index >> 12, (index >> 6) & 63)->leaves[index & 63] = encode(es);
    }
    dirty_.clear();
    return std::move(next_);
  }

 private:
  leaf_entry& entry_of(std::string_view key) {
    const std::uint64_t h = hash_of(key);
    auto& es = entries_of(h);
    for (auto& e : es) {
      if (e.hash == h && e.key == key) return e;
    }
    return es.emplace_back(leaf_entry{h, std::string(key), {}});
  }

  // The entries of the leaf `h` falls in, decoded once per edit.
  std::vector<leaf_entry>& entries_of(std::uint64_t h) {
    const std::size_t index = (level(h, 0) << 12) | (level(h, 1) << 6) | level(h, 2);
    auto [it, fresh] = dirty_.try_emplace(index);
    if (fresh) {
      if (const auto& m = next_->root_[level(h, 0)]) {
        if (const auto& l = m->lows[level(h, 1)]) {
          if (const auto& bytes = l->leaves[level(h, 2)]) it->second = decode(bytes.get());
        }
      }
    }
    return it->second;
  }

  low* writable_low(std::size_t o, std::size_t m) {
    auto& fresh_mid = fresh_mids_[o];
    if (!fresh_mid) {
      const auto& base = next_->root_[o];
      fresh_mid = base ? std::make_shared<mid>(*base) : std::make_shared<mid>();
      next_->root_[o] = fresh_mid;
    }
    auto& fresh_low = fresh_lows_[(o << 6) | m];
    if (!fresh_low) {
      const auto& base = fresh_mid->lows[m];
      fresh_low = base ? std::make_shared<low>(*base) : std::make_shared<low>();
      fresh_mid->lows[m] = fresh_low;
    }
    return fresh_low.get();
  }

  static std::vector<leaf_entry> decode(const std::uint64_t* words) {
    const auto* bytes = reinterpret_cast<const std::byte*>(words);
    std::uint32_t n = 0;
    std::memcpy(&n, bytes, sizeof n);
    const auto* heads = std::launder(reinterpret_cast<const head*>(bytes + 8));
    std::vector<leaf_entry> out;
    out.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      std::uint32_t len = 0;
      std::memcpy(&len, bytes + heads[i].offset, sizeof len);
      const auto* chars = reinterpret_cast<const char*>(bytes + heads[i].offset + 4);
      const auto* subs = std::launder(
          reinterpret_cast<const subscriber*>(bytes + align8(heads[i].offset + 4 + len)));
      out.push_back({heads[i].hash, std::string(chars, len),
                     std::vector<subscriber>(subs, subs + heads[i].count)});
    }
    return out;
  }

  static leaf encode(const std::vector<leaf_entry>& es) {
    if (es.empty()) return nullptr;
    std::size_t size = 8 + es.size() * sizeof(head);
    for (const auto& e : es) {
      size = align8(size + 4 + e.key.size()) + e.subscribers.size() * sizeof(subscriber);
    }
    auto words = std::make_shared<std::uint64_t[]>(align8(size) / 8);
    auto* bytes = reinterpret_cast<std::byte*>(words.get());
    const auto n = static_cast<std::uint32_t>(es.size());
    std::memcpy(bytes, &n, sizeof n);
    std::size_t offset = 8 + es.size() * sizeof(head);
    for (std::size_t i = 0; i < es.size(); ++i) {
      const auto& e = es[i];
      new (bytes + 8 + i * sizeof(head)) head{e.hash, static_cast<std::uint32_t>(offset),
                                              static_cast<std::uint32_t>(e.subscribers.size())};
      const auto len = static_cast<std::uint32_t>(e.key.size());
      std::memcpy(bytes + offset, &len, sizeof len);
      std::memcpy(bytes + offset + 4, e.key.data(), e.key.size());
      offset = align8(offset + 4 + len);
      for (const auto& s : e.subscribers) {
        new (bytes + offset) subscriber(s);
        offset += sizeof(subscriber);
      }
    }
    return words;
  }

  std::shared_ptr<subscription_snapshot> next_;
  std::array<std::shared_ptr<mid>, k_fan> fresh_mids_{};
  std::unordered_map<std::size_t, std::shared_ptr<low>> fresh_lows_;
  std::unordered_map<std::size_t, std::vector<leaf_entry>> dirty_;
};

bool subscription_snapshot::is_body_method(std::string_view http_method) {
  return http_method != "GET" && http_method != "DELETE";
}

void subscription_snapshot::builder::add(std::string_view account, std::string_view type,
                                         subscriber s) {
  const key_text key(account, type);
  lists_[std::string(key.view())].push_back(s);
}

std::shared_ptr<const subscription_snapshot> subscription_snapshot::builder::finish() {
  const subscription_snapshot base;
  editor e(base);
  for (auto& [key, list] : lists_) e.put(key, std::move(list));
  lists_.clear();
  return e.finish();
}

std::shared_ptr<const subscription_snapshot> subscription_snapshot::empty() {
  return std::make_shared<const subscription_snapshot>();
}

std::shared_ptr<const subscription_snapshot> subscription_snapshot::build(
    const std::vector<store::webhook_record>& webhooks) {
  builder b;
  for (const auto& w : webhooks) {
    if (!w.active) continue;
    for (const auto& type : w.events) {
      b.add(w.account, type, {w.id, is_body_method(w.http_method)});
    }
  }
  return b.finish();
}

std::shared_ptr<const subscription_snapshot> subscription_snapshot::apply(
    const store::webhook_record* before, const store::webhook_record* after) const {
  editor e(*this);
  if (before && before->active) {
    for (const auto& type : before->events) {
      const key_text key(before->account, type);
      e.remove(key.view(), before->id);
    }
  }
  if (after && after->active) {
    const subscriber s{after->id, is_body_method(after->http_method)};
    for (const auto& type : after->events) {
      const key_text key(after->account, type);
      e.insert(key.view(), s);
    }
  }
  return e.finish();
}

std::span<const subscription_snapshot::subscriber> subscription_snapshot::match(
    std::string_view account, std::string_view type) const {
  const key_text key(account, type);
  const std::uint64_t h = hash_of(key.view());
  const auto& m = root_[level(h, 0)];
  if (!m) return {};
  const auto& l = m->lows[level(h, 1)];
  if (!l) return {};
  const auto& words = l->leaves[level(h, 2)];
  if (!words) return {};
  const auto* bytes = reinterpret_cast<const std::byte*>(words.get());
  std::uint32_t n = 0;
  std::memcpy(&n, bytes, sizeof n);
  const auto* heads = std::launder(reinterpret_cast<const head*>(bytes + 8));
  for (std::uint32_t i = 0; i < n; ++i) {
    if (heads[i].hash != h) continue;
    std::uint32_t len = 0;
    std::memcpy(&len, bytes + heads[i].offset, sizeof len);
    const std::string_view stored(reinterpret_cast<const char*>(bytes + heads[i].offset + 4), len);
    if (stored != key.view()) continue;
    const auto* subs = std::launder(
        reinterpret_cast<const subscriber*>(bytes + align8(heads[i].offset + 4 + len)));
    return {subs, heads[i].count};
  }
  return {};
}

}  // namespace hookd::engine
