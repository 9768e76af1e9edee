// open_connection and its TLS context: addresses tried in order, non-public ones
// refused, SNI and host name or IP verification, failures explained.

#include "engine/http/connector.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include "engine/log.hpp"

namespace hookd::engine::http_detail {
namespace {

using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

constexpr auto k_tuple = net::as_tuple(net::use_awaitable);

using http_detail::failed;
using http_detail::millis;

ip_bytes bytes_of(const net::ip::address& a) {
  return a.is_v6() ? a.to_v6().to_bytes()
                   : net::ip::make_address_v6(net::ip::v4_mapped, a.to_v4()).to_bytes();
}

std::string tls_failure(const error_code& ec, SSL* ssl, const destination& d) {
  std::string m = "TLS handshake with " + d.name + " failed: " + ec.message();
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    m.append(" (").append(X509_verify_cert_error_string(verify)).append(")");
  } else if (ERR_GET_REASON(ec.value()) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    m.append(" (certificate is not valid for ").append(d.host).append(")");
  }
  return m;
}

resolver_options resolver_options_of(const http_client_options& o) {
  resolver_options r;
  r.ttl = o.dns_ttl;
  r.lookup = o.lookup;
  return r;
}

}  // namespace

connector::connector(net::any_io_executor ex, const http_client_options& options)
    : executor(std::move(ex)),
      tls(net::ssl::context::tls_client),
      policy(options.allow_private_targets, options.allowed_networks),
      connect_timeout(options.connect_timeout),
      dns(std::make_shared<resolver>(executor, resolver_options_of(options))) {
  if (!options.extra_ca_file.empty()) {
    error_code ec;
    tls.load_verify_file(options.extra_ca_file, ec);
    if (ec) {
      throw std::runtime_error("http_client_options.extra_ca_file: cannot load \"" +
                               options.extra_ca_file + "\": " + ec.message());
    }
  }
  tls.set_verify_mode(net::ssl::verify_peer);
  SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
}

net::ssl::context& connector::tls_context() {
  std::call_once(system_store_loaded, [this] {
    // A store that cannot be read leaves no trust anchors: every handshake then fails
    // verification, with its reason in the attempt's error.
    error_code ignored;
    tls.set_default_verify_paths(ignored);
  });
  return tls;
}

net::awaitable<opened> open_connection(std::shared_ptr<connector> c, destination where,
                                       time_point attempt_deadline) {
  const auto deadline = std::min(clock_type::now() + c->connect_timeout, attempt_deadline);
  const auto budget =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  opened r;
  std::vector<net::ip::address> addresses;
  if (where.literal) {
    addresses.push_back(*where.literal);
  } else {
    auto found = co_await resolve(c->dns, where.host, deadline, budget);
    if (found.error != error_kind::none) {
      r.failure = failed(found.error, std::move(found.message));
      co_return r;
    }
    addresses = std::move(found.addresses);
  }

  std::string refused;  // addresses skipped as non-public
  std::string last_failure;
  for (const auto& address : addresses) {
    const tcp::endpoint endpoint(address, where.port);
    if (!c->policy.allows(bytes_of(address))) {
      if (!refused.empty()) refused.append(", ");
      refused.append(address.to_string());
      continue;
    }
    auto conn =
        std::make_unique<connection>(c->executor, where.https ? &c->tls_context() : nullptr);
    auto& stream = conn->lowest();
    stream.expires_at(deadline);
    auto [ec] = co_await stream.async_connect(endpoint, k_tuple);
    if (ec == boost::beast::error::timeout) {
      r.failure = failed(error_kind::timeout, "connect to " + where.name + " (" +
                                                  endpoint.address().to_string() +
                                                  ") timed out after " + millis(budget));
      co_return r;
    }
    if (ec) {
      last_failure = "connect to " + where.name + " (" + address.to_string() + "): " + ec.message();
      continue;
    }
    c->connections_opened.fetch_add(1, std::memory_order_relaxed);
    error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);  // requests are written whole
    if (!conn->tls) {
      r.conn = std::move(conn);
      co_return r;
    }

    SSL* ssl = conn->tls->native_handle();
    if (!where.literal) SSL_set_tlsext_host_name(ssl, where.host.c_str());  // SNI is for names
    // asio checks the name; OpenSSL's own check only makes the failure reason precise.
    conn->tls->set_verify_callback(net::ssl::host_name_verification(where.host));
    if (where.literal) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), where.host.c_str());
    } else {
      SSL_set1_host(ssl, where.host.c_str());
    }
    stream.expires_at(deadline);
    auto [hec] = co_await conn->tls->async_handshake(net::ssl::stream_base::client, k_tuple);
    if (hec == boost::beast::error::timeout) {
      r.failure = failed(error_kind::timeout,
                         "TLS handshake with " + where.name + " timed out after " + millis(budget));
      co_return r;
    }
    if (hec) {
      r.failure = failed(error_kind::tls, tls_failure(hec, ssl, where));
      co_return r;
    }
    r.conn = std::move(conn);
    co_return r;
  }
  if (!last_failure.empty()) {
    if (!refused.empty()) last_failure += "; refused non-public " + refused;
    r.failure = failed(error_kind::connect, std::move(last_failure));
  } else if (!refused.empty()) {
    // The tenant who owns the webhook reads this message: it names the rule, not the
    // addresses, which would map the operator's network for them. The log keeps them.
    log::warn("destination refused by the non-public address rule",
              {{"host", where.host}, {"addresses", refused}});
    r.failure = failed(error_kind::blocked_destination,
                       "destination " + where.name +
                           " is refused by the rule non_public_address: it resolves to a "
                           "loopback, private, link-local, multicast or reserved address, and "
                           "allow_private_targets or allowed_networks do not permit it");
  } else {
    r.failure = failed(error_kind::dns, "DNS lookup of " + where.host + " returned no addresses");
  }
  co_return r;
}

}  // namespace hookd::engine::http_detail
