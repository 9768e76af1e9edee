// Publish → receipt latency (`tools/bench`): an embedded engine publishes at a fixed rate
// and a receiver in this process timestamps each delivery as it arrives; the latency is
// from the start of the engine::publish call (durable write included) to the moment
// the receiver has read the whole request. Printed as p50, p99, p99.9 and max per rate,
// one machine-readable LATENCY line each, then a table (figure | measured | target).
//
// A plain program, not Google Benchmark: each figure is one paced run with its own
// engine and data folder. The receiver is a minimal epoll loop on its own thread,
// pinned to LATENCY_RECEIVER_CPU (the sink's core, as the anchors' nginx); it answers
// 200 with an empty body at once and reads the publish time from the body, which
// carries it in the payload (steady_clock, shared by every thread of the process).
// Publishing is paced by absolute deadlines (event i at t0 + i / rate), spread over
// LATENCY_PUBLISHERS threads so one slow durable write does not hold back the next.
//
// Environment (default in brackets):
//   LATENCY_RATES         comma-separated events/s, one run each [2000]
//   LATENCY_SECONDS       measured seconds per rate [10]
//   LATENCY_WARMUP_MS     paced publishing before the measured part, not counted
//                         (connections open, caches fill) [1000]
//   LATENCY_CONNECTIONS   connections per origin and engine thread [64]
//   LATENCY_THREADS       engine dispatcher threads [1]
//   LATENCY_PUBLISHERS    threads calling engine::publish [2]
//   LATENCY_RECEIVER_CPU  core the receiver thread is pinned to; -1 leaves it
//                         unpinned [1 when the machine has two cores or more, else -1]
//   LATENCY_SAMPLES_DIR   when set, every sample of a rate R is written to
//                         DIR/latency-R.csv (publish time since the start and latency,
//                         in ms; warm-up included) to see when the slow ones happened
#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench_support.hpp"
#include "hookd/engine/engine.hpp"

namespace {

namespace fs = std::filesystem;
using namespace hookd;
using namespace hookd::bench;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view k_marker = "\"bench_sent_ns\":";

std::int64_t steady_ns(steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::int64_t env_int(const char* name, std::int64_t fallback, std::int64_t min) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  if (*end != '\0' || n < min) {
    std::fprintf(stderr, "latency: %s=%s is not a whole number >= %lld\n", name, v,
                 static_cast<long long>(min));
    std::exit(2);
  }
  return n;
}

std::vector<double> env_rates() {
  const char* v = std::getenv("LATENCY_RATES");
  std::vector<double> out;
  std::stringstream ss(v && *v ? v : "2000");
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const double r = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0' || !(r > 0)) {
      std::fprintf(stderr, "latency: LATENCY_RATES=%s is not a list of positive numbers\n", v);
      std::exit(2);
    }
    out.push_back(r);
  }
  return out;
}

struct config {
  std::vector<double> rates;
  std::int64_t seconds = 10;
  std::int64_t warmup_ms = 1000;
  std::size_t connections = 64;
  unsigned threads = 1;
  unsigned publishers = 2;
  int receiver_cpu = -1;
  std::string samples_dir;
};

config read_config() {
  config c;
  c.rates = env_rates();
  c.seconds = env_int("LATENCY_SECONDS", 10, 1);
  c.warmup_ms = env_int("LATENCY_WARMUP_MS", 1000, 0);
  c.connections = static_cast<std::size_t>(env_int("LATENCY_CONNECTIONS", 64, 1));
  c.threads = static_cast<unsigned>(env_int("LATENCY_THREADS", 1, 1));
  c.publishers = static_cast<unsigned>(env_int("LATENCY_PUBLISHERS", 2, 1));
  const bool two_cores = std::thread::hardware_concurrency() >= 2;
  c.receiver_cpu = static_cast<int>(env_int("LATENCY_RECEIVER_CPU", two_cores ? 1 : -1, -1));
  const char* dir = std::getenv("LATENCY_SAMPLES_DIR");
  c.samples_dir = dir ? dir : "";
  return c;
}

// ---- the receiver ---------------------------------------------------------------------

struct sample {
  std::int64_t sent_ns = 0;     // when the publish call began
  std::int64_t latency_ns = 0;  // from then to the receipt of the whole request
};

