/* The mesh's configuration files and its address pool: good files parse,
 * bad ones are refused with file:line and what to write instead. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <netdb.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mesh/conf.h"
#include "mesh/pool.h"

#define KEY1 "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define KEY2 "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="

static struct introducer_conf ic;
static struct agent_conf ac;
static char err[600];

static int intro(const char *text)
{
	introducer_conf_defaults(&ic);
	err[0] = '\0';
	return introducer_conf_parse(&ic, text, strlen(text), "intro.conf", err, sizeof(err));
}

static int agent(const char *text)
{
	agent_conf_defaults(&ac);
	err[0] = '\0';
	return agent_conf_parse(&ac, text, strlen(text), "agent.conf", err, sizeof(err));
}

static void introducer_file_with_two_addresses_and_members_parses(void **state)
{
	char ep[64];

	(void)state;
	assert_int_equal(intro("# the introducer\nprivate-key = " KEY1 "\nlisten = 203.0.113.10 203.0.113.11:4000\n"
			       "allow = " KEY2 " alice\njoin-secret = correct horse battery staple\n"
			       "pool4 = 100.101.0.0/16\nuser = root\nrelay-rate = 100000\ntcp = no\n"),
			 0);
	assert_int_equal(introducer_conf_check(&ic, err, sizeof(err)), 0);
	assert_int_equal(ic.n_listen, 2);
	wg_endpoint_format(&ic.listen[0], ep, sizeof(ep));
	assert_string_equal(ep, "203.0.113.10:3478");
	wg_endpoint_format(&ic.listen[1], ep, sizeof(ep));
	assert_string_equal(ep, "203.0.113.11:4000");
	assert_int_equal(ic.n_allow, 1);
	assert_string_equal(ic.allow[0].name, "alice");
	assert_true(ic.has_join);
	assert_int_equal(ic.plen4, 16);
	assert_string_equal(ic.user, "");
	assert_false(ic.tcp);
}

static void introducer_mistakes_are_named_with_their_line(void **state)
{
	(void)state;
	assert_int_equal(intro("listen = 203.0.113.10\nallow = " KEY2 "\n"), -EINVAL);
	assert_non_null(strstr(err, "intro.conf:2: allow"));
	assert_non_null(strstr(err, "expected PUBLIC-KEY NAME"));
	assert_int_equal(intro("allow = notakey bob\n"), -EINVAL);
	assert_non_null(strstr(err, "not a WireGuard key"));
	assert_int_equal(intro("allow = " KEY2 " bob\nallow = " KEY2 " carol\n"), -EINVAL);
	assert_non_null(strstr(err, "listed twice"));
	assert_int_equal(intro("join-secret = short\n"), -EINVAL);
	assert_non_null(strstr(err, "shorter than 16"));
	assert_int_equal(intro("pool4 = 100.100.0.0/30\n"), -EINVAL);
	assert_int_equal(intro("colour = blue\n"), -EINVAL);
	assert_non_null(strstr(err, "unknown key \"colour\""));
	assert_int_equal(intro("just words\n"), -EINVAL);
	assert_non_null(strstr(err, "KEY = VALUE"));
	/* Nobody may join: said so before starting. */
	assert_int_equal(intro("private-key = " KEY1 "\nlisten = 203.0.113.10\n"), 0);
	assert_int_equal(introducer_conf_check(&ic, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "nobody may join"));
}

static void agent_file_parses_and_flags_override_it(void **state)
{
	(void)state;
	assert_int_equal(agent("private-key = " KEY1 "\nintroducer = 203.0.113.10 203.0.113.11\nintroducer-key = " KEY2
			       "\ninterface = m0\nname = alice\nlisten-port = 51820\nkeepalive = 5\n"),
			 0);
	assert_int_equal(agent_conf_check(&ac, err, sizeof(err)), 0);
	assert_int_equal(ac.n_introducer, 2);
	assert_int_equal(ac.listen_port, 51820);
	assert_int_equal(ac.keepalive_s, 5);
	assert_false(ac.probe_impossible);
	assert_int_equal(agent_conf_set(&ac, "probe-impossible", "yes", "command line", 0, err, sizeof(err)), 0);
	assert_true(ac.probe_impossible);
	assert_int_equal(agent_conf_set(&ac, "probe-impossible", "maybe", "command line", 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "probe-impossible \"maybe\": yes or no"));
	assert_false(ac.peers_on_demand);   /* the default: every member */
	assert_int_equal(agent_conf_set(&ac, "peers", "on-demand", "command line", 0, err, sizeof(err)), 0);
	assert_true(ac.peers_on_demand);
	assert_int_equal(agent_conf_set(&ac, "peers", "some", "command line", 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "peers \"some\": all or on-demand"));
	assert_int_equal(agent_conf_set(&ac, "peers", "all", "command line", 0, err, sizeof(err)), 0);
	assert_false(ac.peers_on_demand);
	assert_int_equal(agent_conf_set(&ac, "interface", "m1", "command line", 0, err, sizeof(err)), 0);
	assert_string_equal(ac.interface, "m1");
	assert_int_equal(agent_conf_set(&ac, "interface", "a-name-far-too-long", "command line", 0, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "at most 15"));
}

