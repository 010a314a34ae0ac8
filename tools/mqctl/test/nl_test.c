// SPDX-License-Identifier: GPL-2.0
/*
 * nl_test.c - exercise the netlink helper layer against the running
 * kernel's own generic netlink controller ("nlctrl"), so the socket,
 * family resolution, do/ack, dump/done and error/extack paths are
 * tested without kmqttd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../nl.h"

static int failures;

#define CHECK(cond, ...) do {					\
	if (cond) {						\
		printf("ok   " __VA_ARGS__);			\
	} else {						\
		printf("FAIL " __VA_ARGS__);			\
		failures++;					\
	}							\
	printf("\n");						\
} while (0)

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(*(int *)data)++;
	return MNL_CB_OK;
}

static void reset_count(void *data)
{
	*(int *)data = 0;
}

int main(void)
{
	struct nl nl;
	struct nlmsghdr *nlh;
	int err, n = 0;

	unsetenv("KMQ_MQCTL_REPLAY");

	err = nl_open(&nl, "nlctrl", 2);
	CHECK(!err, "resolve nlctrl (%s)", strerror(-err));
	if (err)
		return 1;
	CHECK(nl.family_id == GENL_ID_CTRL, "nlctrl id %u", nl.family_id);
	CHECK(nl.family_version >= 1, "nlctrl version %u", nl.family_version);
	CHECK(nl_mcgrp_id(&nl, "notify") > 0, "mcast group notify = %d",
	      nl_mcgrp_id(&nl, "notify"));
	CHECK(nl_mcgrp_id(&nl, "nope") == -ENOENT, "unknown mcast group");

	/* do + ack */
	nlh = nl_msg(&nl, CTRL_CMD_GETFAMILY, 0);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, "nlctrl");
	err = nl_exec(&nl, nlh, count_cb, &n, NULL);
	CHECK(!err && n == 1, "do: err %d, %d reply", err, n);

	/* dump + done, twice on the same socket */
	for (int i = 0; i < 2; i++) {
		n = 0;
		nlh = nl_msg(&nl, CTRL_CMD_GETFAMILY, NLM_F_DUMP);
		err = nl_exec(&nl, nlh, count_cb, &n, reset_count);
		CHECK(!err && n > 1, "dump %d: err %d, %d families", i, err, n);
	}

	/* error with extack */
	nlh = nl_msg(&nl, CTRL_CMD_GETFAMILY, 0);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, "nosuchfamily");
	err = nl_exec(&nl, nlh, count_cb, &n, NULL);
	CHECK(err == -ENOENT, "missing family: %s, extack '%s'",
	      strerror(-err), nl.ext_msg);

	/* unknown command */
	nlh = nl_msg(&nl, 200, 0);
	err = nl_exec(&nl, nlh, count_cb, &n, NULL);
	CHECK(err == -EOPNOTSUPP, "unknown command: %s", strerror(-err));

	/* the socket still works after errors */
	n = 0;
	nlh = nl_msg(&nl, CTRL_CMD_GETFAMILY, 0);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, "nlctrl");
	err = nl_exec(&nl, nlh, count_cb, &n, NULL);
	CHECK(!err && n == 1, "do after errors: err %d, %d reply", err, n);
	nl_close(&nl);

	err = nl_open(&nl, "nosuchfamily", 1);
	CHECK(err == -ENOENT, "nl_open of a missing family: %s",
	      strerror(-err));

	if (failures) {
		printf("%d nl test(s) failed\n", failures);
		return 1;
	}
	printf("all nl tests passed\n");
	return 0;
}
