/* SPDX-License-Identifier: GPL-2.0 */
/*
 * codec.h - MQTT 3.1.1 packet decoding and encoding (ISO/IEC 20922).
 *
 * The decoder works on caller-owned buffers and never allocates: decoded
 * strings are views (pointer + length) into the packet body.  Every
 * decoder either fills its output completely or returns a negative
 * enum kmq_reason telling why the packet is refused.
 */
#ifndef _KMQ_CODEC_H
#define _KMQ_CODEC_H

#include "kmq_shim.h"

/* Control packet types (MQTT 3.1.1 section 2.2.1). */
enum kmq_ptype {
	KMQ_CONNECT = 1,
	KMQ_CONNACK = 2,
	KMQ_PUBLISH = 3,
	KMQ_PUBACK = 4,
	KMQ_PUBREC = 5,
	KMQ_PUBREL = 6,
	KMQ_PUBCOMP = 7,
	KMQ_SUBSCRIBE = 8,
	KMQ_SUBACK = 9,
	KMQ_UNSUBSCRIBE = 10,
	KMQ_UNSUBACK = 11,
	KMQ_PINGREQ = 12,
	KMQ_PINGRESP = 13,
	KMQ_DISCONNECT = 14,
};

/* CONNACK return codes (section 3.2.2.3). */
enum kmq_connack_rc {
	KMQ_CONNACK_ACCEPTED = 0,
	KMQ_CONNACK_BAD_PROTOCOL = 1,
	KMQ_CONNACK_ID_REJECTED = 2,
	KMQ_CONNACK_UNAVAILABLE = 3,
	KMQ_CONNACK_BAD_AUTH = 4,
	KMQ_CONNACK_NOT_AUTHORIZED = 5,
};

/*
 * Why a packet was refused.  Decoders return the negated value.  The same
 * numbers index the refusal counters in the statistics, so append only.
 */
enum kmq_reason {
	KMQ_R_NONE = 0,
	KMQ_R_BAD_TYPE,		/* reserved packet type 0 or 15 */
	KMQ_R_BAD_FLAGS,	/* fixed-header flags differ from Table 2.2 */
	KMQ_R_BAD_LENGTH,	/* remaining length > 4 bytes or inconsistent */
	KMQ_R_TOO_LARGE,	/* remaining length above the configured max */
	KMQ_R_BAD_UTF8,		/* ill-formed UTF-8, U+0000 or a surrogate */
	KMQ_R_BAD_PROTOCOL,	/* protocol name not "MQTT"/"MQIsdp" */
	KMQ_R_BAD_LEVEL,	/* protocol level unsupported: CONNACK 0x01 */
	KMQ_R_BAD_CONNECT,	/* reserved bit, will/user/password flag rules */
	KMQ_R_BAD_CLIENT_ID,	/* client id refused: CONNACK 0x02 */
	KMQ_R_BAD_TOPIC,	/* topic name empty or with wildcards */
	KMQ_R_BAD_FILTER,	/* topic filter malformed (UNSUBSCRIBE) */
	KMQ_R_BAD_QOS,		/* QoS 3 in PUBLISH, or reserved bits in SUBSCRIBE */
	KMQ_R_BAD_PACKET_ID,	/* packet identifier 0 where one is required */
	KMQ_R_EMPTY_PAYLOAD,	/* SUBSCRIBE/UNSUBSCRIBE without a filter */
	KMQ_R_NOT_CONNECTED,	/* first packet is not CONNECT */
	KMQ_R_SECOND_CONNECT,	/* CONNECT on a connected session */
	KMQ_R_UNEXPECTED,	/* packet a client must not send (CONNACK...) */
	KMQ_R_KEEPALIVE,	/* no packet within 1.5 x keepalive */
	KMQ_R_MAX_CONNECTIONS,	/* connection limit reached */
	KMQ_R_NOMEM,		/* allocation failed */
	KMQ_R_MAX_SUBS,		/* too many subscriptions for one client */
	KMQ_R_QUEUE_FULL,	/* outbound queue full, message dropped */
	KMQ_R_SLOW_READER,	/* client does not read its socket */
	KMQ_R_RETAIN_FULL,	/* retained store full, message not stored */
	KMQ_R_TOPIC_LIMIT,	/* topic longer or deeper than allowed */
	KMQ_R_KEEPALIVE_CAP,	/* keepalive 0 or above the cap: CONNACK 0x02 */
	KMQ_R_NOT_AUTHORIZED,	/* anonymous client refused: CONNACK 0x05 */
	KMQ_R_BAD_PASSWORD,	/* wrong or no password: CONNACK 0x04 */
	KMQ_R_UNKNOWN_USER,	/* no such user: CONNACK 0x04 */
	KMQ_R_ACL_PUBLISH,	/* PUBLISH denied by the ACL: acked, dropped */
	KMQ_R_ACL_SUBSCRIBE,	/* filter denied by the ACL: SUBACK 0x80 */
	KMQ_R_ACL_DELIVERY,	/* subscriber may not read the topic */
	KMQ_R_ACL_WILL,		/* Will denied by the ACL: not published */
	KMQ_R_MEMORY,		/* namespace memory cap (max_memory) reached */
	__KMQ_R_MAX,
};

