/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * kmqttd generic netlink API.  Described by
 * Documentation/netlink/specs/kmqttd.yaml; keep the two in step.
 *
 * Every counter is a u64 attribute (NLA_U64, 64-bit aligned with the
 * *_PAD attribute).  Unknown attributes must be ignored by readers so the
 * set can grow.
 */
#ifndef _UAPI_LINUX_KMQTTD_H
#define _UAPI_LINUX_KMQTTD_H

#define KMQTTD_FAMILY_NAME	"kmqttd"
#define KMQTTD_FAMILY_VERSION	1

/**
 * enum kmqttd_refusal - why a connection or packet was refused; the
 *   attribute types inside KMQTTD_A_STATS_REFUSALS
 */
enum kmqttd_refusal {
	KMQTTD_REFUSAL_BAD_TYPE = 1,
	KMQTTD_REFUSAL_BAD_FLAGS,
	KMQTTD_REFUSAL_BAD_LENGTH,
	KMQTTD_REFUSAL_TOO_LARGE,
	KMQTTD_REFUSAL_BAD_UTF8,
	KMQTTD_REFUSAL_BAD_PROTOCOL,
	KMQTTD_REFUSAL_BAD_LEVEL,
	KMQTTD_REFUSAL_BAD_CONNECT,
	KMQTTD_REFUSAL_BAD_CLIENT_ID,
	KMQTTD_REFUSAL_BAD_TOPIC,
	KMQTTD_REFUSAL_BAD_FILTER,
	KMQTTD_REFUSAL_BAD_QOS,
	KMQTTD_REFUSAL_BAD_PACKET_ID,
	KMQTTD_REFUSAL_EMPTY_PAYLOAD,
	KMQTTD_REFUSAL_NOT_CONNECTED,
	KMQTTD_REFUSAL_SECOND_CONNECT,
	KMQTTD_REFUSAL_UNEXPECTED,
	KMQTTD_REFUSAL_KEEPALIVE,
	KMQTTD_REFUSAL_MAX_CONNECTIONS,
	KMQTTD_REFUSAL_NOMEM,
	KMQTTD_REFUSAL_MAX_SUBS,
	KMQTTD_REFUSAL_QUEUE_FULL,
	KMQTTD_REFUSAL_SLOW_READER,
	KMQTTD_REFUSAL_RETAIN_FULL,
	KMQTTD_REFUSAL_TOPIC_LIMIT,
	KMQTTD_REFUSAL_KEEPALIVE_CAP,
	KMQTTD_REFUSAL_NOT_AUTHORIZED,
	KMQTTD_REFUSAL_BAD_PASSWORD,
	KMQTTD_REFUSAL_UNKNOWN_USER,
	KMQTTD_REFUSAL_ACL_PUBLISH,
	KMQTTD_REFUSAL_ACL_SUBSCRIBE,
	KMQTTD_REFUSAL_ACL_DELIVERY,
	KMQTTD_REFUSAL_ACL_WILL,
	KMQTTD_REFUSAL_MEMORY,

	/* private: */
	__KMQTTD_REFUSAL_MAX,
	KMQTTD_REFUSAL_MAX = (__KMQTTD_REFUSAL_MAX - 1)
};

