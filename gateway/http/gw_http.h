/* SPDX-License-Identifier: Apache-2.0 */
/* The libmicrohttpd listener: the only user of that library. */
#ifndef GW_HTTP_H
#define GW_HTTP_H

struct gw;
struct sg_config;

struct gw_http;
/* Start listening on the config's address and port with its thread
 * count; *portp gets the bound port. */
int gw_http_start(struct gw *gw, const struct sg_config *cfg, struct gw_http **hp,
    unsigned int *portp);
/* Stop accepting, wait (bounded) for requests in flight, stop. */
void gw_http_stop(struct gw_http *h, unsigned int drain_ms);

#endif
