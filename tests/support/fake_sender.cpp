// The scripted receivers: shared state under one mutex, one sender per worker. A held
// request waits on a steady_timer that never expires on its own; release() posts the
// timer's cancellation to the worker that owns it, close_all() cancels its own.
#include "tests/support/fake_sender.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "engine/registry/webhook_url.hpp"
namespace hookd::test {
namespace {

namespace net = boost::asio;

}  // namespace

fake_reply fake_reply::status(unsigned code, std::string retry_after) {
  fake_reply r;
  r.outcome.status = code;
  r.outcome.error =
      code >= 200 && code < 300 ? engine::error_kind::none : engine::error_kind::http_status;
  if (r.outcome.error != engine::error_kind::none) {
    r.outcome.message = "the fake receiver answered " + std::to_string(code);
  }
  r.outcome.body_excerpt = "{\"status\": " + std::to_string(code) + "}";
  r.outcome.retry_after = std::move(retry_after);
  return r;
}

fake_reply fake_reply::failure(engine::error_kind kind) {
  fake_reply r;
  r.outcome.error = kind;
  r.outcome.message = "fake " + std::string(engine::to_string(kind)) + " failure";
  return r;
}

fake_reply fake_reply::crashing() {
  fake_reply r;
  r.crash = true;
  return r;
}

fake_reply fake_reply::held() const {
  fake_reply r = *this;
  r.hold = true;
  return r;
}

std::string fake_receivers::origin_of(std::string_view url) {
  const auto scheme = url.find("://");
  const auto path = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  return std::string(url.substr(0, path));
}

// A request waiting for release() or close_all().
struct held_request {
  explicit held_request(const net::any_io_executor& ex)
      : timer(ex, net::steady_timer::time_point::max()) {}
  net::steady_timer timer;
  const void* owner = nullptr;  // the sender (worker) it runs on
  std::string url;
  bool cut = false;  // ended by close_all: answers as a closed connection
};

struct fake_receivers::state {
  struct script {
    std::vector<fake_reply> replies;
    std::size_t next = 0;
  };
  struct origin_load {
    std::size_t now = 0;
    std::size_t max = 0;
  };

  mutable std::mutex mutex;
  std::map<std::string, script, std::less<>> scripts;
  std::map<std::string, std::vector<fake_request>, std::less<>> requests;
  std::map<std::string, origin_load, std::less<>> load;
  std::deque<std::shared_ptr<held_request>> held;  // oldest first
  std::function<void()> on_event;

  void notify() {
    std::function<void()> fn;
    {
      std::lock_guard lock(mutex);
      fn = on_event;
    }
    if (fn) fn();
  }

  // The URL as the webhook registered it: scheme, Host header and request target.
  static std::string full_url(const engine::http_request& request) {
    return std::string(request.url->https ? "https://" : "http://") + request.url->host_header +
           std::string(request.target);
  }

  // Records the request, counts it as under way for its origin and picks its answer.
  fake_reply begin(const engine::http_request& request) {
    const std::string full = full_url(request);
    fake_reply reply = fake_reply::status(200);
    {
      std::lock_guard lock(mutex);
      fake_request seen{std::string(request.method), full, std::string(request.body), {}};
      for (const auto& [name, value] : request.headers) {
        if (name == "webhook-id") seen.delivery = std::string(value);
      }
      // GET and DELETE carry the query in the URL: the script is keyed by the URL
      // without it.
      const std::string url(full.substr(0, full.find('?')));
      requests[url].push_back(std::move(seen));
      if (auto it = scripts.find(url); it != scripts.end() && !it->second.replies.empty()) {
        auto& s = it->second;
        reply = s.replies[std::min(s.next, s.replies.size() - 1)];
        ++s.next;
      }
      auto& l = load[origin_of(url)];
      ++l.now;
      l.max = std::max(l.max, l.now);
    }
    notify();
    return reply;
  }

  void end(const std::string& origin) {
    {
      std::lock_guard lock(mutex);
      --load[origin].now;
    }
    notify();
  }
};

// One worker's sender.
class fake_receivers::sender final : public engine::sender {
 public:
  explicit sender(std::shared_ptr<state> s) : state_(std::move(s)) {}

