// SPDX-License-Identifier: GPL-2.0
/*
 * acl.c - "mqctl acl list|add|del|clear|import": the ACL rules of the
 * caller's network namespace (KMQTTD_CMD_ACL_*), in the format of
 * Mosquitto's acl_file.  "list" prints a file that "import" reads back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kmqttd.h>

#include "mqctl.h"

#define ACL_USER_MAX	1024	/* the kernel's limits (one rule, one message) */
#define ACL_PATTERN_MAX	2048
#define ACL_LINE_MAX	8192

static const enum mq_atype acl_policy[KMQTTD_A_ACL_MAX + 1] = {
	[KMQTTD_A_ACL_KIND]	= MQ_A_UINT,
	[KMQTTD_A_ACL_USER]	= MQ_A_STR,
	[KMQTTD_A_ACL_ACCESS]	= MQ_A_UINT,
	[KMQTTD_A_ACL_PATTERN]	= MQ_A_STR,
	[KMQTTD_A_ACL_COUNT]	= MQ_A_UINT,
};

static const char *const access_names[] = {
	[KMQTTD_ACL_DENY]	= "deny",
	[KMQTTD_ACL_READ]	= "read",
	[KMQTTD_ACL_WRITE]	= "write",
	[KMQTTD_ACL_READWRITE]	= "readwrite",
};

static void acl_usage(FILE *f)
{
	fprintf(f,
		"Usage: mqctl acl [list]\n"
		"       mqctl acl add [user NAME] topic [ACCESS] TOPIC\n"
		"       mqctl acl add pattern [ACCESS] PATTERN\n"
		"       mqctl acl del ...   (the rule as it was added)\n"
		"       mqctl acl clear\n"
		"       mqctl acl import FILE\n"
		"\n"
		"Manage the ACL rules of kmqttd in the current network namespace, as in\n"
		"Mosquitto's acl_file.  Once any rule exists, a client may publish,\n"
		"subscribe and receive only where a rule allows it.  ACCESS is read,\n"
		"write, readwrite (the default) or deny (wins over any allowing rule).\n"
		"'topic' rules belong to one user, or without 'user NAME' to anonymous\n"
		"clients; 'pattern' rules apply to every client, with %%u replaced by\n"
		"its user name and %%c by its client id.  TOPIC may use + and #; a\n"
		"leading wildcard does not match $SYS/... topics.\n"
		"'list' prints the rules as an acl_file, which 'import' reads (FILE -\n"
		"is standard input).\n"
		"\n"
		"  -j, --json   print JSON (list: an array of rules)\n"
		"  -h, --help   show this help\n"
		"\n"
		"Exit status 5: no such rule (del); 6: the rule exists (add).\n");
}

struct acl_out {
	struct json j;
	unsigned long n;
	char *user;		/* text: user of the last "user" line */
};

