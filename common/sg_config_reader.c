/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration's JSON path reader (see sg_config_reader.h). */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sg_buf.h"
#include "sg_config.h"
#include "sg_config_reader.h"
#include "sg_err.h"

/* Format into a caller's buffer; a message that does not fit ends in
 * "..." so a cut is visible rather than silently misleading. */
static void __attribute__((format(printf, 3, 0)))
put_errorv(char *errbuf, size_t errlen, const char *fmt, va_list ap)
{
	int n;

	if (errbuf == NULL || errlen == 0)
		return;
	n = vsnprintf(errbuf, errlen, fmt, ap);
	if (n < 0)
		errbuf[0] = '\0';
	else if ((size_t)n >= errlen && errlen >= 4)
		memcpy(errbuf + errlen - 4, "...", 4);
}

void
cfg_put_error(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	put_errorv(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/* Render s on one line between quote characters: printable ASCII as is,
 * the quote and backslash escaped, anything else as \xNN, and at most max
 * characters, because messages end up in logs. dstlen must be at least
 * SHOWN_SIZE(max). */
static const char *
render(char *dst, size_t dstlen, const char *s, size_t max, char quote)
{
	size_t i, o = 0;
	unsigned char c;
	int n;

	dst[o++] = quote;
	for (i = 0; s[i] != '\0' && i < max; i++) {
		c = (unsigned char)s[i];
		if (c == (unsigned char)quote || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f)
			dst[o++] = (char)c;
		else {
			n = snprintf(dst + o, dstlen - o, "\\x%02x", c);
			if (n < 0 || (size_t)n >= dstlen - o)
				break;	/* cannot happen: SHOWN_SIZE(max) has room */
			o += (size_t)n;
		}
	}
	if (s[i] != '\0') {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o++] = quote;
	dst[o] = '\0';
	return dst;
}

const char *
cfg_shown(struct loader *l, int slot, const char *s)
{
	return render(l->shown[slot], sizeof(l->shown[slot]), s, SHOW_VALUE_MAX, '"');
}

int
cfg_fail_r(struct loader *l, int r, const char *fmt, ...)
{
	char why[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (n < 0)
		why[0] = '\0';
	else if ((size_t)n >= sizeof(why))
		memcpy(why + sizeof(why) - 4, "...", 4);
	cfg_put_error(l->errbuf, l->errlen, "%s: %s", l->path, why);
	return r;
}

size_t
cfg_path_push(struct loader *l, const char *fmt, ...)
{
	size_t old = l->path_len, room = sizeof(l->path) - l->path_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(l->path + l->path_len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		l->path[l->path_len] = '\0';
	else if ((size_t)n >= room)
		l->path_len = sizeof(l->path) - 1;
	else
		l->path_len += (size_t)n;
	return old;
}

void
cfg_path_pop(struct loader *l, size_t old)
{
	l->path_len = old;
	l->path[old] = '\0';
}

static int
is_identifier(const char *s)
{
	size_t i;

	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	}
	return i <= SHOW_KEY_MAX;
}

size_t
cfg_path_push_key(struct loader *l, const char *key)
{
	char buf[SHOWN_SIZE(SHOW_KEY_MAX)];

	if (is_identifier(key))
		return cfg_path_push(l, ".%s", key);
	return cfg_path_push(l, "[%s]", render(buf, sizeof(buf), key, SHOW_KEY_MAX, '\''));
}

size_t
cfg_path_push_index(struct loader *l, size_t i)
{
	return cfg_path_push(l, "[%zu]", i);
}

const char *
cfg_json_type(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "invalid";
}

int
cfg_check_keys(struct loader *l, const cJSON *obj, const char *const *allowed,
    const char *what)
{
	const cJSON *c;
	uint32_t seen = 0;
	size_t i;
	char expected[512];
	int n, used = 0;

	cJSON_ArrayForEach(c, obj) {
		for (i = 0; allowed[i] != NULL; i++) {
			if (strcmp(c->string, allowed[i]) == 0)
				break;
		}
		if (allowed[i] != NULL && (seen & (UINT32_C(1) << i)) == 0) {
			seen |= UINT32_C(1) << i;
			continue;
		}
		cfg_path_push_key(l, c->string);
		if (allowed[i] != NULL)
			return cfg_fail(l, "duplicate key");
		expected[0] = '\0';
		for (i = 0; allowed[i] != NULL; i++) {
			n = snprintf(expected + used, sizeof(expected) - (size_t)used, "%s%s",
			    i == 0 ? "" : ", ", allowed[i]);
			if (n < 0 || (size_t)n >= sizeof(expected) - (size_t)used)
				break;	/* the list is only a hint; a cut one will do */
			used += n;
		}
		return cfg_fail(l, "unknown key%s; expected one of: %s", what, expected);
	}
	return 0;
}

/* *vp = the member, or NULL when it is absent or null (both mean "not
 * set"); a required one that is not set is an error. */
static int
member(struct loader *l, const cJSON *obj, const char *key, int required,
    const cJSON **vp)
{
	const cJSON *v = obj != NULL ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

	*vp = NULL;
	if (v == NULL || cJSON_IsNull(v)) {
		if (!required)
			return 0;
		cfg_path_push_key(l, key);
		return cfg_fail(l, v == NULL ? "missing (required)" : "required, may not be null");
	}
	*vp = v;
	return 0;
}

int
cfg_get_object(struct loader *l, const cJSON *obj, const char *key, int required,
    const cJSON **vp)
{
	const cJSON *v;
	int r;

	*vp = NULL;
	if ((r = member(l, obj, key, required, &v)) != 0 || v == NULL)
		return r;
	if (!cJSON_IsObject(v)) {
		cfg_path_push_key(l, key);
		return cfg_fail(l, "must be an object, not %s", cfg_json_type(v));
	}
	*vp = v;
	return 0;
}

int
cfg_get_array(struct loader *l, const cJSON *obj, const char *key, int required,
    const cJSON **vp)
{
	const cJSON *v;
	int r;

	*vp = NULL;
	if ((r = member(l, obj, key, required, &v)) != 0 || v == NULL)
		return r;
	if (!cJSON_IsArray(v)) {
		cfg_path_push_key(l, key);
		return cfg_fail(l, "must be an array, not %s", cfg_json_type(v));
	}
	*vp = v;
	return 0;
}

int
cfg_get_str(struct loader *l, const cJSON *obj, const char *key, int required,
    const char **sp)
{
	const cJSON *v;
	int r;

	*sp = NULL;
	if ((r = member(l, obj, key, required, &v)) != 0 || v == NULL)
		return r;
	if (!cJSON_IsString(v) || v->valuestring == NULL) {
		cfg_path_push_key(l, key);
		return cfg_fail(l, "must be a string, not %s", cfg_json_type(v));
	}
	if (v->valuestring[0] == '\0') {
		cfg_path_push_key(l, key);
		return cfg_fail(l, "must not be empty");
	}
	*sp = v->valuestring;
	return 0;
}

int
cfg_dup_str(struct loader *l, const char *s, char **outp)
{
	if ((*outp = strdup(s)) == NULL)
		return cfg_fail_r(l, SG_ERR_ALLOC, "out of memory");
	return 0;
}

int
cfg_get_strdup(struct loader *l, const cJSON *obj, const char *key, int required,
    char **outp)
{
	const char *s;
	int r;

	if ((r = cfg_get_str(l, obj, key, required, &s)) != 0 || s == NULL)
		return r;
	return cfg_dup_str(l, s, outp);
}

/* Names end up in URLs (/v1/identities/{name}) and audit lines: keep them
 * to a set that needs no escaping anywhere and cannot be "." or "..". */
int
sg_config_name_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    (i > 0 && (s[i] == '.' || s[i] == '_' || s[i] == '-'))))
			return 0;
	}
	return i >= 1 && i <= SG_CONFIG_NAME_MAX;
}


