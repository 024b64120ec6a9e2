/* Tools as folders (harness/runner/adapter.c): found along the tool path
 * in its order, listed once each, their verbs run with a time limit, and
 * their lines read strictly. Real folders and real scripts, no lab. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner/adapter.h"
#include "util/paths.h"
#include "util/proc.h"
#include "util/timeutil.h"

static char root[64];

/* ROOT/FOLDER/NAME/adapter with this body, executable or not. */
static void tool(const char *folder, const char *name, const char *body, bool exec)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, folder);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", root, folder, name);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s/adapter", root, folder, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, exec ? 0755 : 0644), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/pl-adapter-XXXXXX");
	assert_non_null(mkdtemp(root));
	unsetenv("PUNCHLAB_TOOL_PATH");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unsetenv("PUNCHLAB_TOOL_PATH");
	return paths_remove_tree(root);
}

static void start_lines_are_read_strictly(void **state)
{
	char err[300];
	uint32_t addr = 0;
	uint16_t port = 1;

	(void)state;
	assert_int_equal(adapter_parse_line("udp 127.0.0.1:40000", false, &addr, &port, err, sizeof(err)), 0);
	assert_int_equal(addr, inet_addr("127.0.0.1"));
	assert_int_equal(port, 40000);
	assert_int_equal(adapter_parse_line("udp 127.0.0.1:0", false, &addr, &port, err, sizeof(err)), -EINVAL);
	assert_int_equal(adapter_parse_line("udp 127.0.0.1:65536", false, &addr, &port, err, sizeof(err)), -EINVAL);
	assert_int_equal(adapter_parse_line("udp 127.0.0.1", false, &addr, &port, err, sizeof(err)), -EINVAL);
	assert_int_equal(adapter_parse_line("ready", true, &addr, &port, err, sizeof(err)), 0);
	assert_int_equal(adapter_parse_line("tunnel 10.9.0.2", false, &addr, &port, err, sizeof(err)), 0);
	assert_int_equal(addr, inet_addr("10.9.0.2"));
	assert_int_equal(port, 0);
	assert_int_equal(adapter_parse_line("tunnel 10.9.0.2 extra", false, &addr, &port, err, sizeof(err)), -EINVAL);
	assert_int_equal(adapter_parse_line("tunnel 10.9.0", false, &addr, &port, err, sizeof(err)), -EINVAL);
	assert_int_equal(adapter_parse_line("tunnel 0.0.0.0", false, &addr, &port, err, sizeof(err)), -EINVAL);
	assert_int_equal(adapter_parse_line("10.9.0.2", false, &addr, &port, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "said \"10.9.0.2\" where \"tunnel ADDRESS\" (its IPv4 address inside the tunnel) or \"udp "
				    "ADDRESS:PORT\" (where the tool takes datagrams to carry) was expected"));
	assert_int_equal(adapter_parse_line("", false, &addr, &port, err, sizeof(err)), -EINVAL);
	assert_int_equal(adapter_parse_line("tunnel 10.9.0.2", true, &addr, &port, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "where \"ready\" was expected"));
}

static void path_lines_say_direct_relay_or_unknown_and_whether_settled(void **state)
{
	enum path p = PATH_NONE;
	bool settled = true;

	(void)state;
	assert_int_equal(adapter_parse_path("direct", &p, &settled), 0);
	assert_int_equal(p, PATH_DIRECT);
	assert_false(settled);
	assert_int_equal(adapter_parse_path("relay settled", &p, &settled), 0);
	assert_int_equal(p, PATH_RELAY);
	assert_true(settled);
	assert_int_equal(adapter_parse_path("unknown", &p, &settled), 0);
	assert_int_equal(p, PATH_UNKNOWN);
	assert_int_equal(adapter_parse_path("relay maybe", &p, &settled), -EINVAL);
	assert_int_equal(adapter_parse_path("sideways", &p, &settled), -EINVAL);
	assert_int_equal(adapter_parse_path("", &p, &settled), -EINVAL);
	assert_false(settled);
}

static void names_that_could_leave_the_folder_are_refused(void **state)
{
	(void)state;
	assert_true(adapter_name_ok("wireguard-static"));
	assert_true(adapter_name_ok("my_tool.2"));
	assert_false(adapter_name_ok(""));
	assert_false(adapter_name_ok("../ref"));
	assert_false(adapter_name_ok("a/b"));
	assert_false(adapter_name_ok(".hidden"));
	assert_false(adapter_name_ok("x y"));
	assert_false(adapter_name_ok("0123456789012345678901234567890123456789"));
}

/* --tool-dir first, then PUNCHLAB_TOOL_PATH's folders in order, then the
 * project's tools/; a name is listed once, as found first. */
