// The chaos driver behind `tools/chaos` and the ctest Chaos.ShortRunLosesNoAcceptedEvent:
// kills hookd with SIGKILL at random moments while clients publish events, restarts it
// on the same data folder, and checks at the end that every accepted event reached
// every webhook, counting the duplicates that at-least-once delivery allows.
//
// The driver itself is never killed, so what it knows survives every crash of hookd:
// which events were accepted (a 202), and, from its own loopback receivers, every
// webhook-id that arrived. A publish that got no answer because of a kill is unknown;
// it is sent again after the restart with the same Idempotency-Key and must then be
// accepted (as a duplicate or as new). webhook-id is the delivery's stored uuid
// (engine/delivery/attempt_request.cpp), the same for every attempt and across
// restarts, so distinct ids count deliveries and a repeated id is a duplicate (an
// attempt answered just before a kill, whose success was never written, goes again).
//
//   hookd_chaos --hookd PATH [--rounds N] [--receivers N] [--clients N] ...  (--help)
//
// Progress goes to stderr; the last line on stdout is the figure,
//   chaos: rounds=20 accepted=A expected=E delivered=D lost=0 duplicates=U (0.03%)
// Exit code 0 when nothing was lost and hookd behaved, 1 otherwise, 2 on bad usage.
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto k_tuple = net::as_tuple(net::use_awaitable);
constexpr const char* k_account_tokens = "HOOKD_TOKENS=chaos:tok";
constexpr const char* k_token = "tok";
constexpr const char* k_event_type = "customer_created";

constexpr const char* k_help = R"(Usage: hookd_chaos --hookd PATH [options]

Kills hookd (SIGKILL) at random moments under a publish load, restarts it on the same
data folder, and counts at the end whether every accepted event reached every webhook.

  --hookd PATH          the hookd binary (required)
  --rounds N            kill -9s; hookd starts N+1 times (default 20)
  --receivers N         loopback receivers, one webhook each (default 3)
  --clients N           concurrent publishers (default 4)
  --kill-after MIN-MAX  each kill comes uniform in MIN..MAX ms after hookd is
                        listening (default 200-1500)
  --drain-timeout S     how long the end waits for outstanding deliveries (default 120)
  --start-timeout S     how long one start of hookd may take (default 60)
  --seed N              seed of the kill moments (default: random, printed)
  --work DIR            folder for hookd's data and log, emptied first and kept
                        (default: a temporary folder, removed after a clean run)
  --threads N           hookd serve --threads (default 2)
  --retry-schedule S    hookd serve --retry-schedule (default 50ms,100ms,200ms,500ms,1s)
  --help                show this help
)";

// What one run does; every field is a flag of the same name (see k_help).
struct chaos_options {
  // The hookd binary to run. Required.
  std::string hookd;
  // kill -9s; hookd is started rounds + 1 times. More rounds hit more of the narrow
  // windows (a batch half written, an attempt answered but not yet settled) at the cost
  // of a longer run. Default 20.
  int rounds = 20;
  // Loopback receivers, one webhook each, all subscribed to the one event type, so every
  // event is `receivers` deliveries to as many origins. Default 3.
  int receivers = 3;
  // Concurrent publishers, one keep-alive connection each: at most this many requests
  // are cut by a kill. Default 4.
  int clients = 4;
  // Each kill comes at a moment uniform in [kill_min, kill_max] after hookd printed its
  // listening line: a low minimum also kills during start-up recovery. Default 200-1500 ms.
  std::chrono::milliseconds kill_min{200};
  std::chrono::milliseconds kill_max{1500};
  // How long the end waits for the deliveries still outstanding before it counts what is
  // missing as lost. A safety net: the wait ends as soon as everything arrived. Default 120 s.
  std::chrono::seconds drain_timeout{120};
  // How long one start may take to print the listening line before the run fails.
  // Default 60 s.
  std::chrono::seconds start_timeout{60};
  // Seed of the kill moments, printed so a schedule can be repeated (the load's timing is
  // not). Default: from std::random_device.
  std::optional<std::uint64_t> seed;
  // Folder for hookd's data (data/) and its stderr (hookd.log); emptied first, kept after.
  // Default: a new temporary folder, removed after a clean run, kept after a failed one.
  std::string work;
  // hookd serve --threads. Default 2.
  int threads = 2;
  // hookd serve --retry-schedule. The receivers always answer 200, so an attempt fails
  // only by accident; short steps keep such an accident from outlasting the drain.
  std::string retry_schedule = "50ms,100ms,200ms,500ms,1s";
};