int
cfg_get_name(struct loader *l, const cJSON *obj, const char *key, char **outp)
{
	const char *s;
	int r;

	if ((r = cfg_get_str(l, obj, key, 1, &s)) != 0)
		return r;
	if (!sg_config_name_valid(s)) {
		cfg_path_push_key(l, key);
		return cfg_fail(l, "%s is not a valid name (%s)", cfg_shown(l, 0, s), NAME_RULE);
	}
	return cfg_dup_str(l, s, outp);
}

/* A path from the config: relative ones are taken from the config file's
 * directory, so the daemon's working directory never matters. */
static int
resolve_path(struct loader *l, const char *p, char **outp)
{
	size_t base_len, need;
	const char *sep;
	char *out;
	int n;

	if (p[0] == '/' || l->base_dir == NULL)
		return cfg_dup_str(l, p, outp);
	base_len = strlen(l->base_dir);
	sep = base_len > 0 && l->base_dir[base_len - 1] == '/' ? "" : "/";
	need = base_len + strlen(sep) + strlen(p) + 1;
	if ((out = malloc(need)) == NULL)
		return cfg_fail_r(l, SG_ERR_ALLOC, "out of memory");
	n = snprintf(out, need, "%s%s%s", l->base_dir, sep, p);
	if (n < 0 || (size_t)n >= need) {
		free(out);
		return cfg_fail_r(l, SG_ERR_INTERNAL, "cannot build the path");
	}
	*outp = out;
	return 0;
}

