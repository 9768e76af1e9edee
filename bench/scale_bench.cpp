// Scale benchmark (`tools/bench scale`): what hookd costs as its registry and its
// backlog grow, measured through the embedded C++ API and printed as one table,
// figure | measured | target | pass/MISS. A plain program, not Google Benchmark: each
// figure is one run of a whole scenario (a million webhooks, a million pending
// deliveries) with its target beside it.
//
// Each phase runs in a process of its own (forked from this one while it has no
// threads), so the memory a phase reports is its own. The healthy receivers and the
// black-hole listeners run in one more process, so neither their threads nor the
// requests they record count against the engine's memory.
//
// Environment (default in brackets):
//   SCALE_PHASES            comma-separated subset of
//                           match,create,startup,pending,dead150,cancel,deadsched,
//                           retention [all]
//   SCALE_DATA              data folder, one subfolder per phase [a temp folder, removed after]
//   SCALE_WEBHOOKS          registry size of create and startup [1000000]
//   SCALE_CREATE_BATCH      creates per timed batch [2000]; SCALE_CREATE_REPS batches [3]
//   SCALE_CREATE_IDLE_S     idle seconds between the fill and the timed batches [10]
//   SCALE_MATCH_LOOKUPS     timed lookups per snapshot size [5000000]
//   SCALE_PENDING           pending deliveries to the dead origin [1000000]
//   SCALE_DEAD_FANOUT       webhooks on the dead origin, so deliveries per dead event [100]
//   SCALE_HEALTHY_WEBHOOKS  webhooks on the healthy receivers [10000]
//   SCALE_HEALTHY_PORTS     healthy receivers (origins) [4]
//   SCALE_BURST             events per healthy burst [20000]; SCALE_BURST_REPS bursts [3]
//   SCALE_DEAD_ORIGINS      black-hole origins in dead150 [150]
//   SCALE_DEAD_PER_ORIGIN   pending deliveries per black-hole origin in dead150 [40]
//   SCALE_LATENCY_SAMPLES   single deliveries timed in dead150 [200]
//   SCALE_RETENTION_MIN     retention of the retention phase, simulated minutes [60]
//   SCALE_RETENTION_RATE    events per simulated minute to the subscribed type in the
//                           retention phase, 10 deliveries each; a tenth as many
//                           more match nothing [200]
#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_support.hpp"
#include "engine/log.hpp"
#include "engine/registry/subscription_snapshot.hpp"
#include "hookd/engine/engine.hpp"
#include "tests/support/receiver.hpp"

namespace {

namespace fs = std::filesystem;
using namespace hookd;
using namespace hookd::bench;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---- small helpers ------------------------------------------------------------------

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  std::array<char, 512> buf{};
  va_list args;
  va_start(args, fmt);
  const int n = std::vsnprintf(buf.data(), buf.size(), fmt, args);
  va_end(args);
  return std::string(buf.data(), static_cast<std::size_t>(std::clamp(n, 0, 511)));
}

// Progress on stderr, so stdout carries the table alone.
void progress(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void progress(const char* fmt, ...) {
  std::array<char, 512> buf{};
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf.data(), buf.size(), fmt, args);
  va_end(args);
  std::fprintf(stderr, "[scale %d] %s\n", static_cast<int>(getpid()), buf.data());
}

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

std::uint64_t env_count(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v, &end, 10);
  if (*end != '\0' || n == 0) {
    std::fprintf(stderr, "scale: %s=%s is not a positive whole number\n", name, v);
    std::exit(2);
  }
  return n;
}

double mib(std::uint64_t kib) { return static_cast<double>(kib) / 1024.0; }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string joined(const std::vector<double>& v, const char* fmt) {
  std::string out;
  for (double x : v) out += (out.empty() ? "" : ", ") + format(fmt, x);
  return out;
}

// ---- the table ------------------------------------------------------------------------

// What a phase process sends its parent, a line each, tab-separated: a table row or a
// note printed under the table.
class report {
 public:
  explicit report(int fd) : out_(fdopen(fd, "w")) {}
  ~report() {
    if (out_) std::fclose(out_);
  }
  report(const report&) = delete;
  report& operator=(const report&) = delete;

  void row(const std::string& figure, const std::string& measured, const std::string& target,
           const std::string& verdict) {
    std::fprintf(out_, "R\t%s\t%s\t%s\t%s\n", figure.c_str(), measured.c_str(), target.c_str(),
                 verdict.c_str());
    std::fflush(out_);
    progress("%s: %s (target %s) %s", figure.c_str(), measured.c_str(), target.c_str(),
             verdict.c_str());
  }
  // A figure whose target is an upper bound.
  void at_most(const std::string& figure, double value, double limit, const char* unit,
               int precision) {
    row(figure, format("%.*f %s", precision, value, unit), format("<= %g %s", limit, unit),
        value <= limit ? "pass" : "MISS");
  }
  // A figure whose target is a lower bound.
  void at_least(const std::string& figure, double value, double limit, const char* unit,
                int precision) {
    row(figure, format("%.*f%s%s", precision, value, *unit ? " " : "", unit),
        format(">= %g%s%s", limit, *unit ? " " : "", unit), value >= limit ? "pass" : "MISS");
  }
  // A figure without a target, printed for context.
  void info(const std::string& figure, const std::string& measured) {
    row(figure, measured, "-", "info");
  }
  void note(const std::string& text) {
    std::fprintf(out_, "N\t%s\n", text.c_str());
    std::fflush(out_);
    progress("%s", text.c_str());
  }

 private:
  FILE* out_;
};

struct table_row {
  std::string figure, measured, target, verdict;
};

struct phase_outcome {
  std::string name;
  std::vector<table_row> rows;
  std::vector<std::string> notes;
  double seconds = 0;
  bool ok = true;
};

void print_table(const std::vector<phase_outcome>& phases) {
  std::vector<table_row> rows;
  for (const auto& p : phases) rows.insert(rows.end(), p.rows.begin(), p.rows.end());
  table_row head{"figure", "measured", "target", "pass/MISS"};
  std::array<std::size_t, 4> w{head.figure.size(), head.measured.size(), head.target.size(),
                               head.verdict.size()};
  for (const auto& r : rows) {
    w[0] = std::max(w[0], r.figure.size());
    w[1] = std::max(w[1], r.measured.size());
    w[2] = std::max(w[2], r.target.size());
    w[3] = std::max(w[3], r.verdict.size());
  }
  auto line = [&](const table_row& r) {
    std::printf("%-*s | %-*s | %-*s | %s\n", static_cast<int>(w[0]), r.figure.c_str(),
                static_cast<int>(w[1]), r.measured.c_str(), static_cast<int>(w[2]),
                r.target.c_str(), r.verdict.c_str());
  };
  line(head);
  std::printf("%s-+-%s-+-%s-+-%s\n", std::string(w[0], '-').c_str(), std::string(w[1], '-').c_str(),
              std::string(w[2], '-').c_str(), std::string(w[3], '-').c_str());
  for (const auto& r : rows) line(r);
  std::printf("\nphases:\n");
  for (const auto& p : phases) {
    std::printf("  %-8s %7.1f s%s\n", p.name.c_str(), p.seconds, p.ok ? "" : "  (FAILED)");
    for (const auto& n : p.notes) std::printf("           - %s\n", n.c_str());
  }
}

// Runs `body` in a forked process and collects what it reports. The parent has no
// threads when it forks, so the child starts as a clean copy.
phase_outcome run_phase(const std::string& name, const std::function<void(report&)>& body) {
  phase_outcome out;
  out.name = name;
  std::array<int, 2> p{};
  if (pipe2(p.data(), O_CLOEXEC) != 0)
    throw std::runtime_error("pipe: " + std::string(strerror(errno)));
  std::fflush(stdout);
  std::fflush(stderr);
  const auto t0 = steady::now();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork: " + std::string(strerror(errno)));
  if (pid == 0) {
    close(p[0]);
    int code = 0;
    {
      report r(p[1]);
      try {
        body(r);
      } catch (const std::exception& e) {
        r.row(name + ": phase failed", std::string("error: ") + e.what(), "-", "ERROR");
        code = 1;
      }
    }
    std::fflush(stderr);
    _exit(code);
  }
  close(p[1]);
  FILE* in = fdopen(p[0], "r");
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), in)) {
    std::string line(buf.data());
    if (!line.empty() && line.back() == '\n') line.pop_back();
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string col;
    while (std::getline(ss, col, '\t')) cols.push_back(col);
    if (cols.size() == 5 && cols[0] == "R") {
      out.rows.push_back({cols[1], cols[2], cols[3], cols[4]});
    } else if (cols.size() == 2 && cols[0] == "N") {
      out.notes.push_back(cols[1]);
    }
  }
  std::fclose(in);
  int status = 0;
  waitpid(pid, &status, 0);
  out.seconds = seconds_since(t0);
  if (WIFSIGNALED(status)) {
    out.rows.push_back({name + ": phase process died", "signal " + std::to_string(WTERMSIG(status)),
                        "-", "ERROR"});
    out.ok = false;
  } else if (WEXITSTATUS(status) != 0) {
    out.ok = false;
  }
  return out;
}

