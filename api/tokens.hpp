// API tokens: each maps to one account, or marks its holder as the operator. Tokens
// come from HOOKD_TOKENS ("acme:tok_a,beta:tok_b") and/or a tokens file (one
// "account:token" or "account:sha256:<hex>" per line; "@operator:..." for an operator
// token). Only SHA-256 digests are kept in memory, and a presented token is compared
// against every digest in constant time.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "engine/random.hpp"
#include "store/errc.hpp"

namespace hookd::api {

// 1-64 characters of [A-Za-z0-9_.-].
bool valid_account_name(std::string_view account);

// What authenticate() returns for an operator token: it reads process-wide numbers
// (/metrics) and acts on no account. Not a valid account name, so no account can
// take it.
inline constexpr std::string_view k_operator = "@operator";

class token_store {
 public:
  using digest = std::array<unsigned char, 32>;

  // Errors name the source ("HOOKD_TOKENS entry 2", "tokens:3") and never echo a token.
  [[nodiscard]] static explained<token_store> load(
      std::string_view env_tokens, const std::optional<std::filesystem::path>& file);

  // The account the token belongs to (k_operator for an operator token), or nullopt.
  std::optional<std::string> authenticate(std::string_view token) const;

  std::size_t size() const noexcept { return entries_.size(); }

  // Appends a new random token for `account` (or k_operator) to `file` (stored as its SHA-256, the
  // file created with mode 0600 if missing) and returns the token in clear text.
  [[nodiscard]] static explained<std::string> create(const std::filesystem::path& file,
                                                     std::string_view account,
                                                     engine::random_source& random);

  static digest hash(std::string_view token);

 private:
  struct entry {
    std::string account;
    digest token_sha256;
  };
  [[nodiscard]] std::optional<std::string> add_line(std::string_view line);

  std::vector<entry> entries_;
};

}  // namespace hookd::api
