// API tokens: loading them from HOOKD_TOKENS and a tokens file, keeping only SHA-256
// digests, and matching a presented token against every digest in constant time.
#include "api/tokens.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <span>
#include <thread>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "engine/encoding.hpp"
#include "engine/log.hpp"

namespace hookd::api {
namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

bool valid_token_text(std::string_view token) {
  return !token.empty() && token.size() <= 512 &&
         std::all_of(token.begin(), token.end(),
                     [](char c) { return c > ' ' && c < 127 && c != ','; });
}

}  // namespace

bool valid_account_name(std::string_view account) {
  return !account.empty() && account.size() <= 64 &&
         std::all_of(account.begin(), account.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
         });
}

token_store::digest token_store::hash(std::string_view token) {
  digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), d.data());
  return d;
}

std::optional<std::string> token_store::add_line(std::string_view line) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return "expected account:token";
  const std::string_view account = trim(line.substr(0, colon));
  const std::string_view rest = trim(line.substr(colon + 1));
  if (!valid_account_name(account) && account != k_operator) {
    return "account \"" + std::string(account) +
           "\" is not 1-64 characters of [A-Za-z0-9_.-] (or @operator)";
  }
  entry e{std::string(account), {}};
  if (rest.starts_with("sha256:")) {
    auto raw = engine::hex_decode(rest.substr(7));
    if (!raw || raw->size() != e.token_sha256.size()) {
      return "sha256: must be followed by 64 hex digits";
    }
    std::memcpy(e.token_sha256.data(), raw->data(), raw->size());
  } else {
    if (!valid_token_text(rest)) {
      return "the token must be 1-512 printable characters without spaces or commas";
    }
    e.token_sha256 = hash(rest);
  }
  entries_.push_back(std::move(e));
  return std::nullopt;
}

explained<token_store> token_store::load(std::string_view env_tokens,
                                         const std::optional<std::filesystem::path>& file) {
  token_store store;
  int n = 0;
  while (!trim(env_tokens).empty()) {
    ++n;
    const auto comma = env_tokens.find(',');
    const std::string_view item = trim(env_tokens.substr(0, comma));
    env_tokens =
        comma == std::string_view::npos ? std::string_view{} : env_tokens.substr(comma + 1);
    if (item.empty()) continue;
    if (auto problem = store.add_line(item)) {
      return "HOOKD_TOKENS entry " + std::to_string(n) + ": " + *problem;
    }
  }
  if (file) {
    std::ifstream in(*file);
    if (!in) return "cannot read tokens file " + file->string();
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      const std::string_view l = trim(line);
      if (l.empty() || l[0] == '#') continue;
      if (auto problem = store.add_line(l)) {
        return file->string() + ":" + std::to_string(number) + ": " + *problem;
      }
    }
  }
  return store;
}

std::optional<std::string> token_store::authenticate(std::string_view token) const {
  if (token.empty()) return std::nullopt;
  const digest presented = hash(token);
  // Every entry is compared, without early exit, so timing says nothing about
  // which (or whether a) token matched.
  const entry* match = nullptr;
  for (const auto& e : entries_) {
    if (CRYPTO_memcmp(presented.data(), e.token_sha256.data(), presented.size()) == 0) {
      match = &e;
    }
  }
  if (!match) return std::nullopt;
  return match->account;
}

explained<std::string> token_store::create(const std::filesystem::path& file,
                                           std::string_view account,
                                           engine::random_source& random) {
  if (!valid_account_name(account) && account != k_operator) {
    return {boost::system::in_place_error,
            "--account \"" + std::string(account) + "\" is not 1-64 characters of [A-Za-z0-9_.-]"};
  }
  std::array<std::byte, 24> bytes{};
  random.fill(bytes);
  std::string token = "hkd_" + engine::base64url_encode(bytes);
  const auto d = hash(token);
  const std::string line =
      std::string(account) + ":sha256:" +
      engine::hex_encode(std::as_bytes(std::span<const unsigned char>(d.data(), d.size()))) + "\n";
  if (file.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
  }
  const int fd = ::open(file.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): the CLI's token command, one thread.
    const std::string why = std::strerror(errno);
    return {boost::system::in_place_error, "cannot open tokens file " + file.string() + ": " + why};
  }
  // A hand-edited file may lack its final newline; appending right after it would
  // glue the new entry onto the last token.
  std::string out = line;
  struct stat st {};
  char last = '\n';
  if (::fstat(fd, &st) != 0 || (st.st_size > 0 && ::pread(fd, &last, 1, st.st_size - 1) != 1)) {
    ::close(fd);
    return {boost::system::in_place_error, "cannot read tokens file " + file.string()};
  }
  if (last != '\n') out.insert(0, 1, '\n');
  const ssize_t written = ::write(fd, out.data(), out.size());
  const int close_result = ::close(fd);
  if (written != static_cast<ssize_t>(out.size()) || close_result != 0) {
    return {boost::system::in_place_error, "cannot write tokens file " + file.string()};
  }
  return {boost::system::in_place_value, std::move(token)};
}

namespace {

// "account:token" or "account:sha256:<hex>" → account and the token's SHA-256 in hex.
std::optional<std::pair<std::string, std::string>> entry_of(std::string_view line) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string account(trim(line.substr(0, colon)));
  const std::string_view rest = trim(line.substr(colon + 1));
  if (rest.starts_with("sha256:")) return std::pair{account, std::string(rest.substr(7))};
  const auto d = token_store::hash(rest);
  return std::pair{account, engine::hex_encode(std::as_bytes(std::span(d.data(), d.size())))};
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

}  // namespace