// ---- local origins: healthy receivers and black holes -----------------------------------

// Black holes accept every connection and never answer: what a client sends is read
// and dropped, so its attempt waits for a response until its own deadline (the attempt
// timeout). Sinks answer every request 200 with an empty body at once, keep-alive, and
// keep no record of it (the test receiver keeps every request, too much for the million
// deliveries of the retention phase). Returns when `quit_fd` becomes readable or hangs up.
void serve_listeners(const std::vector<int>& black_holes, const std::vector<int>& sinks,
                     int quit_fd) {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  constexpr std::uint64_t k_hole_listener = 1ULL << 32;
  constexpr std::uint64_t k_quit = 2ULL << 32;
  constexpr std::uint64_t k_sink_listener = 3ULL << 32;
  constexpr std::uint64_t k_sink = 4ULL << 32;  // an accepted sink connection
  constexpr std::string_view k_ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  auto watch = [ep](int fd, std::uint64_t kind) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = kind | static_cast<std::uint32_t>(fd);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  };
  for (int fd : black_holes) watch(fd, k_hole_listener);
  for (int fd : sinks) watch(fd, k_sink_listener);
  watch(quit_fd, k_quit);
  std::unordered_map<int, std::string> unread;  // a sink connection's partial request
  std::array<epoll_event, 256> events{};
  std::array<char, 65536> sink{};
  for (;;) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;
    for (int i = 0; i < n; ++i) {
      const std::uint64_t kind = events[i].data.u64 & ~0xffffffffULL;
      const int fd = static_cast<int>(events[i].data.u64 & 0xffffffffULL);
      if (kind == k_quit) return;
      if (kind == k_hole_listener || kind == k_sink_listener) {
        for (;;) {
          const int c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          watch(c, kind == k_sink_listener ? k_sink : 0);
        }
        continue;
      }
      for (;;) {
        const ssize_t r = ::read(fd, sink.data(), sink.size());
        if (r > 0) {
          if (kind != k_sink) continue;
          std::string& buf = unread[fd];
          buf.append(sink.data(), static_cast<std::size_t>(r));
          // One answer per complete request. The client waits for each answer before it
          // sends again, so the 38 bytes always fit in the socket's send buffer.
          for (;;) {
            const std::size_t head_end = buf.find("\r\n\r\n");
            if (head_end == std::string::npos) break;
            const std::size_t total =
                head_end + 4 + content_length(std::string_view(buf).substr(0, head_end));
            if (buf.size() < total) break;
            buf.erase(0, total);
            if (::write(fd, k_ok.data(), k_ok.size()) < 0) break;
          }
          continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        unread.erase(fd);
        ::close(fd);  // the client went away (or failed): forget the connection
        break;
      }
    }
  }
}

struct origins {
  std::vector<std::uint16_t> healthy;  // test receivers answering 200 at once
  std::vector<std::uint16_t> dead;     // black holes
  std::vector<std::uint16_t> sinks;    // answering 200 at once, keeping no record
};

