/* SPDX-License-Identifier: Apache-2.0 */
/* sealgate-audit, the auditor's tool: verify the chain and its signed
 * checkpoints, show entries, count a month's signatures. Reads the log
 * only (sg_audit_read.h); needs neither the token nor the daemon. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "sg_audit_read.h"
#include "sg_cli.h"
#include "sg_config.h"
#include "sg_err.h"
#include "sg_log.h"

#define DEFAULT_CONFIG	"/etc/sealgate/sealgate.json"

static const char usage_text[] =
"usage: sealgate-audit [options] COMMAND [command options] [LOG...]\n"
"commands:\n"
"  verify [--cert FILE] [--accept-unsealed] [--max-unsealed-age S]\n"
"                                     recompute the hash chain, check file numbering and\n"
"                                     the signed checkpoints; exit 1 on any break, and when\n"
"                                     the log is not sealed by the audit key (no signed\n"
"                                     checkpoint, or entries after the last one older than\n"
"                                     S, default the checkpoint interval + 5 s)\n"
"  show [--from T] [--to T] [--client C] [--identity I] [--type T]\n"
"       [--outcome ok|error] [--after-seq N]\n"
"                                     matching entries, one JSON object per line (as logged)\n"
"  counts --month YYYY-MM [--by identity|client]\n"
"                                     stamps, signatures, SOAP calls and time-stamps per identity\n"
"                                     and client\n"
"LOG is one audit directory or audit-NNNNNN.jsonl files; default: the config's audit.dir.\n"
"T is RFC 3339 (2026-11-20T21:40:03Z, 2026-11-20T23:40:03+02:00) or a date (2026-11-20);\n"
"--from is inclusive, --to exclusive.\n"
"options:\n"
"  --cert FILE      the audit identity's certificate (PEM): checkpoint signatures and serial\n"
"  --accept-unsealed  verify: a chain that is intact but not sealed passes (say so aloud)\n"
"  --max-unsealed-age S  verify: seconds an entry may wait for a checkpoint\n"
"  --config FILE    configuration (SEALGATE_CONFIG, or " DEFAULT_CONFIG ")\n"
"  --json           verify, counts: one JSON object, as the HTTP API answers\n"
"  --help, --version\n";

enum {
	OPT_CONFIG = 256, OPT_CERT, OPT_FROM, OPT_TO, OPT_CLIENT, OPT_IDENTITY, OPT_TYPE,
	OPT_OUTCOME, OPT_AFTER_SEQ, OPT_MONTH, OPT_BY, OPT_JSON, OPT_ACCEPT_UNSEALED,
	OPT_MAX_UNSEALED_AGE, OPT_HELP, OPT_VERSION
};

/* Which command may take which option (bit = option - OPT_CONFIG). */
#define BIT(o)		(1u << ((o) - OPT_CONFIG))
#define COMMON_OPTS	(BIT(OPT_CONFIG) | BIT(OPT_JSON))

