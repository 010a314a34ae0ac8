/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tap.h - the TAP harness shared by the unit test files (test_core.c
 * owns it, test_qos.c uses it).
 */
#ifndef _KMQ_TAP_H
#define _KMQ_TAP_H

void __attribute__((format(printf, 2, 3)))
check(int ok, const char *fmt, ...);

#define CHECK(cond, ...) check(!!(cond), __VA_ARGS__)
#define CHECK_EQ(got, want, ...) do {					\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	if (g_ != w_)							\
		printf("# got %lld want %lld\n", g_, w_);		\
	check(g_ == w_, __VA_ARGS__);					\
} while (0)

/* test_qos.c */
void test_qos(void);

/* test_acl.c */
void test_acl(void);

#endif /* _KMQ_TAP_H */