explained<std::vector<token_store::listed>> token_store::list(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return {boost::system::in_place_error, "cannot read tokens file " + file.string()};
  std::vector<listed> out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string_view l = trim(line);
    if (l.empty() || l[0] == '#') continue;
    auto e = entry_of(l);
    if (!e) continue;  // load() reports it; a listing shows what it can
    out.push_back({e->first, e->second.substr(0, 12), number});
  }
  return {boost::system::in_place_value, std::move(out)};
}

explained<std::vector<token_store::listed>> token_store::revoke(const std::filesystem::path& file,
                                                                std::string_view id_prefix) {
  if (id_prefix.size() < 8 || id_prefix.size() > 64 || !is_hex(id_prefix)) {
    return {boost::system::in_place_error,
            "a token id is 8 to 64 hex digits, as hookd token list shows it"};
  }
  std::string prefix(id_prefix);
  std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                 [](char c) { return static_cast<char>(std::tolower(c)); });
  std::ifstream in(file);
  if (!in) return {boost::system::in_place_error, "cannot read tokens file " + file.string()};
  std::vector<std::string> lines;
  std::vector<listed> removed;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string_view l = trim(line);
    if (!l.empty() && l[0] != '#') {
      if (auto e = entry_of(l)) {
        std::string hex = e->second;
        std::transform(hex.begin(), hex.end(), hex.begin(),
                       [](char c) { return static_cast<char>(std::tolower(c)); });
        if (hex.starts_with(prefix)) {
          removed.push_back({e->first, hex.substr(0, 12), number});
          continue;
        }
      }
    }
    lines.push_back(line);
  }
  in.close();
  if (removed.empty()) {
    return {boost::system::in_place_error, "no token with id " + prefix + " in " + file.string()};
  }
  std::set<std::string> ids;
  for (const auto& r : removed) ids.insert(r.id);
  if (ids.size() > 1) {
    return {boost::system::in_place_error, "the id " + prefix + " names " +
                                               std::to_string(ids.size()) +
                                               " different tokens; give more of it"};
  }
  // A new file renamed over the old: a server reading it sees one or the other.
  const std::filesystem::path temp = file.string() + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return {boost::system::in_place_error, "cannot write " + temp.string()};
  std::string text;
  for (const auto& l : lines) text.append(l).push_back('\n');
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(temp.c_str(), file.c_str()) != 0) {
    ::unlink(temp.c_str());
    return {boost::system::in_place_error, "cannot write tokens file " + file.string()};
  }
  return {boost::system::in_place_value, std::move(removed)};
}

struct live_tokens::impl {
  std::string env_tokens;
  std::optional<std::filesystem::path> file;
  std::atomic<std::shared_ptr<const token_store>> current;
  std::mutex reload_mutex;  // one reload at a time
  struct stamp {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = -1;
    std::int64_t mtime_ns = 0;
    friend bool operator==(const stamp&, const stamp&) = default;
  };
  stamp seen;  // guarded by reload_mutex
  std::mutex stop_mutex;
  std::condition_variable stop_wake;
  bool stop = false;
  std::thread watcher;

  stamp read_stamp() const {
    struct stat st {};
    if (!file || ::stat(file->c_str(), &st) != 0) return {};
    return {st.st_dev, st.st_ino, st.st_size,
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
  }
};

live_tokens::live_tokens(std::string env_tokens, std::optional<std::filesystem::path> file)
    : impl_(std::make_unique<impl>()) {
  impl_->env_tokens = std::move(env_tokens);
  impl_->file = std::move(file);
}

explained<std::unique_ptr<live_tokens>> live_tokens::open(
    std::string env_tokens, std::optional<std::filesystem::path> file) {
  std::unique_ptr<live_tokens> t(new live_tokens(std::move(env_tokens), std::move(file)));
  if (auto loaded = t->reload(); !loaded) return loaded.error();
  if (t->impl_->file) {
    impl* i = t->impl_.get();
    live_tokens* self = t.get();
    i->watcher = std::thread([i, self] {
      pthread_setname_np(pthread_self(), "hookd-tokens");
      std::unique_lock lock(i->stop_mutex);
      while (
          !i->stop_wake.wait_for(lock, std::chrono::milliseconds(250), [i] { return i->stop; })) {
        lock.unlock();
        bool changed = false;
        {
          std::lock_guard reload_lock(i->reload_mutex);
          changed = i->read_stamp() != i->seen;
        }
        if (changed) {
          if (auto r = self->reload(); !r) {
            engine::log::error(
                "the tokens file changed but cannot be read; the tokens in force "
                "stay as they were",
                {{"error", r.error().message}});
          } else {
            engine::log::info("tokens reloaded", {{"tokens", std::to_string(self->size())}});
          }
        }
        lock.lock();
      }
    });
  }
  return {boost::system::in_place_value, std::move(t)};
}

live_tokens::~live_tokens() {
  {
    std::lock_guard lock(impl_->stop_mutex);
    impl_->stop = true;
  }
  impl_->stop_wake.notify_all();
  if (impl_->watcher.joinable()) impl_->watcher.join();
}

explained<void> live_tokens::reload() {
  std::lock_guard lock(impl_->reload_mutex);
  // The stamp first: a change while reading is seen again by the next look.
  const auto stamp = impl_->read_stamp();
  auto loaded = token_store::load(impl_->env_tokens, impl_->file);
  impl_->seen = stamp;
  if (!loaded) return loaded.error();
  impl_->current.store(std::make_shared<const token_store>(std::move(*loaded)));
  return {};
}

std::optional<std::string> live_tokens::authenticate(std::string_view token) const {
  return impl_->current.load()->authenticate(token);
}

std::size_t live_tokens::size() const { return impl_->current.load()->size(); }

}  // namespace hookd::api
