/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nl.h - small generic netlink helper layer for mqctl (on top of libmnl).
 *
 * Usage:
 *
 *	struct nl nl;
 *	int err = nl_open(&nl, KMQTTD_FAMILY_NAME, KMQTTD_FAMILY_VERSION);
 *					(-ENOENT: family not registered)
 *	struct nlmsghdr *nlh = nl_msg(&nl, KMQTTD_CMD_X, NLM_F_DUMP);
 *	mnl_attr_put_u32(nlh, KMQTTD_A_X_Y, 1);
 *	err = nl_exec(&nl, nlh, my_cb, &my_data, my_reset);
 *	... on error nl.ext_msg holds the kernel's extended ACK message
 *	nl_close(&nl);
 *
 * nl_exec() sends the request with NLM_F_ACK and runs my_cb for every
 * data message until the ACK (for a "do") or NLMSG_DONE (for a dump)
 * arrives.  If a dump was interrupted (NLM_F_DUMP_INTR: the kernel's
 * object list changed meanwhile) the dump is restarted, after calling
 * my_reset(my_data) to discard what was collected; without a reset
 * callback an interrupted dump fails with -EAGAIN.  With the reset
 * callback NL_STREAM the dump is not restarted (its entries have been
 * printed already): nl_exec() returns 0 and sets nl.dump_intr.
 *
 * Events: nl_join(&nl, "events") subscribes to a multicast group, then
 * nl_listen(&nl, my_cb, &my_data) runs my_cb for every notification
 * until it returns MNL_CB_STOP or an error occurs (a signal interrupting
 * the wait returns -EINTR).
 *
 * Test hook: if the environment variable KMQ_MQCTL_REPLAY names a file,
 * no socket is opened; nl_open() succeeds without a family lookup and
 * nl_exec() feeds the netlink messages stored in that file (the raw
 * bytes a recv() would return) to the callbacks instead of talking to
 * the kernel (nl_listen() feeds it once, then returns 0).  If also
 * KMQ_MQCTL_REQUESTS names a file, every request is appended to it, so
 * tests can check what would have been sent.  See test/mkreply.c.
 */
#ifndef MQCTL_NL_H
#define MQCTL_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#define NL_MAX_MCGRPS	16
#define NL_EXT_MSG_LEN	256

struct nl_mcgrp {
	char name[GENL_NAMSIZ];
	uint32_t id;
};

struct nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
	uint16_t family_id;
	uint8_t version;		/* genlmsghdr.version of requests */
	uint32_t family_version;	/* as reported by the kernel */
	unsigned int n_mcgrps;
	struct nl_mcgrp mcgrps[NL_MAX_MCGRPS];

	char *rxbuf;			/* receive buffer */
	size_t rxlen;
	char *txbuf;			/* request being built */
	size_t txlen;

	/* Extended ACK of the last failed request (empty if none). */
	char ext_msg[NL_EXT_MSG_LEN];
	int ext_miss_type;		/* missing attribute type, or -1 */
	int ext_offs;			/* offset of the bad attribute in
					 * the request (from its nlmsghdr),
					 * or -1 */
	bool ext_has_range;		/* the policy of the bad attribute: */
	uint64_t ext_min, ext_max;	/* allowed unsigned range */
	bool ext_has_len;
	uint64_t ext_min_len, ext_max_len;

	bool dump_intr;			/* NL_STREAM dump was interrupted */

	const char *replay;		/* test hook, see above */
	char *replay_buf;
	size_t replay_len, replay_off;
};

/*
 * Open a generic netlink socket and resolve @family; requests will carry
 * @version.  Returns 0 or a negative errno: -ENOENT if the family is not
 * registered (module not loaded).
 */
int nl_open(struct nl *nl, const char *family, uint8_t version);
void nl_close(struct nl *nl);

/* Start a request for generic netlink command @cmd of the family. */
struct nlmsghdr *nl_msg(struct nl *nl, uint8_t cmd, uint16_t flags);

/*
 * Send @nlh and process the replies; @cb is called for every data
 * message (its return value follows libmnl: MNL_CB_OK, MNL_CB_STOP, or
 * MNL_CB_ERROR with errno set).  Returns 0 or a negative errno.
 */
int nl_exec(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
	    void (*reset)(void *data));

/* Reset callback for dumps that are printed as they arrive, see above. */
void nl_stream(void *data);
#define NL_STREAM	nl_stream

/* The attribute of the last request at offset nl->ext_offs, or NULL. */
const struct nlattr *nl_ext_attr(const struct nl *nl);

/*
 * Join multicast group @name (resolved with the family).  -ENOENT if the
 * family has no such group, else 0 or a negative errno (-EPERM).
 */
int nl_join(struct nl *nl, const char *name);

/* Process notifications until @cb stops; see above. */
int nl_listen(struct nl *nl, mnl_cb_t cb, void *data);

/* Multicast group id by name, or -ENOENT. */
int nl_mcgrp_id(const struct nl *nl, const char *name);

/* Offset of the attributes in a generic netlink message's payload. */
#define NL_GENL_HDRLEN	sizeof(struct genlmsghdr)

#endif /* MQCTL_NL_H */