// Listens on 127.0.0.1 (a port the system picks) on a thread of its own; answers each
// request 200 at once, keep-alive, and records its latency from the publish time in
// its body. The samples are read after stop(), once the thread has ended.
class receiver {
 public:
  receiver(int cpu, std::size_t expected) {
    samples_.reserve(expected);
    listen_fd_ = listen_loopback(port_);
    quit_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (quit_fd_ < 0)
      throw std::runtime_error("receiver: eventfd: " + std::string(strerror(errno)));
    thread_ = std::thread([this, cpu] {
      if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        pinned_ = pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
      }
      run();
    });
  }
  ~receiver() {
    stop();
    ::close(listen_fd_);
    ::close(quit_fd_);
  }
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  void stop() {
    if (!thread_.joinable()) return;
    const std::uint64_t one = 1;
    if (::write(quit_fd_, &one, sizeof one) < 0) std::perror("receiver: eventfd write");
    thread_.join();
  }
  // Valid after stop().
  const std::vector<sample>& samples() const noexcept { return samples_; }
  std::uint64_t unmarked() const noexcept { return unmarked_; }
  bool pinned() const noexcept { return pinned_; }

 private:
  void run() {
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    auto watch = [ep](int fd) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.fd = fd;
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    };
    watch(listen_fd_);
    watch(quit_fd_);
    constexpr std::string_view k_ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    std::unordered_map<int, std::string> unread;  // a connection's partial request
    std::array<epoll_event, 256> events{};
    std::array<char, 65536> chunk{};
    for (;;) {
      const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      for (int i = 0; i < n; ++i) {
        const int fd = events[static_cast<std::size_t>(i)].data.fd;
        if (fd == quit_fd_) {
          for (auto& [c, _] : unread) ::close(c);
          ::close(ep);
          return;
        }
        if (fd == listen_fd_) {
          for (;;) {
            const int c = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (c < 0) break;
            unread[c];
            watch(c);
          }
          continue;
        }
        bool closed = false;
        for (;;) {
          const ssize_t r = ::read(fd, chunk.data(), chunk.size());
          if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            closed = true;
            break;
          }
          if (r < 0) break;
          // Every request completed by this read arrived now.
          const std::int64_t now = steady_ns(steady::now());
          std::string& buf = unread[fd];
          buf.append(chunk.data(), static_cast<std::size_t>(r));
          for (;;) {
            const std::size_t head_end = buf.find("\r\n\r\n");
            if (head_end == std::string::npos) break;
            const std::size_t total =
                head_end + 4 + content_length(std::string_view(buf).substr(0, head_end));
            if (buf.size() < total) break;
            record(std::string_view(buf).substr(head_end + 4, total - head_end - 4), now);
            buf.erase(0, total);
            // The client waits for each answer before it sends again, so the answer
            // always fits in the socket's send buffer.
            if (::write(fd, k_ok.data(), k_ok.size()) < 0) {
              closed = true;
              break;
            }
          }
          if (closed) break;
        }
        if (closed) {
          epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
          ::close(fd);
          unread.erase(fd);
        }
      }
    }
    ::close(ep);
  }

  void record(std::string_view body, std::int64_t now) {
    const std::size_t at = body.find(k_marker);
    if (at == std::string_view::npos) {
      ++unmarked_;
      return;
    }
    const std::string digits(body.substr(at + k_marker.size(), 24));
    const long long sent = std::strtoll(digits.c_str(), nullptr, 10);
    samples_.push_back({sent, now - sent});
  }

  int listen_fd_ = -1;
  int quit_fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<sample> samples_;
  std::uint64_t unmarked_ = 0;
  std::atomic<bool> pinned_{false};
  std::thread thread_;
};

// ---- one paced run --------------------------------------------------------------------

struct result {
  double rate = 0;
  double achieved = 0;  // events/s over the whole paced run
  std::uint64_t published = 0;
  std::uint64_t publish_errors = 0;
  std::size_t samples = 0;  // measured (after the warm-up)
  double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  double pacer_max_lag_ms = 0;  // how far behind its deadline a publish call began, at most
  // Deliveries published but not yet delivered when the last publish returned: about
  // rate × latency when the engine keeps up, growing with the run's length when it
  // does not (then the percentiles measure the queue, not the engine).
  std::uint64_t behind = 0;
  bool receiver_pinned = false;
  std::string error;
};

// Nearest rank: the smallest sample with at least p of all at or below it.
double percentile_ms(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1]) / 1e6;
}

std::string format_rate(double rate) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", rate);
  return buf;
}

