/* SPDX-License-Identifier: Apache-2.0 */
/* The officer's actions in the audit log sealgated writes: each command
 * that changes the token records what it tried and how it ended, appended
 * under the log's lock so the chain stays whole while the daemon writes.
 * Without a configuration there is no log to write to. */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "sg_audit.h"
#include "sg_config.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "tk_cli.h"

struct tk_audit_record tk_record;
char tk_last_error[512];

void
tk_audit_begin(const char *type, const char *label)
{
	memset(&tk_record, 0, sizeof(tk_record));
	tk_record.type = type;
	if (label != NULL)
		(void)sg_strfit(tk_record.label, sizeof(tk_record.label), label);	/* else left out */
}

static void
officer_name(char *out, size_t outlen)
{
	struct passwd *pw = getpwuid(geteuid());

	if (snprintf(out, outlen, "officer:%s", pw != NULL ? pw->pw_name : "unknown") >= (int)outlen)
		out[outlen - 1] = '\0';
}

int
tk_audit_commit(int ret)
{
	const struct sg_config *cfg = tk_config();
	struct sg_audit_options opts;
	struct sg_audit_entry e;
	const char *keys[3], *values[3];
	char client[96], *request_id = NULL;
	unsigned char rnd[8];
	size_t n = 0;
	int r;

	if (tk_record.type == NULL || cfg == NULL)
		return ret;
	memset(&e, 0, sizeof(e));
	memset(&opts, 0, sizeof(opts));
	opts.rotate_bytes = cfg->audit.rotate_bytes;
	officer_name(client, sizeof(client));
	if (RAND_bytes(rnd, sizeof(rnd)) == 1)
		(void)sg_hex_encode(rnd, sizeof(rnd), &request_id);
	if (tk_record.label[0] != '\0') {
		keys[n] = "label";
		values[n++] = tk_record.label;
	}
	if (tk_record.detail[0] != '\0') {
		keys[n] = "detail";
		values[n++] = tk_record.detail;
	}
	e.type = tk_record.type;
	e.request_id = request_id;
	e.client = client;
	e.key_id = tk_record.key_id[0] != '\0' ? tk_record.key_id : NULL;
	e.cert_serial = tk_record.cert_serial[0] != '\0' ? tk_record.cert_serial : NULL;
	e.digest = tk_record.digest[0] != '\0' ? tk_record.digest : NULL;
	e.outcome = ret == TK_EXIT_OK ? "ok" : "error";
	e.error = ret == TK_EXIT_OK ? NULL : tk_last_error[0] != '\0' ? tk_last_error : "failed";
	e.extra_keys = keys;
	e.extra_values = values;
	e.n_extra = n;
	r = sg_audit_append_once(cfg->audit.dir, &opts, &e, NULL);
	free(request_id);
	tk_record.type = NULL;		/* written: once only */
	if (r != 0) {
		fprintf(stderr, "sealgate-token: audit: %s %s the audit log could not be written\n",
		    e.type, ret == TK_EXIT_OK ? "was done on the token but" : "failed, and");
		return TK_EXIT_FAIL;
	}
	return ret;
}

int
tk_audit_finish(int ret)
{
	return tk_audit_commit(ret);
}