static void tools_are_found_along_the_path_in_order(void **state)
{
	struct adapter_path p = { .n = 0 };
	struct adapter a, all[ADAPTER_MAX];
	char d1[PATH_MAX], d2[PATH_MAX], d3[PATH_MAX], env[2 * PATH_MAX + 2], err[PATH_MAX * 2];
	int n, found_ref = 0;

	(void)state;
	tool("one", "mine", "echo one", true);
	tool("two", "mine", "echo two", true);
	tool("two", "other", "echo other", true);
	tool("three", "ref", "echo not the shipped ref", true);
	snprintf(d1, sizeof(d1), "%s/one", root);
	snprintf(d2, sizeof(d2), "%s/two", root);
	snprintf(d3, sizeof(d3), "%s/three", root);
	assert_int_equal(adapter_path_add(&p, d1), 0);
	snprintf(env, sizeof(env), "%s::%s", d2, d3);
	setenv("PUNCHLAB_TOOL_PATH", env, 1);
	assert_int_equal(adapter_find(&p, "mine", &a, err, sizeof(err)), 0);
	assert_string_equal(a.dir, strcat(strcpy(env, d1), "/mine"));
	assert_int_equal(adapter_find(&p, "other", &a, err, sizeof(err)), 0);
	assert_string_equal(a.dir, strcat(strcpy(env, d2), "/other"));
	/* a folder of one's own stands in for a shipped tool */
	assert_int_equal(adapter_find(&p, "ref", &a, err, sizeof(err)), 0);
	assert_string_equal(a.dir, strcat(strcpy(env, d3), "/ref"));
	assert_int_equal(adapter_find(&p, "nebula", &a, err, sizeof(err)), 0);   /* shipped */
	assert_non_null(strstr(a.program, "/tools/nebula/adapter"));
	assert_int_equal(adapter_find(&p, "nothing-here", &a, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no tool \"nothing-here\" (no nothing-here/adapter in "));
	assert_non_null(strstr(err, d1));
	assert_non_null(strstr(err, d3));
	assert_int_equal(adapter_find(&p, "../one/mine", &a, err, sizeof(err)), -EINVAL);
	n = adapter_list(&p, all, ADAPTER_MAX);
	for (int i = 0; i < n; i++) {
		found_ref += !strcmp(all[i].name, "ref");
		if (!strcmp(all[i].name, "mine"))
			assert_non_null(strstr(all[i].dir, "/one/mine"));
	}
	assert_int_equal(found_ref, 1);
	assert_string_equal(all[0].name, "mine");    /* --tool-dir's first */
	assert_string_equal(all[1].name, "other");
	assert_string_equal(all[2].name, "ref");     /* the stand-in, not the shipped one */
	assert_non_null(strstr(all[2].dir, "/three/ref"));
}

static void an_adapter_that_cannot_run_is_said_so(void **state)
{
	struct adapter_path p = { .n = 0 };
	struct adapter a;
	char d[PATH_MAX], err[PATH_MAX * 2], why[256], version[64];

	(void)state;
	snprintf(d, sizeof(d), "%s/t", root);
	adapter_path_add(&p, d);
	tool("t", "noexec", "exit 0", false);
	assert_int_equal(adapter_find(&p, "noexec", &a, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "noexec/adapter is not executable (chmod +x it)"));
	tool("t", "missing",
	     "case $1 in available) echo 'frob is not installed:' >&2; echo '  apt-get install frob'; exit 1;; "
	     "version) echo 'frob 1.2'; echo 'second line';; esac",
	     true);
	assert_int_equal(adapter_find(&p, "missing", &a, err, sizeof(err)), 0);
	assert_false(adapter_available(&a, why, sizeof(why)));
	assert_string_equal(why, "frob is not installed:; apt-get install frob");
	adapter_version(&a, version, sizeof(version));
	assert_string_equal(version, "frob 1.2");
	/* two lines, the second not indented: it overran its buffer once */
	tool("t", "two", "case $1 in available) echo 'first line'; echo 'second line'; printf '\\033[2Jthird\\n'; exit 1;; esac", true);
	assert_int_equal(adapter_find(&p, "two", &a, err, sizeof(err)), 0);
	assert_false(adapter_available(&a, why, sizeof(why)));
	assert_string_equal(why, "first line; second line;  [2Jthird");
	tool("t", "mute", "exit 1", true);
	assert_int_equal(adapter_find(&p, "mute", &a, err, sizeof(err)), 0);
	assert_false(adapter_available(&a, why, sizeof(why)));
	assert_string_equal(why, "its adapter says so, without a reason");
	adapter_version(&a, version, sizeof(version));
	assert_string_equal(version, "");
	/* the environment every verb gets */
	tool("t", "env", "[ -d \"$PUNCHLAB_BIN\" ] && [ -d \"$PUNCHLAB_TOOL_DIR\" ] && echo \"$(basename \"$PUNCHLAB_TOOL_DIR\")\"", true);
	assert_int_equal(adapter_find(&p, "env", &a, err, sizeof(err)), 0);
	adapter_version(&a, version, sizeof(version));
	assert_string_equal(version, "env");
}

/* What a tool's traffic rides: UDP unless its adapter says tcp; anything
 * else it says is an error that names it. */
