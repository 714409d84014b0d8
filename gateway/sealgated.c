/* SPDX-License-Identifier: Apache-2.0 */
/* sealgated: load and check the configuration, open the token and log in,
 * open the audit log, serve HTTP, and handle signals: SIGHUP reloads the
 * configuration atomically, SIGTERM/SIGINT drain requests in flight, write
 * the shutdown entry and exit 0. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <libxml/parser.h>
#include <openssl/err.h>

#include "gw.h"
#include "gw_checkpoint.h"
#include "gw_forward.h"
#include "gw_http.h"
#include "gw_idem.h"
#include "gw_jobs.h"
#include "gw_metrics.h"
#include "gw_refusals.h"
#include "gw_snapshot.h"
#include "gw_tls.h"
#include "gw_token.h"
#include "gw_xmlverify.h"
#include "sg_err.h"
#include "sg_file.h"
#include "sg_log.h"
#include "sg_secret.h"

#define DEFAULT_CONFIG "/etc/sealgate/sealgate.json"
#define DRAIN_MS 30000

static const char usage_text[] =
"usage: sealgated [--config FILE] [--foreground] [--check-config] [--ready-file FILE]\n"
"  --config FILE      configuration (default SEALGATE_CONFIG or " DEFAULT_CONFIG ")\n"
"  --foreground       stay in the foreground (for systemd and containers)\n"
"  --check-config     check the configuration and the token, print what was found, exit\n"
"  --ready-file FILE  once listening, write {\"url\",\"port\",\"pid\"} to FILE\n"
"  --verbose          debug logging\n"
"PIN: token.pin_file, else SEALGATE_PIN. SIGHUP reloads, SIGTERM stops.\n";

static void
fatal(const char *what, const char *why)
{
	fprintf(stderr, "sealgated: %s: %s\n", what, why);
}

static int
read_pin(const struct sg_config *cfg, char **pinp)
{
	int r;

	if (cfg->token.pin_file != NULL) {
		if ((r = sg_secret_read_file(cfg->token.pin_file, pinp)) != 0) {
			fatal(cfg->token.pin_file, r == SG_ERR_PERMISSION ?
			    "the PIN file must be readable by its owner only" : sg_strerror(r));
			return r;
		}
		return 0;
	}
	if ((r = sg_secret_take_env("SEALGATE_PIN", pinp)) != 0) {
		fatal("PIN", "set token.pin_file or SEALGATE_PIN");
		return r;
	}
	return 0;
}

/* Open the module and token named in cfg and log in. */
static int
open_token(struct gw *gw, const struct sg_config *cfg)
{
	const char *module = cfg->token.module;
	char *pin = NULL, bad[64], why[128];
	int r, uri = sgp11_uri_is(cfg->token.label);

	if (module == NULL)
		module = getenv("SEALGATE_PKCS11_MODULE");
	if (module == NULL)
		module = SG_DEFAULT_MODULE_PATH;
	if (sgp11_uri_check(cfg->token.label, bad, sizeof(bad)) != 0) {
		sg_msg(why, sizeof(why), "bad PKCS#11 URI: attribute %s", bad);
		fatal("$.token.label", why);
		return SG_ERR_CONFIG;
	}
	if ((r = sgp11_open(module, cfg->token.label, &gw->token)) != 0) {
		fatal(uri ? "$.token.label" : "$.token", r == SG_ERR_TOKEN_NOT_FOUND ? (uri ?
		    "no initialised token matches this PKCS#11 URI" :
		    "no initialised token with this label") : r == SG_ERR_INVALID_ARG && uri ?
		    "the PKCS#11 URI's module-path or module-name is not $.token.module" : sg_strerror(r));
		return r;
	}
	if ((r = sgp11_set_session_limit(gw->token, cfg->token.max_sessions)) != 0) {
		fatal("$.token.max_sessions", sg_strerror(r));
		return r;
	}
	if ((r = read_pin(cfg, &pin)) != 0)
		return r;
	r = sgp11_login(gw->token, pin);
	sg_free_secret_str(pin);
	if (r != 0)
		fatal("$.token.pin_file", sg_strerror(r));
	return r;
}

