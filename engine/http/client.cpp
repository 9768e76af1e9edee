#include "engine/http/client.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <stdexcept>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include "engine/log.hpp"

namespace hookd::engine {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace urls = boost::urls;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;
using error_code = boost::system::error_code;
using address_bytes = std::array<std::uint8_t, 16>;

constexpr auto k_tuple = net::as_tuple(net::use_awaitable);
constexpr std::size_t k_excerpt_bytes = 1024;
constexpr std::uint32_t k_header_limit = 32 * 1024;
// Interim 1xx responses skipped before the final one; more is a broken server.
constexpr int k_max_informational = 8;
// Pools of origins with no connection left are dropped once there are this many.
constexpr std::size_t k_pool_sweep_threshold = 1024;
constexpr std::size_t k_dns_sweep_threshold = 4096;
// A connection keeps its request buffer between requests unless it grew past this.
constexpr std::size_t k_max_kept_buffer = 256 * 1024;

// ---------------------------------------------------------------------------
// Addresses

address_bytes to_bytes(const net::ip::address& a) {
  address_bytes out{};
  if (a.is_v6()) {
    const auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), out.begin());
  } else {
    const auto b = a.to_v4().to_bytes();
    out[10] = 0xff;
    out[11] = 0xff;
    std::copy(b.begin(), b.end(), out.begin() + 12);
  }
  return out;
}

bool is_non_public_v4(std::uint8_t a, std::uint8_t b, std::uint8_t c) noexcept {
  if (a == 0 || a == 10 || a == 127) return true;    // "this network", RFC 1918, loopback
  if (a == 100 && (b & 0xc0) == 64) return true;     // 100.64/10 CGNAT
  if (a == 169 && b == 254) return true;             // link-local
  if (a == 172 && (b & 0xf0) == 16) return true;     // 172.16/12
  if (a == 192 && b == 0 && c == 0) return true;     // 192.0.0/24 IETF protocol assignments
  if (a == 192 && b == 0 && c == 2) return true;     // 192.0.2/24 TEST-NET-1
  if (a == 192 && b == 88 && c == 99) return true;   // 192.88.99/24 6to4 relay anycast
  if (a == 198 && b == 51 && c == 100) return true;  // 198.51.100/24 TEST-NET-2
  if (a == 203 && b == 0 && c == 113) return true;   // 203.0.113/24 TEST-NET-3
  if (a == 192 && b == 168) return true;             // 192.168/16
  if (a == 198 && (b & 0xfe) == 18) return true;     // 198.18/15 benchmarking
  return a >= 224;  // 224/4 multicast, 240/4 reserved, 255.255.255.255 broadcast
}

bool starts_with(const address_bytes& a, std::initializer_list<std::uint8_t> prefix) noexcept {
  return std::equal(prefix.begin(), prefix.end(), a.begin());
}

bool contains(const cidr& network, const address_bytes& a) noexcept {
  const unsigned whole = network.prefix / 8;
  const unsigned rest = network.prefix % 8;
  if (!std::equal(a.begin(), a.begin() + whole, network.address.begin())) return false;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (network.address[whole] & mask);
}

// ---------------------------------------------------------------------------
// Response body: keeps the first KiB for the attempt log and counts the rest, so
// draining a body to keep the connection costs no memory. Past `limit` bytes it
// fails with body_limit and the connection is dropped.

struct excerpt_body {
  struct value_type {
    std::string excerpt;
    std::uint64_t size = 0;
    std::uint64_t limit = std::numeric_limits<std::uint64_t>::max();
  };

  class reader {
   public:
    template <bool is_request, class Fields>
    reader(http::header<is_request, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>&, error_code& ec) { ec = {}; }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, error_code& ec) {
      std::size_t n = 0;
      for (const auto b : beast::buffers_range_ref(buffers)) {
        const auto room = k_excerpt_bytes - body_.excerpt.size();
        body_.excerpt.append(static_cast<const char*>(b.data()), std::min(room, b.size()));
        n += b.size();
      }
      body_.size += n;
      ec = body_.size > body_.limit ? error_code(http::error::body_limit) : error_code();
      return n;
    }

