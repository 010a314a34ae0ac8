// SPDX-License-Identifier: GPL-2.0
/*
 * json_test.c - unit tests of the mqctl JSON writer.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../json.h"

static int failures;

static char *buf;
static size_t len;

static FILE *start(struct json *j)
{
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		perror("open_memstream");
		exit(1);
	}
	json_init(j, f);
	return f;
}

static void check(FILE *f, const char *name, const char *want)
{
	fclose(f);
	if (strcmp(buf, want)) {
		printf("FAIL %s\n  want: %s\n  got:  %s\n", name, want, buf);
		failures++;
	} else {
		printf("ok   %s\n", name);
	}
	free(buf);
	buf = NULL;
}

/* One string value, escaped. */
static void str_case(const char *name, const char *in, size_t inlen,
		     const char *want)
{
	struct json j;
	FILE *f = start(&j);

	json_strn(&j, in, inlen);
	check(f, name, want);
}

#define STR(name, in, want) str_case(name, in, sizeof(in) - 1, want)

int main(void)
{
	struct json j;
	FILE *f;

	f = start(&j);
	json_obj_open(&j);
	json_obj_close(&j);
	json_end(&j);
	check(f, "empty object", "{}\n");

	f = start(&j);
	json_obj_open(&j);
	json_kv_u64(&j, "a", 1);
	json_key(&j, "b");
	json_arr_open(&j);
	json_u64(&j, 1);
	json_str(&j, "x");
	json_bool(&j, true);
	json_bool(&j, false);
	json_null(&j);
	json_str(&j, NULL);
	json_arr_open(&j);
	json_arr_close(&j);
	json_obj_open(&j);
	json_kv_bool(&j, "t", true);
	json_obj_close(&j);
	json_arr_close(&j);
	json_key(&j, "c");
	json_obj_open(&j);
	json_obj_close(&j);
	json_kv_str(&j, "d", "e");
	json_kv_s64(&j, "n", -5);
	json_obj_close(&j);
	check(f, "nesting and commas",
	      "{\"a\":1,\"b\":[1,\"x\",true,false,null,null,[],{\"t\":true}],"
	      "\"c\":{},\"d\":\"e\",\"n\":-5}");

	f = start(&j);
	json_arr_open(&j);
	json_u64(&j, UINT64_MAX);
	json_s64(&j, INT64_MIN);
	json_u64(&j, 0);
	json_arr_close(&j);
	check(f, "integer limits",
	      "[18446744073709551615,-9223372036854775808,0]");

	f = start(&j);
	json_obj_open(&j);
	json_kv_u64(&j, "we\"ird\\key\n", 7);
	json_obj_close(&j);
	check(f, "key escaping", "{\"we\\\"ird\\\\key\\n\":7}");

	STR("plain", "hello/world", "\"hello/world\"");
	STR("quote and backslash", "a\"b\\c", "\"a\\\"b\\\\c\"");
	STR("short escapes", "\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
	STR("control chars", "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
	STR("embedded NUL", "a\0b", "\"a\\u0000b\"");
	STR("valid UTF-8", "h\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e",
	    "\"h\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e\"");
	STR("U+10FFFF", "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");
	STR("invalid byte", "a\xff" "b", "\"a\\ufffdb\"");
	STR("lone continuation", "\x80", "\"\\ufffd\"");
	STR("overlong NUL", "\xc0\x80", "\"\\ufffd\\ufffd\"");
	STR("overlong 3-byte", "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");
	STR("surrogate", "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	STR("above U+10FFFF", "\xf4\x90\x80\x80",
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	STR("truncated sequence", "x\xe2\x82", "\"x\\ufffd\\ufffd\"");
	STR("truncated then ASCII", "\xe2\x82z", "\"\\ufffd\\ufffdz\"");

	if (failures) {
		printf("%d json test(s) failed\n", failures);
		return 1;
	}
	printf("all json tests passed\n");
	return 0;
}
