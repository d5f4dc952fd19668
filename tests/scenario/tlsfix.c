/*
 * tlsfix.c - the TLS fixtures of the scenario runner: a test PKI made at run
 * time with the OpenSSL 3 API (EC P-256 keys, X509 builder), written once
 * per runner process into a temporary directory that is removed at exit,
 * and the fake server's TLS contexts.
 *
 * Certificates (README.md, "TLS"):
 *   ca             the test CA: the client trusts it with `set ca_file CA`
 *   other-ca       a second CA the client does not trust (OTHER-CA)
 *   good           DNS:localhost, IP:127.0.0.1, from ca
 *   wrong-name     DNS:other.example only, from ca
 *   expired        notAfter yesterday, from ca
 *   not-yet-valid  notBefore tomorrow, from ca
 *   self-signed    DNS:localhost, IP:127.0.0.1, signed by its own key
 *   unknown-ca     DNS:localhost, IP:127.0.0.1, from other-ca
 *   ip-only        IP:127.0.0.1 only, from ca
 *   dns-only       DNS:localhost only, from ca
 *   client         a client certificate (CN=client.example, clientAuth), from ca;
 *                  client-bundle is the same with the key in the certificate file
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "scenario.h"

#define DAY (24L * 3600L)

enum { ISS_SELF, ISS_CA, ISS_OTHER_CA };

struct certdef {
	const char *name;
	const char *cn;
	const char *san; /* subjectAltName, or NULL */
	long from, to;   /* validity, seconds from now */
	int issuer;
	int is_ca;
	int client; /* extendedKeyUsage clientAuth instead of serverAuth */
};

static const struct certdef defs[] = {
    {"ca", "smtpc scenario test CA", NULL, -DAY, 3650 * DAY, ISS_SELF, 1, 0},
    {"other-ca", "smtpc scenario other CA", NULL, -DAY, 3650 * DAY, ISS_SELF, 1, 0},
    {"good", "localhost", "DNS:localhost,IP:127.0.0.1", -DAY, 365 * DAY, ISS_CA, 0, 0},
    {"wrong-name", "other.example", "DNS:other.example", -DAY, 365 * DAY, ISS_CA, 0, 0},
    {"expired", "localhost", "DNS:localhost,IP:127.0.0.1", -30 * DAY, -DAY, ISS_CA, 0, 0},
    {"not-yet-valid", "localhost", "DNS:localhost,IP:127.0.0.1", DAY, 30 * DAY, ISS_CA, 0, 0},
    {"self-signed", "localhost", "DNS:localhost,IP:127.0.0.1", -DAY, 365 * DAY, ISS_SELF, 0, 0},
    {"unknown-ca", "localhost", "DNS:localhost,IP:127.0.0.1", -DAY, 365 * DAY, ISS_OTHER_CA, 0, 0},
    {"ip-only", "127.0.0.1", "IP:127.0.0.1", -DAY, 365 * DAY, ISS_CA, 0, 0},
    {"dns-only", "localhost", "DNS:localhost", -DAY, 365 * DAY, ISS_CA, 0, 0},
    {"client", "client.example", "DNS:client.example", -DAY, 365 * DAY, ISS_CA, 0, 1},
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

struct made {
	X509 *cert;
	EVP_PKEY *key;
	char cert_path[160];
	char key_path[160];
	char fingerprint[65]; /* SHA-256 of the DER, lower-case hex */
};

static struct {
	int done;
	char dir[64];
	char cadir[96];
	char bundle[160];
	char hashed[160];
	struct made m[NDEFS];
} fx;

int sc_tls_known(const char *name)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (strcmp(defs[i].name, name) == 0)
			return 1;
	return strcmp(name, "client-bundle") == 0;
}

