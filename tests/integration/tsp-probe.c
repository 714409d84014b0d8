/* SPDX-License-Identifier: Apache-2.0 */
/* tsp-probe: one RFC 3161 exchange through the gateway's own code for
 * timestamp_client.sh: gw_tsp_request_new, gw_forward_post (HTTPS, the
 * server's CA pinned, no client certificate) and gw_tsp_answer_check
 * against a TSA CA file. Prints one JSON line; with --token-out and
 * --reply-out writes the checked token and the whole answer. Test
 * infrastructure, never installed. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include "gw_forward.h"
#include "gw_tsp.h"
#include "sg_codec.h"
#include "sg_err.h"

#define EXIT_USAGE 2
#define EXIT_REFUSED 3

static const char usage_text[] =
"usage: tsp-probe --url URL --ca FILE --tsa-ca FILE --digest HEX [--alg sha256|sha384|sha512]\n"
"                 [--policy OID] [--timeout-ms N] [--token-out FILE] [--reply-out FILE]\n";

static int
write_file(const char *path, const unsigned char *p, size_t len)
{
	FILE *f;
	int ok;

	if (path == NULL)
		return 0;
	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	ok = fwrite(p, 1, len, f) == len;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' }, { "ca", required_argument, NULL, 'c' },
		{ "tsa-ca", required_argument, NULL, 't' }, { "digest", required_argument, NULL, 'd' },
		{ "alg", required_argument, NULL, 'a' }, { "policy", required_argument, NULL, 'p' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "token-out", required_argument, NULL, 'o' },
		{ "reply-out", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 } };
	struct gw_forward_opts fo;
	struct gw_forward *fwd = NULL;
	struct gw_forward_reply reply;
	struct gw_tsp_request *req = NULL;
	struct gw_tsp_token *tok = NULL;
	const char *tsa_ca = NULL, *digest_hex = NULL, *alg = "sha256", *policy = NULL;
	const char *token_out = NULL, *reply_out = NULL;
	unsigned char *digest = NULL;
	const unsigned char *q;
	size_t digest_len = 0, qlen;
	X509_STORE *store = NULL;
	const EVP_MD *md;
	char why[512] = "";
	int c, r, rc = EXIT_FAILURE;

	memset(&fo, 0, sizeof(fo));
	memset(&reply, 0, sizeof(reply));
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': fo.base_url = optarg; break;
		case 'c': fo.ca_file = optarg; break;
		case 't': tsa_ca = optarg; break;
		case 'd': digest_hex = optarg; break;
		case 'a': alg = optarg; break;
		case 'p': policy = optarg; break;
		case 'T': fo.timeout_ms = strtol(optarg, NULL, 10); break;
		case 'o': token_out = optarg; break;
		case 'r': reply_out = optarg; break;
		default: fputs(usage_text, stderr); return EXIT_USAGE;
		}
	}
	if (fo.base_url == NULL || fo.ca_file == NULL || tsa_ca == NULL || digest_hex == NULL) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if ((md = EVP_get_digestbyname(alg)) == NULL ||
	    sg_hex_decode(digest_hex, strlen(digest_hex), &digest, &digest_len) != 0) {
		fprintf(stderr, "tsp-probe: bad --alg or --digest\n");
		return EXIT_USAGE;
	}
	if ((store = X509_STORE_new()) == NULL || X509_STORE_load_file(store, tsa_ca) != 1) {
		fprintf(stderr, "tsp-probe: cannot load %s\n", tsa_ca);
		goto out;
	}
	if ((r = gw_tsp_request_new(md, digest, digest_len, policy, &req)) != 0) {
		printf("{\"error\":\"%s\",\"stage\":\"request\"}\n", sg_strerror(r));
		rc = EXIT_REFUSED;
		goto out;
	}
	if (gw_forward_global_init() != 0 || gw_forward_new(&fo, &fwd) != 0) {
		fprintf(stderr, "tsp-probe: cannot set up the forwarder\n");
		goto out;
	}
	q = gw_tsp_request_der(req, &qlen);
	if ((r = gw_forward_post(fwd, "", "application/timestamp-query", q, qlen, NULL, 0,
	    &reply)) != 0) {
		printf("{\"error\":\"%s\",\"stage\":\"transport\",\"elapsed_ms\":%lld}\n",
		    sg_strerror(r), (long long)reply.elapsed_ms);
		rc = EXIT_REFUSED;
		goto out;
	}
	if ((r = gw_tsp_answer_check(req, reply.body.data, reply.body.len, store, &tok, why,
	    sizeof(why))) != 0) {
		/* why holds no quote or backslash: sentences made here and OpenSSL reasons */
		printf("{\"error\":\"%s\",\"stage\":\"answer\",\"http\":%d,\"why\":\"%s\"}\n",
		    sg_strerror(r), reply.status, why);
		rc = EXIT_REFUSED;
		goto out;
	}
	if (write_file(token_out, tok->der, tok->der_len) != 0 ||
	    write_file(reply_out, tok->reply, tok->reply_len) != 0) {
		fprintf(stderr, "tsp-probe: cannot write the token\n");
		goto out;
	}
	printf("{\"status\":\"ok\",\"serial\":\"%s\",\"gen_time\":%lld}\n", tok->serial,
	    (long long)tok->gen_time);
	rc = 0;
out:
	gw_tsp_token_free(tok);
	gw_tsp_request_free(req);
	gw_forward_reply_free(&reply);
	gw_forward_free(fwd);
	gw_forward_global_cleanup();
	X509_STORE_free(store);
	free(digest);
	return rc;
}