    void finish(error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

using response_parser = http::response_parser<excerpt_body>;

// ---------------------------------------------------------------------------
// Connections and pools

// Where requests go: one pool per origin.
struct origin {
  bool https = false;
  std::string host;  // lower case; an IPv6 literal without brackets
  std::uint16_t port = 0;
  std::optional<net::ip::address> literal;  // set when host is an IP address: no DNS
  std::string host_header;                  // the Host header value
  std::string name;                         // "https://host:port", for messages
};

struct connection {
  connection(const net::any_io_executor& executor, net::ssl::context* tls_context) {
    if (tls_context) {
      tls.emplace(executor, *tls_context);
    } else {
      plain.emplace(executor);
    }
  }
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;  // response bytes; empty between requests
  std::string out;            // the serialized request, reused
  time_point idle_since;
  std::uint64_t generation = 0;  // close_all() retires older connections
};

struct state;
struct pool;

// A request waiting for a connection of a full pool. release() hands it a
// connection (or, when the released one was dropped, the right to open one) and
// cancels its timer; the timer otherwise fires at the attempt deadline.
struct waiter {
  waiter(state& s, pool& p);
  ~waiter();
  waiter(const waiter&) = delete;
  waiter& operator=(const waiter&) = delete;

  state& owner;
  pool& where;
  net::steady_timer timer;
  std::unique_ptr<connection> conn;
  bool granted = false;  // conn, or a slot to open a connection in when conn is null
  bool queued = false;
};

struct pool {
  explicit pool(origin o) : where(std::move(o)) {}
  origin where;
  std::deque<std::unique_ptr<connection>> idle;  // oldest first; taken from the back
  std::size_t open = 0;                          // idle + in use + being opened
  std::deque<waiter*> waiters;                   // invariant: empty while idle is not
};

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct dns_entry {
  std::vector<net::ip::address> addresses;
  time_point expires;
};

// Everything the client owns. Shared with its coroutines, so a request or the idle
// sweeper in flight keeps it alive even if the http_client object goes first.
struct state : std::enable_shared_from_this<state> {
  state(net::any_io_executor ex, http_client_options o)
      : executor(std::move(ex)),
        options(std::move(o)),
        tls(net::ssl::context::tls_client),
        sweep_timer(executor) {}

  // Takes an idle connection or a free slot when nobody is queued before us.
  bool try_acquire(pool& p, std::unique_ptr<connection>& conn);
  void release(pool& p, std::unique_ptr<connection> conn, bool reusable);
  pool& pool_for(bool https, std::string_view host, std::uint16_t port, urls::url_view url);
  bool allowed(const net::ip::address& a) const;
  void close_all();

  net::any_io_executor executor;
  http_client_options options;
  net::ssl::context tls;
  std::unordered_map<std::string, std::unique_ptr<pool>, string_hash, std::equal_to<>> pools;
  std::unordered_map<std::string, dns_entry, string_hash, std::equal_to<>> dns;
  std::string key_scratch;  // pool lookups build their key here: no allocation per request
  // Connections with a request on them right now, so close_all() can cut them.
  std::unordered_set<connection*> busy;
  net::steady_timer sweep_timer;
  bool sweeping = false;
  bool closed = false;
  std::uint64_t generation = 0;
  // Read by other threads (metrics), written by the worker.
  std::atomic<std::uint64_t> connections_opened{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> stale_retries{0};
};

waiter::waiter(state& s, pool& p) : owner(s), where(p), timer(s.executor) {}

waiter::~waiter() {
  if (queued) {
    auto& w = where.waiters;
    w.erase(std::find(w.begin(), w.end(), this));
  } else if (granted) {
    // The request went away (its coroutine was destroyed) before using its turn.
    const bool reusable = conn != nullptr;
    owner.release(where, std::move(conn), reusable);
  }
}

// Holds one slot of a pool for the duration of a request; gives it back (dropping
// the connection) if the request ends without finish().
class lease {
 public:
  lease(state& s, pool& p, std::unique_ptr<connection> c) : s_(s), p_(p), conn(std::move(c)) {}
  ~lease() {
    if (held_) s_.release(p_, std::move(conn), false);
  }
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;

  void finish(bool reusable) {
    held_ = false;
    s_.release(p_, std::move(conn), reusable);
  }

 private:
  state& s_;
  pool& p_;
  bool held_ = true;

 public:
  std::unique_ptr<connection> conn;  // null until opened
};

net::awaitable<void> sweep_idle(std::shared_ptr<state> s) {
  for (;;) {
    const auto now = clock_type::now();
    std::optional<time_point> next;
    for (auto& [key, p] : s->pools) {
      while (!p->idle.empty() && p->idle.front()->idle_since + s->options.idle_timeout <= now) {
        p->idle.pop_front();
        --p->open;
      }
      if (!p->idle.empty()) {
        const auto due = p->idle.front()->idle_since + s->options.idle_timeout;
        if (!next || due < *next) next = due;
      }
    }
    if (!next) break;
    s->sweep_timer.expires_at(*next);
    co_await s->sweep_timer.async_wait(k_tuple);  // cancelled by close_all(): look again
  }
  s->sweeping = false;
}

bool state::try_acquire(pool& p, std::unique_ptr<connection>& conn) {
  if (!p.waiters.empty()) return false;
  if (!p.idle.empty() && p.idle.back()->idle_since + options.idle_timeout <= clock_type::now()) {
    // The newest idle connection is expired, so all are; the sweeper was late.
    p.open -= p.idle.size();
    p.idle.clear();
  }
  if (!p.idle.empty()) {
    conn = std::move(p.idle.back());
    p.idle.pop_back();
    return true;
  }
  if (p.open < options.connections_per_origin) {
    ++p.open;
    return true;
  }
  return false;
}

void state::release(pool& p, std::unique_ptr<connection> conn, bool reusable) {
  if (conn && reusable && !closed && conn->generation == generation) {
    if (conn->out.capacity() > k_max_kept_buffer) std::string().swap(conn->out);
    if (!p.waiters.empty()) {
      waiter* w = p.waiters.front();
      p.waiters.pop_front();
      w->queued = false;
      w->granted = true;
      w->conn = std::move(conn);
      w->timer.cancel();
      return;
    }
    conn->idle_since = clock_type::now();
    p.idle.push_back(std::move(conn));
    if (!sweeping) {
      sweeping = true;
      net::co_spawn(executor, sweep_idle(shared_from_this()), [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::error("http client idle sweeper failed", {{"error", ex.what()}});
        }
      });
    }
    return;
  }
  conn.reset();  // closes the socket
  if (!p.waiters.empty()) {
    // The slot passes to the first waiter, which opens a connection in it.
    waiter* w = p.waiters.front();
    p.waiters.pop_front();
    w->queued = false;
    w->granted = true;
    w->timer.cancel();
    return;
  }
  --p.open;
}

void state::close_all() {
  ++generation;
  // Requests under way end now with an error; their connections are not reused.
  for (connection* c : busy) c->lowest().close();
  for (auto it = pools.begin(); it != pools.end();) {
    auto& p = *it->second;
    p.open -= p.idle.size();
    p.idle.clear();
    if (p.open == 0 && p.waiters.empty()) {
      it = pools.erase(it);
    } else {
      ++it;
    }
  }
  dns.clear();
  sweep_timer.cancel();
}

void append_lower(std::string& out, std::string_view s) {
  for (const char c : s) {
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
}

pool& state::pool_for(bool https, std::string_view host, std::uint16_t port, urls::url_view url) {
  key_scratch.clear();
  key_scratch.append(https ? "https://" : "http://");
  append_lower(key_scratch, host);
  key_scratch.push_back(':');
  char digits[8];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, port);
  key_scratch.append(digits, end);
  if (auto it = pools.find(std::string_view(key_scratch)); it != pools.end()) return *it->second;

  if (pools.size() >= k_pool_sweep_threshold) {
    std::erase_if(
        pools, [](const auto& kv) { return kv.second->open == 0 && kv.second->waiters.empty(); });
  }
  origin o;
  o.https = https;
  o.port = port;
  o.name = key_scratch;
  o.host_header.reserve(host.size() + 6);
  append_lower(o.host_header, host);
  if (port != (https ? 443 : 80)) {
    o.host_header.push_back(':');
    o.host_header.append(digits, end);
  }
  switch (url.host_type()) {
    case urls::host_type::ipv4: {
      const auto b = url.host_ipv4_address().to_bytes();
      o.literal = net::ip::address_v4(net::ip::address_v4::bytes_type{b[0], b[1], b[2], b[3]});
      o.host = o.literal->to_string();
      break;
    }
    case urls::host_type::ipv6: {
      const auto b = url.host_ipv6_address().to_bytes();
      net::ip::address_v6::bytes_type v6{};
      std::copy(b.begin(), b.end(), v6.begin());
      o.literal = net::ip::address_v6(v6);
      o.host = o.literal->to_string();
      break;
    }
    default:
      append_lower(o.host, host);
      break;
  }
  auto p = std::make_unique<pool>(std::move(o));
  auto& ref = *p;
  pools.emplace(key_scratch, std::move(p));
  return ref;
}

bool state::allowed(const net::ip::address& a) const {
  if (options.allow_private_targets) return true;
  const auto bytes = to_bytes(a);
  if (!is_non_public_address(bytes)) return true;
  return std::any_of(options.allowed_networks.begin(), options.allowed_networks.end(),
                     [&](const cidr& n) { return contains(n, bytes); });
}

// ---------------------------------------------------------------------------
// Requests

http_outcome failed(error_kind kind, std::string message) {
  http_outcome out;
  out.error = kind;
  out.message = std::move(message);
  return out;
}

std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  });
}