template <class T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string bad_value(const std::string& name, const std::string& value, const char* expected) {
  std::string out = "--";
  out.append(name).append(" \"").append(value).append("\" is not ").append(expected);
  return out;
}

// Parses the flags into `o`; an error message on bad usage.
std::optional<std::string> parse_options(const std::vector<std::string>& args, chaos_options& o,
                                         bool& help) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    if (name == "--help" || name == "-h") {
      help = true;
      continue;
    }
    if (!name.starts_with("--")) return "unexpected argument \"" + name + "\"";
    name.erase(0, 2);
    std::string value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.erase(eq);
    } else {
      if (i + 1 >= args.size()) return "--" + name + " needs a value";
      value = args[++i];
    }
    const auto positive = [&](int& field) -> std::optional<std::string> {
      auto n = parse_number<int>(value);
      if (!n || *n < 1) return bad_value(name, value, "a positive number");
      field = *n;
      return std::nullopt;
    };
    const auto seconds = [&](std::chrono::seconds& field) -> std::optional<std::string> {
      auto n = parse_number<int>(value);
      if (!n || *n < 1) return bad_value(name, value, "a number of seconds");
      field = std::chrono::seconds(*n);
      return std::nullopt;
    };
    std::optional<std::string> problem;
    if (name == "hookd") {
      o.hookd = value;
    } else if (name == "rounds") {
      problem = positive(o.rounds);
    } else if (name == "receivers") {
      problem = positive(o.receivers);
    } else if (name == "clients") {
      problem = positive(o.clients);
    } else if (name == "threads") {
      problem = positive(o.threads);
    } else if (name == "drain-timeout") {
      problem = seconds(o.drain_timeout);
    } else if (name == "start-timeout") {
      problem = seconds(o.start_timeout);
    } else if (name == "kill-after") {
      const auto dash = value.find('-');
      auto lo = parse_number<int>(std::string_view(value).substr(0, dash));
      auto hi = dash == std::string::npos
                    ? std::nullopt
                    : parse_number<int>(std::string_view(value).substr(dash + 1));
      if (!lo || !hi || *lo < 0 || *hi < *lo) {
        problem = bad_value(name, value, "MIN-MAX in milliseconds");
      } else {
        o.kill_min = std::chrono::milliseconds(*lo);
        o.kill_max = std::chrono::milliseconds(*hi);
      }
    } else if (name == "seed") {
      o.seed = parse_number<std::uint64_t>(value);
      if (!o.seed) problem = bad_value(name, value, "a number");
    } else if (name == "work") {
      o.work = value;
    } else if (name == "retry-schedule") {
      o.retry_schedule = value;
    } else {
      problem = "unknown flag --" + name;
    }
    if (problem) return problem;
  }
  if (!help && o.hookd.empty()) return "--hookd is required";
  if (!help && !fs::is_regular_file(o.hookd)) return "--hookd " + o.hookd + ": no such file";
  return std::nullopt;
}

double seconds_since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

