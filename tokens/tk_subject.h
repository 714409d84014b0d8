/* SPDX-License-Identifier: Apache-2.0 */
/* CSR subjects for sealgate-token: a "C=FI,O=Example Oy,CN=..." string or
 * an authority profile (vero, oces3, dvv-interface) filled from the
 * customer id and name. */
#ifndef TK_SUBJECT_H
#define TK_SUBJECT_H

#include "sgp11.h"

struct tk_subject {
	struct sgp11_subject fields;	/* points into storage */
	char *storage;
};

/* Parse "K=V,K=V" (K from C, O, OU, CN, serialNumber,
 * organizationIdentifier; "\," escapes a comma). On failure *why is a
 * static reason. Free with tk_subject_free. */
int tk_subject_parse(const char *text, struct tk_subject *out, const char **why);
/* Fill from a profile. Checks the key spec the profile needs (vero:
 * rsa:2048 only) and the customer id's shape. */
int tk_subject_profile(const char *profile, const char *customer_id, const char *customer_name,
    const struct sgp11_keyspec *spec, struct tk_subject *out, const char **why);
void tk_subject_free(struct tk_subject *s);

#endif