bool is_field_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == 0; });
}

// Headers the client writes itself; the same names among the extra headers are
// ignored rather than sent twice.
bool is_client_header(std::string_view name) {
  for (std::string_view own :
       {"host", "user-agent", "content-length", "connection", "transfer-encoding"}) {
    if (beast::iequals(name, own)) return true;
  }
  return false;
}

std::optional<std::string> request_problem(const http_request& r) {
  if (!is_token(r.method)) return "invalid HTTP method \"" + std::string(r.method) + "\"";
  for (const auto& [name, value] : r.headers) {
    if (!is_token(name) || !is_field_value(value)) {
      return "invalid request header \"" + std::string(name) + "\"";
    }
  }
  return std::nullopt;
}

// The whole request in one buffer, written with one write (the hot path).
void serialize(std::string& out, const http_request& r, std::string_view target, const origin& o,
               std::string_view user_agent) {
  std::size_t size = r.method.size() + target.size() + o.host_header.size() + user_agent.size() +
                     r.body.size() + 128;
  bool has_content_type = false;
  for (const auto& [name, value] : r.headers) {
    size += name.size() + value.size() + 4;
    has_content_type = has_content_type || beast::iequals(name, "content-type");
  }
  out.clear();
  out.reserve(size);
  out.append(r.method).push_back(' ');
  if (target.empty() || target.front() != '/') out.push_back('/');
  out.append(target).append(" HTTP/1.1\r\nHost: ").append(o.host_header);
  out.append("\r\nUser-Agent: ").append(user_agent).append("\r\n");
  const bool body_method = r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
  if (!r.body.empty() && !has_content_type) out.append("Content-Type: application/json\r\n");
  if (!r.body.empty() || body_method) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, r.body.size());
    out.append("Content-Length: ").append(digits, end).append("\r\n");
  }
  for (const auto& [name, value] : r.headers) {
    if (is_client_header(name)) continue;
    out.append(name).append(": ").append(value).append("\r\n");
  }
  out.append("\r\n").append(r.body);
}