int
cfg_get_path(struct loader *l, const cJSON *obj, const char *key, int required,
    char **outp)
{
	const char *s;
	size_t old;
	int r;

	if ((r = cfg_get_str(l, obj, key, required, &s)) != 0 || s == NULL)
		return r;
	old = cfg_path_push_key(l, key);
	if ((r = resolve_path(l, s, outp)) != 0)
		return r;
	cfg_path_pop(l, old);
	return 0;
}

int
cfg_get_uint(struct loader *l, const cJSON *obj, const char *key, int required,
    uint64_t min, uint64_t max, uint64_t *valp)
{
	const cJSON *v;
	double d;
	int r;

	if ((r = member(l, obj, key, required, &v)) != 0 || v == NULL)
		return r;
	if (!cJSON_IsNumber(v)) {
		cfg_path_push_key(l, key);
		return cfg_fail(l, "must be an integer from %" PRIu64 " to %" PRIu64 ", not %s",
		    min, max, cfg_json_type(v));
	}
	d = v->valuedouble;
	/* The range test comes first so the cast below is always defined. */
	if (!(d >= (double)min && d <= (double)max) || (double)(uint64_t)d != d) {
		cfg_path_push_key(l, key);
		return cfg_fail(l, "must be an integer from %" PRIu64 " to %" PRIu64, min, max);
	}
	*valp = (uint64_t)d;
	return 0;
}

int
cfg_get_uint_field(struct loader *l, const cJSON *obj, const char *key, int required,
    uint64_t min, uint64_t max, unsigned int *fieldp)
{
	uint64_t v = *fieldp;
	int r;

	if ((r = cfg_get_uint(l, obj, key, required, min, max, &v)) != 0)
		return r;
	*fieldp = (unsigned int)v;
	return 0;
}

int
cfg_get_size_field(struct loader *l, const cJSON *obj, const char *key, size_t *fieldp)
{
	uint64_t v = *fieldp;
	int r;

	if ((r = cfg_get_uint(l, obj, key, 0, 1, SIZE_LIMIT, &v)) != 0)
		return r;
	*fieldp = (size_t)v;
	return 0;
}

int
cfg_get_bool(struct loader *l, const cJSON *obj, const char *key, int *valp)
{
	const cJSON *v;
	int r;

	if ((r = member(l, obj, key, 0, &v)) != 0 || v == NULL)
		return r;
	if (!cJSON_IsBool(v)) {
		cfg_path_push_key(l, key);
		return cfg_fail(l, "must be true or false, not %s", cfg_json_type(v));
	}
	*valp = cJSON_IsTrue(v) ? 1 : 0;
	return 0;
}