std::string fixed(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

// Every request the receivers answered, keyed by webhook-id. Shared by the receivers'
// thread (record) and the driver's (waits and the final count).
class receipt_log {
 public:
  // Called by a receiver for each request before it answers, so a delivery hookd saw
  // answered is always recorded here.
  void record(int receiver, std::string_view webhook_id, std::string_view body) {
    std::string event_key;
    boost::system::error_code ec;
    const json::value v = json::parse(body, ec);
    const json::object* o = !ec && v.is_object() ? &v.as_object() : nullptr;
    const json::value* k = o ? o->if_contains("k") : nullptr;
    const json::value* uuid = o ? o->if_contains("uuid") : nullptr;
    // The body's uuid is the delivery id too: a mismatch would make the header useless
    // for deduplication.
    const bool well_formed = k && k->is_string() && uuid && uuid->is_string() &&
                             !webhook_id.empty() && uuid->as_string() == webhook_id;
    if (well_formed) event_key = k->as_string();
    {
      std::lock_guard lock(mutex_);
      ++requests_;
      if (!well_formed) {
        ++malformed_;
      } else {
        auto [it, fresh] =
            by_id_.try_emplace(std::string(webhook_id), receipt{receiver, event_key, 0, run_});
        ++it->second.count;
        if (!fresh && it->second.first_run == run_) ++same_run_duplicates_;
        if (!fresh && (it->second.receiver != receiver || it->second.event_key != event_key)) {
          ++malformed_;  // one id for two deliveries
        }
        if (fresh) pairs_.insert(pair_key(event_key, receiver));
      }
    }
    arrived_.notify_all();
  }

  // hookd's run (0 for the first start, +1 per restart) that sends from now on. A
  // duplicate within one run was not caused by a kill.
  void set_run(int run) {
    std::lock_guard lock(mutex_);
    run_ = run;
  }

  // Waits until at least `n` distinct (event, receiver) pairs arrived or `until` passed;
  // returns how many have.
  std::size_t wait_for_pairs(std::size_t n, steady::time_point until) {
    std::unique_lock lock(mutex_);
    arrived_.wait_until(lock, until, [&] { return pairs_.size() >= n; });
    return pairs_.size();
  }

  struct totals {
    std::size_t requests = 0;             // every request answered
    std::size_t ids = 0;                  // distinct webhook-ids
    std::size_t pairs = 0;                // distinct (event, receiver) pairs
    std::size_t duplicates = 0;           // requests beyond the first per webhook-id
    std::size_t same_run_duplicates = 0;  // of those, sent by the run that sent the first
    std::size_t malformed = 0;            // no webhook-id, a body without k or uuid, or id reuse
  };
  totals snapshot() const {
    std::lock_guard lock(mutex_);
    totals t;
    t.requests = requests_;
    t.ids = by_id_.size();
    t.pairs = pairs_.size();
    t.malformed = malformed_;
    t.same_run_duplicates = same_run_duplicates_;
    for (const auto& [id, r] : by_id_) t.duplicates += r.count - 1;
    return t;
  }

  bool has(const std::string& event_key, int receiver) const {
    std::lock_guard lock(mutex_);
    return pairs_.contains(pair_key(event_key, receiver));
  }

  // Pairs whose event is not in `accepted`: a delivery of an event the driver never saw
  // accepted.
  std::size_t count_outside(const std::unordered_set<std::string>& accepted) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [id, r] : by_id_) n += accepted.contains(r.event_key) ? 0 : 1;
    return n;
  }

 private:
  struct receipt {
    int receiver = 0;
    std::string event_key;
    std::uint32_t count = 0;
    int first_run = 0;
  };
  static std::string pair_key(const std::string& event_key, int receiver) {
    return event_key + '/' + std::to_string(receiver);
  }

  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::unordered_map<std::string, receipt> by_id_;
  std::unordered_set<std::string> pairs_;
  std::size_t requests_ = 0;
  std::size_t malformed_ = 0;
  std::size_t same_run_duplicates_ = 0;
  int run_ = 0;
};

void crash_on_exception(const std::exception_ptr& e) {
  if (e) std::rethrow_exception(e);  // a bug in the receiver: fail loudly
}