/* Largest remaining length MQTT can encode (4 bytes of 7 bits). */
#define KMQ_MAX_REMAINING	268435455u
/* Largest fixed header: type byte + 4 length bytes. */
#define KMQ_FIXED_HDR_MAX	5

/** struct kmq_fixed - a decoded fixed header */
struct kmq_fixed {
	u8 type;	/* enum kmq_ptype */
	u8 flags;	/* low nibble of byte 0 */
	u8 hdr_len;	/* bytes used by the fixed header (2..5) */
	u32 remaining;	/* remaining length */
};

/** struct kmq_str - a length-prefixed string or binary field, as a view */
struct kmq_str {
	const u8 *p;
	u16 len;
};

/** struct kmq_connect - a decoded CONNECT variable header and payload */
struct kmq_connect {
	u8 level;		/* 4 = 3.1.1, 3 = 3.1 */
	bool clean;
	bool will;
	u8 will_qos;
	bool will_retain;
	bool has_user;
	bool has_pass;
	u16 keepalive;		/* seconds */
	struct kmq_str client_id;
	struct kmq_str will_topic;
	struct kmq_str will_msg;	/* binary */
	struct kmq_str user;
	struct kmq_str pass;		/* binary */
};

/** struct kmq_publish - a decoded PUBLISH */
struct kmq_publish {
	u8 qos;
	bool dup;
	bool retain;
	u16 pid;		/* 0 for QoS 0 */
	struct kmq_str topic;
	const u8 *payload;
	u32 payload_len;
};

/** struct kmq_iter - walks the topic filters of SUBSCRIBE/UNSUBSCRIBE */
struct kmq_iter {
	const u8 *p;
	u32 left;
	bool with_qos;		/* SUBSCRIBE: each filter is followed by QoS */
};

/**
 * struct kmq_qos3 - what a QoS 3 publisher asks for (Documentation/qos3.rst)
 * @required: subscribers that must confirm; 0 = every subscriber that
 *	      could confirm when the message arrived
 * @timeout_ms: how long to wait; 0 = the broker's default
 */
struct kmq_qos3 {
	u16 required;
	u32 timeout_ms;
};

/* Results carried by the QoS 3 answer. */
enum kmq_q3_result {
	KMQ_Q3_CONFIRMED = 0,	/* enough subscribers confirmed */
	KMQ_Q3_TIMEOUT = 1,	/* not within the timeout */
	KMQ_Q3_UNREACHABLE = 2,	/* too few subscribers can still confirm */
	KMQ_Q3_REFUSED = 3,	/* pending QoS 3 limit reached */
};

#define KMQ_Q3_ANSWER_LEN	11	/* bytes of a QoS 3 answer packet */
#define KMQ_Q3_MAX_TIMEOUT_MS	3600000u

#define KMQ_NEED_MORE	1	/* positive: not an error, read more bytes */