static void
enum_list(const struct enum_name *table, char *buf, size_t len)
{
	size_t i, used = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; table[i].name != NULL; i++) {
		n = snprintf(buf + used, len - used, "%s\"%s\"", i == 0 ? "" : ", ",
		    table[i].name);
		if (n < 0 || (size_t)n >= len - used)
			return;	/* only a hint in a message; cut is fine */
		used += (size_t)n;
	}
}

static int
lookup_enum(const struct enum_name *table, const char *s, int *valp)
{
	size_t i;

	for (i = 0; table[i].name != NULL; i++) {
		if (strcmp(table[i].name, s) == 0) {
			*valp = table[i].value;
			return 0;
		}
	}
	return SG_ERR_NOT_FOUND;
}

/* v must be a string from table; *valp gets its value. Called with
 * the path already at the value. */
static int
check_enum(struct loader *l, const cJSON *v, const struct enum_name *table,
    const char *what, int *valp)
{
	char list[256];

	if (!cJSON_IsString(v) || v->valuestring == NULL) {
		enum_list(table, list, sizeof(list));
		return cfg_fail(l, "must be a string (one of %s), not %s", list, cfg_json_type(v));
	}
	if (lookup_enum(table, v->valuestring, valp) != 0) {
		enum_list(table, list, sizeof(list));
		return cfg_fail(l, "unknown %s %s; expected one of %s", what,
		    cfg_shown(l, 0, v->valuestring), list);
	}
	return 0;
}

int
cfg_get_enum(struct loader *l, const cJSON *obj, const char *key, int required,
    const struct enum_name *table, int *valp)
{
	const cJSON *v;
	size_t old;
	int r;

	if ((r = member(l, obj, key, required, &v)) != 0 || v == NULL)
		return r;
	old = cfg_path_push_key(l, key);
	if ((r = check_enum(l, v, table, "value", valp)) != 0)
		return r;
	cfg_path_pop(l, old);
	return 0;
}

int
cfg_get_flags(struct loader *l, const cJSON *obj, const char *key, int required,
    const struct enum_name *table, const char *what, unsigned int *maskp)
{
	const cJSON *arr, *v;
	size_t old, old_i, i = 0;
	unsigned int mask = 0;
	int bit, r;

	*maskp = 0;
	if ((r = cfg_get_array(l, obj, key, required, &arr)) != 0 || arr == NULL)
		return r;
	old = cfg_path_push_key(l, key);
	cJSON_ArrayForEach(v, arr) {
		old_i = cfg_path_push_index(l, i++);
		if ((r = check_enum(l, v, table, what, &bit)) != 0)
			return r;
		if ((mask & (unsigned int)bit) != 0)
			return cfg_fail(l, "%s %s listed twice", what, cfg_shown(l, 0, v->valuestring));
		mask |= (unsigned int)bit;
		cfg_path_pop(l, old_i);
	}
	cfg_path_pop(l, old);
	*maskp = mask;
	return 0;
}

static int
name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int
cfg_build_index(struct loader *l, size_t n,
    const char *(*name_at)(const struct sg_config *, size_t), struct name_ref **refsp,
    size_t *firstp, size_t *dupp)
{
	struct name_ref *refs;
	size_t i;

	*firstp = *dupp = SIZE_MAX;
	if ((refs = calloc(n > 0 ? n : 1, sizeof(*refs))) == NULL)
		return cfg_fail_r(l, SG_ERR_ALLOC, "out of memory");
	for (i = 0; i < n; i++) {
		refs[i].name = name_at(l->cfg, i);
		refs[i].idx = i;
	}
	qsort(refs, n, sizeof(*refs), name_ref_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(refs[i - 1].name, refs[i].name) == 0 && refs[i].idx < *dupp) {
			*firstp = refs[i - 1].idx;
			*dupp = refs[i].idx;
		}
	}
	*refsp = refs;
	return 0;
}

int
cfg_find_ref(const struct name_ref *refs, size_t n, const char *name, size_t *idxp)
{
	size_t lo = 0, hi = n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(name, refs[mid].name)) == 0) {
			*idxp = refs[mid].idx;
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return SG_ERR_NOT_FOUND;
}
