/* SPDX-License-Identifier: Apache-2.0 */
/* What sealgate-token's option parser hands its commands, and the
 * commands themselves (tk_commands.c). */
#ifndef TK_CLI_H
#define TK_CLI_H

#include "sg_cli.h"
#include "sgp11.h"

#define TK_EXIT_OK SG_EXIT_OK
#define TK_EXIT_FAIL SG_EXIT_FAIL
#define TK_EXIT_USAGE SG_EXIT_USAGE

struct tk_opts {
	const char *command;
	const char *module, *token, *config;
	const char *pin_file, *so_pin_file, *new_pin_file;
	const char *label, *type, *id_hex;
	const char *subject, *profile, *customer_id, *customer_name;
	const char *cert_file, *chain_file, *out_file, *in_file, *digest_alg;
	int json, der, so, yes, pss;
};

/* The action a command tried, for the audit log (tk_audit.c). */
struct tk_audit_record {
	const char *type;		/* entry type (sg_audit.c), NULL: none */
	char label[129], key_id[130], cert_serial[80], digest[160], detail[256];
};
extern struct tk_audit_record tk_record;
/* The last tk_fail line without the program name ("what: why"). */
extern char tk_last_error[512];
/* Start recording an action of type on label (may be NULL). */
void tk_audit_begin(const char *type, const char *label);
/* Append the recorded action with ret's outcome to the configured audit
 * log; returns ret, or TK_EXIT_FAIL (with a line on stderr) when the log
 * cannot be written. Nothing is written without a configuration. */
int tk_audit_finish(int ret);
/* The same, now, for a command that must not show its result before the
 * entry is durable (sign); tk_audit_finish then writes nothing more. */
int tk_audit_commit(int ret);
/* The configuration file read when no --config and no SEALGATE_CONFIG
 * names one (only when it exists). */
#define TK_DEFAULT_CONFIG "/etc/sealgate/sealgate.json"

/* tk_session.c: load the configuration o names (--config,
 * SEALGATE_CONFIG or TK_DEFAULT_CONFIG); 0, or TK_EXIT_FAIL with the line
 * on stderr. The loaded configuration (or NULL), and its release. */
struct sg_config;
int tk_load_config(const struct tk_opts *o);
const struct sg_config *tk_config(void);
void tk_unload_config(void);

/* sg_cli_fail that also keeps the line in tk_last_error for the audit
 * entry of the officer's operation; returns TK_EXIT_FAIL. */
int tk_fail(const char *what, const char *why_fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The module path: --module, the config's token.module,
 * SEALGATE_PKCS11_MODULE, or the one found at configure time. */
const char *tk_module(const struct tk_opts *o);
/* Open the token named in opts (module and label resolved) and, when
 * login is set, log in with the user PIN. */
int tk_open(const struct tk_opts *o, int login, struct sgp11_ctx **ctxp);

int tk_cmd_init(const struct tk_opts *o);
int tk_cmd_slots(const struct tk_opts *o);
int tk_cmd_keys(const struct tk_opts *o);
int tk_cmd_keygen(const struct tk_opts *o);
int tk_cmd_csr(const struct tk_opts *o);
int tk_cmd_import_cert(const struct tk_opts *o);
int tk_cmd_change_pin(const struct tk_opts *o);
int tk_cmd_retire(const struct tk_opts *o);
int tk_cmd_pubkey(const struct tk_opts *o);
int tk_cmd_sign(const struct tk_opts *o);

#endif