// Stream-agnostic operations: not coroutines, they pick the stream and return the
// operation for the caller to await (the connection outlives it).
net::awaitable<std::tuple<error_code, std::size_t>> write_request(connection& c) {
  if (c.tls) return net::async_write(*c.tls, net::buffer(c.out), k_tuple);
  return net::async_write(*c.plain, net::buffer(c.out), k_tuple);
}

net::awaitable<std::tuple<error_code, std::size_t>> read_response(connection& c,
                                                                  response_parser& p) {
  if (c.tls) return http::async_read(*c.tls, c.buffer, p, k_tuple);
  return http::async_read(*c.plain, c.buffer, p, k_tuple);
}

// The peer closed or reset the connection.
bool is_closed(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::connection_aborted || ec == net::error::broken_pipe ||
         ec == net::ssl::error::stream_truncated;
}

bool is_ssl_error(const error_code& ec) {
  return ec.category() == net::error::get_ssl_category() ||
         ec.category() == net::ssl::error::get_stream_category();
}

http_outcome transport_failure(const error_code& ec, bool response_started,
                               std::chrono::milliseconds attempt_timeout) {
  if (ec == beast::error::timeout) {
    return failed(error_kind::timeout,
                  (response_started ? "response incomplete after " : "no response within ") +
                      millis(attempt_timeout));
  }
  if (is_closed(ec)) {
    return failed(error_kind::connect,
                  std::string(response_started ? "connection closed mid-response: "
                                               : "connection closed before a response: ") +
                      ec.message());
  }
  if (ec.category() == http::make_error_code(http::error::end_of_stream).category()) {
    return failed(error_kind::protocol, "malformed HTTP response: " + ec.message());
  }
  if (is_ssl_error(ec)) return failed(error_kind::tls, "TLS error: " + ec.message());
  return failed(error_kind::connect, "connection failed: " + ec.message());
}

std::string tls_failure(const error_code& ec, SSL* ssl, const origin& o) {
  std::string m = "TLS handshake with " + o.name + " failed: " + ec.message();
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    m.append(" (").append(X509_verify_cert_error_string(verify)).append(")");
  } else if (ERR_GET_REASON(ec.value()) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    m.append(" (certificate is not valid for ").append(o.host).append(")");
  }
  return m;
}

// Threads for blocking getaddrinfo calls, shared by every client of the process.
net::thread_pool& dns_pool() {
  static net::thread_pool pool(4);
  return pool;
}

struct dns_lookup {
  explicit dns_lookup(const net::any_io_executor& executor) : timer(executor) {}
  net::steady_timer timer;  // the deadline; cancelled when the answer arrives
  std::vector<net::ip::address> addresses;
  int error = 0;  // getaddrinfo's result
  bool done = false;
};

