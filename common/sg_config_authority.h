/* SPDX-License-Identifier: Apache-2.0 */
/* The authorities' part of the configuration loader (sg_config.c calls
 * it; nothing else does). */
#ifndef SG_CONFIG_AUTHORITY_H
#define SG_CONFIG_AUTHORITY_H

#include <cjson/cJSON.h>

#include "sg_config.h"

struct loader;

/* Read one $.authorities[] entry into a (the loader's path points at it). */
int cfg_load_authority(struct loader *l, const cJSON *obj, struct sg_authority *a);
/* The configuration's name of an authority type ("csc-v2", ...). */
const char *cfg_authority_type_name(enum sg_authority_type type);
/* Free what a holds (not a itself). */
void cfg_authority_clear(struct sg_authority *a);

#endif