// One keep-alive connection from hookd: record each request, answer 200.
net::awaitable<void> serve_connection(tcp::socket socket, int receiver, receipt_log* log) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    stream.expires_never();  // an idle pooled connection waits for hookd, or its death
    auto [ec, n] = co_await http::async_read(stream, buffer, req, k_tuple);
    if (ec) break;
    log->record(receiver, req["webhook-id"], req.body());
    http::response<http::empty_body> res{http::status::ok, req.version()};
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    stream.expires_after(10s);
    auto [wec, wn] = co_await http::async_write(stream, res, k_tuple);
    if (wec || !req.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

net::awaitable<void> accept_loop(tcp::acceptor* acceptor, int receiver, receipt_log* log) {
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(k_tuple);
    if (ec == net::error::operation_aborted) co_return;
    if (ec) continue;
    net::co_spawn(acceptor->get_executor(), serve_connection(std::move(socket), receiver, log),
                  crash_on_exception);
  }
}

// The loopback receivers, on 127.0.0.1 port 0, all on one thread of their own. They
// outlive every hookd process of the run.
class receivers {
 public:
  receivers(int count, receipt_log* log) {
    acceptors_.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
      auto& a = acceptors_.emplace_back(ioc_);
      const tcp::endpoint endpoint(net::ip::make_address_v4("127.0.0.1"), 0);
      a.open(endpoint.protocol());
      a.set_option(net::socket_base::reuse_address(true));
      a.bind(endpoint);
      a.listen(net::socket_base::max_listen_connections);
      net::co_spawn(ioc_, accept_loop(&a, i, log), crash_on_exception);
    }
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~receivers() {
    ioc_.stop();
    thread_.join();
  }
  receivers(const receivers&) = delete;
  receivers& operator=(const receivers&) = delete;

  std::string url(int i) const {
    return "http://127.0.0.1:" +
           std::to_string(acceptors_.at(static_cast<std::size_t>(i)).local_endpoint().port()) +
           "/hook/" + std::to_string(i);
  }

 private:
  net::io_context ioc_;
  std::vector<tcp::acceptor> acceptors_;
  std::thread thread_;
};

// Where hookd listens now. The publishers wait here while it is down; the driver marks
// it down before each kill, so a request cut by the kill finds it down and waits for the
// next start instead of hammering a dead port.
class server_state {
 public:
  struct view {
    std::uint16_t port = 0;
    std::uint64_t generation = 0;
    bool stopping = false;
    steady::time_point give_up_at;  // when stopping: the last moment to send anything
    bool abandoned = false;         // hookd will not come back: give up at once
  };

  void up(std::uint16_t port) {
    {
      std::lock_guard lock(mutex_);
      port_ = port;
      ++generation_;
      up_ = true;
    }
    changed_.notify_all();
  }
  void down() {
    std::lock_guard lock(mutex_);
    up_ = false;
  }
  // The publishers send what had no answer once more, until `give_up_at`, then stop.
  void stop_load(steady::time_point give_up_at) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      give_up_at_ = give_up_at;
    }
    changed_.notify_all();
  }
  // hookd did not restart: the publishers stop without waiting for it.
  void abandon() {
    {
      std::lock_guard lock(mutex_);
      abandoned_ = true;
    }
    changed_.notify_all();
  }
  view wait_up() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return up_ || abandoned_; });
    return {port_, generation_, stopping_, give_up_at_, abandoned_};
  }
  // Backs off after a 503 or a failed connection while hookd is up; returns early when
  // hookd restarts.
  void pause(std::uint64_t generation, std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, d, [&] { return generation_ != generation; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint16_t port_ = 0;
  std::uint64_t generation_ = 0;
  bool up_ = false;
  bool stopping_ = false;
  steady::time_point give_up_at_;
  bool abandoned_ = false;
};

// What one publisher saw; read by the driver after the publisher's thread ended.
struct publisher_tally {
  std::vector<std::pair<std::string, int>> accepted;  // event key, deliveries of its 202
  std::size_t resent = 0;            // events answered only when sent again (no answer first)
  std::size_t unanswered = 0;        // requests without an answer, sent again
  std::size_t errors_while_up = 0;   // of those, while hookd was not being killed
  std::size_t busy = 0;              // 503 answers, sent again
  std::vector<std::string> refused;  // any other answer: status and body
  std::vector<std::string> never_answered;  // still without an answer when the load ended
};

struct load_counters {
  std::atomic<std::size_t> accepted{0};
};

std::string event_body(const std::string& key) {
  return R"({"event": {"type": ")" + std::string(k_event_type) + R"(", "payload": {"k": ")" + key +
         R"("}}})";
}

