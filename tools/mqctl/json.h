/* SPDX-License-Identifier: GPL-2.0 */
/*
 * json.h - a tiny streaming JSON writer for mqctl.
 *
 * Commas and nesting are tracked for the caller:
 *
 *	struct json j;
 *	json_init(&j, stdout);
 *	json_obj_open(&j);
 *	json_kv_u64(&j, "conns", 3);
 *	json_key(&j, "live");
 *	json_obj_open(&j);
 *	...
 *	json_obj_close(&j);
 *	json_obj_close(&j);
 *	json_end(&j);		(newline after the top-level value)
 *
 * Strings are emitted as valid JSON: quotes, backslashes and control
 * characters are escaped, and bytes that are not well-formed UTF-8 are
 * replaced by U+FFFD, so arbitrary client data can be printed safely.
 */
#ifndef MQCTL_JSON_H
#define MQCTL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH	32

struct json {
	FILE *f;
	int depth;
	bool after_key;			/* a key was written, value pending */
	bool first[JSON_MAX_DEPTH + 1];	/* no element yet at this depth */
};

void json_init(struct json *j, FILE *f);
void json_end(struct json *j);

void json_obj_open(struct json *j);
void json_obj_close(struct json *j);
void json_arr_open(struct json *j);
void json_arr_close(struct json *j);

void json_key(struct json *j, const char *key);

void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const char *s, size_t len);
void json_u64(struct json *j, uint64_t v);
void json_s64(struct json *j, int64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* A value written as is (a number the other writers cannot format). */
void json_raw(struct json *j, const char *text);

static inline void json_kv_str(struct json *j, const char *k, const char *v)
{
	json_key(j, k);
	json_str(j, v);
}

static inline void json_kv_u64(struct json *j, const char *k, uint64_t v)
{
	json_key(j, k);
	json_u64(j, v);
}

static inline void json_kv_s64(struct json *j, const char *k, int64_t v)
{
	json_key(j, k);
	json_s64(j, v);
}

static inline void json_kv_bool(struct json *j, const char *k, bool v)
{
	json_key(j, k);
	json_bool(j, v);
}

/* Write the escaped body of a JSON string (without the quotes). */
void json_escape(FILE *f, const char *s, size_t len);

#endif /* MQCTL_JSON_H */
