/* SPDX-License-Identifier: Apache-2.0 */
/* HTTPS on the listener: the server's certificate chain and key, the
 * client CA and CRL, and the priority string, loaded from $.listen.tls
 * with each snapshot; the certificate callback that hands the current
 * snapshot's chain and key to each new handshake (so a SIGHUP renews them
 * without a restart); and the check of a client's certificate. The only
 * user of GnuTLS; libmicrohttpd runs the TLS sessions (http/gw_http.c). */
#ifndef GW_TLS_H
#define GW_TLS_H

#include <stddef.h>
#include <time.h>

#include <gnutls/abstract.h>

struct gw;
struct sg_config_tls;
struct gw_tls;

struct gw_client_cert;

/*
 * Read and check the files of cfg: the chain (leaf first, sorted), the
 * key (matching the leaf; the file owner-only), the client CA and CRL (the
 * CRL signed by that CA) and the priority string (TLS 1.2 and 1.3 only).
 * *tlsp is new with one reference (gw_tls_unref). On failure err holds
 * "$.listen.tls.<member>: why". Errors: SG_ERR_CONFIG, SG_ERR_ALLOC.
 */
int gw_tls_load(const struct sg_config_tls *cfg, struct gw_tls **tlsp, char *err, size_t errlen);
/* Another reference to tls (NULL is fine); returns tls. */
struct gw_tls *gw_tls_ref(struct gw_tls *tls);
/* Drop a reference; the last frees. NULL is fine. */
void gw_tls_unref(struct gw_tls *tls);

/* The leaf's subject, serial and end of validity, for the log (get0). */
const char *gw_tls_subject(const struct gw_tls *tls);
const char *gw_tls_serial(const struct gw_tls *tls);
time_t gw_tls_not_after(const struct gw_tls *tls);
/* The client CA file's PEM (get0), or NULL: libmicrohttpd asks for client
 * certificates, naming these CAs, when it is set at start. */
const char *gw_tls_client_ca_pem(const struct gw_tls *tls);
const char *gw_tls_priorities(const struct gw_tls *tls);

/* The callback for libmicrohttpd's MHD_OPTION_HTTPS_CERT_CALLBACK2: each
 * handshake gets copies of the chain and key of gw's current snapshot.
 * One gw per process. */
gnutls_certificate_retrieve_function3 *gw_tls_cert_callback(struct gw *gw);

/*
 * What the client of session (a gnutls_session_t from libmicrohttpd)
 * presented, checked against tls's client CA and CRL at this moment.
 * Always fills *out; tls NULL or without a client CA: nothing presented.
 */
void gw_tls_client_cert(const struct gw_tls *tls, void *session, struct gw_client_cert *out);

#endif
