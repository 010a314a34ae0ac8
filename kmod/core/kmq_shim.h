/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmq_shim.h - the only place where the protocol core meets its host.
 *
 * Everything under kmod/core/ includes this header and nothing else from
 * outside the core.  In the kernel it maps onto kernel headers; in user
 * space (unit tests, fuzzers) onto libc.  The core never sleeps, locks,
 * logs or reads the clock: callers do that.
 */
#ifndef _KMQ_SHIM_H
#define _KMQ_SHIM_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#include <linux/slab.h>
#include <linux/compiler.h>

#define kmq_zalloc(sz)	kzalloc((sz), GFP_KERNEL | __GFP_NOWARN)
#define kmq_free(p)	kfree(p)

#else /* !__KERNEL__ */
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

/* Spelled with base types so that checkpatch --strict stays quiet. */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int s32;

#ifndef likely
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#endif

#ifdef KMQ_TEST_ALLOC
/* Unit tests build the core with an allocator that can be made to fail. */
void *kmq_test_zalloc(size_t sz);
#define kmq_zalloc(sz)	kmq_test_zalloc(sz)
#else
#define kmq_zalloc(sz)	calloc(1, (sz))
#endif
#define kmq_free(p)	free(p)

#endif /* __KERNEL__ */

#endif /* _KMQ_SHIM_H */
