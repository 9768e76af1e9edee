// API tokens: each maps to one account, or marks its holder as the operator. Tokens
// come from HOOKD_TOKENS ("acme:tok_a,beta:tok_b") and/or a tokens file (one
// "account:token" or "account:sha256:<hex>" per line; "@operator:..." for an operator
// token). Only SHA-256 digests are kept in memory, and a presented token is compared
// against every digest in constant time.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "hookd/engine/random.hpp"
#include "hookd/errc.hpp"

namespace hookd::api {

// 1-64 characters of [A-Za-z0-9_.-].
bool valid_account_name(std::string_view account);

// What authenticate() returns for an operator token: it reads process-wide numbers
// (/metrics) and acts on no account. Not a valid account name, so no account can
// take it.
inline constexpr std::string_view k_operator = "@operator";

// What the router asks of tokens: the account a token belongs to. Thread-safe.
class token_authority {
 public:
  virtual ~token_authority() = default;
  // The account the token belongs to (k_operator for an operator token), or nullopt.
  virtual std::optional<std::string> authenticate(std::string_view token) const = 0;
};

class token_store final : public token_authority {
 public:
  using digest = std::array<unsigned char, 32>;

  // Errors name the source ("HOOKD_TOKENS entry 2", "tokens:3") and never echo a token.
  [[nodiscard]] static explained<token_store> load(
      std::string_view env_tokens, const std::optional<std::filesystem::path>& file);

  std::optional<std::string> authenticate(std::string_view token) const override;

  std::size_t size() const noexcept { return entries_.size(); }

  // Appends a new random token for `account` (or k_operator) to `file` (stored as its SHA-256, the
  // file created with mode 0600 if missing) and returns the token in clear text.
  [[nodiscard]] static explained<std::string> create(const std::filesystem::path& file,
                                                     std::string_view account,
                                                     engine::random_source& random);

  static digest hash(std::string_view token);

  // One entry of a tokens file as `hookd token list` shows it: the account and an id,
  // the first 12 hex digits of the token's SHA-256 (never the token itself).
  struct listed {
    std::string account;
    std::string id;
    int line = 0;  // in the file, 1-based
  };
  [[nodiscard]] static explained<std::vector<listed>> list(const std::filesystem::path& file);
  // Removes from `file` every entry whose id starts with `id_prefix` (at least 8 hex
  // digits; an ambiguous prefix is refused), atomically (a new file renamed over the
  // old), other lines and comments kept. Returns the entries removed.
  [[nodiscard]] static explained<std::vector<listed>> revoke(const std::filesystem::path& file,
                                                             std::string_view id_prefix);

 private:
  struct entry {
    std::string account;
    digest token_sha256;
  };
  [[nodiscard]] std::optional<std::string> add_line(std::string_view line);

  std::vector<entry> entries_;
};

// The tokens in force for a running server: HOOKD_TOKENS plus the tokens file, read
// again when the file changes (its size, time or inode, looked at every 250 ms) or on
// reload() (SIGHUP). Requests already authenticated are not affected; a file that no
// longer parses leaves the tokens in force as they were, and the error is logged.
class live_tokens final : public token_authority {
 public:
  [[nodiscard]] static explained<std::unique_ptr<live_tokens>> open(
      std::string env_tokens, std::optional<std::filesystem::path> file);
  ~live_tokens() override;
  live_tokens(const live_tokens&) = delete;
  live_tokens& operator=(const live_tokens&) = delete;

  std::optional<std::string> authenticate(std::string_view token) const override;
  std::size_t size() const;
  // Reads the file again now.
  explained<void> reload();

 private:
  live_tokens(std::string env_tokens, std::optional<std::filesystem::path> file);
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hookd::api
