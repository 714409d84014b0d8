/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the idempotency store: replay of the first answer, a
 * conflict for another digest, records kept across a reopen, expiry, keys
 * of different clients kept apart, and a concurrent duplicate waiting for
 * the first request's answer instead of going ahead. */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "gw_idem.h"
#include "sg_err.h"
#include "sg_file.h"
#include "sg_test.h"

static char dir[64];

static void
fresh_dir(void)
{
	if (dir[0] != '\0')
		sg_test_rm_rf(dir);
	snprintf(dir, sizeof(dir), "/tmp/sg-idem-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
}

static void
test_key_valid(void)
{
	char long_key[GW_IDEM_KEY_MAX + 2];

	CU_ASSERT_TRUE(gw_idem_key_valid("order-42"));
	CU_ASSERT_TRUE(gw_idem_key_valid("~!@#$%^&*()"));
	CU_ASSERT_FALSE(gw_idem_key_valid(""));
	CU_ASSERT_FALSE(gw_idem_key_valid(NULL));
	CU_ASSERT_FALSE(gw_idem_key_valid("with space"));
	CU_ASSERT_FALSE(gw_idem_key_valid("tab\there"));
	CU_ASSERT_FALSE(gw_idem_key_valid("caf\xc3\xa9"));
	memset(long_key, 'k', sizeof(long_key));
	long_key[GW_IDEM_KEY_MAX] = '\0';
	CU_ASSERT_TRUE(gw_idem_key_valid(long_key));
	long_key[GW_IDEM_KEY_MAX] = 'k';
	long_key[GW_IDEM_KEY_MAX + 1] = '\0';
	CU_ASSERT_FALSE(gw_idem_key_valid(long_key));
}

static void
test_replay_conflict_restart(void)
{
	struct gw_idem *idem = NULL;
	struct gw_idem_slot *slot = NULL;
	char *answer = NULL, *first = NULL;
	size_t len = 0;

	fresh_dir();
	CU_ASSERT_EQUAL_FATAL(gw_idem_open(dir, &idem), 0);
	CU_ASSERT_EQUAL(gw_idem_begin(idem, "billing", "k1", "seal-a", "sha256:aa", &slot, &answer, &len,
	    &first),
	    GW_IDEM_NEW);
	CU_ASSERT_PTR_NOT_NULL_FATAL(slot);
	CU_ASSERT_EQUAL(gw_idem_store(idem, slot, "req-1", "{\"cms\":\"x\"}", 11), 0);
	CU_ASSERT_EQUAL(gw_idem_begin(idem, "billing", "k1", "seal-a", "sha256:aa", &slot, &answer, &len,
	    &first),
	    GW_IDEM_REPLAY);
	CU_ASSERT_PTR_NULL(slot);
	CU_ASSERT_STRING_EQUAL(answer, "{\"cms\":\"x\"}");
	CU_ASSERT_EQUAL(len, 11);
	CU_ASSERT_STRING_EQUAL(first, "req-1");
	free(answer);
	free(first);
	CU_ASSERT_EQUAL(gw_idem_begin(idem, "billing", "k1", "seal-a", "sha256:bb", &slot, &answer, &len,
	    &first),
	    GW_IDEM_CONFLICT);
	CU_ASSERT_PTR_NULL(slot);
	/* The same key and digest under another identity is no repeat: the
	 * answer on record was sealed by another key. */
	CU_ASSERT_EQUAL(gw_idem_begin(idem, "billing", "k1", "seal-b", "sha256:aa", &slot, &answer, &len,
	    &first), GW_IDEM_CONFLICT);
	CU_ASSERT_PTR_NULL(slot);
	CU_ASSERT_PTR_NULL(answer);
	/* Another client's key of the same name is its own. */
	CU_ASSERT_EQUAL(gw_idem_begin(idem, "other", "k1", "seal-a", "sha256:bb", &slot, &answer, &len,
	    &first),
	    GW_IDEM_NEW);
	gw_idem_release(idem, slot);
	/* A released (failed) request leaves nothing behind. */
	CU_ASSERT_EQUAL(gw_idem_begin(idem, "other", "k1", "seal-a", "sha256:cc", &slot, &answer, &len,
	    &first),
	    GW_IDEM_NEW);
	gw_idem_release(idem, slot);
	gw_idem_close(idem);
	/* Kept across a restart. */
	CU_ASSERT_EQUAL_FATAL(gw_idem_open(dir, &idem), 0);
	CU_ASSERT_EQUAL(gw_idem_begin(idem, "billing", "k1", "seal-a", "sha256:aa", &slot, &answer, &len,
	    &first),
	    GW_IDEM_REPLAY);
	free(answer);
	free(first);
	gw_idem_close(idem);
}

static void
test_expiry(void)
{
	struct gw_idem *idem = NULL;
	struct gw_idem_slot *slot = NULL;
	char *answer = NULL, *first = NULL, path[256], cmd[512];
	size_t len = 0;

	fresh_dir();
	CU_ASSERT_EQUAL_FATAL(gw_idem_open(dir, &idem), 0);
	CU_ASSERT_EQUAL(gw_idem_begin(idem, "c", "old", "seal-a", "sha256:aa", &slot, &answer, &len,
	    &first),
	    GW_IDEM_NEW);
	CU_ASSERT_EQUAL(gw_idem_store(idem, slot, "req-old", "{}", 2), 0);
	/* Make the record 25 hours old. */
	snprintf(cmd, sizeof(cmd), "for f in %s/*.json; do sed -i 's/\"created\":[0-9.e+]*/\"created\":%ld/' $f; done",
	    dir, (long)time(NULL) - 25 * 3600);
	CU_ASSERT_EQUAL(system(cmd), 0);
	CU_ASSERT_EQUAL(gw_idem_begin(idem, "c", "old", "seal-a", "sha256:bb", &slot, &answer, &len,
	    &first),
	    GW_IDEM_NEW);
	gw_idem_release(idem, slot);
	(void)path;
	gw_idem_close(idem);
}

struct racer {
	struct gw_idem *idem;
	int state;
	char *answer;
	pid_t tid;		/* set once the thread runs */
};

/* Whether thread tid sleeps in a futex wait (a mutex): the kernel names
 * the system call a blocked thread is in. Polled until true or 10 s. */
static int
wait_blocked_in_futex(pid_t tid)
{
	char path[64], buf[64];
	FILE *f;
	long nr;
	int i;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	for (i = 0; i < 10000; i++) {
		nr = -1;
		if ((f = fopen(path, "r")) != NULL) {
			if (fgets(buf, sizeof(buf), f) != NULL && buf[0] >= '0' && buf[0] <= '9')
				nr = strtol(buf, NULL, 10);
			fclose(f);
		}
		if (nr == SYS_futex)
			return 1;
		usleep(1000);
	}
	return 0;
}

static void *
racer_main(void *arg)
{
	struct racer *rc = arg;
	struct gw_idem_slot *slot = NULL;
	char *first = NULL;
	size_t len;

	__atomic_store_n(&rc->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	rc->state = gw_idem_begin(rc->idem, "billing", "same", "seal-a", "sha256:aa", &slot,
	    &rc->answer, &len, &first);
	free(first);
	if (slot != NULL)
		gw_idem_release(rc->idem, slot);
	return NULL;
}

static void
test_concurrent_duplicate_waits(void)
{
	struct gw_idem *idem = NULL;
	struct gw_idem_slot *slot = NULL;
	struct racer rc;
	pthread_t t;
	char *answer = NULL, *first = NULL;
	size_t len = 0;

	fresh_dir();
	CU_ASSERT_EQUAL_FATAL(gw_idem_open(dir, &idem), 0);
	CU_ASSERT_EQUAL_FATAL(gw_idem_begin(idem, "billing", "same", "seal-a", "sha256:aa", &slot,
	    &answer, &len, &first), GW_IDEM_NEW);
	memset(&rc, 0, sizeof(rc));
	rc.idem = idem;
	rc.state = -1;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, racer_main, &rc), 0);
	/* The duplicate blocks on the key until the first request answers. */
	while (__atomic_load_n(&rc.tid, __ATOMIC_SEQ_CST) == 0)
		sched_yield();
	CU_ASSERT_TRUE(wait_blocked_in_futex(rc.tid));
	CU_ASSERT_EQUAL(__atomic_load_n(&rc.state, __ATOMIC_SEQ_CST), -1);
	CU_ASSERT_EQUAL(gw_idem_store(idem, slot, "req-first", "{\"a\":1}", 7), 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(rc.state, GW_IDEM_REPLAY);
	CU_ASSERT_PTR_NOT_NULL(rc.answer);
	if (rc.answer != NULL)
		CU_ASSERT_STRING_EQUAL(rc.answer, "{\"a\":1}");
	free(rc.answer);
	gw_idem_close(idem);
}

int
main(void)
{
	static const struct sg_test_case cases[] = {
		{ "key syntax", test_key_valid },
		{ "replay, conflict, restart", test_replay_conflict_restart },
		{ "expiry", test_expiry },
		{ "a concurrent duplicate waits", test_concurrent_duplicate_waits },
		{ NULL, NULL }
	};
	int r = sg_test_run("idempotency", cases);
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
	return r;
}