static void the_transport_is_udp_unless_the_adapter_says_tcp(void **state)
{
	struct adapter_path p = { .n = 0 };
	struct adapter a;
	char d[PATH_MAX], err[PATH_MAX * 2];
	bool tcp = true;

	(void)state;
	assert_int_equal(adapter_parse_transport("tcp", &tcp), 0);
	assert_true(tcp);
	assert_int_equal(adapter_parse_transport("udp\n", &tcp), 0);
	assert_false(tcp);
	assert_int_equal(adapter_parse_transport("quic", &tcp), -EINVAL);
	assert_int_equal(adapter_parse_transport("tcp udp", &tcp), -EINVAL);
	assert_int_equal(adapter_parse_transport("", &tcp), -EINVAL);
	snprintf(d, sizeof(d), "%s/t", root);
	adapter_path_add(&p, d);
	tool("t", "old", "case $1 in available) exit 0;; *) echo \"usage: adapter ...\" >&2; exit 2;; esac", true);
	assert_int_equal(adapter_find(&p, "old", &a, err, sizeof(err)), 0);
	tcp = true;
	assert_int_equal(adapter_transport(&a, &tcp, err, sizeof(err)), 0);
	assert_false(tcp);
	tool("t", "overtcp", "case $1 in transport) echo tcp;; *) exit 2;; esac", true);
	assert_int_equal(adapter_find(&p, "overtcp", &a, err, sizeof(err)), 0);
	assert_int_equal(adapter_transport(&a, &tcp, err, sizeof(err)), 0);
	assert_true(tcp);
	tool("t", "odd", "case $1 in transport) echo 'sctp please';; *) exit 2;; esac", true);
	assert_int_equal(adapter_find(&p, "odd", &a, err, sizeof(err)), 0);
	assert_int_equal(adapter_transport(&a, &tcp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "odd/adapter transport exited 0 saying \"sctp please\" where \"udp\" or \"tcp\" was expected"));
	tool("t", "broken", "case $1 in transport) echo oops; exit 1;; *) exit 2;; esac", true);
	assert_int_equal(adapter_find(&p, "broken", &a, err, sizeof(err)), 0);
	assert_int_equal(adapter_transport(&a, &tcp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "transport exited 1 saying \"oops\""));
}

/* A verb that hangs is killed at its limit; one that leaves a child
 * holding its output is not waited for. */
static void a_verb_that_hangs_is_cut_off(void **state)
{
	char out[64];
	char *hang[] = { "sh", "-c", "echo started; exec sleep 30", NULL };
	char *leave[] = { "sh", "-c", "echo done; sleep 3 & exit 3", NULL };
	char *env[] = { "PL_TEST_X=42", NULL };
	char *show[] = { "sh", "-c", "echo $PL_TEST_X; echo err >&2", NULL };
	char *flood[] = { "yes", NULL };
	char *big[] = { "sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x || exit 9; echo done >&2", NULL };
	double t0 = time_now_s();

	(void)state;
	assert_int_equal(proc_capture_for(NULL, hang, NULL, PROC_ERR_TO_NULL, out, sizeof(out), 300), -ETIMEDOUT);
	assert_string_equal(out, "started\n");
	assert_true(time_now_s() - t0 < 5);
	t0 = time_now_s();
	assert_int_equal(proc_capture_for(NULL, leave, NULL, PROC_ERR_TO_NULL, out, sizeof(out), 10000), 3);
	assert_string_equal(out, "done\n");
	assert_true(time_now_s() - t0 < 5);
	assert_int_equal(proc_capture_for(NULL, show, env, PROC_ERR_TO_OUT, out, sizeof(out), 5000), 0);
	assert_string_equal(out, "42\nerr\n");
	assert_int_equal(proc_capture_for(NULL, show, env, PROC_ERR_TO_NULL, out, sizeof(out), 5000), 0);
	assert_string_equal(out, "42\n");
	/* a program that never stops writing is cut off all the same */
	t0 = time_now_s();
	assert_int_equal(proc_capture_for(NULL, flood, NULL, PROC_ERR_TO_NULL, out, sizeof(out), 300), -ETIMEDOUT);
	assert_true(time_now_s() - t0 < 5);
	/* one that writes more than a pipe holds is not cut short by a
	 * non-blocking pipe of ours (its writes must block, not fail) */
	assert_int_equal(proc_capture_for(NULL, big, NULL, PROC_ERR_TO_OUT, out, sizeof(out), 10000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(start_lines_are_read_strictly),
		cmocka_unit_test(path_lines_say_direct_relay_or_unknown_and_whether_settled),
		cmocka_unit_test(names_that_could_leave_the_folder_are_refused),
		cmocka_unit_test_setup_teardown(tools_are_found_along_the_path_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(an_adapter_that_cannot_run_is_said_so, setup, teardown),
		cmocka_unit_test_setup_teardown(the_transport_is_udp_unless_the_adapter_says_tcp, setup, teardown),
		cmocka_unit_test(a_verb_that_hangs_is_cut_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