// One publisher: events c<index>-0, c<index>-1, ..., each with its key as the
// Idempotency-Key, until the load stops; a request without an answer is sent again,
// before anything new, until it gets one.
void publish_loop(int index, server_state* server, load_counters* counters,
                  publisher_tally* tally) {
  std::optional<hookd::test::http_client> connection;
  std::uint64_t connection_generation = 0;
  std::deque<std::string> unanswered;
  std::uint64_t next = 0;
  for (;;) {
    const auto now = server->wait_up();
    if (now.abandoned || (now.stopping && (unanswered.empty() || steady::now() > now.give_up_at))) {
      tally->never_answered.assign(unanswered.begin(), unanswered.end());
      return;
    }
    const bool resend = !unanswered.empty();
    const std::string key =
        resend ? unanswered.front() : "c" + std::to_string(index) + "-" + std::to_string(next++);
    if (!connection || connection_generation != now.generation) {
      connection.emplace("127.0.0.1", now.port);
      connection_generation = now.generation;
    }
    hookd::test::http_response r;
    try {
      r = connection->request("POST", "/api/v1/events", event_body(key),
                              {{"X-Token", k_token}, {"Idempotency-Key", key}});
    } catch (const std::exception&) {
      if (!resend) unanswered.push_back(key);
      ++tally->unanswered;
      connection.reset();
      // Killed: wait_up() blocks until the next start. Otherwise a hiccup: back off a
      // little rather than spin on a port that refuses.
      const auto after = server->wait_up();
      if (after.generation == now.generation) {
        ++tally->errors_while_up;
        server->pause(now.generation, 20ms);
      }
      continue;
    }
    if (resend) unanswered.pop_front();
    if (r.status == 503) {
      ++tally->busy;
      unanswered.push_front(key);
      server->pause(now.generation, 100ms);
      continue;
    }
    if (resend) ++tally->resent;
    if (r.status == 202) {
      int deliveries = -1;
      boost::system::error_code ec;
      const json::value v = json::parse(r.body, ec);
      if (!ec && v.is_object()) {
        if (const auto* e = v.as_object().if_contains("event"); e && e->is_object()) {
          if (const auto* d = e->as_object().if_contains("deliveries"); d && d->is_int64()) {
            deliveries = static_cast<int>(d->as_int64());
          }
        }
      }
      tally->accepted.emplace_back(key, deliveries);
      ++counters->accepted;
    } else {
      tally->refused.push_back(key + ": " + std::to_string(r.status) + " " + r.body);
    }
  }
}

