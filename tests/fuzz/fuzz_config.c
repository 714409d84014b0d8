/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: the configuration loader (sg_config_load_string) on
 * outside bytes. A load either fails with a one-line message or gives a
 * config whose cross-references hold; either way nothing leaks. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sg_config.h"
#include "sg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What sg_config.h promises of a loaded config; abort() is the harness's
 * way of reporting a broken promise. */
static void
check_loaded(const struct sg_config *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->n_identities; i++) {
		const struct sg_identity *id = &cfg->identities[i];

		if (id->index != i || sg_config_identity(cfg, id->name) == NULL)
			abort();
		if (id->authority != NULL && (id->authority < cfg->authorities ||
		    id->authority >= cfg->authorities + cfg->n_authorities))
			abort();
		if (id->issuer != NULL && (id->issuer < cfg->authorities ||
		    id->issuer >= cfg->authorities + cfg->n_authorities))
			abort();
	}
	for (i = 0; i < cfg->n_clients; i++) {
		for (j = 0; j < cfg->clients[i].n_identities; j++) {
			if (cfg->clients[i].identities[j] >= cfg->n_identities)
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_config *cfg = NULL;
	char err[512];
	int r;

	err[0] = '\0';
	r = sg_config_load_string((const char *)data, size, NULL, &cfg, err, sizeof(err));
	if (r == 0) {
		if (cfg == NULL)
			abort();
		check_loaded(cfg);
	} else if (cfg != NULL || err[0] == '\0' || memchr(err, '\n', strlen(err)) != NULL)
		abort();
	sg_config_free(cfg);
	return 0;
}
