// SPDX-License-Identifier: GPL-2.0
/*
 * user.c - "mqctl user list|add|del|clear|import": the users of the
 * caller's network namespace (KMQTTD_CMD_USER_*).
 *
 * A password is read from the terminal with echo off (twice), or as one
 * line from standard input with --stdin; never from the command line.
 * It goes to the kernel, which salts and hashes it; mqctl wipes its
 * copies.  "import" sends the hashes of a Mosquitto password file as
 * they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <linux/kmqttd.h>

#include "mqctl.h"

/* Longest password and user name mqctl sends (one request buffer). */
#define PW_MAX		1024
#define NAME_MAX_LEN	1024
#define LINE_MAX_LEN	4096

static const enum mq_atype user_policy[KMQTTD_A_USER_MAX + 1] = {
	[KMQTTD_A_USER_NAME]		= MQ_A_STR,
	[KMQTTD_A_USER_HASH]		= MQ_A_STR,
	[KMQTTD_A_USER_ALGO]		= MQ_A_UINT,
	[KMQTTD_A_USER_ITERATIONS]	= MQ_A_UINT,
	[KMQTTD_A_USER_COUNT]		= MQ_A_UINT,
};

static void user_usage(FILE *f)
{
	fprintf(f,
		"Usage: mqctl user [list]\n"
		"       mqctl user add NAME [--stdin] [--iterations N]\n"
		"       mqctl user del NAME\n"
		"       mqctl user clear\n"
		"       mqctl user import FILE\n"
		"\n"
		"Manage the users of kmqttd in the current network namespace: clients\n"
		"that give a user name must give its password.  'add' creates a user or\n"
		"changes its password, read from the terminal (twice, not echoed) or,\n"
		"with --stdin, as one line from standard input; the kernel stores a\n"
		"salted PBKDF2-SHA512 hash (password_iterations, or N iterations).\n"
		"'import' adds the users of a Mosquitto password file (NAME:$7$... or\n"
		"NAME:$6$... lines, as mosquitto_passwd writes them; FILE - is standard\n"
		"input).  'list' shows names and hash types; -j adds the hashes.\n"
		"\n"
		"  -j, --json   print JSON (list: an array of users)\n"
		"  -h, --help   show this help\n"
		"\n"
		"Exit status 5: no such user.\n");
}

static const char *algo_name(uint64_t algo)
{
	return algo == 7 ? "pbkdf2-sha512" : algo == 6 ? "sha512" : "?";
}

struct user_out {
	struct json j;
	unsigned long n;
};

#define USER_HEADER	"%-30s %-14s %s\n", "NAME", "HASH", "ITERATIONS"

static int user_cb(const struct nlmsghdr *nlh, void *data)
{
	struct user_out *o = data;
	const struct nlattr *tb[KMQTTD_A_USER_MAX + 1];
	const struct nlattr *name;

	if (mq_parse(nlh, user_policy, KMQTTD_A_USER_MAX, tb, "user") < 0)
		return MNL_CB_ERROR;
	name = tb[KMQTTD_A_USER_NAME];
	if (!name)
		return MNL_CB_OK;
	if (mq_opts.json) {
		json_obj_open(&o->j);
		json_key(&o->j, "name");
		json_strn(&o->j, mnl_attr_get_payload(name), mq_strlen(name));
		json_kv_str(&o->j, "algo",
			    algo_name(mq_uint(tb[KMQTTD_A_USER_ALGO], 0)));
		json_kv_u64(&o->j, "iterations",
			    mq_uint(tb[KMQTTD_A_USER_ITERATIONS], 0));
		mq_json_str_attr(&o->j, "hash", tb[KMQTTD_A_USER_HASH]);
		json_obj_close(&o->j);
	} else {
		if (!o->n)
			printf(USER_HEADER);
		mq_print_text(stdout, mnl_attr_get_payload(name),
			      mq_strlen(name), true, 30);
		printf(" %-14s %" PRIu64 "\n",
		       algo_name(mq_uint(tb[KMQTTD_A_USER_ALGO], 0)),
		       mq_uint(tb[KMQTTD_A_USER_ITERATIONS], 0));
	}
	o->n++;
	return MNL_CB_OK;
}

