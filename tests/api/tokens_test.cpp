// Tests of API token loading (HOOKD_TOKENS and tokens files), authentication and
// `hookd token create`: the right account per token, errors that name their source
// without echoing a token, and token files that never hold a token in clear text.
#include "api/tokens.hpp"

#include <sys/stat.h>

#include <array>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include "hookd/engine/random.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using hookd::api::token_store;
using hookd::api::valid_account_name;

// SHA-256("abc"), FIPS 180-2 appendix B.1.
constexpr std::string_view k_sha256_of_abc =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

// Hex SHA-256 computed with OpenSSL directly, independent of the code under test.
std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> d{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  constexpr std::string_view digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : d) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// A deterministic random_source: bytes counting up from a seed, and a tally of how
// much randomness was asked for.
class counting_random final : public hookd::engine::random_source {
 public:
  explicit counting_random(unsigned char seed) : next_(seed) {}

  void fill(std::span<std::byte> out) override {
    bytes_requested += out.size();
    for (auto& b : out) b = static_cast<std::byte>(next_++);
  }

  std::size_t bytes_requested = 0;

 private:
  unsigned char next_;
};

class TokenStore : public ::testing::Test {
 protected:
  std::filesystem::path write_file(const std::string& name, std::string_view content) {
    const auto path = dir_ / name;
    std::ofstream out(path, std::ios::binary);
    out << content;
    return path;
  }

  static std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  static std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  // Loads, failing the test with the loader's message when it refuses.
  static token_store must_load(std::string_view env,
                               const std::optional<std::filesystem::path>& file) {
    auto loaded = token_store::load(env, file);
    if (!loaded) {
      ADD_FAILURE() << "load failed: " << loaded.error().message;
      return token_store();
    }
    return std::move(*loaded);
  }

  // The loader's error for input that must be refused; empty when it was accepted.
  static std::string load_error(std::string_view env,
                                const std::optional<std::filesystem::path>& file = std::nullopt) {
    auto loaded = token_store::load(env, file);
    if (loaded) {
      ADD_FAILURE() << "load accepted invalid input";
      return {};
    }
    return loaded.error().message;
  }

  hookd::test::temp_dir dir_;
};

TEST_F(TokenStore, LoadsAccountsFromEnvString) {
  const token_store store = must_load("acme:tok_a,beta:tok_b", std::nullopt);

  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(store.authenticate("tok_a"), "acme");
  EXPECT_EQ(store.authenticate("tok_b"), "beta");
}

TEST_F(TokenStore, EnvStringToleratesSpacesAndEmptyEntries) {
  const token_store store = must_load("  acme : tok_a ,beta:tok_b , , ", std::nullopt);

  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(store.authenticate("tok_a"), "acme");
  EXPECT_EQ(store.authenticate("tok_b"), "beta");
  EXPECT_EQ(store.authenticate(" tok_a "), std::nullopt);
}

TEST_F(TokenStore, EmptyEnvStringAndNoFileLoadsNoTokens) {
  const token_store store = must_load("   ", std::nullopt);

  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.authenticate("tok_a"), std::nullopt);
}

TEST_F(TokenStore, LoadsFileWithPlainAndHashedLinesCommentsAndBlankLines) {
  std::string content =
      "# hookd API tokens\n"
      "\n"
      "acme:tok_plain\n"
      "   # an indented comment: nobody:tok_commented\n"
      "   \n";
  content += "beta:sha256:" + std::string(k_sha256_of_abc) + "\n";
  content += "  gamma : tok_gamma  \r\n";
  const auto file = write_file("tokens", content);
  const token_store store = must_load("", file);

  EXPECT_EQ(store.size(), 3u);
  EXPECT_EQ(store.authenticate("tok_plain"), "acme");
  EXPECT_EQ(store.authenticate("abc"), "beta");
  EXPECT_EQ(store.authenticate("tok_gamma"), "gamma");
  EXPECT_EQ(store.authenticate("tok_commented"), std::nullopt);
}

TEST_F(TokenStore, HashedLineDoesNotAcceptItsDigestAsToken) {
  const auto file = write_file("tokens", "beta:sha256:" + std::string(k_sha256_of_abc) + "\n");
  const token_store store = must_load("", file);

  EXPECT_EQ(store.authenticate(k_sha256_of_abc), std::nullopt);
  EXPECT_EQ(store.authenticate("sha256:" + std::string(k_sha256_of_abc)), std::nullopt);
  EXPECT_EQ(store.authenticate("abc"), "beta");
}

