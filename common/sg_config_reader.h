/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration's JSON path reader, shared by the files of the
 * configuration loader (sg_config.c, the schema; sg_config_authority.c,
 * the authorities' settings) and by nothing else: a loader walks the cJSON
 * tree keeping the JSON path of the value being read, so every error names
 * it ("$.identities[2].uses[0]: ..."). The getters below return 0, or
 * SG_ERR_CONFIG with the message in the loader's error buffer. */
#ifndef SG_CONFIG_READER_H
#define SG_CONFIG_READER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sg_config.h"

/* Byte counts travel through a double in cJSON: above 2^53 they are no
 * longer exact, so that is the largest we accept. */
#define BYTES_MAX	(UINT64_C(1) << 53)
#define SIZE_LIMIT	((uint64_t)SIZE_MAX < BYTES_MAX ? (uint64_t)SIZE_MAX : BYTES_MAX)
/* Characters of a user-supplied string shown in a message: keys in a JSON
 * path, and values (long enough for a real file path). */
#define SHOW_KEY_MAX	40
#define SHOW_VALUE_MAX	200
/* Worst case of one shown string: every byte escaped as \xNN, quotes,
 * "..." and the NUL. */
#define SHOWN_SIZE(max)	((max) * 4 + 8)

/* What sg_config_name_valid accepts, for messages. */
#define NAME_RULE "1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit"

struct name_ref {
	const char *name;
	size_t idx;
};

struct loader {
	struct sg_config *cfg;
	const char *base_dir;		/* NULL: keep relative paths */
	char path[4 * (SHOWN_SIZE(SHOW_KEY_MAX) + 8) + 64];
	size_t path_len;
	char shown[2][SHOWN_SIZE(SHOW_VALUE_MAX)];
	char *errbuf;
	size_t errlen;
	const char *checkpoint_name;	/* borrowed from the cJSON tree */
	struct name_ref *authority_refs;	/* sorted by name */
	struct name_ref *identity_refs;		/* sorted by name */
};

struct enum_name {
	const char *name;
	int value;
};

/* Format into a caller's buffer; a message that does not fit ends in
 * "...". */
void cfg_put_error(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A user string for a message, in one of two scratch slots. */
const char *cfg_shown(struct loader *l, int slot, const char *s);
/* Record "<current path>: <why>" and return r. Only the first error is
 * kept: every caller returns at once. */
int cfg_fail_r(struct loader *l, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define cfg_fail(l, ...) cfg_fail_r((l), SG_ERR_CONFIG, __VA_ARGS__)
/* The path is kept as text; pushing returns the old length for the pop.
 * A path too long for the buffer is cut (the buffer is sized so that the
 * schema's four levels of shown keys always fit). */
size_t cfg_path_push(struct loader *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cfg_path_pop(struct loader *l, size_t old);
/* Member key: ".key" when that is valid JSONPath (RFC 9535 shorthand),
 * else "['key']". */
size_t cfg_path_push_key(struct loader *l, const char *key);
size_t cfg_path_push_index(struct loader *l, size_t i);
const char *cfg_json_type(const cJSON *v);
/*
 * Every member of obj must be in allowed (NULL-terminated, at most 32),
 * once: cJSON keeps duplicate keys, and a second "port" silently losing to
 * the first is exactly the kind of surprise unknown-key errors prevent.
 */
int cfg_check_keys(struct loader *l, const cJSON *obj, const char *const *allowed,
    const char *what);
int cfg_get_object(struct loader *l, const cJSON *obj, const char *key, int required,
    const cJSON **vp);
int cfg_get_array(struct loader *l, const cJSON *obj, const char *key, int required,
    const cJSON **vp);
/* Borrowed, non-empty string (NULL when absent and optional). */
int cfg_get_str(struct loader *l, const cJSON *obj, const char *key, int required, const char **sp);
int cfg_dup_str(struct loader *l, const char *s, char **outp);
/* Owned copy of a string member; *outp is left alone when absent. */
int cfg_get_strdup(struct loader *l, const cJSON *obj, const char *key, int required, char **outp);
int cfg_get_name(struct loader *l, const cJSON *obj, const char *key, char **outp);
int cfg_get_path(struct loader *l, const cJSON *obj, const char *key, int required, char **outp);
/* An integer in [min, max]; *valp keeps its default when absent. */
int cfg_get_uint(struct loader *l, const cJSON *obj, const char *key, int required, uint64_t min,
    uint64_t max, uint64_t *valp);
int cfg_get_uint_field(struct loader *l, const cJSON *obj, const char *key, int required,
    uint64_t min, uint64_t max, unsigned int *fieldp);
int cfg_get_size_field(struct loader *l, const cJSON *obj, const char *key, size_t *fieldp);
/* true/false; *valp keeps its default when absent. */
int cfg_get_bool(struct loader *l, const cJSON *obj, const char *key, int *valp);
int cfg_get_enum(struct loader *l, const cJSON *obj, const char *key, int required,
    const struct enum_name *table, int *valp);
/* An array of strings from table, each at most once, as a bitmask. */
int cfg_get_flags(struct loader *l, const cJSON *obj, const char *key, int required,
    const struct enum_name *table, const char *what, unsigned int *maskp);
/* Sort (name, index) pairs so lookups are O(log n) and duplicates sit
 * next to each other. *dupp = the later of the first duplicate pair found
 * (SIZE_MAX: none), *firstp = the earlier one. */
int cfg_build_index(struct loader *l, size_t n,
    const char *(*name_at)(const struct sg_config *, size_t), struct name_ref **refsp,
    size_t *firstp, size_t *dupp);
int cfg_find_ref(const struct name_ref *refs, size_t n, const char *name, size_t *idxp);

#endif
