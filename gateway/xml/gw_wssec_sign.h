/* SPDX-License-Identifier: Apache-2.0 */
/* WS-Security 1.0 with the X.509 token profile for an outgoing SOAP
 * message: the caller's unsigned envelope gets the addressing and profile
 * headers it lacks, then a wsse:Security header (Timestamp,
 * BinarySecurityToken, ds:Signature made on the token over the profile's
 * parts), and is serialised once; those bytes are what goes on the wire. */
#ifndef GW_WSSEC_SIGN_H
#define GW_WSSEC_SIGN_H

#include <stddef.h>

#include "sg_buf.h"
#include "sg_config.h"
#include "sgp11.h"

/* Longest action (wsa:Action, SOAPAction, Content-Type action=) taken. */
#define GW_WSSEC_ACTION_MAX	1024

struct gw_wssec_signed {
	struct sg_buf wire;		/* the signed message, UTF-8 */
	char *action;			/* new: the message's action, or NULL when none */
	char *message_id;		/* new: its wsa:MessageID, or NULL when none */
};

/* Sign len bytes of a SOAP envelope per profile with key, whose
 * certificate (base64 DER, borrowed) becomes the BinarySecurityToken.
 * http_action is the action the caller gave in HTTP (SOAPAction or the
 * Content-Type action parameter; NULL or "" when none).
 * What is added where the caller did not supply it, as a Header child:
 * wsa:Action (the http_action) and wsa:MessageID (urn:uuid, random) when
 * the profile signs them, and the profile's configured headers (in its
 * header_namespace). Then wsse:Security (mustUnderstand="1") goes first in
 * the Header, holding wsu:Timestamp (now, now + TTL, UTC with
 * milliseconds), wsse:BinarySecurityToken and the ds:Signature over every
 * signed part (each given a wsu:Id unless it has one) with KeyInfo a
 * SecurityTokenReference to the token.
 * *out is cleared first; release it with gw_wssec_signed_free whatever the
 * result. wire is capped at max_bytes.
 * SG_ERR_PARSE: the envelope cannot be signed as it is (not a SOAP
 * envelope of the profile's version, a DOCTYPE, a wsse:Security header
 * already, an action missing or differing between HTTP and wsa:Action, a
 * signed part missing or present twice, duplicate ids); why gets one
 * sentence for the caller. SG_ERR_TOKEN_LOST (recover and sign again),
 * SG_ERR_TOKEN, SG_ERR_CRYPTO, SG_ERR_TOO_LARGE, SG_ERR_ALLOC. */
int gw_wssec_sign(const void *envelope, size_t len, const struct sg_wssec_settings *profile,
    struct sgp11_key *key, const char *cert_b64, const char *http_action, size_t max_bytes,
    struct gw_wssec_signed *out, char *why, size_t whylen);
/* Free what out holds (not out itself) and clear it; a cleared one is fine. */
void gw_wssec_signed_free(struct gw_wssec_signed *out);

#endif
