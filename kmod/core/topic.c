// SPDX-License-Identifier: GPL-2.0
/*
 * topic.c - topic names, topic filters and wildcard matching
 * (MQTT 3.1.1 section 4.7).  Everything here is iterative.
 */
#include "kmq_shim.h"
#include "topic.h"

/* Offset of the '/' ending the level that starts at @i, or @len. */
static u32 level_end(const u8 *t, u32 len, u32 i)
{
	while (i < len && t[i] != '/')
		i++;
	return i;
}

bool kmq_topic_name_valid(const u8 *t, u32 len)
{
	u32 i;

	if (!len)
		return false;
	for (i = 0; i < len; i++)
		if (t[i] == '+' || t[i] == '#')
			return false;
	return true;
}

bool kmq_topic_filter_valid(const u8 *f, u32 len)
{
	u32 i = 0, e;

	if (!len)
		return false;
	for (;;) {
		e = level_end(f, len, i);
		if (e - i == 1 && f[i] == '#') {
			if (e != len)
				return false;
		} else if (!(e - i == 1 && f[i] == '+')) {
			u32 k;

			for (k = i; k < e; k++)
				if (f[k] == '+' || f[k] == '#')
					return false;
		}
		if (e == len)
			return true;
		i = e + 1;
	}
}

bool kmq_topic_match(const u8 *filter, u32 flen, const u8 *topic, u32 tlen)
{
	u32 fi = 0, ti = 0, fe, te;
	bool tdone = false;

	if (!flen)
		return false;
	if (tlen && topic[0] == '$' && (filter[0] == '+' || filter[0] == '#'))
		return false;

	for (;;) {
		fe = level_end(filter, flen, fi);
		if (fe - fi == 1 && filter[fi] == '#')
			return true;
		if (tdone)
			return false;
		te = level_end(topic, tlen, ti);
		if (!(fe - fi == 1 && filter[fi] == '+')) {
			if (fe - fi != te - ti)
				return false;
			if (memcmp(filter + fi, topic + ti, fe - fi))
				return false;
		}
		if (fe == flen)
			return te == tlen;
		fi = fe + 1;
		if (te == tlen)
			tdone = true;
		else
			ti = te + 1;
	}
}

u32 kmq_topic_levels(const u8 *t, u32 len)
{
	u32 i, n = 1;

	for (i = 0; i < len; i++)
		if (t[i] == '/')
			n++;
	return n;
}