enum {
	KMQTTD_A_STATS_PAD = 1,
	KMQTTD_A_STATS_CONNS_CURRENT,
	KMQTTD_A_STATS_CONNS_TOTAL,
	KMQTTD_A_STATS_CONNS_MAX,
	KMQTTD_A_STATS_MSGS_IN,
	KMQTTD_A_STATS_MSGS_OUT,
	KMQTTD_A_STATS_BYTES_IN,
	KMQTTD_A_STATS_BYTES_OUT,
	KMQTTD_A_STATS_MSGS_DROPPED,
	KMQTTD_A_STATS_SUBS_CURRENT,
	KMQTTD_A_STATS_REFUSALS,
	KMQTTD_A_STATS_LIVE_CONNS,
	KMQTTD_A_STATS_LIVE_SESSIONS,
	KMQTTD_A_STATS_LIVE_MSGS,
	KMQTTD_A_STATS_LIVE_SUBS,
	KMQTTD_A_STATS_LIVE_NODES,
	KMQTTD_A_STATS_UPTIME,
	KMQTTD_A_STATS_PKTS_IN,
	KMQTTD_A_STATS_PKTS_OUT,
	KMQTTD_A_STATS_SESSIONS_CURRENT,
	KMQTTD_A_STATS_RETAINED_CURRENT,
	KMQTTD_A_STATS_RETAINED_BYTES,
	KMQTTD_A_STATS_MEM_MSG_BYTES,
	KMQTTD_A_STATS_QOS3_REQUESTED,
	KMQTTD_A_STATS_QOS3_CONFIRMED,
	KMQTTD_A_STATS_QOS3_TIMED_OUT,
	KMQTTD_A_STATS_QOS3_UNREACHABLE,
	KMQTTD_A_STATS_QOS3_REFUSED,
	KMQTTD_A_STATS_QOS3_PENDING,
	KMQTTD_A_STATS_MEM_USED,
	KMQTTD_A_STATS_LIVE_TXITEMS,
	KMQTTD_A_STATS_LIVE_DELIVERIES,
	KMQTTD_A_STATS_PUBLISH_HOLDS,

	__KMQTTD_A_STATS_MAX,
	KMQTTD_A_STATS_MAX = (__KMQTTD_A_STATS_MAX - 1)
};

/**
 * enum kmqttd_anonymous - may clients without a user name (or with one
 *   that no user of the namespace has, while it has none) connect?
 *   The value of KMQTTD_A_SET_ALLOW_ANONYMOUS and of
 *   KMQTTD_A_LISTENER_ANONYMOUS.
 * @KMQTTD_ANONYMOUS_OFF: no (CONNACK 0x05)
 * @KMQTTD_ANONYMOUS_ON: yes
 * @KMQTTD_ANONYMOUS_AUTO: only while the namespace has no user and no
 *   ACL rule (the default)
 */
enum kmqttd_anonymous {
	KMQTTD_ANONYMOUS_OFF,
	KMQTTD_ANONYMOUS_ON,
	KMQTTD_ANONYMOUS_AUTO,
};

/*
 * Listeners.  An address is a family (AF_INET or AF_INET6), the address
 * bytes (4 or 16) and a port, in host byte order.  KMQTTD_A_LISTENER_QOS3
 * (u8) enables native QoS 3 PUBLISH on the listener (off by default:
 * QoS bits 11 are malformed in plain MQTT 3.1.1).
 * KMQTTD_A_LISTENER_ANONYMOUS (u8, enum kmqttd_anonymous) overrides the
 * namespace's allow_anonymous setting for clients of this listener;
 * absent: the setting applies.  KMQTTD_A_LISTENER_MAX_CONNS (u32) caps the
 * connections open through the listener (0: no cap of its own; the
 * namespace's max_connections still applies).
 */
enum {
	KMQTTD_A_LISTENER_ID = 1,
	KMQTTD_A_LISTENER_FAMILY,
	KMQTTD_A_LISTENER_ADDR,
	KMQTTD_A_LISTENER_PORT,
	KMQTTD_A_LISTENER_CONNS,
	KMQTTD_A_LISTENER_QOS3,
	KMQTTD_A_LISTENER_ANONYMOUS,
	KMQTTD_A_LISTENER_MAX_CONNS,

	__KMQTTD_A_LISTENER_MAX,
	KMQTTD_A_LISTENER_MAX = (__KMQTTD_A_LISTENER_MAX - 1)
};

/*
 * Clients: one per session, connected or not.  Requests select one by
 * KMQTTD_A_CLIENT_CLIENT_ID.  KMQTTD_CMD_CLIENT_KICK disconnects it,
 * publishing its Will if KMQTTD_A_CLIENT_WILL is non-zero; a persistent
 * session stays unless KMQTTD_A_CLIENT_PURGE is non-zero.
 *
 * An object whose strings do not fit one netlink message (client ids,
 * user names, filters and topics may each be 65535 bytes) is sent with
 * each string cut to its first 1024 bytes and a TRUNCATED flag
 * (KMQTTD_A_CLIENT_TRUNCATED, KMQTTD_A_SUB_TRUNCATED,
 * KMQTTD_A_RETAIN_TRUNCATED).
 */