static int acl_cb(const struct nlmsghdr *nlh, void *data)
{
	struct acl_out *o = data;
	const struct nlattr *tb[KMQTTD_A_ACL_MAX + 1];
	const struct nlattr *pat, *user;
	uint64_t kind, access;
	const char *an;

	if (mq_parse(nlh, acl_policy, KMQTTD_A_ACL_MAX, tb, "acl list") < 0)
		return MNL_CB_ERROR;
	pat = tb[KMQTTD_A_ACL_PATTERN];
	if (!pat)
		return MNL_CB_OK;
	user = tb[KMQTTD_A_ACL_USER];
	kind = mq_uint(tb[KMQTTD_A_ACL_KIND], 0);
	access = mq_uint(tb[KMQTTD_A_ACL_ACCESS], KMQTTD_ACL_READWRITE);
	an = access < ARRAY_SIZE(access_names) ? access_names[access] : "?";
	o->n++;
	if (mq_opts.json) {
		json_obj_open(&o->j);
		json_kv_str(&o->j, "kind",
			    kind == KMQTTD_ACL_PATTERN ? "pattern" : "topic");
		mq_json_str_attr(&o->j, "user", user);
		json_kv_str(&o->j, "access", an);
		mq_json_str_attr(&o->j, "pattern", pat);
		json_obj_close(&o->j);
		return MNL_CB_OK;
	}
	if (user && (!o->user || strlen(o->user) != mq_strlen(user) ||
		     memcmp(o->user, mnl_attr_get_payload(user),
			    mq_strlen(user)))) {
		free(o->user);
		o->user = strndup(mnl_attr_get_payload(user), mq_strlen(user));
		printf("%suser ", o->n > 1 ? "\n" : "");
		mq_print_text(stdout, mnl_attr_get_payload(user),
			      mq_strlen(user), false, 0);
		printf("\n");
	}
	if (kind == KMQTTD_ACL_PATTERN && o->user) {
		/* patterns are global; a blank line sets them apart */
		free(o->user);
		o->user = NULL;
		printf("\n");
	}
	printf("%s %s ", kind == KMQTTD_ACL_PATTERN ? "pattern" : "topic", an);
	mq_print_text(stdout, mnl_attr_get_payload(pat), mq_strlen(pat),
		      false, 0);
	printf("\n");
	return MNL_CB_OK;
}

static int acl_list(int argc, char **argv)
{
	struct acl_out o = { .n = 0 };
	struct nlmsghdr *nlh;
	struct nl nl;
	int ret, err;

	ret = mq_parse_opts("acl list", argc, argv, NULL, acl_usage, NULL,
			    NULL);
	if (ret >= 0)
		return ret;
	if (optind < argc)
		return mq_extra_arg("acl list", argv[optind]);
	ret = mq_connect(&nl);
	if (ret)
		return ret;
	nlh = nl_msg(&nl, KMQTTD_CMD_ACL_GET, NLM_F_DUMP);
	if (mq_opts.json) {
		json_init(&o.j, stdout);
		json_arr_open(&o.j);
	}
	err = nl_exec(&nl, nlh, acl_cb, &o, NL_STREAM);
	if (mq_opts.json) {
		json_arr_close(&o.j);
		json_end(&o.j);
	}
	free(o.user);
	if (err)
		ret = mq_reported ? MQ_EXIT_ERROR :
			mq_nl_fail(&nl, "acl list", err);
	mq_warn_intr(&nl, "acl list");
	nl_close(&nl);
	return ret;
}

/* One rule, as given on the command line or in a file. */
struct rule {
	uint8_t kind;
	uint8_t access;
	const char *user;	/* NULL: anonymous (topic rules) */
	const char *pattern;
};

static int parse_access(const char *s)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(access_names); i++)
		if (!strcmp(s, access_names[i]))
			return (int)i;
	return -1;
}

/*
 * argv: [user NAME] topic|pattern [ACCESS] PATTERN.  Returns NULL or
 * what is wrong.
 */
static const char *rule_from_args(int argc, char **argv, struct rule *r)
{
	int i = 0, a;

	r->user = NULL;
	if (i < argc && !strcmp(argv[i], "user")) {
		if (i + 1 >= argc)
			return "missing NAME after 'user'";
		r->user = argv[i + 1];
		i += 2;
	}
	if (i >= argc)
		return "missing 'topic' or 'pattern'";
	if (!strcmp(argv[i], "topic"))
		r->kind = KMQTTD_ACL_TOPIC;
	else if (!strcmp(argv[i], "pattern"))
		r->kind = KMQTTD_ACL_PATTERN;
	else
		return "want 'topic' or 'pattern'";
	if (r->kind == KMQTTD_ACL_PATTERN && r->user)
		return "pattern rules are for every user; drop 'user NAME'";
	i++;
	r->access = KMQTTD_ACL_READWRITE;
	if (i + 1 < argc) {
		a = parse_access(argv[i]);
		if (a < 0)
			return "ACCESS must be read, write, readwrite or deny";
		r->access = a;
		i++;
	}
	if (i >= argc)
		return "missing the topic";
	if (i + 1 < argc)
		return "too many arguments";
	r->pattern = argv[i];
	return NULL;
}

