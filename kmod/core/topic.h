/* SPDX-License-Identifier: GPL-2.0 */
/*
 * topic.h - topic names, topic filters and wildcard matching
 * (MQTT 3.1.1 section 4.7).
 *
 * UTF-8 validity is checked by the codec; these functions look only at
 * the MQTT structure.  Matching is byte-exact and case-sensitive.
 */
#ifndef _KMQ_TOPIC_H
#define _KMQ_TOPIC_H

#include "kmq_shim.h"

/* A topic name: at least one byte, no '+' or '#'. */
bool kmq_topic_name_valid(const u8 *t, u32 len);

/*
 * A topic filter: at least one byte; '#' only as the last level and
 * alone in it; '+' alone in its level.
 */
bool kmq_topic_filter_valid(const u8 *f, u32 len);

/*
 * Does @filter match @topic?  Both are assumed valid.  A filter that
 * starts with '+' or '#' does not match a topic starting with '$'
 * (4.7.2-1).  "a/#" also matches "a".
 */
bool kmq_topic_match(const u8 *filter, u32 flen, const u8 *topic, u32 tlen);

/* Number of levels in a topic name or filter (1 + number of '/'). */
u32 kmq_topic_levels(const u8 *t, u32 len);

#endif /* _KMQ_TOPIC_H */