static const struct option long_options[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "client", required_argument, NULL, OPT_CLIENT },
	{ "identity", required_argument, NULL, OPT_IDENTITY },
	{ "type", required_argument, NULL, OPT_TYPE },
	{ "outcome", required_argument, NULL, OPT_OUTCOME },
	{ "after-seq", required_argument, NULL, OPT_AFTER_SEQ },
	{ "month", required_argument, NULL, OPT_MONTH },
	{ "by", required_argument, NULL, OPT_BY },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "accept-unsealed", no_argument, NULL, OPT_ACCEPT_UNSEALED },
	{ "max-unsealed-age", required_argument, NULL, OPT_MAX_UNSEALED_AGE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

struct audit_opts {
	const char *config;
	const char *cert_file;
	const char *from, *to;
	const char *month;
	const char *by;
	struct sg_audit_filter filter;
	int json;
	int accept_unsealed;
	const char *max_unsealed_age;
	unsigned int given;		/* BIT() of each option seen */
	const char *const *logs;	/* LOG... (argv) */
	size_t n_logs;
};

/* The audit directory from the configuration, when no LOG is given. */
static int
config_audit_dir(const struct audit_opts *o, char **dirp, unsigned int *intervalp)
{
	struct sg_config *cfg = NULL;
	const char *path = o->config;
	char err[512];
	int r;

	*dirp = NULL;
	if (path == NULL && (path = getenv("SEALGATE_CONFIG")) == NULL)
		path = DEFAULT_CONFIG;
	err[0] = '\0';
	if ((r = sg_config_load_file(path, &cfg, err, sizeof(err))) != 0)
		return sg_cli_fail(path, "%s (or give LOG)", err[0] != '\0' ? err : sg_strerror(r));
	if (cfg->audit.dir == NULL || (*dirp = strdup(cfg->audit.dir)) == NULL) {
		sg_config_free(cfg);
		return sg_cli_fail(path, "no audit.dir");
	}
	if (intervalp != NULL)
		*intervalp = cfg->audit.checkpoint_every_seconds;
	sg_config_free(cfg);
	return SG_EXIT_OK;
}

static const char *
files_error(int r)
{
	switch (r) {
	case SG_ERR_NOT_FOUND: return "no such file or directory";
	case SG_ERR_PERMISSION: return "permission denied";
	case SG_ERR_INVALID_ARG: return "give one directory, or audit files each named once";
	default: return sg_strerror(r);
	}
}

/* The files to read: one directory, or files, or the configured dir. */
static int
open_log(const struct audit_opts *o, struct sg_audit_files **filesp, unsigned int *intervalp)
{
	struct stat st;
	char *dir = NULL;
	const char *what;
	size_t i;
	int r, rc;

	*filesp = NULL;
	if (o->n_logs == 0) {
		if ((rc = config_audit_dir(o, &dir, intervalp)) != SG_EXIT_OK)
			return rc;
		what = dir;
		r = sg_audit_files_dir(dir, filesp);
	} else if (o->n_logs == 1 && stat(o->logs[0], &st) == 0 && S_ISDIR(st.st_mode)) {
		what = o->logs[0];
		r = sg_audit_files_dir(o->logs[0], filesp);
	} else {
		for (i = 0; i < o->n_logs; i++) {
			if (stat(o->logs[i], &st) != 0)
				return sg_cli_fail(o->logs[i], "%s", files_error(errno == ENOENT ||
				    errno == ENOTDIR ? SG_ERR_NOT_FOUND : errno == EACCES ?
				    SG_ERR_PERMISSION : SG_ERR_IO));
			if (S_ISDIR(st.st_mode))
				return sg_cli_usage("give one directory or audit files, not both");
		}
		what = o->n_logs == 1 ? o->logs[0] : "LOG";
		r = sg_audit_files_paths(o->logs, o->n_logs, filesp);
	}
	if (r != 0) {
		rc = sg_cli_fail(what, "%s", files_error(r));
		goto out;
	}
	if ((*filesp)->n == 0) {
		rc = sg_cli_fail(what, "no audit-NNNNNN.jsonl files");
		sg_audit_files_free(*filesp);
		*filesp = NULL;
		goto out;
	}
	rc = SG_EXIT_OK;
 out:
	free(dir);
	return rc;
}

/* The audit certificate: its public key (get1) and serial (hex). */
static int
load_cert(const char *path, EVP_PKEY **keyp, char **serialp)
{
	BIGNUM *bn = NULL;
	X509 *cert = NULL;
	BIO *bio = NULL;
	char *hex = NULL;
	int rc = SG_EXIT_FAIL;

	*keyp = NULL;
	*serialp = NULL;
	if ((bio = BIO_new_file(path, "r")) == NULL) {
		sg_cli_fail(path, "cannot read the certificate");
		goto out;
	}
	if ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		sg_cli_fail(path, "not a PEM certificate");
		goto out;
	}
	if ((*keyp = X509_get_pubkey(cert)) == NULL ||
	    (bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL || (*serialp = strdup(hex)) == NULL) {
		EVP_PKEY_free(*keyp);
		*keyp = NULL;
		sg_cli_fail(path, "cannot take the public key and serial from the certificate");
		goto out;
	}
	rc = SG_EXIT_OK;
 out:
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(cert);
	BIO_free(bio);
	return rc;
}

static int
print_json(cJSON *obj)
{
	char *text;
	int rc = SG_EXIT_FAIL;

	if (obj == NULL)
		return sg_cli_fail("output", "out of memory");
	if ((text = cJSON_PrintUnformatted(obj)) != NULL) {
		printf("%s\n", text);
		rc = SG_EXIT_OK;
	} else
		sg_cli_fail("output", "out of memory");
	cJSON_free(text);
	cJSON_Delete(obj);
	return rc;
}

static int
finish_output(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		return sg_cli_fail("output", "cannot write to stdout");
	return rc;
}

static int64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int
cmd_verify(const struct audit_opts *o)
{
	struct sg_audit_files *files = NULL;
	struct sg_audit_verify_result res;
	struct sg_audit_verify_opts vo;
	struct sg_audit_seal seal;
	EVP_PKEY *key = NULL;
	char *serial = NULL, *end;
	const char *where;
	unsigned int interval = SG_AUDIT_DEFAULT_CHECKPOINT_S, max_age;
	unsigned long v;
	size_t i;
	int r, rc;

	memset(&vo, 0, sizeof(vo));
	if (o->cert_file != NULL) {
		if ((rc = load_cert(o->cert_file, &key, &serial)) != SG_EXIT_OK)
			goto out;
		vo.checkpoint_key = key;
		vo.checkpoint_serial = serial;
	}
	if ((rc = open_log(o, &files, &interval)) != SG_EXIT_OK)
		goto out;
	max_age = interval + SG_AUDIT_SEAL_SLACK_S;
	if (o->max_unsealed_age != NULL) {
		errno = 0;
		v = strtoul(o->max_unsealed_age, &end, 10);
		if (errno != 0 || end == o->max_unsealed_age || *end != '\0' || v > 31U * 86400) {
			rc = sg_cli_usage("--max-unsealed-age is a number of seconds");
			goto out;
		}
		max_age = (unsigned int)v;
	}
	if ((r = sg_audit_verify(files, &vo, &res)) != 0) {
		where = res.bad_file < files->n ? files->files[res.bad_file].path : "LOG";
		rc = sg_cli_fail(where, "%s", files_error(r));
		goto out;
	}
	sg_audit_seal_judge(&res, key != NULL, max_age, now_ms(), &seal);
	if (o->json) {
		rc = print_json(sg_audit_verify_json(&res, files, &seal, o->accept_unsealed));
		if (rc == SG_EXIT_OK && (!res.ok || (!seal.sealed && !o->accept_unsealed)))
			rc = SG_EXIT_FAIL;
		goto out;
	}
	if (res.ok && (seal.sealed || o->accept_unsealed)) {
		printf("OK: %" PRIu64 " entries, %" PRIu64 " checkpoints, chain intact%s\n",
		    res.entries, res.checkpoints, seal.sealed ? ", sealed" : "");
		printf("%s: %s\n", seal.sealed ? "seal" : "NOT SEALED (accepted)", seal.why);
		rc = SG_EXIT_OK;
	} else if (res.ok) {
		printf("FAILED: not sealed: %s (--accept-unsealed to pass an intact chain anyway)\n",
		    seal.why);
		rc = SG_EXIT_FAIL;
	} else {
		if (res.first_bad_seq != 0)
			printf("FAILED at seq %" PRIu64 ": %s", res.first_bad_seq,
			    sg_audit_break_text(res.why));
		else
			printf("FAILED: %s", sg_audit_break_text(res.why));
		if (res.bad_line != 0)
			printf(" (%s line %" PRIu64 ")\n", files->files[res.bad_file].name,
			    res.bad_line);
		else
			printf(" (%s)\n", files->files[res.bad_file].name);
		rc = SG_EXIT_FAIL;
	}
	for (i = 0; i < files->n_set_aside; i++)
		printf("note: torn line set aside in %s (not part of the chain)\n",
		    files->set_aside[i]);
 out:
	sg_audit_files_free(files);
	EVP_PKEY_free(key);
	free(serial);
	return finish_output(rc);
}

static int
show_entry(void *arg, const cJSON *entry, const char *line, size_t len)
{
	/* The line as logged: its hash can still be recomputed downstream. */
	if (fwrite(line, 1, len, stdout) != len || putchar('\n') == EOF)
		return SG_ERR_IO;
	return 0;
}

static int
cmd_show(const struct audit_opts *o)
{
	struct sg_audit_files *files = NULL;
	int r, rc;

	if ((rc = open_log(o, &files, NULL)) != SG_EXIT_OK)
		goto out;
	if ((r = sg_audit_each(files, &o->filter, show_entry, NULL)) != 0)
		rc = r == SG_ERR_IO ? sg_cli_fail("output", "cannot write to stdout") :
		    sg_cli_fail("LOG", "%s", files_error(r));
 out:
	sg_audit_files_free(files);
	return finish_output(rc);
}

static size_t
width_of(const char *s, size_t at_least)
{
	size_t n = s != NULL ? strlen(s) : 1;

	return n > at_least ? n : at_least;
}

static int
cmd_counts(const struct audit_opts *o)
{
	struct sg_audit_files *files = NULL;
	struct sg_audit_counts *counts = NULL;
	const struct sg_audit_count_row *row;
	enum sg_audit_group by = SG_AUDIT_BY_IDENTITY_CLIENT;
	uint64_t stamps = 0, signatures = 0, soap = 0, timestamps = 0;
	size_t wi = strlen("IDENTITY"), wc = strlen("CLIENT"), i;
	int year, month, r, rc;

	if (o->month == NULL)
		return sg_cli_usage("counts needs --month YYYY-MM");
	if (sg_audit_parse_month(o->month, &year, &month) != 0)
		return sg_cli_usage("--month %s is not YYYY-MM", o->month);
	if (o->by != NULL && strcmp(o->by, "identity") == 0)
		by = SG_AUDIT_BY_IDENTITY;
	else if (o->by != NULL && strcmp(o->by, "client") == 0)
		by = SG_AUDIT_BY_CLIENT;
	else if (o->by != NULL)
		return sg_cli_usage("--by is identity or client");
	if ((rc = open_log(o, &files, NULL)) != SG_EXIT_OK)
		goto out;
	if ((r = sg_audit_counts(files, year, month, by, &counts)) != 0) {
		rc = sg_cli_fail("LOG", "%s", files_error(r));
		goto out;
	}
	if (o->json) {
		rc = print_json(sg_audit_counts_json(counts, by));
		goto out;
	}
	for (i = 0; i < counts->n; i++) {
		wi = width_of(counts->rows[i].identity, wi);
		wc = width_of(counts->rows[i].client, wc);
	}
	printf("month %04d-%02d\n", year, month);
	if (by != SG_AUDIT_BY_CLIENT)
		printf("%-*s  ", (int)wi, "IDENTITY");
	if (by != SG_AUDIT_BY_IDENTITY)
		printf("%-*s  ", (int)wc, "CLIENT");
	printf("%10s %10s %10s %10s\n", "STAMPS", "SIGNATURES", "SOAP", "TIMESTAMPS");
	for (i = 0; i < counts->n; i++) {
		row = &counts->rows[i];
		if (by != SG_AUDIT_BY_CLIENT)
			printf("%-*s  ", (int)wi, row->identity != NULL ? row->identity : "-");
		if (by != SG_AUDIT_BY_IDENTITY)
			printf("%-*s  ", (int)wc, row->client != NULL ? row->client : "-");
		printf("%10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n", row->stamps,
		    row->signatures, row->soap, row->timestamps);
		stamps += row->stamps;
		signatures += row->signatures;
		soap += row->soap;
		timestamps += row->timestamps;
	}
	printf("%-*s  %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n",
	    (int)((by != SG_AUDIT_BY_CLIENT ? wi + 2 : 0) + (by != SG_AUDIT_BY_IDENTITY ? wc + 2 : 0)) - 2,
	    "total", stamps, signatures, soap, timestamps);
	rc = SG_EXIT_OK;
 out:
	sg_audit_counts_free(counts);
	sg_audit_files_free(files);
	return finish_output(rc);
}

static const struct {
	const char *name;
	int (*fn)(const struct audit_opts *);
	unsigned int options;
} commands[] = {
	{ "verify", cmd_verify, COMMON_OPTS | BIT(OPT_CERT) | BIT(OPT_ACCEPT_UNSEALED) |
	    BIT(OPT_MAX_UNSEALED_AGE) },
	{ "show", cmd_show, COMMON_OPTS | BIT(OPT_FROM) | BIT(OPT_TO) | BIT(OPT_CLIENT) |
	    BIT(OPT_IDENTITY) | BIT(OPT_TYPE) | BIT(OPT_OUTCOME) | BIT(OPT_AFTER_SEQ) },
	{ "counts", cmd_counts, COMMON_OPTS | BIT(OPT_MONTH) | BIT(OPT_BY) },
};

static int
parse_seq(const char *s, uint64_t *seqp)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*seqp = v;
	return 0;
}