TEST_F(TokenStore, LoadsEnvAndFileTogether) {
  const auto file = write_file("tokens", "beta:tok_b\n");
  const token_store store = must_load("acme:tok_a", file);

  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(store.authenticate("tok_a"), "acme");
  EXPECT_EQ(store.authenticate("tok_b"), "beta");
}

TEST_F(TokenStore, AuthenticateRejectsUnknownAndEmptyTokens) {
  const token_store store = must_load("acme:tok_a,beta:tok_b", std::nullopt);

  EXPECT_EQ(store.authenticate("tok_c"), std::nullopt);
  EXPECT_EQ(store.authenticate(""), std::nullopt);
  EXPECT_EQ(store.authenticate("acme"), std::nullopt);
  EXPECT_EQ(store.authenticate("acme:tok_a"), std::nullopt);
  EXPECT_EQ(store.authenticate("TOK_A"), std::nullopt);
}

TEST_F(TokenStore, AuthenticateRejectsPrefixOrExtensionOfValidToken) {
  const token_store store = must_load("acme:tok_abcdef", std::nullopt);

  EXPECT_EQ(store.authenticate("tok_abcde"), std::nullopt);
  EXPECT_EQ(store.authenticate("t"), std::nullopt);
  EXPECT_EQ(store.authenticate("tok_abcdefg"), std::nullopt);
  EXPECT_EQ(store.authenticate(std::string("tok_abcdef\0", 11)), std::nullopt);
  EXPECT_EQ(store.authenticate("tok_abcdef"), "acme");
}

TEST_F(TokenStore, InvalidEnvEntryErrorNamesEntryWithoutEchoingToken) {
  // Entry 2 has a space where the colon belongs.
  const std::string missing_colon = load_error("acme:tok_a,beta tok_secret_b");
  EXPECT_TRUE(contains(missing_colon, "HOOKD_TOKENS entry 2")) << missing_colon;
  EXPECT_FALSE(contains(missing_colon, "tok_secret_b")) << missing_colon;

  // Entry 3 has a token with a space in it.
  const std::string bad_token = load_error("acme:tok_a,beta:tok_b,gamma:s3cret word");
  EXPECT_TRUE(contains(bad_token, "HOOKD_TOKENS entry 3")) << bad_token;
  EXPECT_FALSE(contains(bad_token, "s3cret")) << bad_token;
  EXPECT_FALSE(contains(bad_token, "word")) << bad_token;

  // Entry 1 has an empty token.
  const std::string empty_token = load_error("acme:,beta:tok_b");
  EXPECT_TRUE(contains(empty_token, "HOOKD_TOKENS entry 1")) << empty_token;
  EXPECT_FALSE(contains(empty_token, "tok_b")) << empty_token;
}

TEST_F(TokenStore, InvalidFileLineErrorNamesFileAndLineWithoutEchoingToken) {
  const auto file = write_file("tokens",
                               "# comment\n"
                               "acme:tok_a\n"
                               "beta:s3cret with space\n"
                               "gamma:tok_g\n");
  const std::string error = load_error("", file);

  EXPECT_TRUE(contains(error, file.string() + ":3")) << error;
  EXPECT_FALSE(contains(error, "s3cret")) << error;
  EXPECT_FALSE(contains(error, "with space")) << error;
  EXPECT_FALSE(contains(error, "tok_a")) << error;
}

TEST_F(TokenStore, FileLineWithoutColonIsRejectedWithoutEchoingIt) {
  const auto file = write_file("tokens", "acme:tok_a\n\nhkd_lonelysecrettoken\n");
  const std::string error = load_error("", file);

  EXPECT_TRUE(contains(error, file.string() + ":3")) << error;
  EXPECT_FALSE(contains(error, "lonelysecret")) << error;
}

TEST_F(TokenStore, InvalidAccountErrorDoesNotEchoToken) {
  const std::string error = load_error("acme:tok_a,bad account!:tok_secret_c");

  EXPECT_TRUE(contains(error, "HOOKD_TOKENS entry 2")) << error;
  EXPECT_FALSE(contains(error, "tok_secret_c")) << error;
}

