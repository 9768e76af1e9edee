#include "tests/support/test_ca.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace hookd::test {
namespace {

struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
struct ext_free {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
struct file_close {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

[[noreturn]] void fail(const std::string& what) {
  std::string reason = "test_ca: " + what;
  if (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reason.append(": ").append(buf);
  }
  throw std::runtime_error(reason);
}

void check(int ok, const std::string& what) {
  if (ok != 1) fail(what);
}

pkey_ptr new_key() {
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) fail("generate EC P-256 key");
  return key;
}

// A certificate for `key` named `common_name`, valid from an hour ago for a day,
// not yet signed; extensions are added by the caller.
x509_ptr new_certificate(EVP_PKEY* key, const std::string& common_name) {
  x509_ptr cert(X509_new());
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), 2), "set version");  // v3
  std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(BN_new(), BN_free);
  check(BN_rand(serial.get(), 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "random serial");
  if (!BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) fail("set serial");
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600)) fail("set notBefore");
  if (!X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600)) fail("set notAfter");
  check(X509_set_pubkey(cert.get(), key), "set public key");
  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                   -1, 0),
        "set common name");
  return cert;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, ext_free> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) fail("build extension " + std::string(OBJ_nid2sn(nid)) + "=" + value);
  check(X509_add_ext(cert, ext.get(), -1), "add extension");
}

std::unique_ptr<std::FILE, file_close> open_for_write(const std::filesystem::path& path) {
  std::unique_ptr<std::FILE, file_close> f(std::fopen(path.c_str(), "wb"));
  if (!f) throw std::runtime_error("test_ca: cannot write " + path.string());
  return f;
}

void write_certificate(X509* cert, const std::filesystem::path& path) {
  auto f = open_for_write(path);
  check(PEM_write_X509(f.get(), cert), "write " + path.string());
}

void write_key(EVP_PKEY* key, const std::filesystem::path& path) {
  auto f = open_for_write(path);
  check(PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "write " + path.string());
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

struct test_ca::impl {
  pkey_ptr key;
  x509_ptr cert;
};

test_ca::test_ca(const std::filesystem::path& dir, const std::string& name)
    : impl_(new impl), dir_(dir) {
  try {
    impl_->key = new_key();
    impl_->cert = new_certificate(impl_->key.get(), name);
    X509* cert = impl_->cert.get();
    check(X509_set_issuer_name(cert, X509_get_subject_name(cert)), "set issuer");
    add_extension(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert, cert, NID_subject_key_identifier, "hash");
    if (X509_sign(cert, impl_->key.get(), EVP_sha256()) == 0) fail("sign CA certificate");
    ca_file_ = (dir_ / "ca.pem").string();
    write_certificate(cert, ca_file_);
  } catch (...) {
    delete impl_;
    throw;
  }
}

test_ca::~test_ca() { delete impl_; }

issued_certificate test_ca::issue(const std::string& host, const std::string& file_stem) {
  pkey_ptr key = new_key();
  x509_ptr cert = new_certificate(key.get(), host);
  X509* ca = impl_->cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca)), "set issuer");
  add_extension(cert.get(), ca, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), ca, NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), ca, NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), ca, NID_subject_alt_name,
                (is_ip_literal(host) ? "IP:" : "DNS:") + host);
  add_extension(cert.get(), ca, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), ca, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), impl_->key.get(), EVP_sha256()) == 0) fail("sign " + host);

  issued_certificate out;
  out.cert_file = (dir_ / (file_stem + ".pem")).string();
  out.key_file = (dir_ / (file_stem + ".key")).string();
  write_certificate(cert.get(), out.cert_file);
  write_key(key.get(), out.key_file);
  return out;
}

}  // namespace hookd::test