std::string tail_of(const fs::path& file, std::size_t bytes) {
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

// Starts, kills and stops hookd on one data folder, its stderr appended to one log.
class hookd_runner {
 public:
  hookd_runner(const chaos_options& o, fs::path work) : options_(o), work_(std::move(work)) {}

  // Starts hookd and returns its port once it printed its listening line; nullopt, with
  // the end of its log on stderr, when it did not.
  std::optional<std::uint16_t> start() {
    const auto started = steady::now();
    std::vector<std::string> argv = {options_.hookd,
                                     "serve",
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--data",
                                     (work_ / "data").string(),
                                     "--threads",
                                     std::to_string(options_.threads),
                                     "--allow-private-targets",
                                     "--retry-schedule",
                                     options_.retry_schedule};
    process_ = std::make_unique<hookd::test::child_process>(
        argv, std::vector<std::string>{k_account_tokens}, log_file().string());
    std::optional<std::string> line;
    try {
      line = process_->read_line(options_.start_timeout);
    } catch (const std::exception& e) {
      std::cerr << "chaos: hookd did not print its listening line: " << e.what() << "\n";
    }
    std::smatch m;
    if (!line || !std::regex_match(*line, m,
                                   std::regex(R"(hookd listening on http://127\.0\.0\.1:(\d+))"))) {
      std::cerr << "chaos: hookd did not start ("
                << (line ? "printed \"" + *line + "\"" : "no line") << "); the end of "
                << log_file().string() << ":\n"
                << tail_of(log_file(), 4000) << "\n";
      return std::nullopt;
    }
    start_seconds_.push_back(seconds_since(started));
    return parse_number<std::uint16_t>(m[1].str());
  }

  // SIGKILL and reap; the exit status as child_process::wait reports it (137 expected).
  int kill() {
    process_->signal(SIGKILL);
    return reap();
  }
  // SIGTERM and reap: hookd finishes what is in flight and closes its database (0 expected).
  int stop() {
    process_->signal(SIGTERM);
    return reap();
  }

  fs::path log_file() const { return work_ / "hookd.log"; }
  const std::vector<double>& start_seconds() const { return start_seconds_; }

 private:
  int reap() {
    const int status = process_->wait();
    process_.reset();
    return status;
  }

  const chaos_options& options_;
  fs::path work_;
  std::unique_ptr<hookd::test::child_process> process_;
  std::vector<double> start_seconds_;
};

hookd::test::http_response call(std::uint16_t port, const std::string& method,
                                const std::string& target, const std::string& body = {}) {
  return hookd::test::http_client("127.0.0.1", port)
      .request(method, target, body, {{"X-Token", k_token}});
}

// On a loss: how hookd itself sees each webhook's deliveries (first page of each status).
void describe_backlog(std::uint16_t port, const std::vector<std::string>& webhook_ids) {
  for (const auto& id : webhook_ids) {
    std::ostringstream line;
    line << "chaos: webhook " << id << " as hookd sees it:";
    for (const char* status : {"pending", "failed", "cancelled"}) {
      try {
        auto r =
            call(port, "GET", "/api/v1/webhooks/" + id + "/deliveries?limit=500&status=" + status);
        const auto v = json::parse(r.body);
        line << " " << status << "=" << v.at("deliveries").as_array().size()
             << (v.at("next_after").is_null() ? "" : "+");
      } catch (const std::exception& e) {
        line << " " << status << "=? (" << e.what() << ")";
      }
    }
    std::cerr << line.str() << "\n";
  }
}

fs::path make_work_folder(const chaos_options& o) {
  if (!o.work.empty()) {
    fs::path work = fs::absolute(o.work);
    fs::remove_all(work);
    fs::create_directories(work);
    return work;
  }
  const char* tmp = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): no threads yet
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/hookd-chaos-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a temporary folder from " + pattern);
  }
  return pattern;
}