struct resolved {
  std::vector<net::ip::address> addresses;
  http_outcome failure;  // error none when addresses were found
};

net::awaitable<resolved> resolve(std::shared_ptr<state> s, std::string host, time_point deadline,
                                 std::chrono::milliseconds budget) {
  resolved r;
  if (auto it = s->dns.find(host); it != s->dns.end() && it->second.expires > clock_type::now()) {
    r.addresses = it->second.addresses;
    co_return r;
  }
  // getaddrinfo blocks, and Asio's resolver runs it on one thread per io_context, where
  // one slow name server would hold up every other lookup of the worker and outlive
  // the attempt's deadline. Lookups run on a small shared pool instead, and the
  // attempt stops waiting at its deadline; a late answer is dropped.
  auto lookup = std::make_shared<dns_lookup>(s->executor);
  lookup->timer.expires_at(deadline);
  // The lookup (its timer belongs to the worker's io_context) must never be released
  // on a pool thread: the pool's handler hands its reference on to the worker.
  net::post(dns_pool(), [lookup, host, executor = s->executor]() mutable {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
    std::vector<net::ip::address> addresses;
    for (addrinfo* a = found; rc == 0 && a; a = a->ai_next) {
      if (a->ai_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
        net::ip::address_v4::bytes_type b;
        std::memcpy(b.data(), &in->sin_addr, b.size());
        addresses.emplace_back(net::ip::address_v4(b));
      } else if (a->ai_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
        net::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), &in6->sin6_addr, b.size());
        addresses.emplace_back(net::ip::address_v6(b, in6->sin6_scope_id));
      }
    }
    if (found) ::freeaddrinfo(found);
    net::post(executor, [lookup = std::move(lookup), rc, addresses = std::move(addresses)]() mutable {
      lookup->error = rc;
      lookup->addresses = std::move(addresses);
      lookup->done = true;
      lookup->timer.cancel();
    });
  });
  // Runs on the worker's only thread, so the answer cannot arrive before this wait.
  co_await lookup->timer.async_wait(k_tuple);
  if (!lookup->done) {
    r.failure =
        failed(error_kind::timeout, "DNS lookup of " + host + " timed out after " + millis(budget));
    co_return r;
  }
  if (lookup->error != 0 || lookup->addresses.empty()) {
    r.failure =
        failed(error_kind::dns, "DNS lookup of " + host + " failed: " +
                                    (lookup->error != 0 ? std::string(gai_strerror(lookup->error))
                                                        : std::string("no addresses")));
    co_return r;
  }
  for (const auto& a : lookup->addresses) {
    if (std::find(r.addresses.begin(), r.addresses.end(), a) == r.addresses.end()) {
      r.addresses.push_back(a);
    }
  }
  if (s->dns.size() >= k_dns_sweep_threshold) {
    const auto now = clock_type::now();
    std::erase_if(s->dns, [now](const auto& kv) { return kv.second.expires <= now; });
  }
  s->dns.insert_or_assign(std::move(host),
                          dns_entry{r.addresses, clock_type::now() + s->options.dns_ttl});
  co_return r;
}

struct opened {
  std::unique_ptr<connection> conn;
  http_outcome failure;  // error none when conn is set
};

