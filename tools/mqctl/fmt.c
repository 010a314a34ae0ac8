// SPDX-License-Identifier: GPL-2.0
/*
 * fmt.c - addresses, durations and terminal-safe text for mqctl.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mqctl.h"

const char *mq_family_name(unsigned int family)
{
	switch (family) {
	case AF_INET:
		return "inet";
	case AF_INET6:
		return "inet6";
	}
	return NULL;
}

bool mq_fmt_addr(unsigned int family, const void *addr, size_t len,
		 unsigned int port, char *ip, char *full)
{
	char buf[INET6_ADDRSTRLEN];
	bool ok = false;

	if (family == AF_INET && len == 4)
		ok = inet_ntop(AF_INET, addr, buf, sizeof(buf));
	else if (family == AF_INET6 && len == 16)
		ok = inet_ntop(AF_INET6, addr, buf, sizeof(buf));
	if (!ok)
		strcpy(buf, "?");
	if (ip)
		snprintf(ip, MQ_ADDR_LEN, "%s", buf);
	if (full)
		snprintf(full, MQ_ADDR_LEN, family == AF_INET6 && ok ?
			 "[%s]:%u" : "%s:%u", buf, port);
	return ok;
}

const char *mq_parse_sockaddr(const char *s, struct mq_sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *h = s;
	size_t hlen;
	uint64_t port;

	memset(sa, 0, sizeof(*sa));
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end)
			return "missing ']' after the IPv6 address";
		if (end[1] != ':')
			return "missing ':PORT' after ']'";
		h = s + 1;
		hlen = end - h;
		colon = end + 1;
		sa->family = AF_INET6;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return "missing ':PORT' (write ADDR:PORT, e.g. 0.0.0.0:8883 or [::]:8883)";
		if (memchr(s, ':', colon - s))
			return "an IPv6 address must be in brackets: [ADDR]:PORT";
		hlen = colon - s;
		sa->family = AF_INET;
	}
	if (!hlen)
		return "missing address (use 0.0.0.0 or [::] for any)";
	if (hlen >= sizeof(host))
		return "address too long";
	memcpy(host, h, hlen);
	host[hlen] = '\0';

	if (!mq_parse_uint(colon + 1, 65535, &port) || !port)
		return "bad port (want 1-65535)";
	sa->port = port;

	if (sa->family == AF_INET && !strcmp(host, "*"))
		strcpy(host, "0.0.0.0");
	if (sa->family == AF_INET6 && !strcmp(host, "*"))
		strcpy(host, "::");
	sa->addr_len = sa->family == AF_INET ? 4 : 16;
	if (inet_pton(sa->family, host, sa->addr) != 1)
		return sa->family == AF_INET ?
			"bad IPv4 address (want a.b.c.d, or [v6addr] for IPv6)" :
			"bad IPv6 address";
	return NULL;
}

/* Length of the well-formed UTF-8 sequence at s, 0 if ill-formed. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (len < n)
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	/* C1 controls (U+0080..U+009F) are escaped too. */
	if (c == 0xc2 && s[1] < 0xa0)
		return 0;
	return n;
}

size_t mq_print_text(FILE *f, const char *str, size_t len, bool space,
		     size_t width)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, cols = 0, n;

	while (i < len) {
		unsigned char c = s[i];

		if (c < 0x20 || c == 0x7f || c == '\\' || (space && c == ' ')) {
			fprintf(f, "\\x%02x", c);
			cols += 4;
			i++;
			continue;
		}
		n = utf8_len(s + i, len - i);
		if (!n) {
			fprintf(f, "\\x%02x", c);
			cols += 4;
			i++;
			continue;
		}
		fwrite(s + i, 1, n, f);
		cols++;
		i += n;
	}
	for (; cols < width; cols++)
		fputc(' ', f);
	return cols;
}

void mq_fmt_duration(char *buf, size_t n, uint64_t secs)
{
	uint64_t d = secs / 86400, h = secs / 3600 % 24;
	uint64_t m = secs / 60 % 60, sec = secs % 60;

	if (d)
		snprintf(buf, n, "%" PRIu64 "d %02" PRIu64 ":%02" PRIu64
			 ":%02" PRIu64, d, h, m, sec);
	else
		snprintf(buf, n, "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64,
			 h, m, sec);
}
