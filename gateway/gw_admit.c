/* SPDX-License-Identifier: Apache-2.0 */
/* Admission of a signing request to an identity (see gw_admit.h). */
#include "config.h"

#include <string.h>

#include "gw_admit.h"
#include "gw_error.h"
#include "gw_request.h"
#include "gw_snapshot.h"
#include "sg_config.h"
#include "sg_err.h"

static const char *
use_name(unsigned int use)
{
	switch (use) {
	case SG_USE_SIGN: return "local signing";
	case SG_USE_STAMP: return "stamping";
	case SG_USE_SOAP: return "SOAP calls";
	default: return "this use";
	}
}

enum gw_admit_result
gw_admit(const struct gw_request *req, const struct gw_snapshot *snap, const char *name,
    unsigned int use, const char *authority, const struct gw_identity **idp,
    struct gw_response *resp)
{
	const struct sg_client *client = req->client;
	const struct gw_identity *id;
	const struct sg_identity *cfg;

	*idp = NULL;
	if ((id = gw_snapshot_identity(snap, name)) == NULL) {
		gw_error_r(resp, SG_ERR_NOT_FOUND, "no identity \"%.64s\"", name != NULL ? name : "");
		return GW_ADMIT_REFUSED;
	}
	cfg = id->cfg;
	/* Under another snapshot the client is found again, by its name
	 * with the same token and certificate: grants are indexes into that
	 * snapshot's identities. */
	if (snap != req->snap && client != NULL &&
	    ((client = sg_config_client_by_name(snap->cfg, client->name)) == NULL ||
	    !sg_client_same(client, req->client))) {
		gw_error_r(resp, SG_ERR_UNAUTHORIZED, "client %s is no longer configured",
		    req->client->name);
		return GW_ADMIT_AUTH_FAILURE;
	}
	if (!sg_client_may_use(client, cfg)) {
		gw_error_r(resp, SG_ERR_FORBIDDEN, "client %s may not use identity %s",
		    client != NULL ? client->name : "-", cfg->name);
		return GW_ADMIT_AUTH_FAILURE;
	}
	if ((cfg->uses & use) == 0) {
		gw_error_r(resp, SG_ERR_FORBIDDEN, "identity %s is not for %s", cfg->name,
		    use_name(use));
		return GW_ADMIT_REFUSED;
	}
	if (use == SG_USE_SIGN) {
		/* The configuration refuses these at load; a key that speaks
		 * for an authority or seals the audit log never signs a
		 * client's digest, whatever a configuration says. */
		if (cfg->authority != NULL || cfg->issuer != NULL ||
		    snap->cfg->audit.checkpoint_identity == cfg) {
			gw_error_r(resp, SG_ERR_FORBIDDEN, "identity %s is not for local signing",
			    cfg->name);
			return GW_ADMIT_REFUSED;
		}
	} else if (cfg->authority == NULL ||
	    (authority != NULL && strcmp(cfg->authority->name, authority) != 0)) {
		gw_error_r(resp, SG_ERR_FORBIDDEN, "identity %s is not for %s%s%s", cfg->name,
		    use_name(use), authority != NULL ? " to " : "", authority != NULL ? authority : "");
		return GW_ADMIT_REFUSED;
	}
	*idp = id;
	return GW_ADMIT_OK;
}