// Resolves, connects to the first allowed address that answers, and for https
// completes the TLS handshake, all within connect_timeout (and the attempt deadline).
net::awaitable<opened> open_connection(std::shared_ptr<state> s, origin o,
                                       time_point attempt_deadline) {
  const auto deadline = std::min(clock_type::now() + s->options.connect_timeout, attempt_deadline);
  const auto budget =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  opened r;
  std::vector<net::ip::address> addresses;
  if (o.literal) {
    addresses.push_back(*o.literal);
  } else {
    auto found = co_await resolve(s, o.host, deadline, budget);
    if (found.failure.error != error_kind::none) {
      r.failure = std::move(found.failure);
      co_return r;
    }
    addresses = std::move(found.addresses);
  }

  std::string refused;  // addresses skipped as non-public
  std::string last_failure;
  for (const auto& address : addresses) {
    const tcp::endpoint endpoint(address, o.port);
    if (!s->allowed(address)) {
      if (!refused.empty()) refused.append(", ");
      refused.append(address.to_string());
      continue;
    }
    auto c = std::make_unique<connection>(s->executor, o.https ? &s->tls : nullptr);
    c->generation = s->generation;
    auto& stream = c->lowest();
    stream.expires_at(deadline);
    auto [ec] = co_await stream.async_connect(endpoint, k_tuple);
    if (ec == beast::error::timeout) {
      r.failure = failed(error_kind::timeout, "connect to " + o.name + " (" +
                                                  endpoint.address().to_string() +
                                                  ") timed out after " + millis(budget));
      co_return r;
    }
    if (ec) {
      last_failure = "connect to " + o.name + " (" + address.to_string() + "): " + ec.message();
      continue;
    }
    s->connections_opened.fetch_add(1, std::memory_order_relaxed);
    error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);  // requests are written whole
    if (!c->tls) {
      r.conn = std::move(c);
      co_return r;
    }

    SSL* ssl = c->tls->native_handle();
    if (!o.literal) SSL_set_tlsext_host_name(ssl, o.host.c_str());  // SNI is for names only
    // asio checks the name; OpenSSL's own check only makes the failure reason precise.
    c->tls->set_verify_callback(net::ssl::host_name_verification(o.host));
    if (o.literal) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), o.host.c_str());
    } else {
      SSL_set1_host(ssl, o.host.c_str());
    }
    stream.expires_at(deadline);
    auto [hec] = co_await c->tls->async_handshake(net::ssl::stream_base::client, k_tuple);
    if (hec == beast::error::timeout) {
      r.failure = failed(error_kind::timeout,
                         "TLS handshake with " + o.name + " timed out after " + millis(budget));
      co_return r;
    }
    if (hec) {
      r.failure = failed(error_kind::tls, tls_failure(hec, ssl, o));
      co_return r;
    }
    r.conn = std::move(c);
    co_return r;
  }
  if (!last_failure.empty()) {
    if (!refused.empty()) last_failure += "; refused non-public " + refused;
    r.failure = failed(error_kind::connect, std::move(last_failure));
  } else if (!refused.empty()) {
    r.failure = failed(error_kind::blocked_destination,
                       "destination " + o.name + " has non-public address " + refused +
                           " (loopback, private, link-local, multicast or reserved); refused "
                           "unless allow_private_targets or allowed_networks permit it");
  } else {
    r.failure = failed(error_kind::dns, "DNS lookup of " + o.host + " returned no addresses");
  }
  co_return r;
}

struct exchanged {
  std::unique_ptr<connection> conn;
  http_outcome outcome;
  bool reusable = false;
  // Failed before any response byte on a reused connection: the server closed it
  // while it sat in the pool and never saw a complete request, so a retry is safe.
  bool stale = false;
};

// Writes the serialized request in conn->out and reads the response.
net::awaitable<exchanged> exchange(std::unique_ptr<connection> c, time_point deadline, bool reused,
                                   bool head, std::size_t max_body,
                                   std::chrono::milliseconds attempt_timeout) {
  exchanged r;
  c->buffer.clear();
  c->lowest().expires_at(deadline);
  auto [wec, wn] = co_await write_request(*c);
  if (wec) {
    r.stale = reused && wec != beast::error::timeout;
    r.outcome =
        wec == beast::error::timeout
            ? failed(error_kind::timeout, "request not sent within " + millis(attempt_timeout))
            : transport_failure(wec, false, attempt_timeout);
    r.conn = std::move(c);
    co_return r;
  }

  std::optional<response_parser> parser;
  bool truncated = false;
  for (int interim = 0;; ++interim) {
    parser.emplace();
    parser->header_limit(k_header_limit);
    parser->body_limit(boost::none);  // excerpt_body enforces max_body itself
    parser->get().body().limit = max_body;
    if (head) parser->skip(true);
    c->lowest().expires_at(deadline);
    auto [ec, n] = co_await read_response(*c, *parser);
    if (ec == http::error::body_limit) {
      truncated = true;
    } else if (ec) {
      const bool started = parser->got_some() || interim > 0;
      r.stale = reused && !started && is_closed(ec);
      r.outcome = transport_failure(ec, started, attempt_timeout);
      r.conn = std::move(c);
      co_return r;
    }
    const unsigned status = parser->get().result_int();
    if (truncated || status < 100 || status >= 200 || status == 101 ||
        interim == k_max_informational) {
      break;
    }
  }

  auto& res = parser->get();
  r.outcome.status = res.result_int();
  r.outcome.body_excerpt = std::move(res.body().excerpt);
  if (auto it = res.find(http::field::retry_after); it != res.end()) {
    r.outcome.retry_after = std::string(it->value());
  }
  if (r.outcome.status < 200 || r.outcome.status >= 300) {
    r.outcome.error = error_kind::http_status;
    r.outcome.message = "HTTP " + std::to_string(r.outcome.status);
  }
  r.reusable = !truncated && parser->is_done() && res.keep_alive() && c->buffer.size() == 0 &&
               r.outcome.status != 101;
  r.conn = std::move(c);
  co_return r;
}