TEST_F(TokenStore, BadSha256HexIsRejected) {
  const std::string valid(k_sha256_of_abc);
  const std::vector<std::string> bad = {
      std::string(64, 'z'),                              // not hex
      valid.substr(0, 62),                               // 31 bytes
      valid.substr(0, 63),                               // odd length
      valid + "00",                                      // 33 bytes
      "",                                                // nothing after sha256:
      valid.substr(0, 60) + "g0a1",                      // one non-hex digit near the end
      valid.substr(0, 32) + " " + valid.substr(32, 31),  // a space inside
  };
  for (const auto& hex : bad) {
    const auto file = write_file("tokens", "acme:tok_a\nbeta:sha256:" + hex + "\n");
    const std::string error = load_error("", file);
    EXPECT_TRUE(contains(error, file.string() + ":2")) << "hex \"" << hex << "\": " << error;
    EXPECT_TRUE(contains(error, "sha256")) << "hex \"" << hex << "\": " << error;

    const std::string env_error = load_error("beta:sha256:" + hex);
    EXPECT_TRUE(contains(env_error, "HOOKD_TOKENS entry 1")) << env_error;
  }
}

TEST_F(TokenStore, InvalidAccountNamesAreRejected) {
  const std::vector<std::string> bad = {
      "", "a b", "acme!", "ac/me", "acme\xc3\xa9", std::string(65, 'a'),
  };
  for (const auto& account : bad) {
    EXPECT_FALSE(valid_account_name(account)) << "\"" << account << "\"";
    const std::string error = load_error(account + ":tok_a");
    EXPECT_TRUE(contains(error, "HOOKD_TOKENS entry 1")) << "\"" << account << "\": " << error;

    const auto file = write_file("tokens", account + ":tok_a\n");
    const std::string file_error = load_error("", file);
    EXPECT_TRUE(contains(file_error, file.string() + ":1"))
        << "\"" << account << "\": " << file_error;
  }
}

TEST_F(TokenStore, ValidAccountNamesUseLettersDigitsAndUnderscoreDotDash) {
  EXPECT_TRUE(valid_account_name("a"));
  EXPECT_TRUE(valid_account_name("Acme_Corp.eu-1"));
  EXPECT_TRUE(valid_account_name(std::string(64, 'z')));

  const token_store store = must_load("Acme_Corp.eu-1:tok_a", std::nullopt);
  EXPECT_EQ(store.authenticate("tok_a"), "Acme_Corp.eu-1");
}

TEST_F(TokenStore, MissingFileIsAnErrorNamingIt) {
  const auto missing = dir_ / "no-such-tokens";
  const std::string error = load_error("acme:tok_a", missing);

  EXPECT_TRUE(contains(error, missing.string())) << error;
}

TEST_F(TokenStore, HashIsSha256OfTheToken) {
  const token_store::digest d = token_store::hash("abc");
  std::string hex;
  constexpr std::string_view digits = "0123456789abcdef";
  for (unsigned char c : d) {
    hex.push_back(digits[c >> 4]);
    hex.push_back(digits[c & 15]);
  }
  EXPECT_EQ(hex, k_sha256_of_abc);
}

TEST_F(TokenStore, CreateAppendsHashedLineWithoutTheClearToken) {
  const auto file = dir_ / "etc" / "hookd" / "tokens";
  hookd::engine::crypto_random random;

  auto token = token_store::create(file, "acme", random);
  ASSERT_TRUE(token.has_value()) << token.error().message;
  ASSERT_FALSE(token->empty());

  const std::string content = read_file(file);
  EXPECT_EQ(content, "acme:sha256:" + sha256_hex(*token) + "\n");
  EXPECT_FALSE(contains(content, *token));
}

TEST_F(TokenStore, CreateKeepsExistingLinesAndAppendsOneLinePerToken) {
  const auto file = write_file("tokens", "# managed by hand\nbeta:tok_b\n");
  hookd::engine::crypto_random random;

  auto first = token_store::create(file, "acme", random);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  auto second = token_store::create(file, "gamma", random);
  ASSERT_TRUE(second.has_value()) << second.error().message;
  EXPECT_NE(*first, *second);

  const std::vector<std::string> lines = lines_of(read_file(file));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "# managed by hand");
  EXPECT_EQ(lines[1], "beta:tok_b");
  EXPECT_EQ(lines[2], "acme:sha256:" + sha256_hex(*first));
  EXPECT_EQ(lines[3], "gamma:sha256:" + sha256_hex(*second));
}

