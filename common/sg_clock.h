/* SPDX-License-Identifier: Apache-2.0 */
/* The monotonic clock, for intervals and deadlines only (never shown to a
 * person: the wall clock is for that). */
#ifndef SG_CLOCK_H
#define SG_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t sg_monotonic_ms(void);

#endif