static const char *rule_check(const struct rule *r)
{
	if (r->user && !*r->user)
		return "empty user name";
	if (!*r->pattern)
		return "empty topic";
	if (r->user && strlen(r->user) > ACL_USER_MAX)
		return "user name longer than 1024 bytes";
	if (strlen(r->pattern) > ACL_PATTERN_MAX)
		return "topic longer than 2048 bytes";
	return NULL;
}

static struct nlmsghdr *rule_msg(struct nl *nl, uint8_t cmd,
				 const struct rule *r)
{
	struct nlmsghdr *nlh = nl_msg(nl, cmd, 0);

	mnl_attr_put_u8(nlh, KMQTTD_A_ACL_KIND, r->kind);
	if (r->user)
		mnl_attr_put_strz(nlh, KMQTTD_A_ACL_USER, r->user);
	mnl_attr_put_u8(nlh, KMQTTD_A_ACL_ACCESS, r->access);
	mnl_attr_put_strz(nlh, KMQTTD_A_ACL_PATTERN, r->pattern);
	return nlh;
}

static int acl_change(const char *what, uint8_t cmd, int argc, char **argv)
{
	const char *why;
	struct rule r;
	struct json j;
	struct nl nl;
	int ret, err;

	ret = mq_parse_opts(what, argc, argv, NULL, acl_usage, NULL, NULL);
	if (ret >= 0)
		return ret;
	why = rule_from_args(argc - optind, argv + optind, &r);
	if (!why)
		why = rule_check(&r);
	if (why)
		return mq_usage_err(what, "%s", why);
	ret = mq_connect(&nl);
	if (ret)
		return ret;
	err = nl_exec(&nl, rule_msg(&nl, cmd, &r), NULL, NULL, NULL);
	if (err) {
		ret = mq_nl_failf(&nl, err, "%s %s '%s'", what,
				  r.kind == KMQTTD_ACL_PATTERN ? "pattern" :
				  "topic", r.pattern);
	} else if (mq_opts.json) {
		json_init(&j, stdout);
		json_obj_open(&j);
		json_kv_str(&j, "kind", r.kind == KMQTTD_ACL_PATTERN ?
			    "pattern" : "topic");
		json_key(&j, "user");
		if (r.user)
			json_str(&j, r.user);
		else
			json_null(&j);
		json_kv_str(&j, "access", access_names[r.access]);
		json_kv_str(&j, "pattern", r.pattern);
		json_obj_close(&j);
		json_end(&j);
	}
	nl_close(&nl);
	return ret;
}

static int acl_add(int argc, char **argv)
{
	return acl_change("acl add", KMQTTD_CMD_ACL_ADD, argc, argv);
}

static int acl_del(int argc, char **argv)
{
	return acl_change("acl del", KMQTTD_CMD_ACL_DEL, argc, argv);
}

static int acl_clear(int argc, char **argv)
{
	return mq_clear("acl clear", KMQTTD_CMD_ACL_CLEAR, KMQTTD_A_ACL_COUNT,
			acl_usage, argc, argv);
}

