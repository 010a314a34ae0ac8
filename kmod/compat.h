/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the few kernel API differences between the kernels kmqttd
 * builds for (Debian 6.1 and 6.12), as named helpers.  Features are
 * detected by Kbuild (KMQ_HAVE_*), never by version number: Debian
 * backports.
 */
#ifndef _KMQ_COMPAT_H
#define _KMQ_COMPAT_H

#include <net/genetlink.h>

/* The parsed attributes of a dump request (6.6 made them a genl_info). */
static inline struct nlattr **kmq_dump_attrs(struct netlink_callback *cb)
{
#ifdef KMQ_HAVE_GENL_INFO_DUMP
	return genl_info_dump(cb)->attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

#endif /* _KMQ_COMPAT_H */
