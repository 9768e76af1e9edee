// API tokens: loading them from HOOKD_TOKENS and a tokens file, keeping only SHA-256
// digests, and matching a presented token against every digest in constant time.
#include "api/tokens.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "engine/encoding.hpp"

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

}  // namespace hookd::api