static char *skip_space(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static void trim_end(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
		     s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
}

/* "KEYWORD rest": the rest if @line starts with @kw and a blank. */
static char *keyword(char *line, const char *kw)
{
	size_t n = strlen(kw);

	if (strncmp(line, kw, n) || (line[n] != ' ' && line[n] != '\t'))
		return NULL;
	return skip_space(line + n);
}

/*
 * A "topic" or "pattern" line's rest: [ACCESS] TOPIC, where TOPIC is the
 * rest of the line (it may contain spaces).
 */
static const char *parse_topic(char *rest, struct rule *r)
{
	char *sp = rest + strcspn(rest, " \t");
	int a;

	r->access = KMQTTD_ACL_READWRITE;
	if (*sp) {
		char save = *sp;

		*sp = '\0';
		a = parse_access(rest);
		*sp = save;
		if (a >= 0) {
			r->access = a;
			rest = skip_space(sp);
		}
	}
	r->pattern = rest;
	return *rest ? NULL : "missing the topic";
}

static int acl_import(int argc, char **argv)
{
	unsigned long lineno = 0, done = 0, dup = 0, failed = 0;
	char line[ACL_LINE_MAX], *user = NULL, *p, *rest;
	const char *path, *why;
	struct rule r;
	struct json j;
	struct nl nl;
	int ret, err;
	FILE *f;

	ret = mq_parse_opts("acl import", argc, argv, NULL, acl_usage, NULL,
			    NULL);
	if (ret >= 0)
		return ret;
	if (optind >= argc)
		return mq_usage_err("acl import", "missing FILE");
	if (optind + 1 < argc)
		return mq_extra_arg("acl import", argv[optind + 1]);
	path = argv[optind];
	f = mq_open_input("acl import", path);
	if (!f)
		return MQ_EXIT_ERROR;
	ret = mq_connect(&nl);
	if (ret)
		goto out_close;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			mq_err("acl import: %s:%lu: line too long", path,
			       lineno);
			failed++;
			break;
		}
		trim_end(line);
		p = skip_space(line);
		if (!*p || *p == '#')
			continue;
		if ((rest = keyword(p, "user"))) {
			free(user);
			user = strdup(rest);
			if (!user) {
				mq_err("acl import: out of memory");
				failed++;
				break;
			}
			continue;
		}
		if ((rest = keyword(p, "topic"))) {
			r.kind = KMQTTD_ACL_TOPIC;
			r.user = user;
		} else if ((rest = keyword(p, "pattern"))) {
			r.kind = KMQTTD_ACL_PATTERN;
			r.user = NULL;
		} else {
			mq_err("acl import: %s:%lu: want 'user', 'topic' or 'pattern'",
			       path, lineno);
			failed++;
			continue;
		}
		why = parse_topic(rest, &r);
		if (!why)
			why = rule_check(&r);
		if (why) {
			mq_err("acl import: %s:%lu: %s", path, lineno, why);
			failed++;
			continue;
		}
		err = nl_exec(&nl, rule_msg(&nl, KMQTTD_CMD_ACL_ADD, &r), NULL,
			      NULL, NULL);
		if (err == -EEXIST) {
			dup++;
		} else if (err) {
			ret = mq_nl_failf(&nl, err, "acl import: %s:%lu", path,
					  lineno);
			failed++;
			if (ret == MQ_EXIT_PERM || ret == MQ_EXIT_NOT_LOADED)
				break;
		} else {
			done++;
		}
	}
	free(user);
	if (ferror(f)) {
		mq_err("acl import: %s: read error", path);
		failed++;
	}
	if (mq_opts.json) {
		json_init(&j, stdout);
		json_obj_open(&j);
		json_kv_u64(&j, "imported", done);
		json_kv_u64(&j, "existing", dup);
		json_kv_u64(&j, "failed", failed);
		json_obj_close(&j);
		json_end(&j);
	} else {
		printf("imported %lu rule%s", done, done == 1 ? "" : "s");
		if (dup)
			printf(", %lu existed already", dup);
		printf("%s\n", failed ? ", some lines failed" : "");
	}
	if (failed && !ret)
		ret = MQ_EXIT_ERROR;
	nl_close(&nl);
out_close:
	if (f != stdin)
		fclose(f);
	return ret;
}

int cmd_acl(int argc, char **argv)
{
	static const struct mq_subcmd subs[] = {
		{ { "list", "ls", "show" },		acl_list },
		{ { "add" },				acl_add },
		{ { "del", "delete", "remove", "rm" },	acl_del },
		{ { "clear" },				acl_clear },
		{ { "import" },				acl_import },
	};

	return mq_run_subcmd("acl", subs, ARRAY_SIZE(subs), acl_list,
			     acl_usage, argc, argv);
}