// The helper process serving the local origins for the whole run.
class origin_process {
 public:
  origin_process(std::size_t healthy, std::size_t dead, std::size_t sinks) {
    std::array<int, 2> ports{};
    std::array<int, 2> life{};
    if (pipe2(ports.data(), O_CLOEXEC) != 0 || pipe2(life.data(), O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe: " + std::string(strerror(errno)));
    }
    std::fflush(stdout);
    std::fflush(stderr);
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork: " + std::string(strerror(errno)));
    if (pid_ == 0) {
      close(ports[0]);
      close(life[1]);
      serve(healthy, dead, sinks, ports[1], life[0]);
      _exit(0);
    }
    close(ports[1]);
    close(life[0]);
    life_fd_ = life[1];
    FILE* in = fdopen(ports[0], "r");
    std::array<char, 64> buf{};
    bool complete = false;
    while (std::fgets(buf.data(), static_cast<int>(buf.size()), in)) {
      char kind = 0;
      unsigned port = 0;
      if (std::strncmp(buf.data(), "end", 3) == 0) {
        complete = true;
        break;
      }
      if (std::sscanf(buf.data(), "%c %u", &kind, &port) != 2) continue;
      auto& list = kind == 'H' ? ports_.healthy : kind == 'S' ? ports_.sinks : ports_.dead;
      list.push_back(static_cast<std::uint16_t>(port));
    }
    std::fclose(in);
    if (!complete) throw std::runtime_error("the origin process did not start");
  }
  ~origin_process() {
    close(life_fd_);  // its quit signal
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  origin_process(const origin_process&) = delete;
  origin_process& operator=(const origin_process&) = delete;

  const origins& ports() const noexcept { return ports_; }

 private:
  static void serve(std::size_t healthy, std::size_t dead, std::size_t sinks, int ports_fd,
                    int quit_fd) {
    std::vector<std::unique_ptr<test::receiver>> receivers;
    std::string text;
    for (std::size_t i = 0; i < healthy; ++i) {
      receivers.push_back(std::make_unique<test::receiver>());
      text += "H " + std::to_string(receivers.back()->port()) + "\n";
    }
    std::vector<int> listeners;
    for (std::size_t i = 0; i < dead; ++i) {
      std::uint16_t port = 0;
      listeners.push_back(listen_loopback(port));
      text += "D " + std::to_string(port) + "\n";
    }
    std::vector<int> sink_listeners;
    for (std::size_t i = 0; i < sinks; ++i) {
      std::uint16_t port = 0;
      sink_listeners.push_back(listen_loopback(port));
      text += "S " + std::to_string(port) + "\n";
    }
    text += "end\n";
    if (::write(ports_fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) return;
    close(ports_fd);
    serve_listeners(listeners, sink_listeners, quit_fd);
  }

  pid_t pid_ = -1;
  int life_fd_ = -1;
  origins ports_;
};

// ---- configuration --------------------------------------------------------------------

struct config {
  fs::path data;
  std::set<std::string> phases;
  std::uint64_t webhooks = 0;
  std::uint64_t create_batch = 0;
  std::uint64_t create_reps = 0;
  std::uint64_t create_idle_s = 0;
  std::uint64_t match_lookups = 0;
  std::uint64_t pending = 0;
  std::uint64_t dead_fanout = 0;
  std::uint64_t healthy_webhooks = 0;
  std::uint64_t healthy_ports = 0;
  std::uint64_t burst = 0;
  std::uint64_t burst_reps = 0;
  std::uint64_t dead_origins = 0;
  std::uint64_t dead_per_origin = 0;
  std::uint64_t latency_samples = 0;
  std::uint64_t retention_min = 0;
  std::uint64_t retention_rate = 0;
};

const std::vector<std::string>& catalog_types() {
  static const std::vector<std::string> types = engine::event_catalog::sonar_default().types();
  return types;
}

// Healthy webhooks listen to this type only, dead ones to k_dead_type only, so an event
// of either type reaches one kind of receiver.
constexpr std::string_view k_healthy_type = "customer_created";
constexpr std::string_view k_dead_type = "tag_removed_from_message";

std::unique_ptr<engine::engine> open_engine(const engine::engine_options& o) {
  auto opened = engine::engine::open(o);
  if (!opened) {
    throw std::runtime_error("opening an engine on " + o.data_dir.string() + ": " +
                             opened.error().message);
  }
  return std::move(*opened);
}

std::uint64_t create_webhook(engine::engine& e, std::string_view account, const std::string& body) {
  auto created = e.webhooks().create(account, body);
  if (!created) throw std::runtime_error("creating a webhook: " + created.error().message);
  return created->id;
}

std::string webhook_body(const std::string& name, const std::vector<std::string_view>& types,
                         const std::string& url) {
  std::string settings;
  for (auto t : types) {
    settings += (settings.empty() ? "\"" : ", \"") + std::string(t) + "\": \"true\"";
  }
  return R"({"webhook": {"name": ")" + name + R"(", "active": "true", "settings": {)" + settings +
         R"(}, "url": ")" + url + R"(", "http_method": "POST"}})";
}

engine::publish_result publish(engine::engine& e, std::string_view account, std::string_view type,
                               std::string_view payload) {
  auto r = e.publish(account, type, payload);
  if (!r) throw std::runtime_error("publish: " + r.error().message);
  return *r;
}

// A JSON object of exactly `bytes` bytes.
std::string payload_of(std::size_t bytes) {
  const std::string head =
      R"({"customer": {"id": 42, "first_name": "Ann", "phone_number": "+15555550100"}, "text": ")";
  const std::string tail = "\"}";
  return head + std::string(bytes - head.size() - tail.size(), 'x') + tail;
}

// A cheap deterministic number stream (SplitMix64): webhook i's body is the same in
// every phase without a generator's state per webhook.
struct splitmix {
  std::uint64_t state;
  std::uint64_t operator()() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

// ---- phase: match ---------------------------------------------------------------------

void phase_match(report& r, const config& c) {
  constexpr std::size_t k_types = 20;
  std::vector<std::string> types;
  for (std::size_t t = 0; t < k_types; ++t) types.push_back(format("type_%02zu", t));
  for (const std::uint64_t n : {1'000ULL, 100'000ULL, 1'000'000ULL}) {
    // As a platform would have them: 100 webhooks per account (1M over 10k accounts),
    // each subscribed to 1-3 of 20 types; 1 in 10 uses a query method (GET).
    const std::uint64_t accounts = std::max<std::uint64_t>(1, n / 100);
    std::vector<std::string> names;
    for (std::uint64_t a = 0; a < accounts; ++a) {
      names.push_back(format("acct-%07llu", static_cast<unsigned long long>(a)));
    }
    std::mt19937_64 rng(n);
    malloc_trim(0);
    const std::uint64_t rss_before = status_kib("VmRSS");
    const auto built_at = steady::now();
    std::shared_ptr<const engine::subscription_snapshot> snap;
    {
      engine::subscription_snapshot::builder b;
      for (std::uint64_t id = 1; id <= n; ++id) {
        const std::string& account = names[rng() % accounts];
        const std::size_t k = 1 + rng() % 3;
        std::array<std::size_t, 3> picked{k_types, k_types, k_types};
        for (std::size_t j = 0; j < k; ++j) {
          std::size_t t = 0;
          do {
            t = rng() % k_types;
          } while (std::find(picked.begin(), picked.end(), t) != picked.end());
          picked[j] = t;
          b.add(account, types[t], {id, id % 10 != 0});
        }
      }
      snap = b.finish();
    }
    const double build_s = seconds_since(built_at);
    malloc_trim(0);
    const std::uint64_t rss_after = status_kib("VmRSS");

    // Lookups drawn beforehand, so the timed loop does nothing but match.
    struct lookup {
      std::uint32_t account;
      std::uint32_t type;
    };
    std::vector<lookup> sequence(c.match_lookups);
    for (auto& l : sequence) {
      l.account = static_cast<std::uint32_t>(rng() % accounts);
      l.type = static_cast<std::uint32_t>(rng() % k_types);
    }
    volatile std::size_t sink = 0;
    for (std::size_t i = 0; i < std::min<std::size_t>(sequence.size(), 100'000); ++i) {
      sink = sink + snap->match(names[sequence[i].account], types[sequence[i].type]).size();
    }
    sink = 0;
    const auto t0 = steady::now();
    for (const auto& l : sequence) {
      sink = sink + snap->match(names[l.account], types[l.type]).size();
    }
    const double ns = std::chrono::duration<double, std::nano>(steady::now() - t0).count() /
                      static_cast<double>(sequence.size());
    const std::string label = n >= 1'000'000 ? std::to_string(n / 1'000'000) + "M"
                              : n >= 1'000   ? std::to_string(n / 1'000) + "k"
                                             : std::to_string(n);
    const std::string figure = format("match one event, %s webhooks / %llu accounts", label.c_str(),
                                      static_cast<unsigned long long>(accounts));
    if (n == 1'000'000) {
      r.at_most(figure, ns, 100, "ns/match", 1);
    } else {
      r.info(figure, format("%.1f ns/match", ns));
    }
    const double growth = mib(rss_after > rss_before ? rss_after - rss_before : 0);
    if (n == 1'000'000) {
      r.info("snapshot RSS growth, 1M webhooks (VmRSS)", format("%.1f MiB", growth));
    }
    r.note(
        format("match %s: %zu subscriptions, built in %.2f s, RSS +%.1f MiB; %zu lookups, "
               "%.2f webhooks matched per lookup",
               label.c_str(), snap->size(), build_s, growth, sequence.size(),
               static_cast<double>(sink) / static_cast<double>(sequence.size())));
  }
}

// ---- phases: create and startup -------------------------------------------------------

// The registry of create and startup: webhook i belongs to account i mod (N / 100), is
// subscribed to 1-3 of the catalog's types and points at a loopback URL (never called:
// these engines do not allow private targets).
class registry_layout {
 public:
  explicit registry_layout(std::uint64_t webhooks)
      : accounts_(std::max<std::uint64_t>(1, webhooks / 100)) {}

  std::uint64_t accounts() const noexcept { return accounts_; }
  std::string account(std::uint64_t i) const {
    return format("acct-%07llu", static_cast<unsigned long long>(i % accounts_));
  }
  std::string body(std::uint64_t i) const {
    splitmix rng{i};
    const auto& all = catalog_types();
    std::vector<std::string_view> types;
    const std::size_t k = 1 + rng() % 3;
    while (types.size() < k) {
      std::string_view t = all[rng() % all.size()];
      if (std::find(types.begin(), types.end(), t) == types.end()) types.push_back(t);
    }
    return webhook_body(
        format("webhook %llu", static_cast<unsigned long long>(i)), types,
        format("http://127.0.0.1:%llu/h/%llu", static_cast<unsigned long long>(20'000 + i % 100),
               static_cast<unsigned long long>(i)));
  }

 private:
  std::uint64_t accounts_;
};

// Creates webhooks number `from` to `to` - 1 of the layout; returns creates/s.
double fill_registry(engine::engine& e, const registry_layout& layout, std::uint64_t from,
                     std::uint64_t to) {
  const auto t0 = steady::now();
  auto last = t0;
  for (std::uint64_t i = from; i < to; ++i) {
    create_webhook(e, layout.account(i), layout.body(i));
    if ((i + 1) % 100'000 == 0 && i + 1 < to) {
      progress("registry fill: %llu webhooks, %.0f creates/s lately",
               static_cast<unsigned long long>(i + 1), 100'000 / seconds_since(last));
      last = steady::now();
    }
  }
  return static_cast<double>(to - from) / seconds_since(t0);
}

// Times `count` creates from webhook `from` on; inputs are made before the clock starts.
double timed_creates(engine::engine& e, const registry_layout& layout, std::uint64_t from,
                     std::uint64_t count) {
  std::vector<std::string> accounts;
  std::vector<std::string> bodies;
  for (std::uint64_t i = from; i < from + count; ++i) {
    accounts.push_back(layout.account(i));
    bodies.push_back(layout.body(i));
  }
  const auto t0 = steady::now();
  for (std::size_t i = 0; i < bodies.size(); ++i) create_webhook(e, accounts[i], bodies[i]);
  return static_cast<double>(count) / seconds_since(t0);
}

engine::engine_options registry_options(const fs::path& dir) {
  engine::engine_options o;
  o.data_dir = dir;
  o.fsync = false;  // the default; said in the output
  return o;
}

fs::path registry_dir(const config& c) { return c.data / "registry"; }

// How many webhooks the registry folder holds, as the last phase that filled it wrote.
std::uint64_t registry_count(const config& c) {
  std::ifstream in(registry_dir(c) / "scale-webhooks.txt");
  std::uint64_t n = 0;
  in >> n;
  return in ? n : 0;
}

void set_registry_count(const config& c, std::uint64_t n) {
  std::ofstream(registry_dir(c) / "scale-webhooks.txt") << n << "\n";
}

// Two registries open side by side, one of 1k webhooks and one of N, and their timed
// batches interleaved, so the VM's drift in speed falls on both alike.
void phase_create(report& r, const config& c) {
  constexpr std::uint64_t k_small = 1'000;
  const registry_layout small_layout(k_small);
  const registry_layout layout(c.webhooks);
  const fs::path small_dir = c.data / "registry-1k";
  const fs::path dir = registry_dir(c);
  fs::remove_all(small_dir);
  fs::remove_all(dir);
  auto small = open_engine(registry_options(small_dir));
  small->start();
  fill_registry(*small, small_layout, 0, k_small);
  auto large = open_engine(registry_options(dir));
  large->start();
  progress("create: filling a registry to %llu webhooks",
           static_cast<unsigned long long>(c.webhooks));
  const auto fill_start = steady::now();
  const double fill_rate = fill_registry(*large, layout, 0, c.webhooks);
  const double fill_s = seconds_since(fill_start);
  // RocksDB's flushes and compactions after the fill end first: a registry that grew to
  // this size over months is not compacting a fill.
  std::this_thread::sleep_for(std::chrono::seconds(c.create_idle_s));
  std::vector<double> small_rates;
  std::vector<double> large_rates;
  std::uint64_t next_small = k_small;
  std::uint64_t next = c.webhooks;
  for (std::uint64_t rep = 0; rep < c.create_reps; ++rep) {
    small_rates.push_back(timed_creates(*small, small_layout, next_small, c.create_batch));
    next_small += c.create_batch;
    large_rates.push_back(timed_creates(*large, layout, next, c.create_batch));
    next += c.create_batch;
  }
  small->stop(0ms);
  large->stop(0ms);
  large.reset();
  set_registry_count(c, next);

  const double rate_small = median(small_rates);
  const double rate_large = median(large_rates);
  const auto n = static_cast<unsigned long long>(c.webhooks);
  r.info("create rate at 1k webhooks", format("%.0f creates/s", rate_small));
  r.info(format("create rate at %llu webhooks", n), format("%.0f creates/s", rate_large));
  r.at_least(format("create rate ratio, %llu / 1k", n), rate_large / rate_small, 0.8, "", 2);
  r.note(
      format("create: 100 webhooks per account; batches of %llu, median of %zu, interleaved, after "
             "%llu s idle (creates/s at 1k: %s; at %llu: %s); fsync off (engine default) for the "
             "fills and the timed batches",
             static_cast<unsigned long long>(c.create_batch), small_rates.size(),
             static_cast<unsigned long long>(c.create_idle_s), joined(small_rates, "%.0f").c_str(),
             n, joined(large_rates, "%.0f").c_str()));
  r.note(format("create: fill to %llu through webhooks().create took %.1f s (%.0f creates/s)", n,
                fill_s, fill_rate));
}

void phase_startup(report& r, const config& c) {
  const registry_layout layout(c.webhooks);
  std::uint64_t count = registry_count(c);
  if (count < c.webhooks) {
    // Run alone (or after a smaller create): fill the folder first.
    fs::remove_all(registry_dir(c));
    auto e = open_engine(registry_options(registry_dir(c)));
    const auto t0 = steady::now();
    const double rate = fill_registry(*e, layout, 0, c.webhooks);
    e->stop(0ms);
    count = c.webhooks;
    set_registry_count(c, count);
    r.note(format("startup: filled the registry itself: %llu webhooks in %.1f s (%.0f/s)",
                  static_cast<unsigned long long>(count), seconds_since(t0), rate));
  }
  // The first open after the fill replays what the fill left in RocksDB's log; the
  // reopens after it find that already written to tables.
  constexpr int k_runs = 3;
  std::vector<double> total;
  std::string split;
  for (int run = 0; run < k_runs; ++run) {
    const auto t0 = steady::now();
    auto e = open_engine(registry_options(registry_dir(c)));
    const double open_s = seconds_since(t0);
    e->start();
    const double start_s = seconds_since(t0) - open_s;
    // An account with subscribers, so the publish matches and writes deliveries.
    const auto published = publish(*e, layout.account(static_cast<std::uint64_t>(run)),
                                   catalog_types()[0], R"({"customer": {"id": 42}})");
    total.push_back(seconds_since(t0));
    split += format("%s%.3f + %.3f + %.3f s (%llu deliveries)", split.empty() ? "" : "; ", open_s,
                    start_s, total.back() - open_s - start_s,
                    static_cast<unsigned long long>(published.deliveries));
    e->stop(0ms);
  }
  const auto webhooks = static_cast<unsigned long long>(count);
  r.at_most(format("start-up, %llu webhooks: first open after the fill", webhooks), total[0], 2,
            "s", 3);
  r.at_most(format("start-up, %llu webhooks: reopen (median of %d)", webhooks, k_runs - 1),
            median({total.begin() + 1, total.end()}), 2, "s", 3);
  r.note("startup: open + start + first publish returned, page cache warm, run by run: " + split);
}

// ---- phase: pending -------------------------------------------------------------------

engine::engine_options delivery_options(const fs::path& dir) {
  engine::engine_options o;
  o.data_dir = dir;
  o.http.allow_private_targets = true;  // every receiver here is on loopback
  // Long enough that a delivery that failed once stays pending for the whole run.
  o.retry_schedule = {1h, 2h, 4h, 8h};
  return o;
}

// Webhook i of the healthy ones: account live-i (one webhook each), type k_healthy_type.
std::vector<std::string> healthy_accounts(const config& c) {
  std::vector<std::string> out;
  for (std::uint64_t i = 0; i < c.healthy_webhooks; ++i) {
    out.push_back(format("live-%06llu", static_cast<unsigned long long>(i)));
  }
  return out;
}

void create_healthy(engine::engine& e, const config& c, const origins& ports) {
  const auto accounts = healthy_accounts(c);
  for (std::uint64_t i = 0; i < c.healthy_webhooks; ++i) {
    create_webhook(
        e, accounts[i],
        webhook_body("healthy", {k_healthy_type},
                     format("http://127.0.0.1:%u/h/%llu", ports.healthy[i % ports.healthy.size()],
                            static_cast<unsigned long long>(i))));
  }
}

// `events` events to the healthy webhooks, one delivery each, round robin; deliveries/s
// from the first publish to the last success.
double healthy_burst(engine::engine& e, const std::vector<std::string>& accounts,
                     std::uint64_t events, const std::string& payload) {
  const std::uint64_t base = e.stats().succeeded;
  const auto t0 = steady::now();
  for (std::uint64_t i = 0; i < events; ++i) {
    publish(e, accounts[i % accounts.size()], k_healthy_type, payload);
  }
  const bool done = e.wait_until(
      [&](const engine::engine_stats& s) { return s.succeeded >= base + events; }, 5min);
  if (!done) throw std::runtime_error("a healthy burst was not delivered within 5 minutes");
  return static_cast<double>(events) / seconds_since(t0);
}

void phase_pending(report& r, const config& c, const origins& ports) {
  const fs::path dir = c.data / "pending";
  const fs::path alone_dir = c.data / "pending-alone";
  fs::remove_all(dir);
  fs::remove_all(alone_dir);
  const std::string payload = payload_of(4096);
  const auto accounts = healthy_accounts(c);
  const std::uint64_t events = (c.pending + c.dead_fanout - 1) / c.dead_fanout;
  const std::uint64_t pending = events * c.dead_fanout;

  auto e = open_engine(delivery_options(dir));
  e->start();
  create_healthy(*e, c, ports);
  const std::string dead_url = format("http://127.0.0.1:%u/h/", ports.dead[0]);
  for (std::uint64_t j = 0; j < c.dead_fanout; ++j) {
    create_webhook(*e, "dead",
                   webhook_body("dead", {k_dead_type},
                                dead_url + std::to_string(static_cast<unsigned long long>(j))));
  }
  r.note(
      format("pending: %llu healthy webhooks (one per account, %zu receivers) and %llu on one "
             "black-hole origin (accepts, never answers; attempt timeout 15 s, circuit and "
             "in-flight limits at their defaults, retries after 1 h, 2 h, 4 h, 8 h)",
             static_cast<unsigned long long>(c.healthy_webhooks), ports.healthy.size(),
             static_cast<unsigned long long>(c.dead_fanout)));
  r.note(format(
      "pending: fan-out: %llu events of %s, 4096-byte payload, each to the %llu dead "
      "webhooks = %llu pending deliveries over %.1f MiB of payload",
      static_cast<unsigned long long>(events), std::string(k_dead_type).c_str(),
      static_cast<unsigned long long>(c.dead_fanout), static_cast<unsigned long long>(pending),
      static_cast<double>(events) * 4096 / 1048576.0));

  // The fill, the engine running: publish, and the first (failed) attempt of each.
  malloc_trim(0);
  const std::uint64_t rss_base = status_kib("VmRSS");
  const bool peak_reset = reset_peak_rss();
  std::atomic<bool> sampling{true};
  std::atomic<std::uint64_t> sampled_peak{0};
  std::thread sampler([&] {
    while (sampling) {
      const std::uint64_t now = status_kib("VmRSS");
      if (now > sampled_peak) sampled_peak = now;
      std::this_thread::sleep_for(100ms);
    }
  });
  const auto t0 = steady::now();
  for (std::uint64_t i = 0; i < events; ++i) {
    publish(*e, "dead", k_dead_type, payload);
    if ((i + 1) % std::max<std::uint64_t>(1, events / 10) == 0) {
      const auto s = e->stats();
      progress("pending fill: %llu / %llu events, RSS %.0f MiB, %llu attempts failed",
               static_cast<unsigned long long>(i + 1), static_cast<unsigned long long>(events),
               mib(status_kib("VmRSS")), static_cast<unsigned long long>(s.failed_attempts));
    }
  }
  const double publish_s = seconds_since(t0);
  const std::uint64_t rss_published = status_kib("VmRSS");
  // Every dead delivery has had its first attempt (timed out, or failed at once by the
  // open circuit) and waits for its retry in an hour, on disk.
  const bool settled = e->wait_until(
      [&](const engine::engine_stats& s) { return s.failed_attempts >= pending; }, 15min);
  const double settle_s = seconds_since(t0);
  const std::uint64_t hwm = status_kib("VmHWM");
  malloc_trim(0);
  const std::uint64_t rss_after = status_kib("VmRSS");
  sampling = false;
  sampler.join();
  const auto fill_stats = e->stats();
  if (!settled) {
    r.note(format("pending: WARNING only %llu of %llu dead deliveries had an attempt after 15 min",
                  static_cast<unsigned long long>(fill_stats.failed_attempts),
                  static_cast<unsigned long long>(pending)));
  }
  r.at_most(
      format("peak RSS, fill of %llu pending (VmHWM)", static_cast<unsigned long long>(pending)),
      mib(hwm), 200, "MiB", 0);
  r.at_most("RSS after the fill settled (VmRSS)", mib(rss_after), 200, "MiB", 0);
  r.note(
      format("pending: publish took %.1f s (%.0f deliveries/s), every delivery attempted "
             "after %.1f s; RSS %.0f MiB before the fill, %.0f MiB when the last publish "
             "returned, sampled peak %.0f MiB%s; %llu real attempts, %llu failed without a "
             "request (open circuit)",
             publish_s, static_cast<double>(pending) / publish_s, settle_s, mib(rss_base),
             mib(rss_published), mib(sampled_peak),
             peak_reset ? "" : " (VmHWM could not be reset: it includes the set-up)",
             static_cast<unsigned long long>(fill_stats.attempts),
             static_cast<unsigned long long>(fill_stats.short_circuited)));

  // Restart with the backlog on disk: open + start until a fresh event is delivered.
  e->stop(1s);
  e.reset();
  const auto r0 = steady::now();
  e = open_engine(delivery_options(dir));
  const double open_s = seconds_since(r0);
  e->start();
  const double start_s = seconds_since(r0) - open_s;
  publish(*e, accounts[0], k_healthy_type, payload);
  const double publish_done_s = seconds_since(r0);
  const bool delivered =
      e->wait_until([](const engine::engine_stats& s) { return s.succeeded >= 1; }, 60s);
  const double first_s = seconds_since(r0);
  if (!delivered) throw std::runtime_error("no delivery within 60 s of the restart");
  malloc_trim(0);
  const std::uint64_t rss_restarted = status_kib("VmRSS");
  r.at_most(format("restart with %llu pending: open to first delivery",
                   static_cast<unsigned long long>(pending)),
            first_s, 2, "s", 3);
  r.info("RSS after the restart with the backlog (VmRSS)", format("%.0f MiB", mib(rss_restarted)));
  r.note(
      format("pending: restart: open %.3f s, start %.3f s, publish returned at %.3f s, "
             "delivered (success written) at %.3f s",
             open_s, start_s, publish_done_s, first_s));

  // Healthy throughput beside the backlog and alone, in two engines open side by side
  // (each idle while the other works), bursts interleaved against the VM's drift.
  auto alone = open_engine(delivery_options(alone_dir));
  alone->start();
  create_healthy(*alone, c, ports);
  std::vector<double> with_backlog;
  std::vector<double> without;
  for (std::uint64_t rep = 0; rep < c.burst_reps; ++rep) {
    with_backlog.push_back(healthy_burst(*e, accounts, c.burst, payload));
    without.push_back(healthy_burst(*alone, accounts, c.burst, payload));
  }
  const std::uint64_t rss_end = status_kib("VmRSS");
  alone->stop(1s);
  alone.reset();
  e->stop(1s);
  e.reset();
  // Once more, now that the open above has replayed RocksDB's log of the fill: how much
  // of the restart was that replay.
  const auto again = steady::now();
  e = open_engine(delivery_options(dir));
  r.note(
      format("pending: a second reopen of the backlog's folder (log of the fill already "
             "replayed) took %.3f s to open",
             seconds_since(again)));
  e.reset();
  const double with_rate = median(with_backlog);
  const double alone_rate = median(without);
  r.info("healthy deliveries/s beside the dead backlog", format("%.0f /s", with_rate));
  r.info("healthy deliveries/s alone (fresh engine)", format("%.0f /s", alone_rate));
  r.at_least("healthy throughput ratio, backlog / alone", with_rate / alone_rate, 0.9, "", 2);
  r.note(format(
      "pending: bursts of %llu events (one delivery each, 4096-byte payload), median of "
      "%zu, interleaved; beside the backlog: %s /s; alone: %s /s; RSS with both engines open "
      "after the bursts %.0f MiB",
      static_cast<unsigned long long>(c.burst), with_backlog.size(),
      joined(with_backlog, "%.0f").c_str(), joined(without, "%.0f").c_str(), mib(rss_end)));
}

// ---- phase: dead150 -------------------------------------------------------------------

// Publish to arrival at the receiver, one delivery at a time; ms each.
std::vector<double> single_delivery_latencies(engine::engine& e, const test::receiver& rx,
                                              std::uint64_t samples) {
  std::vector<double> ms;
  for (std::uint64_t i = 0; i < samples; ++i) {
    const std::size_t seen = rx.request_count();
    const auto t0 = steady::now();
    publish(e, "live", k_healthy_type, R"({"customer": {"id": 42}})");
    rx.wait_for_requests(seen + 1, 30s);
    ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - t0).count());
  }
  return ms;
}

void phase_dead150(report& r, const config& c, const origins& ports) {
  const fs::path dir = c.data / "dead150";
  fs::remove_all(dir);
  test::receiver rx;
  auto e = open_engine(delivery_options(dir));
  e->start();
  create_webhook(*e, "live", webhook_body("healthy", {k_healthy_type}, rx.url("/h/live")));
  const auto quiet = single_delivery_latencies(*e, rx, c.latency_samples);

  for (std::uint64_t j = 0; j < c.dead_origins; ++j) {
    create_webhook(*e, "dead150",
                   webhook_body("dead", {k_dead_type},
                                format("http://127.0.0.1:%u/h/%llu", ports.dead[1 + j],
                                       static_cast<unsigned long long>(j))));
  }
  const engine::engine_options defaults;
  const std::uint64_t dead_deliveries = c.dead_origins * c.dead_per_origin;
  const std::uint64_t slots = defaults.max_in_flight;
  const auto t0 = steady::now();
  for (std::uint64_t i = 0; i < c.dead_per_origin; ++i) publish(*e, "dead150", k_dead_type, "{}");
  // The in-flight slots fill as the workers start the attempts; none can end before the
  // attempt timeout (15 s).
  // While the workers are still starting the dead attempts (two cores opening thousands
  // of connections): for context, not judged.
  const auto starting = single_delivery_latencies(*e, rx, 20);
  const std::uint64_t expected = std::min(dead_deliveries, slots) * 9 / 10;
  e->wait_until([&](const engine::engine_stats& s) { return s.attempts >= expected; }, 10s);
  // Then until no attempt has started for 200 ms: the samples measure the slots held,
  // not the two cores still busy opening the dead origins' connections.
  std::uint64_t hanging = e->stats().attempts;
  for (int i = 0; i < 25; ++i) {
    std::this_thread::sleep_for(200ms);
    const std::uint64_t now = e->stats().attempts;
    if (now == hanging) break;
    hanging = now;
  }
  const double filled_s = seconds_since(t0);
  const auto busy = single_delivery_latencies(*e, rx, c.latency_samples);
  const double measured_within_s = seconds_since(t0);
  std::string slow;  // when the slow samples came: the first ones, or all along
  for (std::size_t i = 0; i < busy.size(); ++i) {
    if (busy[i] > 1.0) slow += format("%s#%zu %.1f ms", slow.empty() ? "" : ", ", i, busy[i]);
  }
  if (!slow.empty()) r.note("dead150: samples over 1 ms: " + slow);
  const auto after = e->stats();
  e->stop(100ms);
  e.reset();

  const auto dead = static_cast<unsigned long long>(c.dead_origins);
  r.at_most(format("healthy delivery latency, %llu dead origins hanging (p50)", dead),
            percentile(busy, 0.5), 10, "ms", 2);
  r.at_most(format("healthy delivery latency, %llu dead origins hanging (p99)", dead),
            percentile(busy, 0.99), 10, "ms", 2);
  r.info("healthy delivery latency, dead attempts still starting (p50 / max of 20)",
         format("%.2f / %.2f ms", percentile(starting, 0.5),
                *std::max_element(starting.begin(), starting.end())));
  r.info("healthy delivery latency, no dead origin (p50 / p99)",
         format("%.2f / %.2f ms", percentile(quiet, 0.5), percentile(quiet, 0.99)));
  r.note(
      format("dead150: %llu black-hole origins, one webhook each, %llu deliveries each (%llu "
             "in all); %llu attempts hanging of %llu in-flight slots (max_in_flight default) "
             "when the samples began, %.1f s after the dead publish, once no attempt had "
             "started for 200 ms; publish to arrival at a local receiver, %zu samples "
             "one at a time (max %.2f ms; %.2f ms with no dead origin), all within %.1f s "
             "of the dead publish (attempt timeout 15 s)%s",
             static_cast<unsigned long long>(c.dead_origins),
             static_cast<unsigned long long>(c.dead_per_origin),
             static_cast<unsigned long long>(dead_deliveries),
             static_cast<unsigned long long>(hanging), static_cast<unsigned long long>(slots),
             filled_s, busy.size(), *std::max_element(busy.begin(), busy.end()),
             *std::max_element(quiet.begin(), quiet.end()), measured_within_s,
             after.failed_attempts > 0 ? "; WARNING: some dead attempts had already ended" : ""));
}

// ---- phase: cancel ------------------------------------------------------------------------

// 100k pending 4 KB deliveries to a black hole, then the webhook is deleted: every one
// is cancelled, and the memory they took comes back without the bench trimming it.
void phase_cancel(report& r, const config& c, const origins& ports) {
  const fs::path dir = c.data / "cancel";
  fs::remove_all(dir);
  const std::uint64_t n = 100'000;
  const std::string payload = payload_of(4096);
  auto e = open_engine(delivery_options(dir));
  e->start();
  const std::uint64_t hook = create_webhook(
      *e, "cancel",
      webhook_body("dead", {k_dead_type}, format("http://127.0.0.1:%u/h", ports.dead[0])));
  malloc_trim(0);
  const std::uint64_t before = status_kib("VmRSS");
  for (std::uint64_t i = 0; i < n; ++i) publish(*e, "cancel", k_dead_type, payload);
  e->wait_until([&](const engine::engine_stats& s) { return s.failed_attempts >= n; }, 5min);
  const std::uint64_t pending_rss = status_kib("VmRSS");
  const auto t0 = steady::now();
  if (!e->webhooks().remove("cancel", hook)) throw std::runtime_error("cannot delete the webhook");
  const bool all =
      e->wait_until([&](const engine::engine_stats& s) { return s.cancelled >= n; }, 5min);
  const double cancel_s = seconds_since(t0);
  const std::uint64_t after = status_kib("VmRSS");
  e->stop(100ms);
  r.info("100k pending 4 KB deliveries to a black hole: RSS before / pending / after delete",
         format("%.0f / %.0f / %.0f MiB", mib(before), mib(pending_rss), mib(after)));
  r.row("delete of that webhook: all cancelled", all ? format("%.1f s", cancel_s) : "not in 5 min",
        "-", all ? "info" : "MISS");
  r.note("cancel: RSS read without trimming in the bench: what the engine gave back itself");
}

// ---- phase: deadsched -------------------------------------------------------------------

// A port nothing listens on: connections to it are refused at once.
std::uint16_t closed_port() {
  std::uint16_t port = 0;
  const int fd = listen_loopback(port);
  ::close(fd);
  return port;
}

// How long 2,000 deliveries to one dead receiver take to be `failed` under a 1 s x 4
// schedule: with a receiver that refuses connections (judged), and for context with
// one that accepts and never answers (every first attempt waits out the 15 s attempt
// timeout before the circuit can open).
double time_to_all_failed(const fs::path& dir, const std::string& url, std::uint64_t n) {
  fs::remove_all(dir);
  auto o = delivery_options(dir);
  o.retry_schedule = {1s, 1s, 1s, 1s};
  o.retry_jitter = 0;
  auto e = open_engine(o);
  e->start();
  create_webhook(*e, "deadsched", webhook_body("dead", {k_dead_type}, url));
  const auto t0 = steady::now();
  for (std::uint64_t i = 0; i < n; ++i) publish(*e, "deadsched", k_dead_type, "{}");
  const bool all =
      e->wait_until([n](const engine::engine_stats& s) { return s.failed_deliveries >= n; }, 120s);
  const double took = seconds_since(t0);
  e->stop(100ms);
  return all ? took : -1;
}

void phase_deadsched(report& r, const config& c, const origins& ports) {
  const std::uint64_t n = 2'000;
  const double refused = time_to_all_failed(c.data / "deadsched-refused",
                                            format("http://127.0.0.1:%u/h", closed_port()), n);
  const double hanging = time_to_all_failed(c.data / "deadsched-hanging",
                                            format("http://127.0.0.1:%u/h", ports.dead[0]), n);
  if (refused < 0) {
    r.row("2,000 deliveries to a dead receiver (refuses), 1s x 4: all failed", "not in 120 s",
          "<= 10 s", "MISS");
  } else {
    r.at_most("2,000 deliveries to a dead receiver (refuses), 1s x 4: all failed", refused, 10, "s",
              1);
  }
  r.info("2,000 deliveries to a dead receiver (never answers), 1s x 4: all failed",
         hanging < 0 ? std::string("not in 120 s") : format("%.1f s", hanging));
  r.note(
      "deadsched: one webhook, 2000 events published at once, schedule 1s,1s,1s,1s without "
      "jitter, circuit defaults (opens after 5 timeouts or refusals); the receiver that never "
      "answers holds every first attempt for the 15 s attempt timeout");
}

// ---- phase: retention -----------------------------------------------------------------

// An event type no webhook of the retention phase listens to: its events match nothing
// and must expire all the same.
constexpr std::string_view k_unmatched_type = "outbound_message";

// What a data folder holds, by kind of file.
struct folder_size {
  std::uint64_t total = 0;
  std::uint64_t tables = 0;    // *.sst
  std::uint64_t wal = 0;       // *.log: RocksDB's write-ahead log
  std::uint64_t info_log = 0;  // LOG, LOG.old.*: RocksDB's own diagnostics
  std::uint64_t files = 0;
};

// The regular files under `dir`, summed; a file that a compaction deletes while this
// looks is skipped.
folder_size measure_folder(const fs::path& dir) {
  folder_size s;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code fe;
    if (!it->is_regular_file(fe) || fe) continue;
    const std::uint64_t n = it->file_size(fe);
    if (fe) continue;
    s.total += n;
    ++s.files;
    const std::string ext = it->path().extension().string();
    if (ext == ".sst") {
      s.tables += n;
    } else if (ext == ".log") {
      s.wal += n;
    } else if (it->path().filename().string().starts_with("LOG")) {
      s.info_log += n;
    }
  }
  if (ec) throw std::runtime_error("reading " + dir.string() + ": " + ec.message());
  return s;
}

double mib_of_bytes(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

std::string describe(const folder_size& s) {
  return format("%.1f MiB (tables %.1f, WAL %.1f, RocksDB LOG %.1f, other %.1f; %llu files)",
                mib_of_bytes(s.total), mib_of_bytes(s.tables), mib_of_bytes(s.wal),
                mib_of_bytes(s.info_log), mib_of_bytes(s.total - s.tables - s.wal - s.info_log),
                static_cast<unsigned long long>(s.files));
}

// A steady load on a manual clock for 10x the retention: every simulated minute, events
// to webhooks on local sinks (answering 200) and events that match nothing; the bench
// calls remove_expired() every retention / 24 of simulated time, as the engine's own
// timer does in real time, and measures the data folder at each multiple of the
// retention, right after that point's pass.
void phase_retention(report& r, const config& c, const origins& ports) {
  const fs::path dir = c.data / "retention";
  fs::remove_all(dir);
  constexpr std::int64_t k_t0 = 1'800'000'000'000;  // 2027-01-15T08:00:00Z
  constexpr std::uint64_t k_accounts = 10;
  constexpr std::uint64_t k_webhooks = 100;  // 10 per account: 10 deliveries per event
  constexpr std::int64_t k_step_ms = 60'000;
  constexpr std::int64_t k_multiples = 10;
  const std::chrono::milliseconds retention = std::chrono::minutes(c.retention_min);
  const std::int64_t retention_ms = retention.count();
  const std::int64_t period_ms =
      std::clamp<std::chrono::milliseconds>(retention / 24, 1min, 1h).count();
  const std::uint64_t unmatched_rate = std::max<std::uint64_t>(1, c.retention_rate / 10);
  const std::uint64_t per_step = c.retention_rate + unmatched_rate;
  const auto steps = static_cast<std::uint64_t>(k_multiples * retention_ms / k_step_ms);
  const std::string payload = payload_of(1024);

  engine::manual_clock clock(k_t0);  // outlives the engine
  auto o = delivery_options(dir);
  o.time_source = &clock;
  o.retention = retention;
  o.retry_schedule = {10s, 30s};
  auto e = open_engine(o);
  e->start();
  std::vector<std::string> accounts;
  for (std::uint64_t a = 0; a < k_accounts; ++a) {
    accounts.push_back(format("ret-%02llu", static_cast<unsigned long long>(a)));
  }
  for (std::uint64_t j = 0; j < k_webhooks; ++j) {
    create_webhook(
        *e, accounts[j % k_accounts],
        webhook_body("retained", {k_healthy_type},
                     format("http://127.0.0.1:%u/h/%llu", ports.sinks[j % ports.sinks.size()],
                            static_cast<unsigned long long>(j))));
  }
  const folder_size empty = measure_folder(dir);
  r.note(format(
      "retention: retention %llu simulated min, %llu steps of 1 simulated min (10x the "
      "retention); per step %llu events of %s over %llu accounts (%llu webhooks, so %llu "
      "deliveries) and %llu events of %s that match nothing, %zu-byte payloads, spread over "
      "the minute; %zu local sinks answering 200; retries after 10 s, 30 s; fsync off",
      static_cast<unsigned long long>(c.retention_min), static_cast<unsigned long long>(steps),
      static_cast<unsigned long long>(c.retention_rate), std::string(k_healthy_type).c_str(),
      static_cast<unsigned long long>(k_accounts), static_cast<unsigned long long>(k_webhooks),
      static_cast<unsigned long long>(c.retention_rate * k_webhooks / k_accounts),
      static_cast<unsigned long long>(unmatched_rate), std::string(k_unmatched_type).c_str(),
      payload.size(), ports.sinks.size()));
  r.note(format(
      "retention: remove_expired() every %.1f simulated min (retention / 24, 1 min to 1 h, as "
      "the engine's own timer does in real time) and at each multiple of the retention; the "
      "folder (every file under it: tables, WAL, RocksDB's LOG, ...) measured right after",
      static_cast<double>(period_ms) / 60'000.0));

  struct pass_record {
    std::int64_t at_ms;
    engine::retention_report removed;
    double seconds;
    std::uint64_t folder_bytes;  // right after the pass
  };
  struct point {
    std::int64_t multiple;
    folder_size size;
  };
  std::vector<pass_record> passes;
  std::vector<point> points;
  // Created before the cutoff of the last pass (at 10x, cutoff 9x): all of it must be gone.
  const std::int64_t final_cutoff = k_t0 + (k_multiples - 1) * retention_ms;
  std::uint64_t old_deliveries = 0;
  std::uint64_t old_events = 0;
  std::uint64_t expected = 0;  // deliveries published, so successes awaited
  std::uint64_t matched_events = 0;
  std::uint64_t unmatched_events = 0;
  double pass_s = 0;
  std::int64_t next_pass = k_t0 + period_ms;
  const auto load_start = steady::now();
  for (std::uint64_t i = 0; i < steps; ++i) {
    const std::int64_t start = k_t0 + static_cast<std::int64_t>(i) * k_step_ms;
    for (std::uint64_t k = 0; k < per_step; ++k) {
      const std::int64_t at =
          start + static_cast<std::int64_t>(k) * k_step_ms / static_cast<std::int64_t>(per_step);
      clock.set_ms(at);
      const bool matched = k < c.retention_rate;
      const auto published = publish(*e, accounts[k % k_accounts],
                                     matched ? k_healthy_type : k_unmatched_type, payload);
      ++(matched ? matched_events : unmatched_events);
      expected += published.deliveries;
      if (at < final_cutoff) {
        old_deliveries += published.deliveries;
        ++old_events;
      }
    }
    const std::int64_t now = start + k_step_ms;
    clock.set_ms(now);
    e->wake();
    if (!e->wait_until([&](const engine::engine_stats& s) { return s.succeeded >= expected; },
                       60s)) {
      const auto s = e->stats();
      throw std::runtime_error(format(
          "simulated minute %llu: %llu of %llu deliveries succeeded after 60 s (%llu failed "
          "attempts)",
          static_cast<unsigned long long>(i + 1), static_cast<unsigned long long>(s.succeeded),
          static_cast<unsigned long long>(expected),
          static_cast<unsigned long long>(s.failed_attempts)));
    }
    const bool at_multiple = (now - k_t0) % retention_ms == 0;
    if (now >= next_pass || at_multiple) {
      const auto t = steady::now();
      auto removed = e->remove_expired();
      if (!removed) throw std::runtime_error("remove_expired: " + removed.error().message);
      passes.push_back({now, *removed, seconds_since(t), 0});
      pass_s += passes.back().seconds;
      passes.back().folder_bytes = measure_folder(dir).total;
      while (next_pass <= now) next_pass += period_ms;
    }
    if (at_multiple) {
      points.push_back({(now - k_t0) / retention_ms, measure_folder(dir)});
      progress("retention: %lldx the retention after %.0f s: %s",
               static_cast<long long>(points.back().multiple), seconds_since(load_start),
               describe(points.back().size).c_str());
    }
  }
  const double load_s = seconds_since(load_start);
  const auto stats = e->stats();
  e->stop(1s);
  e.reset();
  const folder_size closed = measure_folder(dir);

  auto at = [&](std::int64_t multiple) -> const folder_size& {
    for (const auto& p : points) {
      if (p.multiple == multiple) return p.size;
    }
    throw std::runtime_error(format("no measurement at %lldx", static_cast<long long>(multiple)));
  };
  const folder_size& x1 = at(1);
  const folder_size& x2 = at(2);
  const folder_size& x5 = at(5);
  const folder_size& x10 = at(10);
  // The size moves in a saw-tooth (the WAL and the memtables' flushes), so one point
  // each at 5x and 10x can fall anywhere on it: the judged figure is the highest size
  // after any pass, over 2x-5x (steady state) against 5x-10x.
  auto highest = [&](std::int64_t from, std::int64_t to) {
    std::uint64_t hi = 0;
    for (const auto& p : passes) {
      if (p.at_ms <= k_t0 + from * retention_ms || p.at_ms > k_t0 + to * retention_ms) continue;
      hi = std::max(hi, p.folder_bytes);
    }
    return hi;
  };
  const std::uint64_t early = highest(2, 5);
  const std::uint64_t late = highest(5, 10);
  const double growth = (static_cast<double>(late) - static_cast<double>(early)) /
                        static_cast<double>(std::max<std::uint64_t>(1, early));
  r.row("data folder under steady load, highest after a pass, 2x-5x vs 5x-10x the retention",
        format("%.1f MiB, then %.1f MiB (%+.1f%%)", mib_of_bytes(early), mib_of_bytes(late),
               100.0 * growth),
        "flat: <= +5%", growth <= 0.05 ? "pass" : "MISS");
  r.info("data folder size at 1x / 2x / 5x / 10x the retention",
         format("%.1f / %.1f / %.1f / %.1f MiB", mib_of_bytes(x1.total), mib_of_bytes(x2.total),
                mib_of_bytes(x5.total), mib_of_bytes(x10.total)));
  r.info("of it, 5x -> 10x: tables (*.sst) / WAL (*.log) / RocksDB LOG",
         format("%.1f -> %.1f / %.1f -> %.1f / %.1f -> %.1f MiB", mib_of_bytes(x5.tables),
                mib_of_bytes(x10.tables), mib_of_bytes(x5.wal), mib_of_bytes(x10.wal),
                mib_of_bytes(x5.info_log), mib_of_bytes(x10.info_log)));
  auto range = [&](std::int64_t from, std::int64_t to) {
    std::uint64_t lo = UINT64_MAX;
    std::uint64_t hi = 0;
    for (const auto& p : passes) {
      if (p.at_ms <= k_t0 + from * retention_ms || p.at_ms > k_t0 + to * retention_ms) continue;
      lo = std::min(lo, p.folder_bytes);
      hi = std::max(hi, p.folder_bytes);
    }
    return format("%.1f-%.1f", mib_of_bytes(lo == UINT64_MAX ? 0 : lo), mib_of_bytes(hi));
  };
  r.info("data folder size after every pass, min-max, 1x-5x / 5x-10x",
         range(1, 5) + " / " + range(5, 10) + " MiB");
  r.info("data folder without retention (estimate: 10 x the size at 1x)",
         format("~%.0f MiB", 10.0 * mib_of_bytes(x1.total)));

  // The first pass after 1x must have had something to remove.
  const pass_record* first = nullptr;
  for (const auto& p : passes) {
    if (p.at_ms > k_t0 + retention_ms) {
      first = &p;
      break;
    }
  }
  if (!first) throw std::runtime_error("no retention pass after 1x the retention");
  r.row("first retention pass after 1x removed",
        format("%llu deliveries, %llu events (%llu kept)",
               static_cast<unsigned long long>(first->removed.deliveries),
               static_cast<unsigned long long>(first->removed.events),
               static_cast<unsigned long long>(first->removed.kept)),
        "> 0 deliveries and events",
        first->removed.deliveries > 0 && first->removed.events > 0 ? "pass" : "MISS");
  r.info("published over 10x the retention",
         format("%llu deliveries; %llu events matched, %llu matched nothing",
                static_cast<unsigned long long>(stats.deliveries_created),
                static_cast<unsigned long long>(matched_events),
                static_cast<unsigned long long>(unmatched_events)));
  r.row("expired by retention (stats) of what was older than it at the end",
        format("%llu of %llu deliveries, %llu of %llu events",
               static_cast<unsigned long long>(stats.expired_deliveries),
               static_cast<unsigned long long>(old_deliveries),
               static_cast<unsigned long long>(stats.expired_events),
               static_cast<unsigned long long>(old_events)),
        "all (check)",
        stats.expired_deliveries == old_deliveries && stats.expired_events == old_events ? "pass"
                                                                                         : "MISS");

  std::uint64_t removed_d = 0;
  std::uint64_t removed_e = 0;
  std::uint64_t kept = 0;
  double slowest = 0;
  for (const auto& p : passes) {
    removed_d += p.removed.deliveries;
    removed_e += p.removed.events;
    kept += p.removed.kept;
    slowest = std::max(slowest, p.seconds);
  }
  std::string sizes;
  for (const auto& p : points) {
    sizes += format("%s%lldx %.1f", sizes.empty() ? "" : ", ", static_cast<long long>(p.multiple),
                    mib_of_bytes(p.size.total));
  }
  r.note("retention: folder size in MiB at each multiple of the retention: " + sizes);
  r.note("retention: before any load (100 webhooks): " + describe(empty));
  r.note("retention: at 1x: " + describe(x1));
  r.note("retention: at 5x: " + describe(x5));
  r.note("retention: at 10x: " + describe(x10));
  r.note("retention: after stop and close at 10x: " + describe(closed));
  std::string firsts;
  for (const auto& p : passes) {
    if (p.at_ms <= k_t0 + retention_ms) continue;
    firsts += format("%s%.1f min: %llu/%llu/%llu", firsts.empty() ? "" : ", ",
                     static_cast<double>(p.at_ms - k_t0) / 60'000.0,
                     static_cast<unsigned long long>(p.removed.deliveries),
                     static_cast<unsigned long long>(p.removed.events),
                     static_cast<unsigned long long>(p.removed.kept));
    if (std::count(firsts.begin(), firsts.end(), ',') >= 3) break;
  }
  r.note("retention: first passes after 1x (simulated time: deliveries/events removed/kept): " +
         firsts);
  r.note(format(
      "retention: %zu passes by the bench removed %llu deliveries and %llu events and kept %llu "
      "unfinished; stats count %llu and %llu (any difference: the engine's own timer, every "
      "%.1f min of real time, ran too); passes took %.1f s in all, the slowest %.2f s",
      passes.size(), static_cast<unsigned long long>(removed_d),
      static_cast<unsigned long long>(removed_e), static_cast<unsigned long long>(kept),
      static_cast<unsigned long long>(stats.expired_deliveries),
      static_cast<unsigned long long>(stats.expired_events),
      static_cast<double>(period_ms) / 60'000.0, pass_s, slowest));
  r.note(
      format("retention: the load took %.1f s of real time (%.0f deliveries/s, passes "
             "included); %llu attempts, %llu failed",
             load_s, static_cast<double>(stats.deliveries_created) / load_s,
             static_cast<unsigned long long>(stats.attempts),
             static_cast<unsigned long long>(stats.failed_attempts)));
}

// ---- main -----------------------------------------------------------------------------

config read_config() {
  config c;
  const char* data = std::getenv("SCALE_DATA");
  if (data && *data) {
    c.data = data;
  } else {
    std::string pattern = (fs::temp_directory_path() / "hookd-scale-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp " + pattern);
    c.data = pattern;
  }
  fs::create_directories(c.data);
  const char* phases = std::getenv("SCALE_PHASES");
  const std::set<std::string> known{"match",   "create", "startup",   "pending",
                                    "dead150", "cancel", "deadsched", "retention"};
  if (phases && *phases) {
    std::stringstream ss(phases);
    std::string p;
    while (std::getline(ss, p, ',')) {
      if (p.empty()) continue;
      if (!known.contains(p)) {
        std::fprintf(stderr, "scale: unknown phase %s in SCALE_PHASES (known: %s)\n", p.c_str(),
                     "match,create,startup,pending,dead150,cancel,deadsched,retention");
        std::exit(2);
      }
      c.phases.insert(p);
    }
  } else {
    c.phases = known;
  }
  c.webhooks = env_count("SCALE_WEBHOOKS", 1'000'000);
  c.create_batch = env_count("SCALE_CREATE_BATCH", 2'000);
  c.create_reps = env_count("SCALE_CREATE_REPS", 3);
  c.create_idle_s = env_count("SCALE_CREATE_IDLE_S", 10);
  c.match_lookups = env_count("SCALE_MATCH_LOOKUPS", 5'000'000);
  c.pending = env_count("SCALE_PENDING", 1'000'000);
  c.dead_fanout = env_count("SCALE_DEAD_FANOUT", 100);
  c.healthy_webhooks = env_count("SCALE_HEALTHY_WEBHOOKS", 10'000);
  c.healthy_ports = env_count("SCALE_HEALTHY_PORTS", 4);
  c.burst = env_count("SCALE_BURST", 20'000);
  c.burst_reps = env_count("SCALE_BURST_REPS", 3);
  c.dead_origins = env_count("SCALE_DEAD_ORIGINS", 150);
  c.dead_per_origin = env_count("SCALE_DEAD_PER_ORIGIN", 40);
  c.latency_samples = env_count("SCALE_LATENCY_SAMPLES", 200);
  c.retention_min = env_count("SCALE_RETENTION_MIN", 60);
  c.retention_rate = env_count("SCALE_RETENTION_RATE", 200);
  return c;
}

// Thousands of sockets at once (150 black holes with 4096 requests hanging on them).
void raise_file_limit() {
  rlimit l{};
  if (getrlimit(RLIMIT_NOFILE, &l) == 0 && l.rlim_cur < l.rlim_max) {
    l.rlim_cur = l.rlim_max;
    setrlimit(RLIMIT_NOFILE, &l);
  }
}

int run() {
  const config c = read_config();
  const bool temp_data = !std::getenv("SCALE_DATA") || !*std::getenv("SCALE_DATA");
  raise_file_limit();
  // A million failed attempts would each log a warning; errors are still written.
  engine::log::set_min_level(engine::log::level::error);
  auto has = [&](const char* p) { return c.phases.contains(p); };

  std::unique_ptr<origin_process> helper;
  if (has("pending") || has("dead150") || has("cancel") || has("deadsched") || has("retention")) {
    const bool receivers = has("pending") || has("dead150") || has("cancel") || has("deadsched");
    helper = std::make_unique<origin_process>(receivers ? c.healthy_ports : 0,
                                              receivers ? 1 + c.dead_origins : 0,
                                              has("retention") ? c.healthy_ports : 0);
  }
  std::vector<phase_outcome> done;
  auto phase = [&](const char* name, const std::function<void(report&)>& body) {
    if (!has(name)) return;
    progress("phase %s", name);
    done.push_back(run_phase(name, body));
  };
  phase("match", [&](report& r) { phase_match(r, c); });
  phase("create", [&](report& r) { phase_create(r, c); });
  phase("startup", [&](report& r) { phase_startup(r, c); });
  phase("pending", [&](report& r) { phase_pending(r, c, helper->ports()); });
  phase("dead150", [&](report& r) { phase_dead150(r, c, helper->ports()); });
  phase("cancel", [&](report& r) { phase_cancel(r, c, helper->ports()); });
  phase("deadsched", [&](report& r) { phase_deadsched(r, c, helper->ports()); });
  phase("retention", [&](report& r) { phase_retention(r, c, helper->ports()); });
  helper.reset();

  std::printf(
      "hookd scale benchmark (%u cores, Release); sizes: webhooks %llu, pending %llu, "
      "healthy webhooks %llu; data in %s%s\n\n",
      std::thread::hardware_concurrency(), static_cast<unsigned long long>(c.webhooks),
      static_cast<unsigned long long>(c.pending),
      static_cast<unsigned long long>(c.healthy_webhooks), c.data.c_str(),
      temp_data ? " (removed)" : "");
  print_table(done);
  if (temp_data) fs::remove_all(c.data);
  bool ok = true;
  for (const auto& p : done) ok = ok && p.ok;
  return ok ? 0 : 1;
}

}  // namespace

int main() {
  try {
    return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "scale: %s\n", e.what());
    return 1;
  }
}