std::string payload(std::int64_t sent_ns) {
  // About 400 bytes, as the anchors' payload.json.
  static const std::string pad(360, 'x');
  return "{" + std::string(k_marker) + std::to_string(sent_ns) + R"(,"data":")" + pad + "\"}";
}

result run_rate(const config& c, double rate) {
  result out;
  out.rate = rate;
  const auto warmup_events =
      static_cast<std::uint64_t>(rate * static_cast<double>(c.warmup_ms) / 1e3);
  const auto total =
      warmup_events + static_cast<std::uint64_t>(rate * static_cast<double>(c.seconds));
  std::string dir = (fs::temp_directory_path() / "hookd-latency-XXXXXX").string();
  if (!mkdtemp(dir.data())) throw std::runtime_error("mkdtemp " + dir);
  receiver rx(c.receiver_cpu, total);
  {
    engine::engine_options o;
    o.data_dir = dir;
    o.threads = c.threads;
    o.http.allow_private_targets = true;
    o.http.connections_per_origin = c.connections;
    auto e = engine::engine::open(o);
    if (!e) throw std::runtime_error("engine::open: " + e.error().message);
    const std::string url = "http://127.0.0.1:" + std::to_string(rx.port()) + "/hook";
    auto created =
        (*e)->webhooks().create("bench", R"({"webhook": {"name": "latency", "active": true,
                    "settings": {"customer_created": true}, "url": ")" +
                                             url + R"(", "http_method": "POST"}})");
    if (!created) throw std::runtime_error("create webhook: " + created.error().message);
    (*e)->start();

    const double period_ns = 1e9 / rate;
    const auto t0 = steady::now() + 20ms;
    const auto measured_from = steady_ns(t0) + c.warmup_ms * 1'000'000;
    std::atomic<std::uint64_t> errors{0};
    std::atomic<std::int64_t> max_lag_ns{0};
    std::atomic<std::int64_t> last_ns{0};
    std::vector<std::thread> publishers;
    for (unsigned k = 0; k < c.publishers; ++k) {
      publishers.emplace_back([&, k] {
        std::int64_t lag = 0;
        for (std::uint64_t i = k; i < total; i += c.publishers) {
          const auto deadline = t0 + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                         static_cast<double>(i) * period_ns));
          std::this_thread::sleep_until(deadline);
          const auto sent = steady::now();
          lag = std::max(lag, static_cast<std::int64_t>((sent - deadline).count()));
          if (!(*e)->publish("bench", "customer_created", payload(steady_ns(sent)))) {
            errors.fetch_add(1, std::memory_order_relaxed);
          }
        }
        std::int64_t seen = max_lag_ns.load();
        while (lag > seen && !max_lag_ns.compare_exchange_weak(seen, lag)) {
        }
        const std::int64_t end = steady_ns(steady::now());
        seen = last_ns.load();
        while (end > seen && !last_ns.compare_exchange_weak(seen, end)) {
        }
      });
    }
    for (auto& t : publishers) t.join();
    const engine::engine_stats at_end = (*e)->stats();
    out.publish_errors = errors.load();
    out.published = total - out.publish_errors;
    out.pacer_max_lag_ms = static_cast<double>(max_lag_ns.load()) / 1e6;
    const double paced_s = static_cast<double>(last_ns.load() - steady_ns(t0)) / 1e9;
    out.achieved = paced_s > 0 ? static_cast<double>(total) / paced_s : 0;
    const std::uint64_t expect = out.published;
    out.behind = expect > at_end.succeeded ? expect - at_end.succeeded : 0;
    if (!(*e)->wait_until([expect](const auto& s) { return s.succeeded >= expect; }, 60s)) {
      out.error = "only " + std::to_string((*e)->stats().succeeded) + " of " +
                  std::to_string(expect) + " deliveries succeeded within 60 s of the last publish";
    }
    (*e)->stop();
    rx.stop();
    if (!c.samples_dir.empty()) {
      const auto path = fs::path(c.samples_dir) / ("latency-" + format_rate(rate) + ".csv");
      std::ofstream csv(path);
      csv << "sent_ms,latency_ms\n";
      for (const auto& s : rx.samples()) {
        csv << static_cast<double>(s.sent_ns - steady_ns(t0)) / 1e6 << ','
            << static_cast<double>(s.latency_ns) / 1e6 << '\n';
      }
      if (!csv) throw std::runtime_error("writing " + path.string());
    }
    std::vector<std::int64_t> latencies;
    latencies.reserve(rx.samples().size());
    for (const auto& s : rx.samples()) {
      if (s.sent_ns >= measured_from) latencies.push_back(s.latency_ns);
    }
    std::sort(latencies.begin(), latencies.end());
    out.samples = latencies.size();
    out.p50_ms = percentile_ms(latencies, 0.50);
    out.p99_ms = percentile_ms(latencies, 0.99);
    out.p999_ms = percentile_ms(latencies, 0.999);
    out.max_ms = latencies.empty() ? 0 : static_cast<double>(latencies.back()) / 1e6;
    out.receiver_pinned = rx.pinned();
    if (out.error.empty() && rx.unmarked() > 0) {
      out.error = std::to_string(rx.unmarked()) + " requests without the publish time";
    }
    if (out.error.empty() && out.publish_errors > 0) {
      out.error = std::to_string(out.publish_errors) + " publish calls failed";
    }
  }
  fs::remove_all(dir);
  return out;
}