static int user_list(int argc, char **argv)
{
	struct user_out o = { .n = 0 };
	struct nlmsghdr *nlh;
	struct nl nl;
	int ret, err;

	ret = mq_parse_opts("user list", argc, argv, NULL, user_usage, NULL,
			    NULL);
	if (ret >= 0)
		return ret;
	if (optind < argc)
		return mq_extra_arg("user list", argv[optind]);
	ret = mq_connect(&nl);
	if (ret)
		return ret;
	nlh = nl_msg(&nl, KMQTTD_CMD_USER_GET, NLM_F_DUMP);
	if (mq_opts.json) {
		json_init(&o.j, stdout);
		json_arr_open(&o.j);
	}
	err = nl_exec(&nl, nlh, user_cb, &o, NL_STREAM);
	if (mq_opts.json) {
		json_arr_close(&o.j);
		json_end(&o.j);
	} else if (!o.n && !err) {
		printf(USER_HEADER);
	}
	if (err)
		ret = mq_reported ? MQ_EXIT_ERROR :
			mq_nl_fail(&nl, "user list", err);
	mq_warn_intr(&nl, "user list");
	nl_close(&nl);
	return ret;
}

/* Check a user name as the kernel will, for a clearer message. */
static int check_name(const char *cmd, const char *name)
{
	if (!*name)
		return mq_usage_err(cmd, "empty user name");
	if (strchr(name, ':'))
		return mq_usage_err(cmd, "a user name cannot contain ':'");
	if (strlen(name) > NAME_MAX_LEN)
		return mq_usage_err(cmd, "user name longer than %d bytes",
				    NAME_MAX_LEN);
	return -1;
}

/* Read one line without its end of line; false at EOF or if too long. */
static bool read_line(FILE *f, char *buf, size_t size, size_t *len)
{
	size_t n;

	if (!fgets(buf, size, f))
		return false;
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (n == size - 1 && !feof(f))
		return false;
	if (n && buf[n - 1] == '\r')
		buf[--n] = '\0';
	*len = n;
	return true;
}

/* Prompt on the terminal with echo off. */
static bool ask_password(FILE *tty, const char *prompt, char *buf,
			 size_t size, size_t *len)
{
	struct termios old, quiet;
	bool ok, restore;

	fputs(prompt, stderr);
	fflush(stderr);
	restore = !tcgetattr(fileno(tty), &old);
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	ok = read_line(tty, buf, size, len);
	if (restore)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	return ok;
}

/* The new password: from stdin, or asked twice on the terminal. */
static int get_password(bool from_stdin, char *pw, size_t *len)
{
	char again[PW_MAX + 2];
	size_t alen;
	FILE *tty;
	bool same;

	if (from_stdin) {
		if (!read_line(stdin, pw, PW_MAX + 2, len)) {
			mq_err("user add: no password on standard input (or longer than %d bytes)",
			       PW_MAX);
			return MQ_EXIT_USAGE;
		}
	} else {
		tty = fopen("/dev/tty", "r+");
		if (!tty) {
			mq_err("user add: no terminal to ask the password on; use --stdin");
			return MQ_EXIT_USAGE;
		}
		if (!ask_password(tty, "Password: ", pw, PW_MAX + 2, len) ||
		    !ask_password(tty, "Again: ", again, sizeof(again),
				  &alen)) {
			fclose(tty);
			mq_err("user add: no password read (or longer than %d bytes)",
			       PW_MAX);
			return MQ_EXIT_USAGE;
		}
		fclose(tty);
		same = alen == *len && !memcmp(again, pw, alen);
		explicit_bzero(again, sizeof(again));
		if (!same) {
			mq_err("user add: the passwords differ");
			return MQ_EXIT_USAGE;
		}
	}
	if (!*len) {
		mq_err("user add: empty password");
		return MQ_EXIT_USAGE;
	}
	return -1;
}

struct add_opts {
	bool from_stdin;
	uint64_t iterations;
};

static int add_opt(int opt, const char *arg, void *data)
{
	struct add_opts *a = data;

	if (opt == 's') {
		a->from_stdin = true;
	} else if (opt == 'i') {
		if (!mq_parse_uint(arg, 1000000, &a->iterations) ||
		    !a->iterations)
			return mq_usage_err("user add",
					    "--iterations wants 1..1000000, got '%s'",
					    arg);
	}
	return 0;
}

