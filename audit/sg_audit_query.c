/* SPDX-License-Identifier: Apache-2.0 */
/* Queries over the audit log (see sg_audit_read.h): filtered entries,
 * pages for GET /v1/audit/entries, and the monthly counts per identity
 * and client. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_audit.h"
#include "sg_audit_entry.h"
#include "sg_audit_read.h"
#include "sg_err.h"

#define COUNT_ROWS_MAX	100000

/*
 * Query.
 */

void
sg_audit_filter_init(struct sg_audit_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->from_ms = SG_AUDIT_TIME_OPEN_FROM;
	f->to_ms = SG_AUDIT_TIME_OPEN_TO;
}

static int
str_matches(const cJSON *obj, const char *name, const char *want)
{
	const char *have;

	if (want == NULL)
		return 1;
	have = sg_audit_entry_str(obj, name);
	return have != NULL && strcmp(have, want) == 0;
}
static int
filter_matches(const struct sg_audit_filter *f, const cJSON *obj, uint64_t seq)
{
	int64_t ms;

	if (f == NULL)
		return 1;
	if (seq <= f->after_seq)
		return 0;
	if (!str_matches(obj, "client", f->client) || !str_matches(obj, "identity", f->identity) ||
	    !str_matches(obj, "type", f->type) || !str_matches(obj, "outcome", f->outcome))
		return 0;
	if (f->from_ms != SG_AUDIT_TIME_OPEN_FROM || f->to_ms != SG_AUDIT_TIME_OPEN_TO) {
		if (!sg_audit_entry_time(obj, &ms) || ms < f->from_ms || ms >= f->to_ms)
			return 0;
	}
	return 1;
}

/* *seqp: seq of the first entry of files->files[i], 0 when it has none. */
static int
first_seq(const struct sg_audit_files *files, size_t i, uint64_t *seqp)
{
	struct sg_audit_reader *rd = NULL;
	struct sg_audit_line line;
	cJSON *obj;
	int r;

	*seqp = 0;
	if ((r = sg_audit_reader_open(files, i, &rd)) != 0)
		return r;
	if ((r = sg_audit_reader_next(rd, &line)) == 1 && line.file == i &&
	    (obj = sg_audit_entry_object(&line)) != NULL) {
		*seqp = sg_audit_entry_seq(obj);
		cJSON_Delete(obj);
	}
	sg_audit_reader_free(rd);
	return r < 0 ? r : 0;
}

/* Seqs only grow along the files: every file before the last one that
 * starts at or below after_seq + 1 holds nothing past after_seq. */
static int
start_file(const struct sg_audit_files *files, uint64_t after_seq, size_t *startp)
{
	uint64_t seq;
	size_t i;
	int r;

	*startp = 0;
	if (after_seq == 0)
		return 0;
	for (i = 1; i < files->n; i++) {
		if ((r = first_seq(files, i, &seq)) != 0)
			return r;
		if (seq == 0 || seq > after_seq + 1)
			break;
		*startp = i;
	}
	return 0;
}

int
sg_audit_each(const struct sg_audit_files *files, const struct sg_audit_filter *f,
    sg_audit_each_fn fn, void *arg)
{
	struct sg_audit_reader *rd = NULL;
	struct sg_audit_line line;
	size_t start;
	uint64_t seq;
	cJSON *obj;
	int r;

	if (files == NULL || fn == NULL)
		return SG_ERR_INVALID_ARG;
	if ((r = start_file(files, f != NULL ? f->after_seq : 0, &start)) != 0 ||
	    (r = sg_audit_reader_open(files, start, &rd)) != 0)
		goto out;
	while ((r = sg_audit_reader_next(rd, &line)) == 1) {
		if ((obj = sg_audit_entry_object(&line)) == NULL)
			continue;
		if ((seq = sg_audit_entry_seq(obj)) != 0 && filter_matches(f, obj, seq))
			r = fn(arg, obj, line.text, line.len);
		else
			r = 0;
		cJSON_Delete(obj);
		if (r != 0)
			break;
	}
	if (r > 0)
		r = 0;
 out:
	sg_audit_reader_free(rd);
	return r;
}

struct query_page {
	cJSON *entries;
	unsigned int limit, taken;
	uint64_t last_seq;
	uint64_t next_after_seq;
};

