// `hookd serve` configuration as an operator meets it: a TOML file, the environment
// over it, a flag over both (checked with --check-config), errors that name the key
// and line, and the reference and example that cannot drift from the option table.
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace hookd::test {
namespace {

class Config : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  run_result check(std::vector<std::string> extra, std::vector<std::string> env = {}) {
    std::vector<std::string> argv = {HOOKD_BINARY, "serve", "--check-config"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_command(argv, env);
  }

  // "threads = 4  (environment)" → {"4", "environment"}.
  static std::pair<std::string, std::string> value_of(const std::string& out,
                                                      const std::string& name) {
    std::smatch m;
    if (!std::regex_search(out, m, std::regex("(^|\n)" + name + " = (.*)  \\(([a-z ]+)\\)\n"))) {
      return {};
    }
    return {m[2], m[3]};
  }

  // What value_of returns for a value from a source.
  static std::pair<std::string, std::string> seen(std::string value, std::string source) {
    return {std::move(value), std::move(source)};
  }

  temp_dir dir_;
};

TEST_F(Config, TheFlagWinsOverTheEnvironmentWhichWinsOverTheFile) {
  const auto file = write("hookd.toml",
                          "threads = 3\nattempt_timeout = \"20s\"\nretention = \"7d\"\n"
                          "allow_cidr = [\"10.0.0.0/8\", \"fd00::/8\"]\nfsync = true\n");
  auto r =
      check({"--config", file, "--threads", "5"}, {"HOOKD_THREADS=4", "HOOKD_ATTEMPT_TIMEOUT=25s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(value_of(r.out, "threads"), seen("5", "flag"));
  EXPECT_EQ(value_of(r.out, "attempt-timeout"), seen("25s", "environment"));
  EXPECT_EQ(value_of(r.out, "retention"), seen("7d", "config file"));
  EXPECT_EQ(value_of(r.out, "allow-cidr"), seen("10.0.0.0/8,fd00::/8", "config file"));
  EXPECT_EQ(value_of(r.out, "fsync"), seen("1", "config file"));
  EXPECT_EQ(value_of(r.out, "connect-timeout"), seen("5s", "default"));

  // Without the flag, the environment; without both, the file.
  auto env = check({"--config", file}, {"HOOKD_THREADS=4"});
  EXPECT_EQ(value_of(env.out, "threads"), seen("4", "environment"));
  auto from_file = check({"--config", file});
  EXPECT_EQ(value_of(from_file.out, "threads"), seen("3", "config file"));
  // HOOKD_CONFIG names the file too.
  auto by_env = check({}, {"HOOKD_CONFIG=" + file});
  EXPECT_EQ(value_of(by_env.out, "retention"), seen("7d", "config file"));
}

TEST_F(Config, ErrorsNameTheKeyAndTheLine) {
  struct bad {
    std::string toml;
    std::string expected;
  };
  for (const auto& b : std::vector<bad>{
           {"threads = 2\nthreds = 3\n", ":2: unknown key \"threds\""},
           {"attempt_timeout = 15000\n", "attempt_timeout must be a string with a unit"},
           {"fsync = \"yes\"\n", "fsync must be true or false"},
           {"retry_schedule = [10, 20]\n", "retry_schedule must be an array of strings"},
           {"threads = \n", ":1:"},  // not TOML
       }) {
    SCOPED_TRACE(b.toml);
    auto r = check({"--config", write("bad.toml", b.toml)});
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.err.find(b.expected), std::string::npos) << r.err;
  }
  // A value of the right type but wrong content is refused as a flag's would be.
  auto r = check({"--config", write("worse.toml", "connect_timeout = \"soon\"\n")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--connect-timeout \"soon\""), std::string::npos) << r.err;
  auto missing = check({"--config", (dir_ / "nope.toml").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope.toml"), std::string::npos) << missing.err;
}

TEST_F(Config, DurationsTakeOneSyntaxEverywhere) {
  auto ok = check({"--connect-timeout", "250ms", "--attempt-timeout", "1m", "--max-retry-after",
                   "2h", "--shutdown-grace", "1s"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  for (const char* flag : {"--connect-timeout", "--attempt-timeout", "--max-retry-after"}) {
    auto bare = check({flag, "5000"});
    EXPECT_EQ(bare.exit_code, 2) << flag;
    EXPECT_NE(bare.err.find("like \"15s\""), std::string::npos) << bare.err;
  }
}

TEST_F(Config, TheReferenceAndTheExampleMatchTheOptionTable) {
  auto reference = run_command({HOOKD_BINARY, "serve", "--config-reference"});
  ASSERT_EQ(reference.exit_code, 0);
  std::ifstream in(std::string(HOOKD_SOURCE_DIR) + "/docs/CONFIGURATION.md");
  const std::string committed{std::istreambuf_iterator<char>(in), {}};
  EXPECT_EQ(committed, reference.out)
      << "docs/CONFIGURATION.md is stale: hookd serve --config-reference > docs/CONFIGURATION.md";

  // The example is valid as shipped (its paths pointed at a temporary folder).
  const auto tokens = write("tokens", "acme:tok\n");
  auto example = check({"--config", std::string(HOOKD_SOURCE_DIR) + "/examples/hookd.toml",
                        "--tokens", tokens, "--data", (dir_ / "data").string()});
  EXPECT_EQ(example.exit_code, 0) << example.err;
  EXPECT_EQ(value_of(example.out, "log-format"), seen("json", "config file"));

  // --help lists every option the reference does.
  auto help = run_command({HOOKD_BINARY, "serve", "--help"});
  std::smatch m;
  const std::regex row("\n\\| `--([a-z-]+)");
  for (auto it = std::sregex_iterator(reference.out.begin(), reference.out.end(), row);
       it != std::sregex_iterator(); ++it) {
    EXPECT_NE(help.out.find("--" + (*it)[1].str()), std::string::npos) << (*it)[1];
  }
}

}  // namespace
}  // namespace hookd::test