int run() {
  const config c = read_config();
  // Nothing should fail here; if something does, its errors are still written.
  engine::log_options quiet;
  quiet.min_level = engine::log_level::error;
  engine::configure_logging(quiet);
  std::vector<result> results;
  for (const double rate : c.rates) {
    std::fprintf(stderr, "[latency] %.0f events/s for %lld s (+%lld ms warm-up)...\n", rate,
                 static_cast<long long>(c.seconds), static_cast<long long>(c.warmup_ms));
    results.push_back(run_rate(c, rate));
    const auto& r = results.back();
    std::fprintf(stderr,
                 "[latency] %.0f/s: achieved %.0f/s, %zu samples, p50 %.3f ms, p99 %.3f ms, "
                 "p99.9 %.3f ms, max %.3f ms; %llu undelivered when publishing ended%s%s\n",
                 r.rate, r.achieved, r.samples, r.p50_ms, r.p99_ms, r.p999_ms, r.max_ms,
                 static_cast<unsigned long long>(r.behind),
                 r.error.empty() ? "" : "; ERROR: ", r.error.c_str());
  }
  bool ok = true;
  for (const auto& r : results) {
    std::printf(
        "LATENCY rate=%.0f achieved=%.1f published=%llu samples=%zu p50_ms=%.3f p99_ms=%.3f "
        "p999_ms=%.3f max_ms=%.3f pacer_max_lag_ms=%.3f behind_at_end=%llu receiver_pinned=%d "
        "error=%s\n",
        r.rate, r.achieved, static_cast<unsigned long long>(r.published), r.samples, r.p50_ms,
        r.p99_ms, r.p999_ms, r.max_ms, r.pacer_max_lag_ms,
        static_cast<unsigned long long>(r.behind), r.receiver_pinned ? 1 : 0,
        r.error.empty() ? "none" : "yes");
    ok = ok && r.error.empty();
  }
  std::printf("\n%-48s | %-36s | %s\n", "figure", "measured (p50 / p99 / p99.9 / max)", "target");
  for (const auto& r : results) {
    char figure[96];
    char measured[96];
    std::snprintf(figure, sizeof figure, "publish -> receipt at %.0f/s (achieved %.0f/s)", r.rate,
                  r.achieved);
    std::snprintf(measured, sizeof measured, "%.2f / %.2f / %.2f / %.1f ms", r.p50_ms, r.p99_ms,
                  r.p999_ms, r.max_ms);
    std::printf("%-48s | %-36s | p99 <= 2 ms: %s%s%s\n", figure, measured,
                r.p99_ms <= 2.0 ? "pass" : "MISS",
                r.error.empty() ? "" : "; ERROR: ", r.error.c_str());
  }
  std::string where = "unpinned";
  if (c.receiver_cpu >= 0) {
    where = !results.empty() && !results.front().receiver_pinned
                ? "not pinned (pinning to core " + std::to_string(c.receiver_cpu) + " failed)"
                : "on core " + std::to_string(c.receiver_cpu);
  }
  std::printf("engine: %u thread(s), %zu connections; %u publisher thread(s); receiver %s\n",
              c.threads, c.connections, c.publishers, where.c_str());
  return ok ? 0 : 1;
}

}  // namespace

int main() {
  try {
    return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "latency: %s\n", e.what());
    return 1;
  }
}
