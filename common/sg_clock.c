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