static int find(const char *name)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (strcmp(defs[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Removes the files (at exit: no OpenSSL call here, OpenSSL may be gone). */
static void cleanup(void)
{
	if (!fx.done)
		return;
	for (size_t i = 0; i < NDEFS; i++) {
		unlink(fx.m[i].cert_path);
		unlink(fx.m[i].key_path);
	}
	unlink(fx.bundle);
	unlink(fx.hashed);
	rmdir(fx.cadir);
	rmdir(fx.dir);
	fx.done = 0;
}

void sc_tls_free(void)
{
	for (size_t i = 0; i < NDEFS; i++) {
		X509_free(fx.m[i].cert);
		EVP_PKEY_free(fx.m[i].key);
		fx.m[i].cert = NULL;
		fx.m[i].key = NULL;
	}
	cleanup();
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

static X509 *make_cert(const struct certdef *d, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
                       long serial)
{
	X509 *x = X509_new();
	X509_NAME *name;
	int ok = 1;

	if (!x)
		return NULL;
	name = X509_get_subject_name(x);
	ok &= X509_set_version(x, 2);
	ok &= ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	ok &= X509_gmtime_adj(X509_getm_notBefore(x), d->from) != NULL;
	ok &= X509_gmtime_adj(X509_getm_notAfter(x), d->to) != NULL;
	ok &= X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	                                 (const unsigned char *)"smtpc scenario tests", -1, -1, 0);
	ok &= X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)d->cn, -1,
	                                 -1, 0);
	ok &= X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	ok &= X509_set_pubkey(x, key);
	if (!ok)
		goto fail;
	if (!issuer)
		issuer = x;
	if (add_ext(x, issuer, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(x, issuer, NID_authority_key_identifier, "keyid:always") < 0)
		goto fail;
	if (d->is_ca) {
		if (add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
		    add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign") < 0)
			goto fail;
	} else {
		if (add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
		    add_ext(x, issuer, NID_key_usage, "critical,digitalSignature") < 0 ||
		    add_ext(x, issuer, NID_ext_key_usage, d->client ? "clientAuth" : "serverAuth") <
		        0)
			goto fail;
	}
	if (d->san && add_ext(x, issuer, NID_subject_alt_name, d->san) < 0)
		goto fail;
	if (X509_sign(x, ikey ? ikey : key, EVP_sha256()) <= 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static int write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");
	int ok = 1;

	if (!f)
		return -1;
	if (cert)
		ok &= PEM_write_X509(f, cert);
	if (key)
		ok &= PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

static void fingerprint(X509 *x, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	X509_digest(x, EVP_sha256(), md, &n);
	for (unsigned int i = 0; i < n && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int sc_tls_init(char *err, size_t errlen)
{
	if (fx.done)
		return 0;
	/* OpenSSL first, so that its exit handler runs after ours */
	OPENSSL_init_ssl(0, NULL);
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/scenario-tls.XXXXXX");
	if (!mkdtemp(fx.dir)) {
		snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	snprintf(fx.cadir, sizeof(fx.cadir), "%s/cadir", fx.dir);
	snprintf(fx.bundle, sizeof(fx.bundle), "%s/client-bundle.pem", fx.dir);
	fx.done = 1;
	atexit(cleanup);
	if (mkdir(fx.cadir, 0700) < 0) {
		snprintf(err, errlen, "mkdir: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < NDEFS; i++) {
		const struct certdef *d = &defs[i];
		struct made *m = &fx.m[i];
		X509 *issuer = NULL;
		EVP_PKEY *ikey = NULL;

		if (d->issuer != ISS_SELF) {
			int k = find(d->issuer == ISS_CA ? "ca" : "other-ca");

			issuer = fx.m[k].cert;
			ikey = fx.m[k].key;
		}
		snprintf(m->cert_path, sizeof(m->cert_path), "%s/%s.pem", fx.dir, d->name);
		snprintf(m->key_path, sizeof(m->key_path), "%s/%s.key", fx.dir, d->name);
		m->key = EVP_EC_gen("P-256");
		if (!m->key || !(m->cert = make_cert(d, m->key, issuer, ikey, (long)i + 1000)) ||
		    write_pem(m->cert_path, m->cert, NULL) < 0 ||
		    write_pem(m->key_path, NULL, m->key) < 0) {
			snprintf(err, errlen, "cannot make the test certificate %s: %s", d->name,
			         ERR_reason_error_string(ERR_get_error()));
			return -1;
		}
		fingerprint(m->cert, m->fingerprint);
	}
	{
		struct made *c = &fx.m[find("client")];

		if (write_pem(fx.bundle, c->cert, c->key) < 0) {
			snprintf(err, errlen, "cannot write %s", fx.bundle);
			return -1;
		}
	}
	/* a hashed CA directory (what c_rehash makes) for `set ca_dir CA-DIR` */
	snprintf(fx.hashed, sizeof(fx.hashed), "%s/%08lx.0", fx.cadir,
	         X509_subject_name_hash(fx.m[0].cert));
	if (write_pem(fx.hashed, fx.m[0].cert, NULL) < 0) {
		snprintf(err, errlen, "cannot write %s", fx.hashed);
		return -1;
	}
	return 0;
}

const char *sc_tls_cert_path(const char *name)
{
	int k;

	if (strcmp(name, "client-bundle") == 0)
		return fx.done ? fx.bundle : NULL;
	k = find(name);
	return k >= 0 && fx.done ? fx.m[k].cert_path : NULL;
}

const char *sc_tls_key_path(const char *name)
{
	int k = find(name);

	return k >= 0 && fx.done ? fx.m[k].key_path : NULL;
}

const char *sc_tls_ca_dir(void)
{
	return fx.done ? fx.cadir : NULL;
}

const char *sc_tls_fingerprint(const char *name)
{
	int k = find(name);

	return k >= 0 && fx.done ? fx.m[k].fingerprint : NULL;
}

/* ---------------------------------------------------------------- server contexts */

static int servername_cb(SSL *ssl, int *alert, void *arg)
{
	sc_buf *sni = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	(void)alert;
	sc_buf_free(sni);
	if (name)
		sc_buf_add(sni, name, strlen(name));
	return SSL_TLSEXT_ERR_OK;
}

static int version_of(int v)
{
	switch (v) {
	case 10:
		return TLS1_VERSION;
	case 11:
		return TLS1_1_VERSION;
	case 12:
		return TLS1_2_VERSION;
	case 13:
		return TLS1_3_VERSION;
	default:
		return 0;
	}
}

void *sc_tls_server_ctx(const sc_tlsopt *o, sc_buf *sni, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int k = find(o->cert);

	if (!fx.done || k < 0) {
		snprintf(err, errlen, "no test certificate %s", o->cert);
		return NULL;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	if (o->max_version && o->max_version < 12) {
		/* TLS 1.0/1.1 need SHA-1 and MD5: only security level 0 allows them */
		SSL_CTX_set_security_level(ctx, 0);
		SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
		SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	}
	if (o->min_version)
		SSL_CTX_set_min_proto_version(ctx, version_of(o->min_version));
	if (o->max_version)
		SSL_CTX_set_max_proto_version(ctx, version_of(o->max_version));
	/* no session tickets: the handshake ends with the client's Finished, so a client
	 * that closes right after it (a pin mismatch) does not make our write fail */
	SSL_CTX_set_num_tickets(ctx, 0);
	if (SSL_CTX_use_certificate(ctx, fx.m[k].cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, fx.m[k].key) != 1) {
		snprintf(err, errlen, "cannot use the certificate %s", o->cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (o->require_client_cert) {
		X509_STORE *store = SSL_CTX_get_cert_store(ctx);

		X509_STORE_add_cert(store, fx.m[find("ca")].cert);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, sni);
	return ctx;
}

/* ---------------------------------------------------------------- SCRAM (server side) */

static int b64_encode(const unsigned char *p, size_t n, sc_buf *out)
{
	char *tmp = sc_xmalloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock((unsigned char *)tmp, p, (int)n);

	sc_buf_add(out, tmp, (size_t)len);
	free(tmp);
	return 0;
}

/* Strict base64 (padding required); -1 when not base64. */
static int b64_decode(const char *s, size_t n, sc_buf *out)
{
	unsigned char *tmp;
	int len;
	size_t pad = 0;

	if (n % 4 || (n >= 2 && s[n - 2] == '=' && s[n - 1] != '='))
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		         (c >= '0' && c <= '9') || c == '+' || c == '/' || (c == '=' && i >= n - 2);

		if (!ok)
			return -1;
		if (c == '=')
			pad++;
	}
	tmp = sc_xmalloc(n / 4 * 3 + 1);
	len = n ? EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n) : 0;
	if (len < 0) {
		free(tmp);
		return -1;
	}
	sc_buf_add(out, tmp, (size_t)len - pad);
	free(tmp);
	return 0;
}

void sc_b64_encode(const void *p, size_t n, sc_buf *out)
{
	b64_encode(p, n, out);
}

int sc_b64_decode(const char *s, size_t n, sc_buf *out)
{
	return b64_decode(s, n, out);
}

/* HMAC(key, data) with the SCRAM hash. */
static int hmac(const char *md, const void *key, size_t klen, const void *data, size_t dlen,
                unsigned char *out, size_t *olen)
{
	return EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, key, klen, data, dlen, out, EVP_MAX_MD_SIZE,
	                 olen) != NULL
	           ? 0
	           : -1;
}

int sc_scram_keys(const char *md, const char *password, const unsigned char *salt, size_t slen,
                  int iter, const char *authmsg, size_t alen, unsigned char *proof,
                  unsigned char *server_sig, size_t *hlen)
{
	const EVP_MD *evp = EVP_get_digestbyname(md);
	unsigned char salted[EVP_MAX_MD_SIZE], ckey[EVP_MAX_MD_SIZE], stored[EVP_MAX_MD_SIZE];
	unsigned char csig[EVP_MAX_MD_SIZE], skey[EVP_MAX_MD_SIZE];
	size_t n, l2;
	unsigned int sl = 0;

	if (!evp)
		return -1;
	n = (size_t)EVP_MD_get_size(evp);
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)slen, iter, evp, (int)n,
	                      salted) != 1)
		return -1;
	if (hmac(md, salted, n, "Client Key", 10, ckey, &l2) < 0 ||
	    EVP_Digest(ckey, n, stored, &sl, evp, NULL) != 1 ||
	    hmac(md, stored, n, authmsg, alen, csig, &l2) < 0 ||
	    hmac(md, salted, n, "Server Key", 10, skey, &l2) < 0 ||
	    hmac(md, skey, n, authmsg, alen, server_sig, &l2) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		proof[i] = ckey[i] ^ csig[i];
	*hlen = n;
	return 0;
}

/* ---------------------------------------------------------------- options */

static int parse_version(const char *w, size_t n, int *out)
{
	if (n == 6 && memcmp(w, "tls1.0", 6) == 0)
		*out = 10;
	else if (n == 6 && memcmp(w, "tls1.1", 6) == 0)
		*out = 11;
	else if (n == 6 && memcmp(w, "tls1.2", 6) == 0)
		*out = 12;
	else if (n == 6 && memcmp(w, "tls1.3", 6) == 0)
		*out = 13;
	else
		return -1;
	return 0;
}

int sc_tlsopt_parse(const char *s, size_t n, sc_tlsopt *o, char *err, size_t errlen)
{
	size_t i = 0;
	int first = 1;

	memset(o, 0, sizeof(*o));
	snprintf(o->cert, sizeof(o->cert), "good");
	while (i < n) {
		const char *w;
		size_t wl = 0;

		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i >= n)
			break;
		w = s + i;
		while (i < n && s[i] != ' ' && s[i] != '\t')
			i++, wl++;
		if (wl == 19 && memcmp(w, "require-client-cert", 19) == 0) {
			o->require_client_cert = 1;
		} else if (wl > 4 && memcmp(w, "max-", 4) == 0) {
			if (parse_version(w + 4, wl - 4, &o->max_version) < 0)
				goto bad;
		} else if (wl > 4 && memcmp(w, "min-", 4) == 0) {
			if (parse_version(w + 4, wl - 4, &o->min_version) < 0)
				goto bad;
		} else if (wl > 4 && memcmp(w, "sni=", 4) == 0) {
			o->check_sni = 1;
			if (wl - 4 >= sizeof(o->sni))
				goto bad;
			if (!(wl == 8 && memcmp(w + 4, "none", 4) == 0))
				memcpy(o->sni, w + 4, wl - 4);
		} else if (first && wl < sizeof(o->cert)) {
			memcpy(o->cert, w, wl);
			o->cert[wl] = '\0';
			if (!sc_tls_known(o->cert) || strcmp(o->cert, "client-bundle") == 0) {
				snprintf(err, errlen, "no test certificate '%s'", o->cert);
				return -1;
			}
		} else {
			goto bad;
		}
		first = 0;
		continue;
	bad:
		snprintf(err, errlen,
		         "bad TLS option '%.*s' (CERT require-client-cert max-tls1.N min-tls1.N "
		         "sni=NAME|none)",
		         (int)wl, w);
		return -1;
	}
	return 0;
}
