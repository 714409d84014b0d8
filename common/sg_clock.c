/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <time.h>

#include "sg_clock.h"

int64_t
sg_monotonic_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void
sg_monotonic_deadline(struct timespec *ts, uint64_t ns)
{
	uint64_t nsec;

	clock_gettime(CLOCK_MONOTONIC, ts);
	nsec = (uint64_t)ts->tv_nsec + ns % 1000000000u;
	ts->tv_sec += (time_t)(ns / 1000000000u + nsec / 1000000000u);
	ts->tv_nsec = (long)(nsec % 1000000000u);
}