int
main(int argc, char **argv)
{
	struct audit_opts o;
	const char *command;
	size_t i;
	int c;

	memset(&o, 0, sizeof(o));
	sg_audit_filter_init(&o.filter);
	sg_log_init("sealgate-audit", getenv("SEALGATE_DEBUG") != NULL ? SG_LOG_DEBUG : SG_LOG_QUIET);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		if (c >= OPT_CONFIG && c <= OPT_VERSION)
			o.given |= BIT(c);
		switch (c) {
		case OPT_CONFIG: o.config = optarg; break;
		case OPT_CERT: o.cert_file = optarg; break;
		case OPT_FROM: o.from = optarg; break;
		case OPT_TO: o.to = optarg; break;
		case OPT_CLIENT: o.filter.client = optarg; break;
		case OPT_IDENTITY: o.filter.identity = optarg; break;
		case OPT_TYPE: o.filter.type = optarg; break;
		case OPT_OUTCOME: o.filter.outcome = optarg; break;
		case OPT_AFTER_SEQ:
			if (parse_seq(optarg, &o.filter.after_seq) != 0)
				return sg_cli_usage("--after-seq %s is not a number", optarg);
			break;
		case OPT_MONTH: o.month = optarg; break;
		case OPT_BY: o.by = optarg; break;
		case OPT_JSON: o.json = 1; break;
		case OPT_ACCEPT_UNSEALED: o.accept_unsealed = 1; break;
		case OPT_MAX_UNSEALED_AGE: o.max_unsealed_age = optarg; break;
		case OPT_HELP:
			fputs(usage_text, stdout);
			return SG_EXIT_OK;
		case OPT_VERSION:
			printf("sealgate-audit %s\n", PACKAGE_VERSION);
			return SG_EXIT_OK;
		default:
			if (optopt >= OPT_CONFIG && optopt <= OPT_VERSION)
				return sg_cli_usage("option --%s needs a value",
				    long_options[optopt - OPT_CONFIG].name);
			return sg_cli_usage("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return sg_cli_usage("no command");
	command = argv[optind];
	o.logs = (const char *const *)argv + optind + 1;
	o.n_logs = (size_t)(argc - optind - 1);
	if (o.from != NULL && sg_audit_parse_time(o.from, &o.filter.from_ms) != 0)
		return sg_cli_usage("--from %s is not an RFC 3339 time or a date", o.from);
	if (o.to != NULL && sg_audit_parse_time(o.to, &o.filter.to_ms) != 0)
		return sg_cli_usage("--to %s is not an RFC 3339 time or a date", o.to);
	if (o.filter.outcome != NULL && strcmp(o.filter.outcome, "ok") != 0 &&
	    strcmp(o.filter.outcome, "error") != 0)
		return sg_cli_usage("--outcome is ok or error");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, command) != 0)
			continue;
		if ((o.given & ~commands[i].options) != 0) {
			for (c = OPT_CONFIG; c <= OPT_VERSION; c++) {
				if ((o.given & ~commands[i].options & BIT(c)) != 0)
					return sg_cli_usage("%s does not take --%s", command,
					    long_options[c - OPT_CONFIG].name);
			}
		}
		return commands[i].fn(&o);
	}
	return sg_cli_usage("unknown command \"%s\"", command);
}
