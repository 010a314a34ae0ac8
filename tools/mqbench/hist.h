/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hist.h - latency histogram: log2 major buckets of 64 linear sub-buckets
 * (relative error below 1.6 %), from 1 ns to about 2^41 ns.
 */
#ifndef MQBENCH_HIST_H
#define MQBENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAX_EXP 41
#define HIST_BUCKETS ((HIST_MAX_EXP - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t count, sum, min, max;
	uint64_t b[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t v);
void hist_merge(struct hist *dst, const struct hist *src);
/* Value at quantile q (0..1), the midpoint of its bucket (max for q = 1). */
uint64_t hist_quantile(const struct hist *h, double q);

#endif