struct target_url {
  urls::url_view origin;  // scheme and authority only
  bool https = false;
  std::uint16_t port = 0;
  std::string_view host;    // as written in the URL (brackets around IPv6)
  std::string_view target;  // path and query, sent as written
};

// Boost.URL checks scheme and authority; the path and query are taken as written,
// since receivers expect Rack-style literal brackets (`tags[]=a`) that RFC 3986 does
// not allow unencoded. Only bytes that would break the request line are refused.
std::optional<target_url> parse_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const auto authority_end = url.find_first_of("/?#", scheme_end + 3);
  std::string_view rest;
  if (authority_end != std::string_view::npos) {
    rest = url.substr(authority_end);
    rest = rest.substr(0, rest.find('#'));
    url = url.substr(0, authority_end);
  }
  if (!std::all_of(rest.begin(), rest.end(),
                   [](unsigned char c) { return c > 0x20 && c != 0x7f; })) {
    return std::nullopt;
  }
  const auto parsed = urls::parse_absolute_uri(url);
  if (!parsed) return std::nullopt;
  target_url t;
  t.origin = *parsed;
  const auto& u = t.origin;
  if (u.scheme_id() == urls::scheme::https) {
    t.https = true;
  } else if (u.scheme_id() != urls::scheme::http) {
    return std::nullopt;
  }
  if (!u.has_authority() || u.encoded_host().empty()) return std::nullopt;
  if (u.host_type() == urls::host_type::ipvfuture) return std::nullopt;
  t.host = u.encoded_host();
  if (u.host_type() == urls::host_type::name && t.host.find('%') != std::string_view::npos) {
    return std::nullopt;  // percent-encoded host names are not resolvable as written
  }
  t.port = t.https ? 443 : 80;
  if (u.has_port() && !u.port().empty()) {
    t.port = u.port_number();
    if (t.port == 0) return std::nullopt;
  }
  t.target = rest;
  return t;
}

net::awaitable<http_outcome> attempt(std::shared_ptr<state> s, http_request request,
                                     time_point deadline) {
  const auto url = parse_url(request.url);
  if (!url) {
    co_return failed(error_kind::protocol, "invalid URL \"" + std::string(request.url) +
                                               "\": not an absolute http(s) URL");
  }
  if (auto problem = request_problem(request)) co_return failed(error_kind::protocol, *problem);

  pool& p = s->pool_for(url->https, url->host, url->port, url->origin);
  std::unique_ptr<connection> conn;
  if (!s->try_acquire(p, conn)) {
    waiter w(*s, p);
    w.timer.expires_at(deadline);
    p.waiters.push_back(&w);
    w.queued = true;
    co_await w.timer.async_wait(k_tuple);
    // A turn that came too late is handed on by the waiter's destructor.
    if (!w.granted || clock_type::now() >= deadline) {
      co_return failed(error_kind::timeout, "no free connection to " + p.where.name + " within " +
                                                millis(s->options.attempt_timeout) + " (" +
                                                std::to_string(p.open) + " in use)");
    }
    w.granted = false;
    conn = std::move(w.conn);
  }
  lease held(*s, p, std::move(conn));

  const bool head = request.method == "HEAD";
  bool reused = held.conn != nullptr;
  const std::uint64_t generation_at_start = s->generation;
  for (int tries = 0;; ++tries) {
    if (!held.conn) {
      auto fresh = co_await open_connection(s, p.where, deadline);
      if (!fresh.conn) co_return std::move(fresh.failure);
      held.conn = std::move(fresh.conn);
    }
    serialize(held.conn->out, request, url->target, p.where, s->options.user_agent);
    connection* in_use = held.conn.get();
    s->busy.insert(in_use);
    auto done = co_await exchange(std::move(held.conn), deadline, reused, head,
                                  s->options.max_response_body, s->options.attempt_timeout);
    s->busy.erase(in_use);
    // Not after close_all(): a request cut on purpose is not sent again.
    if (done.stale && tries == 0 && !s->closed && s->generation == generation_at_start) {
      // The dropped connection's slot carries over to its replacement.
      s->stale_retries.fetch_add(1, std::memory_order_relaxed);
      log::write(log::level::debug, "stale keep-alive connection replaced",
                 {{"origin", p.where.name}, {"error", done.outcome.message}});
      reused = false;
      continue;
    }
    if (done.outcome.error != error_kind::none && done.outcome.error != error_kind::http_status) {
      done.outcome.message =
          std::string(request.method) + " " + p.where.name + ": " + done.outcome.message;
    }
    done.outcome.reused_connection = reused;
    held.conn = std::move(done.conn);
    held.finish(done.reusable);
    co_return std::move(done.outcome);
  }
}