int run(const chaos_options& o) {
  const fs::path work = make_work_folder(o);
  const std::uint64_t seed = o.seed.value_or(std::random_device{}());
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<std::int64_t> kill_after(o.kill_min.count(), o.kill_max.count());
  std::cerr << "chaos: " << o.rounds << " rounds, " << o.receivers << " receivers, " << o.clients
            << " clients, kill " << o.kill_min.count() << "-" << o.kill_max.count()
            << " ms after start, seed " << seed << ", work " << work.string() << "\n";

  std::vector<std::string> failures;  // each a reason the run fails, besides a loss
  receipt_log log;
  receivers rx(o.receivers, &log);
  hookd_runner hookd(o, work);
  auto port = hookd.start();
  if (!port) {
    std::cout << "chaos: rounds=" << o.rounds << " FAILED: hookd did not start" << std::endl;
    return 1;
  }

  std::vector<std::string> webhook_ids;
  for (int i = 0; i < o.receivers; ++i) {
    auto created = call(*port, "POST", "/api/v1/webhooks",
                        R"({"webhook": {"name": "chaos )" + std::to_string(i) +
                            R"(", "active": true, "settings": {")" + k_event_type +
                            R"(": true}, "url": ")" + rx.url(i) + R"(", "http_method": "POST"}})");
    if (created.status != 201) {
      std::cerr << "chaos: creating webhook " << i << " got " << created.status << " "
                << created.body << "\n";
      std::cout << "chaos: rounds=" << o.rounds << " FAILED: cannot create the webhooks"
                << std::endl;
      return 1;
    }
    webhook_ids.push_back(std::to_string(json::parse(created.body).at("id").to_number<int>()));
  }

  server_state server;
  load_counters counters;
  std::vector<publisher_tally> tallies(static_cast<std::size_t>(o.clients));
  std::vector<std::thread> publishers;
  publishers.reserve(tallies.size());
  const auto load_started = steady::now();
  server.up(*port);
  for (int i = 0; i < o.clients; ++i) {
    publishers.emplace_back(publish_loop, i, &server, &counters,
                            &tallies[static_cast<std::size_t>(i)]);
  }

  bool started = true;
  for (int round = 1; round <= o.rounds && started; ++round) {
    // The chaos itself: hookd runs under load for a random while, then dies.
    const auto delay = std::chrono::milliseconds(kill_after(random));
    std::this_thread::sleep_for(delay);
    server.down();
    const int status = hookd.kill();
    if (status != 128 + SIGKILL) {
      failures.push_back("round " + std::to_string(round) + ": hookd had exited by itself (" +
                         std::to_string(status) + ") before the kill");
    }
    log.set_run(round);
    port = hookd.start();
    started = port.has_value();
    if (started) server.up(*port);
    std::cerr << "chaos: round " << round << "/" << o.rounds << ": killed after " << delay.count()
              << " ms, " << counters.accepted << " events accepted so far, "
              << (started ? "up again in " + fixed(hookd.start_seconds().back(), 3) + " s"
                          : std::string("did not start again"))
              << "\n";
  }
  if (!started) {
    // Nothing more can be counted without a server to resend the unanswered events to.
    server.abandon();
    for (auto& t : publishers) t.join();
    std::cerr << "chaos: hookd did not restart; data and log kept in " << work.string() << "\n";
    std::cout << "chaos: rounds=" << o.rounds << " FAILED: hookd did not restart" << std::endl;
    return 1;
  }
  server.stop_load(steady::now() + o.drain_timeout);
  for (auto& t : publishers) t.join();
  const double load_seconds = seconds_since(load_started);

  std::size_t accepted = 0;
  std::size_t resent = 0;
  std::size_t busy = 0;
  std::size_t errors_while_up = 0;
  std::size_t unanswered = 0;
  std::unordered_set<std::string> accepted_keys;
  for (const auto& t : tallies) {
    accepted += t.accepted.size();
    resent += t.resent;
    unanswered += t.unanswered;
    busy += t.busy;
    errors_while_up += t.errors_while_up;
    for (const auto& [key, deliveries] : t.accepted) {
      accepted_keys.insert(key);
      if (deliveries != o.receivers) {
        failures.push_back("event " + key + " was accepted with " + std::to_string(deliveries) +
                           " deliveries, expected " + std::to_string(o.receivers));
      }
    }
    for (const auto& r : t.refused) failures.push_back("publish refused: " + r);
    for (const auto& k : t.never_answered) failures.push_back("event " + k + " got no answer");
  }
  const std::size_t expected = accepted * static_cast<std::size_t>(o.receivers);
  std::cerr << "chaos: load done in " << fixed(load_seconds, 1) << " s: " << accepted
            << " events accepted; " << unanswered << " requests got no answer (" << errors_while_up
            << " of them while hookd was not being killed), " << resent
            << " events were accepted when sent again, " << busy
            << " answers were 503; waiting for " << expected << " deliveries\n";

  // Wait for the outstanding deliveries: until all arrived or the deadline passed.
  const auto drain_started = steady::now();
  const auto deadline = drain_started + o.drain_timeout;
  for (;;) {
    const auto step = std::min(deadline, steady::now() + 1s);
    const std::size_t arrived = log.wait_for_pairs(expected, step);
    if (arrived >= expected || steady::now() >= deadline) break;
    std::cerr << "chaos: " << arrived << " of " << expected << " deliveries arrived ("
              << fixed(seconds_since(drain_started), 1) << " s)\n";
  }
  const double drain_seconds = seconds_since(drain_started);

  std::size_t lost = 0;
  std::vector<std::string> missing;
  for (const auto& t : tallies) {
    for (const auto& [key, deliveries] : t.accepted) {
      for (int r = 0; r < o.receivers; ++r) {
        if (log.has(key, r)) continue;
        ++lost;
        if (missing.size() < 10) missing.push_back(key + " to receiver " + std::to_string(r));
      }
    }
  }
  if (lost > 0) {
    describe_backlog(*port, webhook_ids);
    for (const auto& m : missing) std::cerr << "chaos: lost: " << m << "\n";
  }
  // A graceful stop at the end: whatever hookd still sends arrives before the count.
  const int stop_status = hookd.stop();
  if (stop_status != 0) {
    failures.push_back("hookd exited with " + std::to_string(stop_status) + " on SIGTERM");
  }

  const auto t = log.snapshot();
  const std::size_t outside = log.count_outside(accepted_keys);
  if (t.malformed > 0) {
    failures.push_back(std::to_string(t.malformed) +
                       " requests without a webhook-id matching the body's uuid, or an id reused");
  }
  if (outside > 0) {
    failures.push_back(std::to_string(outside) + " deliveries of events never accepted");
  }
  if (t.ids != t.pairs) {
    failures.push_back(std::to_string(t.ids - t.pairs) +
                       " deliveries arrived under a second webhook-id for the same event and "
                       "webhook");
  }
  auto starts = hookd.start_seconds();
  std::sort(starts.begin(), starts.end());
  std::cerr << "chaos: drained in " << fixed(drain_seconds, 2) << " s; hookd started "
            << starts.size() << " times, start to listening median "
            << fixed(starts[starts.size() / 2], 3) << " s, max " << fixed(starts.back(), 3)
            << " s; " << t.requests << " requests received, "
            << t.duplicates - t.same_run_duplicates << " duplicates sent again after a restart, "
            << t.same_run_duplicates
            << " by the run that had sent them; hookd's log: " << hookd.log_file().string() << "\n";
  for (std::size_t i = 0; i < failures.size() && i < 20; ++i) {
    std::cerr << "chaos: FAILED: " << failures[i] << "\n";
  }
  if (failures.size() > 20) std::cerr << "chaos: ... and " << failures.size() - 20 << " more\n";

  const double rate =
      t.ids == 0 ? 0.0 : 100.0 * static_cast<double>(t.duplicates) / static_cast<double>(t.ids);
  std::cout << "chaos: rounds=" << o.rounds << " accepted=" << accepted << " expected=" << expected
            << " delivered=" << t.ids << " lost=" << lost << " duplicates=" << t.duplicates << " ("
            << fixed(rate, 2) << "%)" << std::endl;

  const bool ok = lost == 0 && failures.empty();
  if (ok && o.work.empty()) {
    fs::remove_all(work);
  } else if (!ok) {
    std::cerr << "chaos: data and log kept in " << work.string() << "\n";
  }
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  chaos_options options;
  bool help = false;
  if (auto problem =
          parse_options(std::vector<std::string>(argv + 1, argv + argc), options, help)) {
    std::cerr << "hookd_chaos: " << *problem << "\nRun 'hookd_chaos --help' for usage.\n";
    return 2;
  }
  if (help) {
    std::cout << k_help;
    return 0;
  }
  // A publisher writing to a connection hookd's death just closed must see an error, not
  // die of SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::cerr << "hookd_chaos: " << e.what() << "\n";
    return 1;
  }
}
