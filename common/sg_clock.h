/* SPDX-License-Identifier: Apache-2.0 */
/* The monotonic clock, for intervals and deadlines only (never shown to a
 * person: the wall clock is for that). */
#ifndef SG_CLOCK_H
#define SG_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t sg_monotonic_ms(void);

/* *ts = now + ns on CLOCK_MONOTONIC: a deadline for pthread_cond_timedwait
 * on a condition variable set to that clock. */
void sg_monotonic_deadline(struct timespec *ts, uint64_t ns);

#endif
