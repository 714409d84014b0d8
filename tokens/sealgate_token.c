/* SPDX-License-Identifier: Apache-2.0 */
/* sealgate-token, the security officer's tool: option parsing and
 * dispatch to tk_commands.c (tk_session.c finds the token and the PIN). */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sg_cli.h"
#include "sg_config.h"
#include "sg_err.h"
#include "sg_log.h"
#include "sg_secret.h"
#include "tk_cli.h"
#include "tk_pin.h"

static const char usage_text[] =
"usage: sealgate-token [options] COMMAND [command options]\n"
"commands:\n"
"  init --label LABEL                 initialise a token in a free slot (SO and user PIN)\n"
"  slots                              slots and tokens with their flags\n"
"  keys                               keys and certificates with expiry\n"
"  keygen --label K --type rsa:2048|rsa:3072|rsa:4096|ec:p256|ec:p384 [--id HEX]\n"
"  csr --label K (--subject \"C=FI,O=Example Oy,CN=1234567-8\" |\n"
"                 --profile vero|oces3|dvv-interface --customer-id ID --customer-name NAME)\n"
"      [--der] [--out FILE]\n"
"  import-cert --label K --cert FILE [--chain FILE]\n"
"  change-pin [--so]                  new PIN from --new-pin-file, SEALGATE_NEW_PIN or prompt\n"
"  retire --label K [--yes]           delete key, public key and certificate of K\n"
"  pubkey --label K [--out FILE]      the public key as PEM\n"
"  sign --label K --in FILE [--digest sha256|sha384|sha512] [--pss] [--out FILE]\n"
"                                     sign FILE's digest on the token (a key check)\n"
"options:\n"
"  --module PATH    PKCS#11 module (config token.module, SEALGATE_PKCS11_MODULE, or built-in)\n"
"  --token LABEL    token label (config token.label, or SEALGATE_TOKEN_LABEL)\n"
"  --config FILE    configuration (SEALGATE_CONFIG, or " TK_DEFAULT_CONFIG " if present)\n"
"  --pin-file F     user PIN (else SEALGATE_PIN, else a prompt)\n"
"  --so-pin-file F  SO PIN (else SEALGATE_SO_PIN, else a prompt)\n"
"  --json           machine-readable output\n"
"  --help, --version\n";

static const struct {
	const char *name;
	int (*fn)(const struct tk_opts *);
} commands[] = {
	{ "init", tk_cmd_init },
	{ "slots", tk_cmd_slots },
	{ "keys", tk_cmd_keys },
	{ "keygen", tk_cmd_keygen },
	{ "csr", tk_cmd_csr },
	{ "import-cert", tk_cmd_import_cert },
	{ "change-pin", tk_cmd_change_pin },
	{ "retire", tk_cmd_retire },
	{ "pubkey", tk_cmd_pubkey },
	{ "sign", tk_cmd_sign },
};

enum {
	OPT_MODULE = 256, OPT_TOKEN, OPT_CONFIG, OPT_PIN_FILE, OPT_SO_PIN_FILE, OPT_NEW_PIN_FILE,
	OPT_LABEL, OPT_TYPE, OPT_ID, OPT_SUBJECT, OPT_PROFILE, OPT_CUSTOMER_ID,
	OPT_CUSTOMER_NAME, OPT_CERT, OPT_CHAIN, OPT_OUT, OPT_IN, OPT_DIGEST, OPT_JSON, OPT_DER,
	OPT_SO, OPT_YES, OPT_PSS, OPT_HELP, OPT_VERSION
};

static const struct option long_options[] = {
	{ "module", required_argument, NULL, OPT_MODULE },
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "pin-file", required_argument, NULL, OPT_PIN_FILE },
	{ "so-pin-file", required_argument, NULL, OPT_SO_PIN_FILE },
	{ "new-pin-file", required_argument, NULL, OPT_NEW_PIN_FILE },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "type", required_argument, NULL, OPT_TYPE },
	{ "id", required_argument, NULL, OPT_ID },
	{ "subject", required_argument, NULL, OPT_SUBJECT },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "customer-id", required_argument, NULL, OPT_CUSTOMER_ID },
	{ "customer-name", required_argument, NULL, OPT_CUSTOMER_NAME },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "chain", required_argument, NULL, OPT_CHAIN },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "in", required_argument, NULL, OPT_IN },
	{ "digest", required_argument, NULL, OPT_DIGEST },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "der", no_argument, NULL, OPT_DER },
	{ "so", no_argument, NULL, OPT_SO },
	{ "yes", no_argument, NULL, OPT_YES },
	{ "pss", no_argument, NULL, OPT_PSS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	/* A PIN never comes from argv: catch the obvious attempts. */
	{ "pin", required_argument, NULL, 'P' },
	{ "so-pin", required_argument, NULL, 'P' },
	{ NULL, 0, NULL, 0 }
};

int
main(int argc, char **argv)
{
	struct tk_opts o;
	size_t i;
	int c, r;

	memset(&o, 0, sizeof(o));
	sg_log_init("sealgate-token", getenv("SEALGATE_DEBUG") != NULL ? SG_LOG_DEBUG : SG_LOG_QUIET);
	/* PINs pass through this process: no core dump, no same-user ptrace. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_MODULE: o.module = optarg; break;
		case OPT_TOKEN: o.token = optarg; break;
		case OPT_CONFIG: o.config = optarg; break;
		case OPT_PIN_FILE: o.pin_file = optarg; break;
		case OPT_SO_PIN_FILE: o.so_pin_file = optarg; break;
		case OPT_NEW_PIN_FILE: o.new_pin_file = optarg; break;
		case OPT_LABEL: o.label = optarg; break;
		case OPT_TYPE: o.type = optarg; break;
		case OPT_ID: o.id_hex = optarg; break;
		case OPT_SUBJECT: o.subject = optarg; break;
		case OPT_PROFILE: o.profile = optarg; break;
		case OPT_CUSTOMER_ID: o.customer_id = optarg; break;
		case OPT_CUSTOMER_NAME: o.customer_name = optarg; break;
		case OPT_CERT: o.cert_file = optarg; break;
		case OPT_CHAIN: o.chain_file = optarg; break;
		case OPT_OUT: o.out_file = optarg; break;
		case OPT_IN: o.in_file = optarg; break;
		case OPT_DIGEST: o.digest_alg = optarg; break;
		case OPT_JSON: o.json = 1; break;
		case OPT_DER: o.der = 1; break;
		case OPT_SO: o.so = 1; break;
		case OPT_YES: o.yes = 1; break;
		case OPT_PSS: o.pss = 1; break;
		case OPT_HELP:
			fputs(usage_text, stdout);
			return TK_EXIT_OK;
		case OPT_VERSION:
			printf("sealgate-token %s\n", PACKAGE_VERSION);
			return TK_EXIT_OK;
		case 'P':
			return sg_cli_usage("PINs are never taken from the command line; "
			    "use --pin-file/--so-pin-file, SEALGATE_PIN/SEALGATE_SO_PIN or the prompt");
		default:
			return sg_cli_usage("unknown option");
		}
	}
	if (optind >= argc)
		return sg_cli_usage("no command");
	if (optind + 1 < argc)
		return sg_cli_usage("unexpected argument \"%s\"", argv[optind + 1]);
	o.command = argv[optind];
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, o.command) != 0)
			continue;
		if ((r = tk_load_config(&o)) != 0)
			return r;
		r = tk_audit_finish(commands[i].fn(&o));
		tk_unload_config();
		return r;
	}
	return sg_cli_usage("unknown command \"%s\"", o.command);
}