/**
 * kmq_parse_fixed() - decode a fixed header from the start of a buffer
 * @buf: received bytes
 * @len: number of bytes in @buf
 * @fh: filled on success
 *
 * Checks the packet type and the reserved flags of Table 2.2 and the
 * remaining-length encoding (at most four bytes; a fourth byte with the
 * continuation bit is -KMQ_R_BAD_LENGTH).  Type and flags are checked as
 * soon as the first byte is there, before the length is complete.
 * Non-minimal length encodings (0x80 0x00 for 0) are accepted.  Packets
 * of fixed size must carry it, else -KMQ_R_BAD_LENGTH: CONNACK, PUBACK,
 * PUBREC, PUBREL, PUBCOMP and UNSUBACK a remaining length of 2; PINGREQ,
 * PINGRESP and DISCONNECT 0.  The configured maximum packet size is NOT
 * checked here (the caller returns KMQ_R_TOO_LARGE).
 *
 * Return: 0 when @fh is complete, KMQ_NEED_MORE when @buf ends inside
 * the header, or a negative enum kmq_reason.
 */
int kmq_parse_fixed(const u8 *buf, u32 len, struct kmq_fixed *fh);

/**
 * kmq_utf8_valid() - check an MQTT UTF-8 string (section 1.5.3)
 * @p: bytes
 * @len: number of bytes
 *
 * Rejects ill-formed UTF-8 (including overlong forms and code points above
 * U+10FFFF), the surrogates U+D800..U+DFFF and U+0000.
 */
bool kmq_utf8_valid(const u8 *p, u32 len);

/*
 * Body decoders.  @flags is the fixed-header flag nibble, @body/@len the
 * remaining-length bytes.  Return 0 or a negative enum kmq_reason.
 *
 * CONNECT: a protocol name other than "MQTT"/"MQIsdp" is
 * KMQ_R_BAD_PROTOCOL (close without CONNACK); the right name with the
 * wrong level (MQTT needs 4, MQIsdp 3) is KMQ_R_BAD_LEVEL (CONNACK 0x01).
 * Connect-flag violations are KMQ_R_BAD_CONNECT, a will topic that is not
 * a valid topic name KMQ_R_BAD_TOPIC, truncated fields or trailing bytes
 * KMQ_R_BAD_LENGTH.  The client id is only checked for UTF-8; its policy
 * (empty id with clean session 0...) is the caller's.
 *
 * PUBLISH: QoS 3 is KMQ_R_BAD_QOS, DUP with QoS 0 KMQ_R_BAD_FLAGS
 * (3.3.1-2), an empty or wildcard topic KMQ_R_BAD_TOPIC, packet id 0 with
 * QoS > 0 KMQ_R_BAD_PACKET_ID.  The payload may be empty.
 */
int kmq_decode_connect(const u8 *body, u32 len, struct kmq_connect *c);
int kmq_decode_publish(u8 flags, const u8 *body, u32 len,
		       struct kmq_publish *p);
/*
 * Native QoS 3 PUBLISH (QoS bits 11, only on listeners that enable it):
 * topic, packet id, then a 2-byte required count and a 4-byte timeout in
 * milliseconds, then the payload.  @p->qos is set to 3.
 */
int kmq_decode_publish3(u8 flags, const u8 *body, u32 len,
			struct kmq_publish *p, struct kmq_qos3 *q);
/*
 * The topic convention for standard clients: "$qos3/<N>[,<ms>]/<topic>"
 * with N a count (1..65535) or "all".  Returns 0 if @t is not under
 * "$qos3/", 1 when parsed (the real topic starts at @t + *@off and is a
 * valid topic name), or -KMQ_R_BAD_TOPIC.
 */
int kmq_qos3_topic(const u8 *t, u32 len, struct kmq_qos3 *q, u32 *off);
/*
 * PUBACK, PUBREC, PUBREL, PUBCOMP (and UNSUBACK): exactly a non-zero
 * packet id.  Another @type is KMQ_R_BAD_TYPE.
 */
