// The subscription trie: versions share every node a change does not touch; an edit
// copies the root's pointers, the inner node and the leaf on the path to each key it
// changes, and matching reads two pointers and one short leaf without allocating.
#include "engine/registry/subscription_snapshot.hpp"

#include <algorithm>
#include <functional>

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
std::size_t outer_index(std::uint64_t h) { return static_cast<std::size_t>(h >> 56); }
std::size_t inner_index(std::uint64_t h) { return static_cast<std::size_t>((h >> 48) & 0xff); }

bool by_id(const subscription_snapshot::subscriber& a, const subscription_snapshot::subscriber& b) {
  return a.id < b.id;
}

}  // namespace

// A version being made from another: nodes copied in this edit are written in place,
// the rest are shared with the base until touched.
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
    if (!find(h, key)) return;  // nothing to copy for a key that is not there
    leaf& l = writable_leaf(h);
    auto e = std::find_if(l.entries.begin(), l.entries.end(),
                          [&](const entry& x) { return x.hash == h && x.key == key; });
    auto& list = e->subscribers;
    auto it = std::lower_bound(list.begin(), list.end(), subscriber{id, true}, by_id);
    if (it == list.end() || it->id != id) return;
    list.erase(it);
    --next_->size_;
    if (list.empty()) l.entries.erase(e);
  }

  // A whole list at once (the builder's keys are unique).
  void put(std::string_view key, std::vector<subscriber> list) {
    std::sort(list.begin(), list.end(), by_id);
    next_->size_ += list.size();
    const std::uint64_t h = hash_of(key);
    writable_leaf(h).entries.push_back({h, std::string(key), std::move(list)});
  }

  std::shared_ptr<const subscription_snapshot> finish() { return std::move(next_); }

 private:
  const entry* find(std::uint64_t h, std::string_view key) const {
    const auto& in = next_->root_[outer_index(h)];
    if (!in) return nullptr;
    const auto& l = in->leaves[inner_index(h)];
    if (!l) return nullptr;
    for (const auto& e : l->entries) {
      if (e.hash == h && e.key == key) return &e;
    }
    return nullptr;
  }

  entry& entry_of(std::string_view key) {
    const std::uint64_t h = hash_of(key);
    leaf& l = writable_leaf(h);
    for (auto& e : l.entries) {
      if (e.hash == h && e.key == key) return e;
    }
    return l.entries.emplace_back(entry{h, std::string(key), {}});
  }

  leaf& writable_leaf(std::uint64_t h) {
    const std::size_t o = outer_index(h);
    auto& in = fresh_inners_[o];
    if (!in) {
      const auto& base = next_->root_[o];
      in = base ? std::make_shared<inner>(*base) : std::make_shared<inner>();
      next_->root_[o] = in;
    }
    const std::size_t i = inner_index(h);
    auto& fresh = fresh_leaves_[(o << 8) | i];
    if (!fresh) {
      const auto& base = in->leaves[i];
      fresh = base ? std::make_shared<leaf>(*base) : std::make_shared<leaf>();
      in->leaves[i] = fresh;
    }
    return *fresh;
  }

  std::shared_ptr<subscription_snapshot> next_;
  std::array<std::shared_ptr<inner>, k_fan> fresh_inners_{};
  std::unordered_map<std::size_t, std::shared_ptr<leaf>> fresh_leaves_;
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
  const auto& in = root_[outer_index(h)];
  if (!in) return {};
  const auto& l = in->leaves[inner_index(h)];
  if (!l) return {};
  for (const auto& e : l->entries) {
    if (e.hash == h && e.key == key.view()) return e.subscribers;
  }
  return {};
}

}  // namespace hookd::engine