  net::awaitable<engine::http_outcome> send(engine::http_request request) override {
    const std::string full = state::full_url(request);
    const std::string url(full.substr(0, full.find('?')));
    const std::string origin = origin_of(url);
    const fake_reply reply = state_->begin(request);
    // Ends the request's count however the coroutine leaves (answer, crash, cut).
    struct under_way {
      state* s;
      const std::string& origin;
      ~under_way() { s->end(origin); }
    } guard{state_.get(), origin};

    if (reply.crash) throw std::runtime_error("fake receiver: scripted crash of the attempt");
    const auto ex = co_await net::this_coro::executor;
    if (!reply.hold) {
      // Answers asynchronously, as a socket would.
      co_await net::post(ex, net::use_awaitable);
      co_return reply.outcome;
    }
    auto h = std::make_shared<held_request>(ex);
    h->owner = this;
    h->url = url;
    {
      std::lock_guard lock(state_->mutex);
      state_->held.push_back(h);
    }
    state_->notify();
    co_await h->timer.async_wait(net::as_tuple(net::use_awaitable));
    if (h->cut) {
      engine::http_outcome closed;
      closed.error = engine::error_kind::connect;
      closed.message = "fake receiver: connection closed by close_all";
      co_return closed;
    }
    co_return reply.outcome;
  }

  // On the worker's own thread: cancels its held requests, which answer as closed.
  void close_all() override {
    std::vector<std::shared_ptr<held_request>> mine;
    {
      std::lock_guard lock(state_->mutex);
      std::erase_if(state_->held, [&](const std::shared_ptr<held_request>& h) {
        if (h->owner != this) return false;
        mine.push_back(h);
        return true;
      });
    }
    for (const auto& h : mine) {
      h->cut = true;
      h->timer.cancel();
    }
  }

  std::uint64_t connections_opened() const override { return 0; }

 private:
  std::shared_ptr<state> state_;
};

fake_receivers::fake_receivers() : state_(std::make_shared<state>()) {}
fake_receivers::~fake_receivers() = default;

void fake_receivers::script(const std::string& url, std::vector<fake_reply> replies) {
  std::lock_guard lock(state_->mutex);
  state_->scripts[url] = state::script{std::move(replies), 0};
}

engine::sender_factory fake_receivers::senders() {
  return [s = state_](net::io_context&) -> std::unique_ptr<engine::sender> {
    return std::make_unique<sender>(s);
  };
}

void fake_receivers::on_event(std::function<void()> fn) {
  std::lock_guard lock(state_->mutex);
  state_->on_event = std::move(fn);
}

std::size_t fake_receivers::attempts(std::string_view url) const {
  std::lock_guard lock(state_->mutex);
  const auto it = state_->requests.find(url);
  return it == state_->requests.end() ? 0 : it->second.size();
}

std::size_t fake_receivers::attempts() const {
  std::lock_guard lock(state_->mutex);
  std::size_t n = 0;
  for (const auto& [url, list] : state_->requests) n += list.size();
  return n;
}

std::vector<fake_request> fake_receivers::requests(std::string_view url) const {
  std::lock_guard lock(state_->mutex);
  const auto it = state_->requests.find(url);
  return it == state_->requests.end() ? std::vector<fake_request>{} : it->second;
}

std::size_t fake_receivers::held(std::string_view url) const {
  std::lock_guard lock(state_->mutex);
  std::size_t n = 0;
  for (const auto& h : state_->held) n += h->url == url ? 1 : 0;
  return n;
}

std::size_t fake_receivers::max_concurrent(std::string_view origin) const {
  std::lock_guard lock(state_->mutex);
  const auto it = state_->load.find(origin);
  return it == state_->load.end() ? 0 : it->second.max;
}

void fake_receivers::reset_max_concurrent(std::string_view origin) {
  std::lock_guard lock(state_->mutex);
  auto& l = state_->load[std::string(origin)];
  l.max = l.now;
}

bool fake_receivers::release(std::string_view url) {
  std::shared_ptr<held_request> h;
  {
    std::lock_guard lock(state_->mutex);
    const auto it = std::find_if(state_->held.begin(), state_->held.end(),
                                 [&](const auto& r) { return r->url == url; });
    if (it == state_->held.end()) return false;
    h = *it;
    state_->held.erase(it);
  }
  // The timer belongs to its worker's thread: cancelled there.
  net::post(h->timer.get_executor(), [h] { h->timer.cancel(); });
  return true;
}

}  // namespace hookd::test
