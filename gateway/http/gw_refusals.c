/* SPDX-License-Identifier: Apache-2.0 */
/* Coalescing of unauthenticated refusals (see gw_refusals.h): a table of
 * (peer, kind) windows under one mutex; audit entries are written outside
 * it. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"
#include "gw_audit.h"
#include "gw_refusals.h"
#include "sg_err.h"

#define PEER_MAX 64
#define KIND_MAX 64

struct window {
	int used;
	char peer[PEER_MAX];
	char kind[KIND_MAX];
	int64_t start_ms;
	uint64_t counted;	/* refusals after the first, not yet written */
};

struct gw_refusals {
	pthread_mutex_t lock;
	struct window w[GW_REFUSALS_SLOTS];
};

int
gw_refusals_new(struct gw_refusals **rp)
{
	struct gw_refusals *r;

	*rp = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return SG_ERR_ALLOC;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return SG_ERR_INTERNAL;
	}
	*rp = r;
	return 0;
}

void
gw_refusals_free(struct gw_refusals *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* The entry that stands for a window's counted refusals. */
static void
write_counted(struct gw *gw, const struct window *w)
{
	struct sg_audit_entry e;
	const char *keys[] = { "detail", "peer", "repeated" };
	const char *values[3];
	char detail[160], count[24];

	sg_msg(detail, sizeof(detail), "%s: %llu more from this peer within a second of the "
	    "first", w->kind, (unsigned long long)w->counted);
	if (snprintf(count, sizeof(count), "%llu", (unsigned long long)w->counted) >= (int)sizeof(count))
		count[0] = '\0';	/* a decimal 64-bit number fits */
	values[0] = detail;
	values[1] = w->peer;
	values[2] = count;
	memset(&e, 0, sizeof(e));
	e.type = "auth_failure";
	e.outcome = "error";
	e.error = "unauthorized";
	e.extra_keys = keys;
	e.extra_values = values;
	e.n_extra = 3;
	(void)gw_audit_append(gw, &e);
}

static size_t
slot_of(const char *peer, const char *kind)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */
	const unsigned char *p;

	for (p = (const unsigned char *)peer; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ULL;
	for (p = (const unsigned char *)kind; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (size_t)(h % GW_REFUSALS_SLOTS);
}

int
gw_refusals_admit(struct gw *gw, const char *peer, const char *kind, int64_t now_ms)
{
	struct gw_refusals *r = gw->refusals;
	struct window *w, closed;
	size_t i, probe;
	int audit = 1;

	if (r == NULL || peer == NULL || kind == NULL || strlen(peer) >= PEER_MAX ||
	    strlen(kind) >= KIND_MAX)
		return 1;
	closed.used = 0;
	pthread_mutex_lock(&r->lock);
	for (probe = 0, i = slot_of(peer, kind); probe < 8; probe++, i = (i + 1) % GW_REFUSALS_SLOTS) {
		w = &r->w[i];
		if (w->used && (strcmp(w->peer, peer) != 0 || strcmp(w->kind, kind) != 0)) {
			/* Another peer's window: take it over only once it is
			 * over (its count is written below). */
			if (now_ms - w->start_ms < GW_REFUSALS_WINDOW_MS)
				continue;
			if (w->counted > 0)
				closed = *w;
			w->used = 0;
		}
		if (w->used && now_ms - w->start_ms < GW_REFUSALS_WINDOW_MS) {
			w->counted++;	/* within the second of a first one */
			audit = 0;
			break;
		}
		if (w->used && w->counted > 0)
			closed = *w;	/* its second is over: write it first */
		memset(w, 0, sizeof(*w));
		w->used = 1;
		/* An address string and a route's audit type: they fit. */
		(void)sg_strfit(w->peer, sizeof(w->peer), peer);
		(void)sg_strfit(w->kind, sizeof(w->kind), kind);
		w->start_ms = now_ms;
		break;
	}
	pthread_mutex_unlock(&r->lock);
	if (closed.used)
		write_counted(gw, &closed);
	return audit;
}

void
gw_refusals_flush(struct gw *gw, int64_t now_ms, int all)
{
	struct gw_refusals *r = gw->refusals;
	struct window closed;
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < GW_REFUSALS_SLOTS; i++) {
		closed.used = 0;
		pthread_mutex_lock(&r->lock);
		if (r->w[i].used && (all || now_ms - r->w[i].start_ms >= GW_REFUSALS_WINDOW_MS)) {
			if (r->w[i].counted > 0)
				closed = r->w[i];
			r->w[i].used = 0;
		}
		pthread_mutex_unlock(&r->lock);
		if (closed.used)
			write_counted(gw, &closed);
	}
}
