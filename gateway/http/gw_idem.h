/* SPDX-License-Identifier: Apache-2.0 */
/* Idempotency for /v1/stamp: per client and Idempotency-Key, the digest
 * and the answer of the first request, kept durably for 24 hours (across
 * restarts) so a repeat returns the same answer without reaching the
 * authority again. */
#ifndef GW_IDEM_H
#define GW_IDEM_H

#include <stddef.h>
#include <time.h>

#define GW_IDEM_KEY_MAX 128
#define GW_IDEM_TTL_S (24 * 3600)

struct gw_idem;
/* A claimed key: held from gw_idem_begin until store or release. */
struct gw_idem_slot;

enum gw_idem_state { GW_IDEM_NEW = 0, GW_IDEM_REPLAY, GW_IDEM_CONFLICT };

/* 1 when key is 1 to GW_IDEM_KEY_MAX printable ASCII characters. */
int gw_idem_key_valid(const char *key);

/* The store in dir (created 0700 when missing); expired records are
 * removed. *ip is new (gw_idem_close). SG_ERR_IO, SG_ERR_ALLOC. */
int gw_idem_open(const char *dir, struct gw_idem **ip);
void gw_idem_close(struct gw_idem *idem);

/*
 * Look up (client, key) for a request with identity over digest
 * ("sha256:<hex>").
 * GW_IDEM_NEW: nothing (or only an expired record); *slotp holds the key:
 *   other requests with it wait until gw_idem_store or gw_idem_release.
 * GW_IDEM_REPLAY: the same identity and digest were answered within the
 *   TTL; *answerp
 *   (new, free()) and *answer_lenp hold that answer, *first_idp (new,
 *   free()) the first request's id.
 * GW_IDEM_CONFLICT: the key was used with another identity or digest.
 * Negative SG_ERR_* on I/O errors (nothing held).
 */
int gw_idem_begin(struct gw_idem *idem, const char *client, const char *key,
    const char *identity, const char *digest, struct gw_idem_slot **slotp, char **answerp,
    size_t *answer_lenp, char **first_idp);
/* Record the answer for a claimed slot durably and let the key go.
 * SG_ERR_IO when it could not be written (the slot is released anyway). */
int gw_idem_store(struct gw_idem *idem, struct gw_idem_slot *slot, const char *request_id,
    const char *answer, size_t len);
/* Let the key go without recording anything (the request failed). */
void gw_idem_release(struct gw_idem *idem, struct gw_idem_slot *slot);

#endif