static int
check_config(struct gw *gw, const char *path)
{
	struct sg_config *cfg = NULL;
	struct gw_snapshot *snap = NULL;
	char err[512];
	size_t i;
	int r;

	if ((r = sg_config_load_file(path, &cfg, err, sizeof(err))) != 0) {
		fatal(path, err);
		return 1;
	}
	/* The listener's files are checked before the token is opened, so
	 * their errors do not wait on it. */
	if (cfg->listen.tls != NULL) {
		struct gw_tls *tls = NULL;
		char until[32];
		time_t t;
		struct tm tm;

		if ((r = gw_tls_load(cfg->listen.tls, &tls, err, sizeof(err))) != 0) {
			fatal(path, r == SG_ERR_CONFIG ? err : sg_strerror(r));
			sg_config_free(cfg);
			return 1;
		}
		t = gw_tls_not_after(tls);
		gmtime_r(&t, &tm);
		strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("listen.tls: %s (serial %s) until %s; client certificates %s\n",
		    gw_tls_subject(tls), gw_tls_serial(tls), until,
		    cfg->listen.tls->client_ca_file != NULL ? "from client_ca_file" : "not asked for");
		gw_tls_unref(tls);
	}
	if ((r = open_token(gw, cfg)) != 0) {
		sg_config_free(cfg);
		return 1;
	}
	printf("configuration %s: ok\ntoken \"%s\": logged in, %zu signing sessions\n", path,
	    cfg->token.label, sgp11_session_limit(gw->token));
	sg_config_free(cfg);
	if ((r = gw_snapshot_load(gw, path, 1, &snap, err, sizeof(err))) != 0) {
		fatal(path, err);
		return 1;
	}
	for (i = 0; i < snap->n_ids; i++) {
		const struct gw_identity *id = &snap->ids[i];

		printf("identity %s: key \"%s\" %s, %s\n", id->cfg->name, id->cfg->key_label,
		    id->key_type, id->cert != NULL ? "certificate until" : "no certificate");
		if (id->cert != NULL) {
			char when[32];
			struct tm tm;

			gmtime_r(&id->not_after, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			printf("  %s (serial %s)%s\n", when, id->cert_serial,
			    id->not_after < time(NULL) ? " EXPIRED" : "");
		}
	}
	for (i = 0; i < snap->n_tsas; i++)
		printf("time-stamp authority %s: %s, signer under %s\n", snap->tsas[i].cfg->name,
		    snap->tsas[i].cfg->url, snap->tsas[i].cfg->tsa.tsa_ca_file);
	printf("audit: %s\nlisten: %s port %u, %u threads, %s\n", snap->cfg->audit.dir,
	    snap->cfg->listen.address, snap->cfg->listen.port, snap->cfg->listen.threads,
	    snap->cfg->listen.tls != NULL ? "HTTPS" : "HTTP");
	gw_snapshot_put(gw, snap);
	return 0;
}

static int
write_ready_file(const char *path, const char *address, unsigned int port, int https)
{
	cJSON *doc = cJSON_CreateObject();
	char url[128], *text;
	int r;

	if (snprintf(url, sizeof(url), strchr(address, ':') != NULL ? "%s://[%s]:%u" :
	    "%s://%s:%u", https ? "https" : "http", address, port) >= (int)sizeof(url)) {
		cJSON_Delete(doc);
		return SG_ERR_TOO_LARGE;
	}
	cJSON_AddStringToObject(doc, "url", url);
	cJSON_AddNumberToObject(doc, "port", port);
	cJSON_AddNumberToObject(doc, "pid", (double)getpid());
	text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (text == NULL)
		return SG_ERR_ALLOC;
	r = sg_file_write_atomic(path, text, strlen(text), 0644);
	cJSON_free(text);
	return r;
}

static int
audit_event(struct gw *gw, const char *type, const char *detail)
{
	struct sg_audit_entry e;
	const char *keys[] = { "detail" };
	const char *values[] = { detail };

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.outcome = "ok";
	e.extra_keys = keys;
	e.extra_values = values;
	e.n_extra = detail != NULL ? 1 : 0;
	return sg_audit_append(gw->audit, &e, NULL, NULL);
}

/* Become a background process: the parent exits once the child is past
 * start-up (or with its error). */
static int
daemonize(int *notify_fd)
{
	int fds[2];
	pid_t pid;
	char status = 1;

	if (pipe(fds) != 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(fds[0]);
	if (setsid() < 0)
		return -1;
	*notify_fd = fds[1];
	return 0;
}

static void
detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	(void)dup2(fd, STDIN_FILENO);
	(void)dup2(fd, STDOUT_FILENO);
	(void)dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct gw gw;
	struct gw_snapshot *snap = NULL;
	struct gw_http *http = NULL;
	struct gw_checkpointer *checkpointer = NULL;
	struct sg_config *cfg = NULL;
	struct sg_audit_options aopts;
	const char *ready_file = NULL, *path;
	int xml_ready = 0;
	int foreground = 0, check = 0, notify_fd = -1, c, r, sig, ret = 1;
	unsigned int port = 0;
	char err[512], detail[600];
	sigset_t sigs;

	memset(&gw, 0, sizeof(gw));
	sg_log_init("sealgated", SG_LOG_INFO);
	/* The PIN and the transfer passwords pass through this process's
	 * memory: no core dump of it, and no ptrace by same-user processes
	 * (systemd's unit says so too; this holds wherever it runs). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		sg_warn("cannot make the process undumpable: %s", strerror(errno));
	path = getenv("SEALGATE_CONFIG") != NULL ? getenv("SEALGATE_CONFIG") : DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'f': foreground = 1; break;
		case 'k': check = 1; break;
		case 'r': ready_file = optarg; break;
		case 'v': sg_log_set_level(SG_LOG_DEBUG); break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("sealgated %s\n", PACKAGE_VERSION); return 0;
		default:
			fprintf(stderr, "sealgated: usage: unknown option (see --help)\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "sealgated: usage: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	pthread_mutex_init(&gw.snap_lock, NULL);
	pthread_mutex_init(&gw.reload_lock, NULL);
	gw_token_init(&gw);
	if ((gw.config_path = realpath(path, NULL)) == NULL) {
		fatal(path, strerror(errno));
		return 1;
	}
	if (check) {
		sg_log_set_level(SG_LOG_QUIET);
		ret = check_config(&gw, gw.config_path);
		goto out;
	}
	if ((r = sg_config_load_file(gw.config_path, &cfg, err, sizeof(err))) != 0) {
		fatal(gw.config_path, err);
		goto out;
	}
	/* PKCS#11 modules must not cross fork(): detach before opening. */
	if (!foreground && daemonize(&notify_fd) != 0) {
		fatal("daemonize", strerror(errno));
		goto out;
	}
	/* Signals are taken by this thread with sigwait; every thread started
	 * from here on inherits the mask. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);	/* a full file system fails the write, not the process */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (gw_forward_global_init() != 0)
		goto out;
	xmlInitParser();
	if (gw_xmlverify_global_init() != 0) {
		fatal("xmlsec", "the XML security library cannot be initialised");
		goto out;
	}
	xml_ready = 1;
	if ((r = gw_refusals_new(&gw.refusals)) != 0) {
		fatal("refusals", sg_strerror(r));
		goto out;
	}
	if ((r = gw_metrics_new(&gw.metrics)) != 0) {
		fatal("metrics", sg_strerror(r));
		goto out;
	}
	memset(&aopts, 0, sizeof(aopts));
	aopts.rotate_bytes = cfg->audit.rotate_bytes;
	aopts.group_commit_us = cfg->audit.group_commit_us;
	if ((r = sg_audit_open(cfg->audit.dir, &aopts, &gw.audit)) != 0) {
		fatal("$.audit.dir", "the audit log cannot be opened (see the log above)");
		goto out;
	}
	if (open_token(&gw, cfg) != 0)
		goto out;
	gw.max_json_bytes = cfg->limits.max_json_bytes;
	gw.max_soap_bytes = cfg->limits.max_soap_bytes;
	gw.max_document_bytes = cfg->limits.max_document_bytes;
	if ((gw.audit_dir = strdup(cfg->audit.dir)) == NULL) {
		fatal("audit", "out of memory");
		goto out;
	}
	/* Idempotency records live beside the audit log: as durable, and
	 * outside the audit-NNNNNN.jsonl names. */
	{
		char idem_dir[4096];

		if (snprintf(idem_dir, sizeof(idem_dir), "%s/idempotency", cfg->audit.dir) >=
		    (int)sizeof(idem_dir) || gw_idem_open(idem_dir, &gw.idem) != 0) {
			fatal("$.audit.dir", "the idempotency store cannot be opened");
			goto out;
		}
	}
	if ((r = gw_snapshot_load(&gw, gw.config_path, 1, &snap, err, sizeof(err))) != 0) {
		fatal(gw.config_path, err);
		goto out;
	}
	gw.snap = snap;
	snap = NULL;
	gw_snapshot_discover(&gw);
	gw_metrics_config_load(gw.metrics, "ok");
	sg_msg(detail, sizeof(detail), "sealgated %s pid %ld%s%s", PACKAGE_VERSION, (long)getpid(),
	    sg_audit_recovered(gw.audit) != NULL ? "; torn audit tail set aside in " : "",
	    sg_audit_recovered(gw.audit) != NULL ? sg_audit_recovered(gw.audit) : "");
	if (audit_event(&gw, "startup", detail) != 0 ||
	    audit_event(&gw, "config_load", gw.config_path) != 0) {
		fatal("audit", "the audit log does not take writes");
		goto out;
	}
	/* Jobs beside the audit log too: their files are the job state. */
	{
		char jobs_dir[4096];

		if (snprintf(jobs_dir, sizeof(jobs_dir), "%s/jobs", cfg->audit.dir) >=
		    (int)sizeof(jobs_dir) || gw_jobs_start(&gw, jobs_dir, &gw.jobs) != 0) {
			fatal("$.audit.dir", "the jobs directory cannot be used");
			goto out;
		}
	}
	if ((r = gw_token_watch_start(&gw)) != 0) {
		fatal("token", sg_strerror(r));
		goto out;
	}
	if ((r = gw_checkpoint_start(&gw, &checkpointer)) != 0) {
		fatal("checkpoints", sg_strerror(r));
		goto out;
	}
	if ((r = gw_http_start(&gw, gw.snap->cfg, &http, &port)) != 0) {
		fatal("listen", sg_strerror(r));
		goto out;
	}
	sg_info("listening on %s port %u with %u threads (%s)", cfg->listen.address, port,
	    cfg->listen.threads, cfg->listen.tls != NULL ? "HTTPS" : "HTTP");
	if (ready_file != NULL && (r = write_ready_file(ready_file, cfg->listen.address, port,
	    cfg->listen.tls != NULL)) != 0) {
		fatal(ready_file, sg_strerror(r));
		goto out;
	}
	if (notify_fd >= 0) {
		char ok = 0;

		(void)!write(notify_fd, &ok, 1);
		close(notify_fd);
		notify_fd = -1;
		detach_stdio();
	}
	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			(void)gw_reload(&gw, "SIGHUP");
			continue;
		}
		sg_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
	gw_http_stop(http, DRAIN_MS);
	http = NULL;
	gw_jobs_stop(gw.jobs);
	gw.jobs = NULL;
	gw_checkpoint_stop(checkpointer);
	checkpointer = NULL;
	gw_token_watch_stop(&gw);
	gw_refusals_flush(&gw, 0, 1);	/* every count, before the last seal */
	if (audit_event(&gw, "shutdown", sig == SIGTERM ? "SIGTERM" : "SIGINT") != 0)
		sg_error("audit: cannot record the shutdown");
	/* The last entry of a clean stop seals everything before it. */
	if ((r = gw_checkpoint_write(&gw)) != 0 && r != SG_ERR_NOT_FOUND)
		sg_error_r(r, "audit: no final checkpoint");
	ret = 0;
 out:
	gw_http_stop(http, 0);
	gw_jobs_stop(gw.jobs);
	gw_checkpoint_stop(checkpointer);
	gw_token_watch_stop(&gw);
	sg_audit_close(gw.audit);
	if (gw.snap != NULL)
		gw_snapshot_put(&gw, gw.snap);
	gw_snapshot_put(&gw, snap);
	sgp11_close(gw.token);
	gw_metrics_free(gw.metrics);
	gw_refusals_free(gw.refusals);
	sg_config_free(cfg);
	free(gw.config_path);
	free(gw.audit_dir);
	gw_idem_close(gw.idem);
	if (notify_fd >= 0)
		close(notify_fd);
	if (xml_ready)
		gw_xmlverify_global_cleanup();
	gw_forward_global_cleanup();
	return ret;
}