enum {
	KMQTTD_A_CLIENT_PAD = 1,
	KMQTTD_A_CLIENT_CLIENT_ID,
	KMQTTD_A_CLIENT_FAMILY,
	KMQTTD_A_CLIENT_ADDR,
	KMQTTD_A_CLIENT_PORT,
	KMQTTD_A_CLIENT_USERNAME,
	KMQTTD_A_CLIENT_CONNECTED,
	KMQTTD_A_CLIENT_CONNECTED_SINCE,
	KMQTTD_A_CLIENT_KEEPALIVE,
	KMQTTD_A_CLIENT_CLEAN,
	KMQTTD_A_CLIENT_INFLIGHT,
	KMQTTD_A_CLIENT_QUEUED,
	KMQTTD_A_CLIENT_SUBS,
	KMQTTD_A_CLIENT_MSGS_IN,
	KMQTTD_A_CLIENT_MSGS_OUT,
	KMQTTD_A_CLIENT_BYTES_IN,
	KMQTTD_A_CLIENT_BYTES_OUT,
	KMQTTD_A_CLIENT_WILL,
	KMQTTD_A_CLIENT_PURGE,
	KMQTTD_A_CLIENT_TRUNCATED,

	__KMQTTD_A_CLIENT_MAX,
	KMQTTD_A_CLIENT_MAX = (__KMQTTD_A_CLIENT_MAX - 1)
};

/*
 * Subscriptions.  A dump request may carry KMQTTD_A_SUB_CLIENT_ID (only
 * that client's) or KMQTTD_A_SUB_FILTER (only subscriptions whose filter
 * is exactly this one).
 */
enum {
	KMQTTD_A_SUB_CLIENT_ID = 1,
	KMQTTD_A_SUB_FILTER,
	KMQTTD_A_SUB_QOS,
	KMQTTD_A_SUB_TRUNCATED,

	__KMQTTD_A_SUB_MAX,
	KMQTTD_A_SUB_MAX = (__KMQTTD_A_SUB_MAX - 1)
};

/*
 * Retained messages.  A dump request may carry KMQTTD_A_RETAIN_FILTER
 * (a topic filter, wildcards allowed).  KMQTTD_CMD_RETAIN_DEL deletes the
 * message of KMQTTD_A_RETAIN_TOPIC, or of every topic matching
 * KMQTTD_A_RETAIN_FILTER.  KMQTTD_A_RETAIN_PAYLOAD holds at most the first
 * 1024 bytes; KMQTTD_A_RETAIN_PAYLOAD_LEN the full length.
 */
enum {
	KMQTTD_A_RETAIN_TOPIC = 1,
	KMQTTD_A_RETAIN_FILTER,
	KMQTTD_A_RETAIN_QOS,
	KMQTTD_A_RETAIN_PAYLOAD_LEN,
	KMQTTD_A_RETAIN_PAYLOAD,
	KMQTTD_A_RETAIN_COUNT,
	KMQTTD_A_RETAIN_TRUNCATED,

	__KMQTTD_A_RETAIN_MAX,
	KMQTTD_A_RETAIN_MAX = (__KMQTTD_A_RETAIN_MAX - 1)
};

/*
 * Settings of a namespace; SETTINGS_SET changes those present.
 * KMQTTD_A_SET_ALLOW_ANONYMOUS is an enum kmqttd_anonymous.
 * KMQTTD_A_SET_PASSWORD_ITERATIONS: PBKDF2 iterations of the passwords
 * set from now on (1..1000000).
 */
