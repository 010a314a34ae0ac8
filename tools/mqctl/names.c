// SPDX-License-Identifier: GPL-2.0
/*
 * names.c - names of kmqttd uAPI enum values, as printed by mqctl.
 */
#include <stddef.h>
#include <linux/kmqttd.h>

#include "mqctl.h"
#include "names.h"

static const char *const refusal_names[] = {
	[KMQTTD_REFUSAL_BAD_TYPE]		= "bad_type",
	[KMQTTD_REFUSAL_BAD_FLAGS]		= "bad_flags",
	[KMQTTD_REFUSAL_BAD_LENGTH]		= "bad_length",
	[KMQTTD_REFUSAL_TOO_LARGE]		= "too_large",
	[KMQTTD_REFUSAL_BAD_UTF8]		= "bad_utf8",
	[KMQTTD_REFUSAL_BAD_PROTOCOL]		= "bad_protocol",
	[KMQTTD_REFUSAL_BAD_LEVEL]		= "bad_level",
	[KMQTTD_REFUSAL_BAD_CONNECT]		= "bad_connect",
	[KMQTTD_REFUSAL_BAD_CLIENT_ID]		= "bad_client_id",
	[KMQTTD_REFUSAL_BAD_TOPIC]		= "bad_topic",
	[KMQTTD_REFUSAL_BAD_FILTER]		= "bad_filter",
	[KMQTTD_REFUSAL_BAD_QOS]		= "bad_qos",
	[KMQTTD_REFUSAL_BAD_PACKET_ID]		= "bad_packet_id",
	[KMQTTD_REFUSAL_EMPTY_PAYLOAD]		= "empty_payload",
	[KMQTTD_REFUSAL_NOT_CONNECTED]		= "not_connected",
	[KMQTTD_REFUSAL_SECOND_CONNECT]		= "second_connect",
	[KMQTTD_REFUSAL_UNEXPECTED]		= "unexpected",
	[KMQTTD_REFUSAL_KEEPALIVE]		= "keepalive",
	[KMQTTD_REFUSAL_MAX_CONNECTIONS]	= "max_connections",
	[KMQTTD_REFUSAL_NOMEM]			= "nomem",
	[KMQTTD_REFUSAL_MAX_SUBS]		= "max_subs",
	[KMQTTD_REFUSAL_QUEUE_FULL]		= "queue_full",
	[KMQTTD_REFUSAL_SLOW_READER]		= "slow_reader",
	[KMQTTD_REFUSAL_RETAIN_FULL]		= "retain_full",
	[KMQTTD_REFUSAL_TOPIC_LIMIT]		= "topic_limit",
	[KMQTTD_REFUSAL_KEEPALIVE_CAP]		= "keepalive_cap",
	[KMQTTD_REFUSAL_NOT_AUTHORIZED]		= "not_authorized",
	[KMQTTD_REFUSAL_BAD_PASSWORD]		= "bad_password",
	[KMQTTD_REFUSAL_UNKNOWN_USER]		= "unknown_user",
	[KMQTTD_REFUSAL_ACL_PUBLISH]		= "acl_publish",
	[KMQTTD_REFUSAL_ACL_SUBSCRIBE]		= "acl_subscribe",
	[KMQTTD_REFUSAL_ACL_DELIVERY]		= "acl_delivery",
	[KMQTTD_REFUSAL_ACL_WILL]		= "acl_will",
	[KMQTTD_REFUSAL_MEMORY]			= "memory",
};

/*
 * A new enum kmqttd_refusal value must be named above; test/run.sh
 * also checks the names against the YAML spec.
 */
_Static_assert(ARRAY_SIZE(refusal_names) == KMQTTD_REFUSAL_MAX + 1,
	       "refusal_names[] does not cover enum kmqttd_refusal");

const char *refusal_name(unsigned int refusal)
{
	if (refusal >= ARRAY_SIZE(refusal_names))
		return NULL;
	return refusal_names[refusal];
}

static const char *const event_names[] = {
	[KMQTTD_EVENT_CONNECTED]	= "connected",
	[KMQTTD_EVENT_DISCONNECTED]	= "disconnected",
	[KMQTTD_EVENT_KICKED]		= "kicked",
	[KMQTTD_EVENT_LISTENER_ADDED]	= "listener_added",
	[KMQTTD_EVENT_LISTENER_REMOVED]	= "listener_removed",
};

_Static_assert(ARRAY_SIZE(event_names) == KMQTTD_EVENT_MAX + 1,
	       "event_names[] does not cover enum kmqttd_event");

const char *event_name(unsigned int event)
{
	if (event >= ARRAY_SIZE(event_names))
		return NULL;
	return event_names[event];
}
