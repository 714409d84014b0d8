/* SPDX-License-Identifier: Apache-2.0 */
/* Signed audit checkpoints: written on demand and by a thread every N
 * entries or T seconds. */
#ifndef GW_CHECKPOINT_H
#define GW_CHECKPOINT_H

struct gw;

struct gw_checkpointer;
/* Write a checkpoint now: signed by the configured audit identity over
 * the hash of the entry before it. SG_ERR_NOT_FOUND when no checkpoint
 * identity is configured, SG_ERR_KEY_NOT_FOUND, SG_ERR_AUDIT,
 * SG_ERR_CRYPTO (the token did not sign). */
int gw_checkpoint_write(struct gw *gw);
/* The thread writing one every N entries or T seconds (config audit.*). */
int gw_checkpoint_start(struct gw *gw, struct gw_checkpointer **cpp);
void gw_checkpoint_stop(struct gw_checkpointer *cp);

#endif