/* The introducer's IPv6 address: listened on, registered on; given as
 * an IPv6 address (bare, bracketed, with a port), nothing else. */
static void ipv6_addresses_of_the_introducer_parse(void **state)
{
	char ep[64];

	(void)state;
	assert_int_equal(intro("listen = 203.0.113.10\nlisten6 = 2001:db8::a\n"), 0);
	wg_endpoint_format(&ic.listen6, ep, sizeof(ep));
	assert_string_equal(ep, "[2001:db8::a]:3478");
	assert_int_equal(intro("listen6 = [2001:db8::a]:4000\n"), 0);
	wg_endpoint_format(&ic.listen6, ep, sizeof(ep));
	assert_string_equal(ep, "[2001:db8::a]:4000");
	assert_int_equal(intro("listen = 203.0.113.10\n"), 0);
	assert_int_equal(ic.listen6.addr.ss_family, 0);
	assert_int_equal(intro("listen6 = 203.0.113.10\n"), -EINVAL);
	assert_non_null(strstr(err, "intro.conf:1: listen6 \"203.0.113.10\": expected one IPv6 address"));
	assert_int_equal(intro("listen6 = 2001:db8::a 2001:db8::b\n"), -EINVAL);
	assert_int_equal(agent("introducer6 = [2001:db8::a]\n"), 0);
	wg_endpoint_format(&ac.introducer6, ep, sizeof(ep));
	assert_string_equal(ep, "[2001:db8::a]:3478");
	assert_int_equal(agent("introducer6 = intro.example\n"), -EINVAL);
	assert_non_null(strstr(err, "agent.conf:1: introducer6 \"intro.example\": expected the introducer's IPv6 address"));
	assert_int_equal(agent("colour = blue\n"), -EINVAL);
	assert_non_null(strstr(err, "introducer6"));
	/* IPv6 has keys of its own: the IPv4 ones say so */
	assert_int_equal(intro("listen = [2001:db8::a]:3478\n"), -EINVAL);
	assert_non_null(strstr(err, "listen6 takes an IPv6 one"));
	assert_int_equal(agent("introducer = 2001:db8::a\n"), -EINVAL);
	assert_non_null(strstr(err, "introducer6 takes an IPv6 address"));
}

/* A name with an IPv6 address gives introducer6 too: resolved in a child
 * that sees its own /etc/hosts (a private mount namespace; root only:
 * make check runs as root), so the answer does not hang on this
 * machine's resolver. */
static int resolve_in_own_hosts(void)
{
	char dir[] = "/tmp/pl-hosts-XXXXXX", path[64], buf[64];
	int status, fd;
	pid_t pid;

	if (geteuid() != 0 || !mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/hosts", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "192.0.2.1 intro.test\n2001:db8::a intro.test\n", 45) != 45)
		return -1;
	close(fd);
	if ((pid = fork()) == 0) {
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount(path, "/etc/hosts", NULL, MS_BIND, NULL))
			_exit(2);
		if (agent("introducer = intro.test:4000\n") || agent_conf_resolve(&ac, err, sizeof(err)))
			_exit(3);
		wg_endpoint_format(&ac.introducer6, buf, sizeof(buf));
		_exit(strcmp(buf, "[2001:db8::a]:4000") ? 4 : 0);
	}
	waitpid(pid, &status, 0);
	unlink(path);
	rmdir(dir);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 5;
}

static void a_name_with_an_ipv6_address_gives_introducer6(void **state)
{
	int ret;

	(void)state;
	if ((ret = resolve_in_own_hosts()) < 0)
		skip();
	assert_int_equal(ret, 0);
}

static void agent_missing_introducer_key_is_explained(void **state)
{
	(void)state;
	assert_int_equal(agent("private-key = " KEY1 "\nintroducer = 203.0.113.10\n"), 0);
	assert_int_equal(agent_conf_check(&ac, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "introducer-key"));
	assert_int_equal(agent("introducer = some/where\n"), -EINVAL);
	assert_non_null(strstr(err, "agent.conf:1: introducer"));
}

/* Issue 14: a private key file others can read drew no warning (wg's
 * tools warn). */
static void a_private_key_file_others_can_read_draws_a_warning(void **state)
{
	char path[] = "/tmp/pl-key-XXXXXX", line[80];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, KEY1 "\n", strlen(KEY1) + 1), (ssize_t)strlen(KEY1) + 1);
	close(fd);
	snprintf(line, sizeof(line), "private-key-file = %s\n", path);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(agent(line), 0);
	assert_string_equal(ac.warning, "");
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(agent(line), 0);
	assert_non_null(strstr(ac.warning, "can be read by others (mode 0644): chmod 600 it"));
	assert_int_equal(intro(line), 0);
	assert_non_null(strstr(ic.warning, path));
	unlink(path);
}