enum {
	KMQTTD_A_SET_PAD = 1,
	KMQTTD_A_SET_MAX_CONNECTIONS,
	KMQTTD_A_SET_MAX_PACKET_SIZE,
	KMQTTD_A_SET_MAX_INFLIGHT,
	KMQTTD_A_SET_MAX_QUEUED,
	KMQTTD_A_SET_MAX_KEEPALIVE,
	KMQTTD_A_SET_SESSION_EXPIRY,
	KMQTTD_A_SET_RETAIN_AVAILABLE,
	KMQTTD_A_SET_RETAIN_MAX,
	KMQTTD_A_SET_RETAIN_MAX_BYTES,
	KMQTTD_A_SET_ALLOW_ANONYMOUS,
	KMQTTD_A_SET_MAX_SUBSCRIPTIONS,
	KMQTTD_A_SET_MAX_TOPIC_LENGTH,
	KMQTTD_A_SET_MAX_TOPIC_LEVELS,
	KMQTTD_A_SET_CONNECT_TIMEOUT,
	KMQTTD_A_SET_SYS_INTERVAL,
	KMQTTD_A_SET_QOS3_TIMEOUT,
	KMQTTD_A_SET_QOS3_MAX_PENDING,
	KMQTTD_A_SET_QOS3_MAX_TOTAL,
	KMQTTD_A_SET_PASSWORD_ITERATIONS,
	KMQTTD_A_SET_MAX_QUEUED_BYTES,
	KMQTTD_A_SET_MAX_MEMORY,
	KMQTTD_A_SET_SLOW_READER_TIMEOUT,
	KMQTTD_A_SET_PUBLISH_HOLD,

	__KMQTTD_A_SET_MAX,
	KMQTTD_A_SET_MAX = (__KMQTTD_A_SET_MAX - 1)
};

/**
 * enum kmqttd_event - KMQTTD_A_EVENT_TYPE of a KMQTTD_CMD_EVENT
 *   notification, multicast to the "events" group
 */
enum kmqttd_event {
	KMQTTD_EVENT_CONNECTED = 1,
	KMQTTD_EVENT_DISCONNECTED,
	KMQTTD_EVENT_KICKED,
	KMQTTD_EVENT_LISTENER_ADDED,
	KMQTTD_EVENT_LISTENER_REMOVED,

	/* private: */
	__KMQTTD_EVENT_MAX,
	KMQTTD_EVENT_MAX = (__KMQTTD_EVENT_MAX - 1)
};

/*
 * An event: its type, the client (id, address) or the listener
 * (KMQTTD_A_EVENT_LISTENER, a nested listener attribute set), and for a
 * disconnect the reason (enum kmqttd_refusal, 0 for an ordinary end:
 * DISCONNECT, socket closed, kicked, taken over).
 */
enum {
	KMQTTD_A_EVENT_TYPE = 1,
	KMQTTD_A_EVENT_CLIENT_ID,
	KMQTTD_A_EVENT_FAMILY,
	KMQTTD_A_EVENT_ADDR,
	KMQTTD_A_EVENT_PORT,
	KMQTTD_A_EVENT_REASON,
	KMQTTD_A_EVENT_LISTENER,
	KMQTTD_A_EVENT_CLEAN,

	__KMQTTD_A_EVENT_MAX,
	KMQTTD_A_EVENT_MAX = (__KMQTTD_A_EVENT_MAX - 1)
};

#define KMQTTD_MCGRP_EVENTS	"events"

/*
 * Users of a namespace, who authenticate with a user name and password
 * in CONNECT.  USER_ADD creates a user or replaces its password: with
 * KMQTTD_A_USER_PASSWORD (the password itself; the kernel salts it and
 * stores PBKDF2-HMAC-SHA512 with KMQTTD_A_USER_ITERATIONS, default the
 * password_iterations setting) or with KMQTTD_A_USER_HASH (a hash in
 * mosquitto_passwd's format: "$7$ITERATIONS$SALT$HASH" or "$6$SALT$HASH",
 * base64).  Replies carry the name, KMQTTD_A_USER_ALGO (6 or 7),
 * the iterations and the hash string, never a password.  USER_CLEAR
 * deletes every user and replies with KMQTTD_A_USER_COUNT.
 */
