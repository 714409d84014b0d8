/* SPDX-License-Identifier: Apache-2.0 */
/* The baseline level of a stamp (B-B, or B-T with a signature time-stamp
 * from the identity's timestamp_authority), shared by the detached CAdES
 * of route_stamp.c and the PAdES of route_stamp_pdf.c. */
#ifndef GW_STAMP_LEVEL_H
#define GW_STAMP_LEVEL_H

#include <stddef.h>

#include "gw.h"
#include "gw_request.h"

#define GW_TST_SERIAL_MAX 41	/* hex of a 20-byte serial and its NUL */

/*
 * The level a stamp with identity id gets: 1 for B-T (the identity has a
 * timestamp_authority: every stamp of it is B-T), 0 for B-B. ?level= may
 * name it (b-b or b-t) but never change it: a b-b request for a B-T
 * identity, b-t for one without a time-stamp authority, or any other value
 * is -1 with resp holding the 400.
 */
int gw_stamp_level(const struct gw_request *req, const struct gw_identity *id,
    struct gw_response *resp);

/*
 * Make the DER SignedData *cmsp (*lenp bytes; OPENSSL_free'd and replaced
 * on success) B-T: a time-stamp from the identity's timestamp_authority
 * over SHA-256 of its signature value, checked (gw_tsp_answer_check) and
 * added as the signature-time-stamp unsigned attribute. The token's
 * serial goes to serial. Errors: SG_ERR_AUTHORITY (the TSA failed or is
 * not open; why says what), SG_ERR_TIMEOUT, SG_ERR_ALLOC, SG_ERR_CRYPTO.
 */
int gw_stamp_add_timestamp(struct gw_request *req, const struct gw_snapshot *snap,
    const struct gw_identity *id, unsigned char **cmsp, size_t *lenp,
    char serial[GW_TST_SERIAL_MAX], char *why, size_t whylen);

#endif
