// SPDX-License-Identifier: GPL-2.0
/*
 * attrs.c - reading the attributes of kmqttd replies, checked against a
 * small per-command policy, so the printers can trust what they read.
 */
#include <errno.h>
#include <string.h>

#include "mqctl.h"

struct parse_ctx {
	const enum mq_atype *policy;
	unsigned int max;
	const struct nlattr **tb;
	const char *what;
	bool reported;
};

static int malformed(struct parse_ctx *c, const struct nlattr *a,
		     const char *why)
{
	mq_err("%s: malformed reply: attribute %u (length %u) %s", c->what,
	       mnl_attr_get_type(a), (unsigned int)mnl_attr_get_payload_len(a),
	       why);
	c->reported = true;
	mq_reported = true;
	errno = EBADMSG;
	return MNL_CB_ERROR;
}

static int attr_cb(const struct nlattr *a, void *data)
{
	struct parse_ctx *c = data;
	unsigned int type = mnl_attr_get_type(a);
	size_t len = mnl_attr_get_payload_len(a);

	if (type > c->max)
		return MNL_CB_OK;		/* newer kernel: ignore */
	switch (c->policy[type]) {
	case MQ_A_NONE:
	case MQ_A_PAD:
		return MNL_CB_OK;
	case MQ_A_UINT:
		if (len != 1 && len != 2 && len != 4 && len != 8)
			return malformed(c, a, "is not an integer");
		break;
	case MQ_A_STR:
	case MQ_A_BIN:
		break;
	case MQ_A_NEST:
		if (len && mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
			return malformed(c, a, "is not a valid nest");
		break;
	}
	c->tb[type] = a;
	return MNL_CB_OK;
}

int mq_parse(const struct nlmsghdr *nlh, const enum mq_atype *policy,
	     unsigned int max, const struct nlattr **tb, const char *what)
{
	struct parse_ctx c = { policy, max, tb, what, false };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (mnl_nlmsg_get_payload_len(nlh) < NL_GENL_HDRLEN) {
		mq_err("%s: malformed reply: message too short", what);
		mq_reported = true;
		errno = EBADMSG;
		return -1;
	}
	if (mnl_attr_parse(nlh, NL_GENL_HDRLEN, attr_cb, &c) < 0) {
		if (!c.reported)
			mq_err("%s: malformed reply: bad attribute layout",
			       what);
		mq_reported = true;
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int mq_parse_nest(const struct nlattr *nest, const enum mq_atype *policy,
		  unsigned int max, const struct nlattr **tb, const char *what)
{
	struct parse_ctx c = { policy, max, tb, what, false };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (mnl_attr_parse_nested(nest, attr_cb, &c) < 0) {
		if (!c.reported)
			mq_err("%s: malformed reply: bad nested attribute layout",
			       what);
		mq_reported = true;
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

uint64_t mq_uint(const struct nlattr *a, uint64_t dflt)
{
	if (!a)
		return dflt;
	switch (mnl_attr_get_payload_len(a)) {
	case 1:
		return mnl_attr_get_u8(a);
	case 2:
		return mnl_attr_get_u16(a);
	case 4:
		return mnl_attr_get_u32(a);
	case 8:
		return mnl_attr_get_u64(a);
	}
	return dflt;
}

size_t mq_strlen(const struct nlattr *a)
{
	if (!a)
		return 0;
	return strnlen(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
}

void mq_json_str_attr(struct json *j, const char *key, const struct nlattr *a)
{
	json_key(j, key);
	if (a)
		json_strn(j, mnl_attr_get_payload(a), mq_strlen(a));
	else
		json_null(j);
}