int kmq_decode_ack(u8 type, const u8 *body, u32 len, u16 *pid);
/*
 * SUBSCRIBE / UNSUBSCRIBE: reads the packet id and prepares @it.  This
 * validates the whole payload (every filter and QoS byte) before
 * returning 0, so a later kmq_iter_next() walk cannot fail.  A filter that
 * is well-formed UTF-8 but an invalid topic filter is NOT an error for
 * SUBSCRIBE (it gets return code 0x80); for UNSUBSCRIBE it is
 * KMQ_R_BAD_FILTER.  A zero-length filter is malformed for both
 * (4.7.3-1): KMQ_R_BAD_FILTER, close the connection.  A SUBSCRIBE QoS
 * byte above 2 (reserved bits or QoS 3) is KMQ_R_BAD_QOS.  No filter at
 * all is KMQ_R_EMPTY_PAYLOAD, packet id 0 KMQ_R_BAD_PACKET_ID.
 */
int kmq_decode_subscribe(const u8 *body, u32 len, u16 *pid,
			 struct kmq_iter *it);
int kmq_decode_unsubscribe(const u8 *body, u32 len, u16 *pid,
			   struct kmq_iter *it);
/**
 * kmq_iter_next() - next filter of a validated SUBSCRIBE/UNSUBSCRIBE
 * @it: iterator prepared by kmq_decode_(un)subscribe()
 * @filter: the filter
 * @qos: requested QoS (SUBSCRIBE only; may be NULL otherwise)
 *
 * Return: true while a filter was produced, false at the end.
 */
bool kmq_iter_next(struct kmq_iter *it, struct kmq_str *filter, u8 *qos);

/*
 * Encoders.  They write into caller buffers and return the number of
 * bytes written.
 */
/*
 * Remaining-length field; @out needs 4 bytes. Returns 1..4.  @len must be
 * at most KMQ_MAX_REMAINING (larger values are cut to 28 bits).  The
 * PUBLISH and SUBACK encoders below rely on the caller keeping the total
 * remaining length within that limit too.
 */
u32 kmq_encode_length(u8 *out, u32 len);
/* CONNACK: 4 bytes.  Session present is sent only with rc 0 (3.2.2-4). */
u32 kmq_encode_connack(u8 *out, bool session_present, u8 rc);
/* PUBACK/PUBREC/PUBREL/PUBCOMP/UNSUBACK: 4 bytes (PUBREL gets flags 0x2). */
u32 kmq_encode_ack(u8 *out, u8 type, u16 pid);
/*
 * QoS 3 answer: type 4 (PUBACK) with flags 0001, remaining length 9:
 * packet id, result (enum kmq_q3_result), confirmed, matched and
 * unconfirmable counts (2 bytes each).  KMQ_Q3_ANSWER_LEN bytes.
 */
u32 kmq_encode_q3_answer(u8 *out, u16 pid, u8 result, u16 confirmed,
			 u16 matched, u16 unconfirmable);
/* PINGRESP: 2 bytes. */
u32 kmq_encode_pingresp(u8 *out);
/*
 * SUBACK header (fixed header + packet id) for @n return codes: <= 7 bytes.
 * The @n return-code bytes follow it.
 */
u32 kmq_encode_suback_hdr(u8 *out, u16 pid, u32 n);
/*
 * PUBLISH header: fixed header + topic length + topic + packet id.
 * @out needs KMQ_FIXED_HDR_MAX + 2 + @topic_len + 2 bytes.  The packet id
 * is written only for @qos > 0, and DUP only with @qos > 0 (3.3.1-2).
 */
u32 kmq_encode_publish_hdr(u8 *out, u8 qos, bool dup, bool retain,
			   const u8 *topic, u16 topic_len, u16 pid,
			   u32 payload_len);
/*
 * PUBLISH prefix only: fixed header + the 2-byte topic length, for senders
 * that gather topic, packet id and payload from elsewhere.  Returns 3..7.
 */
u32 kmq_encode_publish_prefix(u8 *out, u8 qos, bool dup, bool retain,
			      u16 topic_len, u32 payload_len);

#endif /* _KMQ_CODEC_H */