static int user_add(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stdin",	no_argument,		NULL, 's' },
		{ "iterations",	required_argument,	NULL, 'i' },
		{ NULL,		0,			NULL, 0 },
	};
	struct add_opts a = { false, 0 };
	char pw[PW_MAX + 2];
	struct nlmsghdr *nlh;
	const char *name;
	struct json j;
	struct nl nl;
	size_t len = 0;
	int ret, err;

	ret = mq_parse_opts("user add", argc, argv, opts, user_usage, add_opt,
			    &a);
	if (ret >= 0)
		return ret;
	if (optind >= argc)
		return mq_usage_err("user add", "missing NAME");
	if (optind + 1 < argc)
		return mq_extra_arg("user add", argv[optind + 1]);
	name = argv[optind];
	ret = check_name("user add", name);
	if (ret >= 0)
		return ret;
	ret = get_password(a.from_stdin, pw, &len);
	if (ret >= 0)
		goto out_wipe;

	ret = mq_connect(&nl);
	if (ret)
		goto out_wipe;
	nlh = nl_msg(&nl, KMQTTD_CMD_USER_ADD, 0);
	mnl_attr_put_strz(nlh, KMQTTD_A_USER_NAME, name);
	mnl_attr_put(nlh, KMQTTD_A_USER_PASSWORD, len, pw);
	if (a.iterations)
		mnl_attr_put_u32(nlh, KMQTTD_A_USER_ITERATIONS, a.iterations);
	err = nl_exec(&nl, nlh, NULL, NULL, NULL);
	explicit_bzero(nlh, nlh->nlmsg_len);
	if (err) {
		ret = mq_nl_failf(&nl, err, "user add '%s'", name);
	} else if (mq_opts.json) {
		json_init(&j, stdout);
		json_obj_open(&j);
		json_kv_str(&j, "name", name);
		json_obj_close(&j);
		json_end(&j);
	}
	nl_close(&nl);
out_wipe:
	explicit_bzero(pw, sizeof(pw));
	return ret;
}

static int user_del(int argc, char **argv)
{
	struct nlmsghdr *nlh;
	struct nl nl;
	int ret, err;

	ret = mq_parse_opts("user del", argc, argv, NULL, user_usage, NULL,
			    NULL);
	if (ret >= 0)
		return ret;
	if (optind >= argc)
		return mq_usage_err("user del", "missing NAME");
	if (optind + 1 < argc)
		return mq_extra_arg("user del", argv[optind + 1]);
	ret = mq_connect(&nl);
	if (ret)
		return ret;
	nlh = nl_msg(&nl, KMQTTD_CMD_USER_DEL, 0);
	mnl_attr_put_strz(nlh, KMQTTD_A_USER_NAME, argv[optind]);
	err = nl_exec(&nl, nlh, NULL, NULL, NULL);
	if (err)
		ret = mq_nl_failf(&nl, err, "user del '%s'", argv[optind]);
	nl_close(&nl);
	return ret;
}

struct count_out {
	int attr;
	bool have;
	uint64_t count;
};

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	struct count_out *c = data;
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, NL_GENL_HDRLEN) {
		if (mnl_attr_get_type(a) != c->attr)
			continue;
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0) {
			mq_err("malformed reply: count attribute");
			mq_reported = true;
			errno = EBADMSG;
			return MNL_CB_ERROR;
		}
		c->have = true;
		c->count = mnl_attr_get_u32(a);
	}
	return MNL_CB_OK;
}

int mq_clear(const char *what, uint8_t cmd, int count_attr,
	     void (*usage)(FILE *f), int argc, char **argv)
{
	struct count_out c = { .attr = count_attr };
	struct nlmsghdr *nlh;
	struct json j;
	struct nl nl;
	int ret, err;

	ret = mq_parse_opts(what, argc, argv, NULL, usage, NULL, NULL);
	if (ret >= 0)
		return ret;
	if (optind < argc)
		return mq_extra_arg(what, argv[optind]);
	ret = mq_connect(&nl);
	if (ret)
		return ret;
	nlh = nl_msg(&nl, cmd, 0);
	err = nl_exec(&nl, nlh, count_cb, &c, NULL);
	if (err) {
		ret = mq_reported ? MQ_EXIT_ERROR : mq_nl_fail(&nl, what, err);
	} else if (mq_opts.json) {
		json_init(&j, stdout);
		json_obj_open(&j);
		json_key(&j, "deleted");
		if (c.have)
			json_u64(&j, c.count);
		else
			json_null(&j);
		json_obj_close(&j);
		json_end(&j);
	} else if (c.have) {
		printf("deleted %" PRIu64 "\n", c.count);
	}
	nl_close(&nl);
	return ret;
}