static int
collect_entry(void *arg, const cJSON *entry, const char *line, size_t len)
{
	struct query_page *page = arg;
	cJSON *copy;

	if (page->taken == page->limit) {
		/* One more matches: there is a next page. */
		page->next_after_seq = page->last_seq;
		return 1;
	}
	if ((copy = cJSON_Duplicate(entry, 1)) == NULL)
		return SG_ERR_ALLOC;
	cJSON_AddItemToArray(page->entries, copy);
	page->taken++;
	page->last_seq = sg_audit_entry_seq(entry);
	return 0;
}

int
sg_audit_query(const struct sg_audit_files *files, const struct sg_audit_filter *f,
    unsigned int limit, cJSON **entriesp, uint64_t *next_after_seqp)
{
	struct query_page page;
	int r;

	if (entriesp == NULL || next_after_seqp == NULL)
		return SG_ERR_INVALID_ARG;
	*entriesp = NULL;
	*next_after_seqp = 0;
	if (limit > SG_AUDIT_QUERY_LIMIT_MAX || files == NULL)
		return SG_ERR_INVALID_ARG;
	memset(&page, 0, sizeof(page));
	page.limit = limit == 0 ? SG_AUDIT_QUERY_LIMIT_DEFAULT : limit;
	if ((page.entries = cJSON_CreateArray()) == NULL)
		return SG_ERR_ALLOC;
	if ((r = sg_audit_each(files, f, collect_entry, &page)) != 0) {
		cJSON_Delete(page.entries);
		return r;
	}
	*entriesp = page.entries;
	*next_after_seqp = page.next_after_seq;
	return 0;
}

/*
 * Counts.
 */

void
sg_audit_counts_free(struct sg_audit_counts *counts)
{
	size_t i;

	if (counts == NULL)
		return;
	for (i = 0; i < counts->n; i++) {
		free(counts->rows[i].identity);
		free(counts->rows[i].client);
	}
	free(counts->rows);
	free(counts);
}

