/* SPDX-License-Identifier: Apache-2.0 */
/* CSR subjects from a string or an authority profile (see tk_subject.h). */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_err.h"
#include "tk_subject.h"

#define SUBJECT_MAX 1024

static const char **
field_slot(struct sgp11_subject *f, const char *key)
{
	if (strcmp(key, "C") == 0)
		return &f->c;
	if (strcmp(key, "O") == 0)
		return &f->o;
	if (strcmp(key, "OU") == 0)
		return &f->ou;
	if (strcmp(key, "CN") == 0)
		return &f->cn;
	if (strcmp(key, "serialNumber") == 0)
		return &f->serial_number;
	if (strcmp(key, "organizationIdentifier") == 0)
		return &f->organization_identifier;
	return NULL;
}

int
tk_subject_parse(const char *text, struct tk_subject *out, const char **why)
{
	char *w, *key, *val, *p, *next;
	const char **slot;
	size_t len;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (text == NULL || (len = strlen(text)) == 0 || len > SUBJECT_MAX) {
		*why = "subject is empty or too long";
		return SG_ERR_INVALID_ARG;
	}
	/* Unescaped copy: "K=V" pairs separated by NULs, "\," kept as ','. */
	if ((out->storage = calloc(len + 2, 1)) == NULL)
		return SG_ERR_ALLOC;
	w = out->storage;
	for (p = (char *)text; *p != '\0'; p++) {
		if (*p == '\\' && (p[1] == ',' || p[1] == '\\'))
			*w++ = *++p;
		else if (*p == ',')
			*w++ = '\0';
		else
			*w++ = *p;
	}
	*w = '\0';
	/* w marks the NUL after the last part. */
	for (key = out->storage; ; key = next) {
		next = key + strlen(key) + 1;
		while (*key == ' ')
			key++;
		if ((val = strchr(key, '=')) == NULL) {
			*why = "each subject part must be KEY=VALUE";
			goto bad;
		}
		*val++ = '\0';
		if ((slot = field_slot(&out->fields, key)) == NULL) {
			*why = "subject keys are C, O, OU, CN, serialNumber, organizationIdentifier";
			goto bad;
		}
		if (*slot != NULL) {
			*why = "a subject key appears twice";
			goto bad;
		}
		if (*val == '\0') {
			*why = "a subject value is empty";
			goto bad;
		}
		*slot = val;
		if (next > w)
			break;
	}
	return 0;
 bad:
	tk_subject_free(out);
	return SG_ERR_INVALID_ARG;
}

static int
all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* Finnish business ID shape: seven digits, hyphen, check digit. */
static int
is_business_id(const char *s)
{
	return strlen(s) == 9 && all_digits(s, 7) && s[7] == '-' && all_digits(s + 8, 1);
}

static int
set_profile(struct tk_subject *out, const char *c, const char *o, const char *cn,
    const char *serial, const char *org_id_prefix, const char *org_id)
{
	size_t len = strlen(c) + strlen(o) + strlen(cn) + strlen(serial) +
	    strlen(org_id_prefix) + strlen(org_id) + 8;
	char *w;

	if ((out->storage = calloc(len, 1)) == NULL)
		return SG_ERR_ALLOC;
	w = out->storage;
#define PUT(field, ...) do { \
	int n_ = snprintf(w, len - (size_t)(w - out->storage), __VA_ARGS__); \
	if (n_ < 0 || (size_t)n_ >= len - (size_t)(w - out->storage)) \
		return SG_ERR_INTERNAL; \
	out->fields.field = *w != '\0' ? w : NULL; \
	w += n_ + 1; \
} while (0)
	PUT(c, "%s", c);
	PUT(o, "%s", o);
	PUT(cn, "%s", cn);
	PUT(serial_number, "%s", serial);
	PUT(organization_identifier, "%s%s", org_id_prefix, org_id);
#undef PUT
	return 0;
}

int
tk_subject_profile(const char *profile, const char *customer_id, const char *customer_name,
    const struct sgp11_keyspec *spec, struct tk_subject *out, const char **why)
{
	int r;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (customer_id == NULL || *customer_id == '\0' ||
	    customer_name == NULL || *customer_name == '\0') {
		*why = "profiles need --customer-id and --customer-name";
		return SG_ERR_INVALID_ARG;
	}
	if (strlen(customer_name) > 100) {
		*why = "customer name is longer than 100 characters";
		return SG_ERR_INVALID_ARG;
	}
	if (strcmp(profile, "vero") == 0) {
		if (spec->kind != SGP11_RSA || spec->bits != 2048) {
			*why = "the vero profile needs an rsa:2048 key";
			return SG_ERR_INVALID_ARG;
		}
		if (!is_business_id(customer_id)) {
			*why = "vero customer id must be a business ID such as 1234567-8";
			return SG_ERR_INVALID_ARG;
		}
		r = set_profile(out, "FI", customer_name, customer_id, "", "", "");
	} else if (strcmp(profile, "oces3") == 0) {
		if (spec->kind == SGP11_RSA && spec->bits < 3072) {
			*why = "the oces3 profile needs rsa:3072 or larger, or an EC key";
			return SG_ERR_INVALID_ARG;
		}
		if (strlen(customer_id) != 8 || !all_digits(customer_id, 8)) {
			*why = "oces3 customer id must be an 8-digit CVR number";
			return SG_ERR_INVALID_ARG;
		}
		r = set_profile(out, "DK", customer_name, customer_name, "", "NTRDK-", customer_id);
	} else if (strcmp(profile, "dvv-interface") == 0) {
		if (!is_business_id(customer_id)) {
			*why = "dvv-interface customer id must be a business ID such as 1234567-8";
			return SG_ERR_INVALID_ARG;
		}
		r = set_profile(out, "FI", customer_name, customer_name, customer_id, "", "");
	} else {
		*why = "profiles are vero, oces3 and dvv-interface";
		return SG_ERR_INVALID_ARG;
	}
	if (r != 0)
		tk_subject_free(out);
	return r;
}

void
tk_subject_free(struct tk_subject *s)
{
	if (s == NULL)
		return;
	free(s->storage);
	memset(s, 0, sizeof(*s));
}