enum {
	KMQTTD_A_USER_NAME = 1,
	KMQTTD_A_USER_PASSWORD,
	KMQTTD_A_USER_HASH,
	KMQTTD_A_USER_ALGO,
	KMQTTD_A_USER_ITERATIONS,
	KMQTTD_A_USER_COUNT,

	__KMQTTD_A_USER_MAX,
	KMQTTD_A_USER_MAX = (__KMQTTD_A_USER_MAX - 1)
};

/**
 * enum kmqttd_acl_kind - KMQTTD_A_ACL_KIND of an ACL rule
 * @KMQTTD_ACL_TOPIC: a "topic" rule of one user (KMQTTD_A_ACL_USER), or
 *   of anonymous clients (no KMQTTD_A_ACL_USER)
 * @KMQTTD_ACL_PATTERN: a "pattern" rule for every client; %u and %c in
 *   the pattern stand for the user name and the client id
 */
enum kmqttd_acl_kind {
	KMQTTD_ACL_TOPIC = 1,
	KMQTTD_ACL_PATTERN,
};

/**
 * enum kmqttd_acl_access - KMQTTD_A_ACL_ACCESS of an ACL rule
 * @KMQTTD_ACL_DENY: neither, whatever other rules allow
 * @KMQTTD_ACL_READ: subscribe and receive
 * @KMQTTD_ACL_WRITE: publish
 * @KMQTTD_ACL_READWRITE: both
 */
enum kmqttd_acl_access {
	KMQTTD_ACL_DENY,
	KMQTTD_ACL_READ,
	KMQTTD_ACL_WRITE,
	KMQTTD_ACL_READWRITE,
};

/*
 * ACL rules, as in Mosquitto's acl_file.  Once a namespace has any rule,
 * a client may only do what a rule allows it.  A rule is identified by
 * all four attributes; ACL_ADD of an existing rule fails with EEXIST.
 * KMQTTD_A_ACL_ACCESS defaults to readwrite.  ACL_CLEAR deletes every
 * rule and replies with KMQTTD_A_ACL_COUNT.
 */
enum {
	KMQTTD_A_ACL_KIND = 1,
	KMQTTD_A_ACL_USER,
	KMQTTD_A_ACL_ACCESS,
	KMQTTD_A_ACL_PATTERN,
	KMQTTD_A_ACL_COUNT,

	__KMQTTD_A_ACL_MAX,
	KMQTTD_A_ACL_MAX = (__KMQTTD_A_ACL_MAX - 1)
};

/*
 * Commands.  Every *_GET has a "do" (one object, selected by its key
 * attribute) and a "dump" (all, or those the request's filter attributes
 * select).  All but STATS_GET need CAP_NET_ADMIN in the namespace.
 */
enum {
	KMQTTD_CMD_STATS_GET = 1,
	KMQTTD_CMD_LISTENER_GET,
	KMQTTD_CMD_LISTENER_ADD,
	KMQTTD_CMD_LISTENER_DEL,
	KMQTTD_CMD_CLIENT_GET,
	KMQTTD_CMD_CLIENT_KICK,
	KMQTTD_CMD_SUB_GET,
	KMQTTD_CMD_RETAIN_GET,
	KMQTTD_CMD_RETAIN_DEL,
	KMQTTD_CMD_SETTINGS_GET,
	KMQTTD_CMD_SETTINGS_SET,
	KMQTTD_CMD_EVENT,
	KMQTTD_CMD_USER_GET,
	KMQTTD_CMD_USER_ADD,
	KMQTTD_CMD_USER_DEL,
	KMQTTD_CMD_USER_CLEAR,
	KMQTTD_CMD_ACL_GET,
	KMQTTD_CMD_ACL_ADD,
	KMQTTD_CMD_ACL_DEL,
	KMQTTD_CMD_ACL_CLEAR,

	__KMQTTD_CMD_MAX,
	KMQTTD_CMD_MAX = (__KMQTTD_CMD_MAX - 1)
};

#endif /* _UAPI_LINUX_KMQTTD_H */