/* NULL sorts first. */
static int
cmp_nullable(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

struct counter {
	struct sg_audit_counts *counts;
	size_t alloc;
	enum sg_audit_group by;
};

/* The row for (identity, client), inserted in order when new. */
static int
count_row(struct counter *c, const char *identity, const char *client,
    struct sg_audit_count_row **rowp)
{
	struct sg_audit_counts *counts = c->counts;
	struct sg_audit_count_row *grown, fresh;
	size_t lo = 0, hi = counts->n, mid;
	int cmp;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = cmp_nullable(counts->rows[mid].identity, identity);
		if (cmp == 0)
			cmp = cmp_nullable(counts->rows[mid].client, client);
		if (cmp == 0) {
			*rowp = &counts->rows[mid];
			return 0;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (counts->n >= COUNT_ROWS_MAX)
		return SG_ERR_TOO_LARGE;
	if (counts->n == c->alloc) {
		c->alloc = c->alloc == 0 ? 16 : c->alloc * 2;
		if ((grown = reallocarray(counts->rows, c->alloc, sizeof(*grown))) == NULL)
			return SG_ERR_ALLOC;
		counts->rows = grown;
	}
	memset(&fresh, 0, sizeof(fresh));
	if ((identity != NULL && (fresh.identity = strdup(identity)) == NULL) ||
	    (client != NULL && (fresh.client = strdup(client)) == NULL)) {
		free(fresh.identity);
		return SG_ERR_ALLOC;
	}
	memmove(&counts->rows[lo + 1], &counts->rows[lo], (counts->n - lo) * sizeof(fresh));
	counts->rows[lo] = fresh;
	counts->n++;
	*rowp = &counts->rows[lo];
	return 0;
}

static int
count_entry(void *arg, const cJSON *entry, const char *line, size_t len)
{
	struct counter *c = arg;
	struct sg_audit_count_row *row;
	const char *type = sg_audit_entry_str(entry, "type");
	const cJSON *replay = cJSON_GetObjectItemCaseSensitive(entry, "replay");
	int r;

	/* The filter took outcome ok and the month. */
	if (type == NULL || (replay != NULL && !cJSON_IsNull(replay)))
		return 0;
	if (strcmp(type, "stamp") != 0 && strcmp(type, "sign") != 0 && strcmp(type, "soap") != 0 &&
	    strcmp(type, "timestamp") != 0)
		return 0;
	if ((r = count_row(c, c->by == SG_AUDIT_BY_CLIENT ? NULL : sg_audit_entry_str(entry, "identity"),
	    c->by == SG_AUDIT_BY_IDENTITY ? NULL : sg_audit_entry_str(entry, "client"), &row)) != 0)
		return r;
	if (strcmp(type, "stamp") == 0)
		row->stamps++;
	else if (strcmp(type, "sign") == 0)
		row->signatures++;
	else if (strcmp(type, "timestamp") == 0)
		row->timestamps++;
	else
		row->soap++;
	return 0;
}

int
sg_audit_counts(const struct sg_audit_files *files, int year, int month,
    enum sg_audit_group by, struct sg_audit_counts **countsp)
{
	struct sg_audit_filter f;
	struct counter c;
	int r;

	if (countsp == NULL)
		return SG_ERR_INVALID_ARG;
	*countsp = NULL;
	if (files == NULL || year < 1970 || year > 9999 || month < 1 || month > 12 ||
	    (by != SG_AUDIT_BY_IDENTITY_CLIENT && by != SG_AUDIT_BY_IDENTITY &&
	    by != SG_AUDIT_BY_CLIENT))
		return SG_ERR_INVALID_ARG;
	memset(&c, 0, sizeof(c));
	c.by = by;
	if ((c.counts = calloc(1, sizeof(*c.counts))) == NULL)
		return SG_ERR_ALLOC;
	c.counts->year = year;
	c.counts->month = month;
	sg_audit_filter_init(&f);
	f.outcome = "ok";
	f.from_ms = sg_audit_days_from_civil(year, (unsigned int)month, 1) * 86400 * 1000;
	f.to_ms = (month == 12 ? sg_audit_days_from_civil(year + 1, 1, 1) :
	    sg_audit_days_from_civil(year, (unsigned int)month + 1, 1)) * 86400 * 1000;
	if ((r = sg_audit_each(files, &f, count_entry, &c)) != 0)
		goto out;
	*countsp = c.counts;
	c.counts = NULL;
	r = 0;
 out:
	sg_audit_counts_free(c.counts);
	return r;
}

static int
add_nullable(cJSON *obj, const char *name, const char *value)
{
	if (value == NULL)
		return cJSON_AddNullToObject(obj, name) != NULL;
	return cJSON_AddStringToObject(obj, name, value) != NULL;
}

cJSON *
sg_audit_counts_json(const struct sg_audit_counts *counts, enum sg_audit_group by)
{
	const struct sg_audit_count_row *row;
	cJSON *obj = NULL, *list, *item;
	char month[16];
	size_t i;
	int n, ok = 1;

	if (counts == NULL)
		return NULL;
	n = snprintf(month, sizeof(month), "%04d-%02d", counts->year, counts->month);
	if (n < 0 || (size_t)n >= sizeof(month) || (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	ok &= cJSON_AddStringToObject(obj, "month", month) != NULL;
	if ((list = cJSON_AddArrayToObject(obj, "counts")) == NULL)
		goto fail;
	for (i = 0; i < counts->n && ok; i++) {
		row = &counts->rows[i];
		if ((item = cJSON_CreateObject()) == NULL)
			goto fail;
		cJSON_AddItemToArray(list, item);
		if (by != SG_AUDIT_BY_CLIENT)
			ok &= add_nullable(item, "identity", row->identity);
		if (by != SG_AUDIT_BY_IDENTITY)
			ok &= add_nullable(item, "client", row->client);
		ok &= cJSON_AddNumberToObject(item, "stamps", (double)row->stamps) != NULL;
		ok &= cJSON_AddNumberToObject(item, "signatures", (double)row->signatures) != NULL;
		ok &= cJSON_AddNumberToObject(item, "soap", (double)row->soap) != NULL;
		ok &= cJSON_AddNumberToObject(item, "timestamps", (double)row->timestamps) != NULL;
	}
	if (ok)
		return obj;
 fail:
	cJSON_Delete(obj);
	return NULL;
}