TEST_F(TokenStore, CreateStartsANewLineWhenFileLacksTrailingNewline) {
  const auto file = write_file("tokens", "beta:tok_b");
  hookd::engine::crypto_random random;

  auto token = token_store::create(file, "acme", random);
  ASSERT_TRUE(token.has_value()) << token.error().message;

  const token_store store = must_load("", file);
  EXPECT_EQ(store.authenticate("tok_b"), "beta");
  EXPECT_EQ(store.authenticate(*token), "acme");
}

TEST_F(TokenStore, CreateMakesFileReadableByOwnerOnly) {
  const auto file = dir_ / "tokens";
  hookd::engine::crypto_random random;

  ASSERT_TRUE(token_store::create(file, "acme", random).has_value());

  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(TokenStore, CreatedTokenAuthenticatesAfterLoad) {
  const auto file = dir_ / "tokens";
  hookd::engine::crypto_random random;

  auto acme = token_store::create(file, "acme", random);
  ASSERT_TRUE(acme.has_value()) << acme.error().message;
  auto beta = token_store::create(file, "beta", random);
  ASSERT_TRUE(beta.has_value()) << beta.error().message;

  const token_store store = must_load("", file);
  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(store.authenticate(*acme), "acme");
  EXPECT_EQ(store.authenticate(*beta), "beta");
  EXPECT_EQ(store.authenticate(acme->substr(0, acme->size() - 1)), std::nullopt);
}

TEST_F(TokenStore, CreateDrawsTheTokenFromTheInjectedRandomSource) {
  counting_random same_seed_1(7);
  counting_random same_seed_2(7);
  counting_random other_seed(8);

  auto a = token_store::create(dir_ / "a", "acme", same_seed_1);
  auto b = token_store::create(dir_ / "b", "acme", same_seed_2);
  auto c = token_store::create(dir_ / "c", "acme", other_seed);
  ASSERT_TRUE(a.has_value() && b.has_value() && c.has_value());

  // The token is a function of the random bytes only, and at least 128 bits of
  // them are drawn.
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_GE(same_seed_1.bytes_requested, 16u);
  EXPECT_EQ(read_file(dir_ / "a"), "acme:sha256:" + sha256_hex(*a) + "\n");
  EXPECT_EQ(must_load("", dir_ / "c").authenticate(*c), "acme");
}

TEST_F(TokenStore, CreateWithInvalidAccountFailsAndWritesNothing) {
  const auto file = dir_ / "tokens";
  counting_random random(1);

  const std::vector<std::string> bad = {"", "bad account", "acme:x", std::string(65, 'a')};
  for (const auto& account : bad) {
    auto token = token_store::create(file, account, random);
    ASSERT_TRUE(token.has_error()) << "\"" << account << "\" accepted";
    EXPECT_FALSE(token.error().message.empty());
  }
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_EQ(random.bytes_requested, 0u);
}

TEST_F(TokenStore, CreateFailsWhenTheFileCannotBeOpened) {
  hookd::engine::crypto_random random;
  // The path is a directory, so it cannot be opened for writing.
  auto token = token_store::create(dir_.path(), "acme", random);

  ASSERT_TRUE(token.has_error());
  EXPECT_TRUE(contains(token.error().message, dir_.path().string())) << token.error().message;
}

}  // namespace

namespace {

using hookd::api::live_tokens;

TEST_F(TokenStore, ListShowsAccountsAndIdsButNeverTokens) {
  const auto file =
      write_file("tokens", "# comment\nbeta:tok_b\n\nacme:sha256:" + sha256_hex("tok_a") +
                               "\n@operator:tok_ops\n");
  auto listed = token_store::list(file);
  ASSERT_TRUE(listed.has_value()) << listed.error().message;
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].account, "beta");
  EXPECT_EQ((*listed)[0].id, sha256_hex("tok_b").substr(0, 12));
  EXPECT_EQ((*listed)[0].line, 2);
  EXPECT_EQ((*listed)[1].account, "acme");
  EXPECT_EQ((*listed)[1].id, sha256_hex("tok_a").substr(0, 12));
  EXPECT_EQ((*listed)[2].account, "@operator");
  EXPECT_EQ((*listed)[2].line, 5);
}