net::awaitable<http_outcome> run(std::shared_ptr<state> s, http_request request) {
  const auto start = clock_type::now();
  s->requests.fetch_add(1, std::memory_order_relaxed);
  http_outcome out = co_await attempt(s, request, start + s->options.attempt_timeout);
  out.duration = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
  co_return out;
}

}  // namespace

std::string_view to_string(error_kind k) noexcept {
  switch (k) {
    case error_kind::none:
      return "none";
    case error_kind::timeout:
      return "timeout";
    case error_kind::connect:
      return "connect";
    case error_kind::tls:
      return "tls";
    case error_kind::dns:
      return "dns";
    case error_kind::http_status:
      return "http_status";
    case error_kind::protocol:
      return "protocol";
    case error_kind::blocked_destination:
      return "blocked_destination";
  }
  return "none";
}

std::optional<cidr> cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  const std::string address_text(text.substr(0, slash));
  if (address_text.empty() || address_text.find('%') != std::string::npos) return std::nullopt;
  error_code ec;
  const auto address = net::ip::make_address(address_text, ec);
  if (ec) return std::nullopt;
  const unsigned bits = address.is_v4() ? 32 : 128;
  unsigned prefix = bits;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    prefix = 0;
    for (const char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (prefix > bits) return std::nullopt;
  }
  cidr out;
  out.address = to_bytes(address);
  out.prefix = prefix + (128 - bits);
  // Host bits are cleared, so "10.1.2.3/8" is the network 10.0.0.0/8.
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned keep = std::min(8u, out.prefix > i * 8 ? out.prefix - i * 8 : 0u);
    out.address[i] &= static_cast<std::uint8_t>(0xff00u >> keep);
  }
  return out;
}

bool is_non_public_address(const std::array<std::uint8_t, 16>& a) noexcept {
  // IPv4-mapped (::ffff:0:0/96) and the deprecated IPv4-compatible form (::/96, which
  // also covers :: and ::1): judge the embedded IPv4 address.
  if (starts_with(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}) ||
      starts_with(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})) {
    return is_non_public_v4(a[12], a[13], a[14]);
  }
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address they embed.
  if (starts_with(a, {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})) {
    return is_non_public_v4(a[12], a[13], a[14]);
  }
  // IPv4-translated (::ffff:0:0:0/96) and local-use NAT64 (64:ff9b:1::/48).
  if (starts_with(a, {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0})) {
    return is_non_public_v4(a[12], a[13], a[14]);
  }
  if (starts_with(a, {0, 0x64, 0xff, 0x9b, 0, 1})) return true;
  if (starts_with(a, {0x20, 0x02})) return is_non_public_v4(a[2], a[3], a[4]);
  if (starts_with(a, {0x01, 0, 0, 0, 0, 0, 0, 0})) return true;  // 100::/64 discard
  if (starts_with(a, {0x20, 0x01, 0x0d, 0xb8})) return true;     // 2001:db8::/32 documentation
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return true;        // fec0::/10 site-local
  if ((a[0] & 0xfe) == 0xfc) return true;                        // fc00::/7 unique local
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return true;        // fe80::/10 link-local
  return a[0] == 0xff;                                           // ff00::/8 multicast
}

struct http_client::impl {
  std::shared_ptr<state> s;
};

http_client::http_client(boost::asio::any_io_executor executor, http_client_options options)
    : impl_(std::make_unique<impl>()) {
  if (options.connections_per_origin == 0) {
    throw std::invalid_argument("http_client_options.connections_per_origin must be at least 1");
  }
  auto s = std::make_shared<state>(std::move(executor), std::move(options));
  s->tls.set_default_verify_paths();
  if (!s->options.extra_ca_file.empty()) {
    error_code ec;
    s->tls.load_verify_file(s->options.extra_ca_file, ec);
    if (ec) {
      throw std::runtime_error("http_client_options.extra_ca_file: cannot load \"" +
                               s->options.extra_ca_file + "\": " + ec.message());
    }
  }
  s->tls.set_verify_mode(net::ssl::verify_peer);
  SSL_CTX_set_min_proto_version(s->tls.native_handle(), TLS1_2_VERSION);
  impl_->s = std::move(s);
}

http_client::~http_client() {
  impl_->s->closed = true;
  impl_->s->close_all();
}

boost::asio::awaitable<http_outcome> http_client::send(http_request request) {
  return run(impl_->s, request);
}

void http_client::close_all() { impl_->s->close_all(); }

http_client_stats http_client::stats() const noexcept {
  const auto& s = *impl_->s;
  return {s.connections_opened.load(std::memory_order_relaxed),
          s.requests.load(std::memory_order_relaxed),
          s.stale_retries.load(std::memory_order_relaxed)};
}

}  // namespace hookd::engine