/* Issue 13: the introducer may be named by a DNS name. */
static void the_introducer_may_be_a_dns_name(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(agent("introducer = localhost:4000 203.0.113.11\n"), 0);
	assert_string_equal(ac.introducer_host[0], "localhost");
	assert_int_equal(ac.introducer_port[0], 4000);
	assert_string_equal(ac.introducer_host[1], "");
	assert_int_equal(ac.introducer[0].addr.ss_family, 0);   /* not resolved while parsing */
	if (agent_conf_resolve(&ac, err, sizeof(err)))
		fail_msg("%s", err);
	wg_endpoint_format(&ac.introducer[0], buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:4000");
	wg_endpoint_format(&ac.introducer[1], buf, sizeof(buf));
	assert_string_equal(buf, "203.0.113.11:3478");
	assert_int_equal(ac.n_introducer, 2);
	/* and the first name's IPv6 address, as this machine's resolver
	 * gives it (none: none), unless introducer6 says which */
	{
		struct addrinfo hints = { .ai_family = AF_INET6, .ai_socktype = SOCK_DGRAM }, *res = NULL;
		char want[64] = "none";
		struct wg_endpoint e;
		if (!getaddrinfo("localhost", NULL, &hints, &res) && res) {
			memset(&e, 0, sizeof(e));
			memcpy(&e.addr, res->ai_addr, res->ai_addrlen);
			((struct sockaddr_in6 *)&e.addr)->sin6_port = htons(4000);
			wg_endpoint_format(&e, want, sizeof(want));
		}
		if (res)
			freeaddrinfo(res);
		if (ac.introducer6.addr.ss_family)
			wg_endpoint_format(&ac.introducer6, buf, sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "none");
		print_message("localhost over IPv6: %s\n", buf);
		assert_string_equal(buf, want);
		assert_int_equal(agent("introducer = localhost:4000\nintroducer6 = [2001:db8::a]:5000\n"), 0);
		assert_int_equal(agent_conf_resolve(&ac, err, sizeof(err)), 0);
		wg_endpoint_format(&ac.introducer6, buf, sizeof(buf));
		assert_string_equal(buf, "[2001:db8::a]:5000");
	}
	assert_int_equal(agent("introducer = localhost\n"), 0);
	assert_int_equal(agent_conf_resolve(&ac, err, sizeof(err)), 0);
	wg_endpoint_format(&ac.introducer[0], buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:3478");
	assert_int_equal(agent("introducer = no-such-host.invalid\n"), 0);
	assert_int_equal(agent_conf_resolve(&ac, err, sizeof(err)), -EHOSTUNREACH);
	assert_non_null(strstr(err, "introducer no-such-host.invalid: "));
	static const char *const bad[] = { "-bad-", "a..b", "999.1.1.1", "host:99999", "host:", "a_b", "x.", "a b c" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[80];
		snprintf(line, sizeof(line), "introducer = %s\n", bad[i]);
		if (agent(line) != -EINVAL)
			fail_msg("\"%s\" was taken", bad[i]);
		assert_non_null(strstr(err, "NAME[:PORT] (a DNS name"));
	}
}

static void pool_addresses_are_stable_inside_the_pool_and_never_its_edges(void **state)
{
	uint32_t pool = htonl(0x64640000); /* 100.100.0.0 */
	uint8_t key[32], pool6[16], a6[16];

	(void)state;
	inet_pton(AF_INET6, "fd70:6c6d:6573::", pool6);
	for (int i = 0; i < 2000; i++) {
		uint32_t a, b;
		randombytes_buf(key, sizeof(key));
		a = mesh_pool_v4(pool, 16, key, 0);
		b = mesh_pool_v4(pool, 16, key, 0);
		assert_int_equal(a, b);
		assert_int_equal(ntohl(a) & 0xffff0000, 0x64640000);
		assert_int_not_equal(ntohl(a) & 0xffff, 0);
		assert_int_not_equal(ntohl(a) & 0xffff, 0xffff);
		assert_int_not_equal(mesh_pool_v4(pool, 16, key, 1), a);
		mesh_pool_v6(pool6, 48, key, a6);
		assert_memory_equal(a6, pool6, 6);
	}
	/* A /30 has two usable addresses. */
	for (uint32_t k = 0; k < 8; k++) {
		uint32_t a = ntohl(mesh_pool_v4(htonl(0x0a000000), 30, key, k));
		assert_true(a == 0x0a000001 || a == 0x0a000002);
	}
}

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(introducer_file_with_two_addresses_and_members_parses),
		cmocka_unit_test(introducer_mistakes_are_named_with_their_line),
		cmocka_unit_test(agent_file_parses_and_flags_override_it),
		cmocka_unit_test(ipv6_addresses_of_the_introducer_parse),
		cmocka_unit_test(a_name_with_an_ipv6_address_gives_introducer6),
		cmocka_unit_test(agent_missing_introducer_key_is_explained),
		cmocka_unit_test(a_private_key_file_others_can_read_draws_a_warning),
		cmocka_unit_test(the_introducer_may_be_a_dns_name),
		cmocka_unit_test(pool_addresses_are_stable_inside_the_pool_and_never_its_edges),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