static int user_clear(int argc, char **argv)
{
	return mq_clear("user clear", KMQTTD_CMD_USER_CLEAR,
			KMQTTD_A_USER_COUNT, user_usage, argc, argv);
}

/* FILE, or standard input for "-". */
FILE *mq_open_input(const char *cmd, const char *path)
{
	FILE *f;

	if (!strcmp(path, "-"))
		return stdin;
	f = fopen(path, "r");
	if (!f)
		mq_err("%s: %s: %s", cmd, path, strerror(errno));
	return f;
}

static int user_import(int argc, char **argv)
{
	char line[LINE_MAX_LEN + 2];
	unsigned long lineno = 0, done = 0, failed = 0;
	struct nlmsghdr *nlh;
	const char *path;
	struct json j;
	struct nl nl;
	size_t len;
	char *colon;
	int ret, err;
	FILE *f;

	ret = mq_parse_opts("user import", argc, argv, NULL, user_usage, NULL,
			    NULL);
	if (ret >= 0)
		return ret;
	if (optind >= argc)
		return mq_usage_err("user import", "missing FILE");
	if (optind + 1 < argc)
		return mq_extra_arg("user import", argv[optind + 1]);
	path = argv[optind];
	f = mq_open_input("user import", path);
	if (!f)
		return MQ_EXIT_ERROR;
	ret = mq_connect(&nl);
	if (ret)
		goto out_close;
	for (;;) {
		if (!read_line(f, line, sizeof(line), &len)) {
			if (feof(f) || ferror(f))
				break;
			mq_err("user import: %s:%lu: line too long", path,
			       lineno + 1);
			failed++;
			break;
		}
		lineno++;
		if (!len || line[0] == '#')
			continue;
		colon = strchr(line, ':');
		if (!colon || colon == line || colon[1] != '$') {
			mq_err("user import: %s:%lu: not NAME:$7$... or NAME:$6$... (plain-text passwords are not accepted)",
			       path, lineno);
			failed++;
			continue;
		}
		*colon = '\0';
		nlh = nl_msg(&nl, KMQTTD_CMD_USER_ADD, 0);
		mnl_attr_put_strz(nlh, KMQTTD_A_USER_NAME, line);
		mnl_attr_put_strz(nlh, KMQTTD_A_USER_HASH, colon + 1);
		err = nl_exec(&nl, nlh, NULL, NULL, NULL);
		if (err) {
			ret = mq_nl_failf(&nl, err, "user import: %s:%lu: user '%s'",
					  path, lineno, line);
			failed++;
			if (ret == MQ_EXIT_PERM || ret == MQ_EXIT_NOT_LOADED)
				break;
			continue;
		}
		done++;
	}
	if (ferror(f)) {
		mq_err("user import: %s: read error", path);
		failed++;
	}
	if (mq_opts.json) {
		json_init(&j, stdout);
		json_obj_open(&j);
		json_kv_u64(&j, "imported", done);
		json_kv_u64(&j, "failed", failed);
		json_obj_close(&j);
		json_end(&j);
	} else {
		printf("imported %lu user%s%s\n", done, done == 1 ? "" : "s",
		       failed ? ", some lines failed" : "");
	}
	if (failed && !ret)
		ret = MQ_EXIT_ERROR;
	nl_close(&nl);
out_close:
	if (f != stdin)
		fclose(f);
	return ret;
}

int cmd_user(int argc, char **argv)
{
	static const struct mq_subcmd subs[] = {
		{ { "list", "ls", "show" },		user_list },
		{ { "add", "passwd" },			user_add },
		{ { "del", "delete", "remove", "rm" },	user_del },
		{ { "clear" },				user_clear },
		{ { "import" },				user_import },
	};

	return mq_run_subcmd("user", subs, ARRAY_SIZE(subs), user_list,
			     user_usage, argc, argv);
}
