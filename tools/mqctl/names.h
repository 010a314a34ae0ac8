/* SPDX-License-Identifier: GPL-2.0 */
/*
 * names.h - names of kmqttd uAPI enum values, as printed by mqctl.
 */
#ifndef MQCTL_NAMES_H
#define MQCTL_NAMES_H

/*
 * Name of an enum kmqttd_refusal value: the constant in lower case
 * without the KMQTTD_REFUSAL_ prefix ("bad_type"), or NULL if unknown.
 */
const char *refusal_name(unsigned int refusal);

/*
 * Name of an enum kmqttd_event value ("connected", "listener_added"), or
 * NULL if unknown.
 */
const char *event_name(unsigned int event);

#endif /* MQCTL_NAMES_H */