TEST_F(TokenStore, RevokeRemovesOnlyThatTokenAndKeepsTheRest) {
  const auto file = write_file(
      "tokens", "# managed by hand\nbeta:tok_b\nacme:sha256:" + sha256_hex("tok_a") + "\n");
  auto revoked = token_store::revoke(file, sha256_hex("tok_a").substr(0, 8));
  ASSERT_TRUE(revoked.has_value()) << revoked.error().message;
  ASSERT_EQ(revoked->size(), 1u);
  EXPECT_EQ((*revoked)[0].account, "acme");
  EXPECT_EQ(read_file(file), "# managed by hand\nbeta:tok_b\n");
  const token_store store = must_load("", file);
  EXPECT_EQ(store.authenticate("tok_a"), std::nullopt);
  EXPECT_EQ(store.authenticate("tok_b"), "beta");
  // A plain token is revoked by the id of its hash too.
  ASSERT_TRUE(token_store::revoke(file, sha256_hex("tok_b").substr(0, 12)).has_value());
  EXPECT_EQ(must_load("", file).size(), 0u);
}

TEST_F(TokenStore, RevokeRefusesShortUnknownAndAmbiguousIds) {
  const auto file = write_file("tokens", "acme:tok_a\n");
  EXPECT_FALSE(token_store::revoke(file, "abc").has_value()) << "too short";
  EXPECT_FALSE(token_store::revoke(file, "zzzzzzzz").has_value()) << "not hex";
  EXPECT_FALSE(token_store::revoke(file, "00000000").has_value()) << "no such token";
  // Two tokens whose ids share their first 8 hex digits (a birthday search over a
  // few ten thousand hashes): that prefix names both, and is refused.
  std::map<std::string, std::string> seen;
  std::string a;
  std::string b;
  for (int i = 0; a.empty(); ++i) {
    const std::string t = "t" + std::to_string(i);
    auto [it, fresh] = seen.emplace(sha256_hex(t).substr(0, 8), t);
    if (!fresh) {
      a = it->second;
      b = t;
    }
  }
  const std::string both = "x:" + a + "\ny:" + b + "\n";
  const auto pair_file = write_file("both", both);
  auto ambiguous = token_store::revoke(pair_file, sha256_hex(a).substr(0, 8));
  ASSERT_FALSE(ambiguous.has_value());
  EXPECT_NE(ambiguous.error().message.find("2 different tokens"), std::string::npos)
      << ambiguous.error().message;
  EXPECT_EQ(read_file(pair_file), both);
  // The same token on two lines is one token: both lines go.
  const auto twice = write_file("twice", "x:" + a + "\nx:" + a + "\n");
  auto r = token_store::revoke(twice, sha256_hex(a).substr(0, 8));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->size(), 2u);
  EXPECT_EQ(read_file(file), "acme:tok_a\n") << "a refused revoke changed the file";
}

TEST_F(TokenStore, LiveTokensFollowTheFileAndKeepTheLastGoodSet) {
  const auto file = write_file("tokens", "acme:tok_a\n");
  auto live = live_tokens::open("env:tok_env", file);
  ASSERT_TRUE(live.has_value()) << live.error().message;
  EXPECT_EQ((*live)->authenticate("tok_a"), "acme");
  EXPECT_EQ((*live)->authenticate("tok_env"), "env");

  write_file("tokens", "beta:tok_b\n");
  ASSERT_TRUE((*live)->reload().has_value());
  EXPECT_EQ((*live)->authenticate("tok_a"), std::nullopt);
  EXPECT_EQ((*live)->authenticate("tok_b"), "beta");
  EXPECT_EQ((*live)->authenticate("tok_env"), "env");

  // A broken file is refused and the tokens in force stay.
  write_file("tokens", "not a token line\n");
  EXPECT_FALSE((*live)->reload().has_value());
  EXPECT_EQ((*live)->authenticate("tok_b"), "beta");
}

}  // namespace
