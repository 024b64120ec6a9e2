/* Helpers for lab tests: bring up a topology in a lab instance of its own, open
 * sockets inside its namespaces, and always remove it afterwards. */
#ifndef PL_LAB_H
#define PL_LAB_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "topo/build.h"
#include "topo/instance.h"
#include "topo/topo.h"
#include "topo/cleanup.h"
#include "util/netns.h"
#include "util/paths.h"
#include "util/text.h"

struct lab {
	struct instance inst;
	struct topo_net net;
	bool up;
};

/* A scratch folder for a test's model files (lab_model_with_portmap):
 * made by a group setup, removed (with what it holds) by its teardown. */
static char lab_models[64];

static inline int lab_models_make(void **state)
{
	(void)state;
	snprintf(lab_models, sizeof(lab_models), "/tmp/pl-models-XXXXXX");
	return mkdtemp(lab_models) ? 0 : -1;
}

static inline int lab_models_remove(void **state)
{
	(void)state;
	return paths_remove_tree(lab_models);
}

/* A model file in DIR: the shipped model BASE with portmap = WHAT (its own
 * portmap line dropped), named BASE-WHAT.nat. The path is static: use it
 * before the next call. */
static inline const char *lab_model_with_portmap(const char *dir, const char *base, const char *what)
{
	static char path[PATH_MAX];
	char data[PATH_MAX], src[PATH_MAX + 64], line[256];
	FILE *in, *out;

	assert_int_equal(paths_data_dir("nat-models", data, sizeof(data)), 0);
	snprintf(src, sizeof(src), "%s/%s.nat", data, base);
	snprintf(path, sizeof(path), "%s/%s-%s.nat", dir, base, what);
	assert_non_null(in = fopen(src, "r"));
	assert_non_null(out = fopen(path, "w"));
	while (fgets(line, sizeof(line), in))
		if (strncmp(line, "portmap", 7))
			fputs(line, out);
	fprintf(out, "portmap = %s\n", what);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	return path;
}

/* tests/data/NAME: a model the lab tests use that is not shipped. The
 * path is static: use it before the next call. */
static inline const char *lab_test_model(const char *name)
{
	static char path[PATH_MAX];
	char data[PATH_MAX - 16];

	assert_int_equal(paths_data_dir("tests/data", data, sizeof(data)), 0);
	snprintf(path, sizeof(path), "%s/%s.nat", data, name);
	return path;
}

/* Every lab that is up, so a test's teardown removes them even when an
 * assertion ended the test early. */
static struct lab *lab_live[8];

static inline void lab_track(struct lab *l, bool on)
{
	for (int i = 0; i < 8; i++)
		if (on ? !lab_live[i] : lab_live[i] == l) {
			lab_live[i] = on ? l : NULL;
			return;
		}
}

/* Build TOPOLOGY with parameters in a fresh lab instance, NODE's link impaired by
 * SPEC (node NULL: none); fails the test on error. */
static inline void lab_up_impaired(struct lab *l, const char *topology, int n, char *assigns[], const char *node,
				   const char *spec)
{
	struct topo t;
	char err[512], params[160] = "";

	memset(l, 0, sizeof(*l));
	if (topo_load(topology, &t, err, sizeof(err)) || topo_resolve(&t, n, assigns, &l->net, err, sizeof(err)))
		fail_msg("%s", err);
	if (node) {
		int k = topo_find_node(&l->net.topo, node);
		assert_true(k >= 0);
		if (impair_parse(spec, &l->net.topo.nodes[k].impair, err, sizeof(err)))
			fail_msg("%s", err);
	}
	for (int i = 0; i < n; i++)
		snprintf(params + strlen(params), sizeof(params) - strlen(params), "%s%s", i ? " " : "", assigns[i]);
	assert_int_equal(instance_create(&l->inst, topology, params), 0);
	cleanup_watch_instance(l->inst.id);
	l->up = true;
	lab_track(l, true);
	if (topo_build(&l->net, &l->inst, err, sizeof(err)))
		fail_msg("building %s: %s", topology, err);
}

static inline void lab_up(struct lab *l, const char *topology, int n, char *assigns[])
{
	lab_up_impaired(l, topology, n, assigns, NULL, NULL);
}

/* The nat-probe topology (client behind router nat, stun host outside)
 * with MODEL on the router. */
static inline void lab_up_probe(struct lab *l, const char *model)
{
	char assign[80], *assigns[] = { assign };

	snprintf(assign, sizeof(assign), "M=%s", model);
	lab_up(l, "nat-probe", 1, assigns);
}

static inline void lab_down(struct lab *l)
{
	if (!l->up)
		return;
	instance_destroy(l->inst.id);
	cleanup_forget_instance(l->inst.id);
	l->up = false;
	lab_track(l, false);
}

/* cmocka teardown: remove whatever the test left up. */
static inline int lab_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 8; i++)
		if (lab_live[i])
			lab_down(lab_live[i]);
	return 0;
}

static inline const char *lab_ns(const struct lab *l, const char *node)
{
	static char buf[4][64];
	static int k;

	k = (k + 1) % 4;
	instance_netns_name(l->inst.id, node, buf[k], sizeof(buf[k]));
	return buf[k];
}

static inline uint32_t lab_addr(const struct lab *l, const char *node, int which)
{
	return topo_net_addr(&l->net, node, which);
}

struct lab_sock_arg {
	uint32_t addr;
	uint16_t port;
	int fd;
};

static inline int lab_sock_open(void *p)
{
	struct lab_sock_arg *a = p;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = a->addr, .sin_port = htons(a->port) };

	a->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (a->fd < 0)
		return -errno;
	if (bind(a->fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	return 0;
}

/* A UDP socket that lives in NODE's namespace (bound to addr:port, 0 = any). */
static inline int lab_udp(const struct lab *l, const char *node, uint32_t addr, uint16_t port)
{
	struct lab_sock_arg a = { addr, port, -1 };

	assert_int_equal(netns_call(lab_ns(l, node), lab_sock_open, &a), 0);
	return a.fd;
}

static inline void lab_send(int fd, uint32_t addr, uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = addr, .sin_port = htons(port) };

	assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)), (ssize_t)len);
}

/* Receive one datagram within timeout_ms, its source into sa; returns its
 * length or -1. */
static inline ssize_t lab_recv_from(int fd, void *buf, size_t len, int timeout_ms, struct sockaddr_storage *sa)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	socklen_t sl = sizeof(*sa);

	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	return recvfrom(fd, buf, len, 0, (struct sockaddr *)sa, &sl);
}

/* Receive one datagram within timeout_ms; returns its length or -1. */
static inline ssize_t lab_recv(int fd, void *buf, size_t len, int timeout_ms, uint32_t *from, uint16_t *port)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in *sa = (const struct sockaddr_in *)&ss;
	ssize_t n = lab_recv_from(fd, buf, len, timeout_ms, &ss);

	if (n >= 0) {
		if (from)
			*from = sa->sin_addr.s_addr;
		if (port)
			*port = ntohs(sa->sin_port);
	}
	return n;
}

struct lab_sock6_arg {
	uint16_t port;
	int fd;
};

static inline int lab_sock6_open(void *p)
{
	struct lab_sock6_arg *a = p;
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT, .sin6_port = htons(a->port) };
	int one = 1;

	a->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (a->fd < 0)
		return -errno;
	setsockopt(a->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(a->fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	return 0;
}

/* An IPv6 UDP socket in NODE's namespace, bound to port (0: any). */
static inline int lab_udp6(const struct lab *l, const char *node, uint16_t port)
{
	struct lab_sock6_arg a = { port, -1 };

	assert_int_equal(netns_call(lab_ns(l, node), lab_sock6_open, &a), 0);
	return a.fd;
}

/* Send over IPv6; false when the kernel refuses (no route: no IPv6). */
static inline bool lab_send6(int fd, const uint8_t addr[16], uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

	memcpy(&sa.sin6_addr, addr, 16);
	return sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)len;
}

/* Receive one IPv6 datagram within timeout_ms; returns its length or -1. */
static inline ssize_t lab_recv6(int fd, void *buf, size_t len, int timeout_ms, uint8_t from[16], uint16_t *port)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in6 *sa = (const struct sockaddr_in6 *)&ss;
	ssize_t n = lab_recv_from(fd, buf, len, timeout_ms, &ss);

	if (n >= 0) {
		if (from)
			memcpy(from, &sa->sin6_addr, 16);
		if (port)
			*port = ntohs(sa->sin6_port);
	}
	return n;
}

/* Send from fd to addr:port and return the source port the far side (the
 * socket sink, in another namespace) saw the packet come from. */
static inline uint16_t lab_seen_port(int fd, int sink, uint32_t addr, uint16_t port)
{
	char buf[64];
	uint16_t seen = 0;
	uint32_t from;

	for (int tries = 0; tries < 3 && !seen; tries++) {
		lab_send(fd, addr, port, "probe", 5);
		if (lab_recv(sink, buf, sizeof(buf), 500, &from, &seen) < 0)
			seen = 0;
	}
	assert_int_not_equal(seen, 0);
	return seen;
}

/* The punchlab binary beside this test (build/asan/punchlab). */
static inline const char *lab_punchlab(void)
{
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	char *slash;

	assert_true(n > 0);
	path[n] = '\0';
	slash = strrchr(path, '/');
	*slash = '\0';
	slash = strrchr(path, '/');
	snprintf(slash, sizeof(path) - (size_t)(slash - path), "/punchlab");
	return path;
}

/* Run a shell command line (the tests' own, built from their own paths),
 * print it and its output, keep the output in out (when given) and return
 * its exit code (128 when it did not exit). */
static inline int lab_shell(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static inline int lab_shell_v(char *out, size_t len, const char *prefix, const char *fmt, va_list ap)
{
	static char cmd[PATH_MAX * 2], tmp[16384];
	size_t n;
	FILE *p;
	int status;

	n = (size_t)snprintf(cmd, sizeof(cmd), "%s", prefix);
	vsnprintf(cmd + n, sizeof(cmd) - n, fmt, ap);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(tmp, 1, sizeof(tmp) - 1, p);
	tmp[n] = '\0';
	status = pclose(p);
	print_message("$ %s\n%s", cmd, tmp);
	if (out)
		snprintf(out, len, "%s", tmp);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static inline int lab_shell(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = lab_shell_v(out, len, "", fmt, ap);
	va_end(ap);
	return ret;
}

/* Run `punchlab ARGS` (printf-style; add " 2>&1" for its errors too):
 * its output into out (may be NULL) and the test log; the exit code. */
static inline int lab_punchlab_run(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static inline int lab_punchlab_run(char *out, size_t len, const char *fmt, ...)
{
	char prefix[PATH_MAX + 2];
	va_list ap;
	int ret;

	snprintf(prefix, sizeof(prefix), "%s ", lab_punchlab());
	va_start(ap, fmt);
	ret = lab_shell_v(out, len, prefix, fmt, ap);
	va_end(ap);
	return ret;
}

/* How many times what stands in text. */
static inline int lab_count(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

/* DIR/NAME's text (at most 4 MiB; freed by the caller). */
static inline char *lab_slurp(const char *dir, const char *name)
{
	char path[PATH_MAX], *text = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(text_read_file(path, 1 << 22, &text, &len), 0);
	return text;
}

/* Run a binary's tests side by side, at most at_once at a time, each in a
 * process of its own (its own labs, its own cmocka run: a failed assertion
 * ends that test's process only). For tests that mostly wait (timeouts
 * and silences that must pass before a verdict), not for ones that
 * measure speed. Each test's lines reach the log whole (line-buffered, one
 * write each), so the test runner counts "Running 1 test(s)" and "PASSED"
 * per test as usual. Returns how many did not pass, as
 * cmocka_run_group_tests does. */
static inline int lab_side_by_side(const char *name, const struct CMUnitTest *tests, size_t n, int at_once)
{
	pid_t pid[64];
	size_t started = 0, running = 0;
	int failed = 0;
	bool no_more = false;   /* fork failed: the rest count as failed */

	if (n > 64 || at_once < 1) {
		printf("%s: %zu tests, %d at once: cannot run them side by side\n", name, n, at_once);
		return (int)n + 1;
	}
	signal(SIGCHLD, SIG_DFL);   /* children must stay to be waited for */
	fflush(stdout);
	fflush(stderr);
	while ((started < n && !no_more) || running) {
		int status;
		pid_t done;
		if (started < n && !no_more && running < (size_t)at_once) {
			pid_t p = fork();
			if (p < 0) {
				perror("fork");
				no_more = true;
				continue;
			}
			if (p == 0) {
				setvbuf(stdout, NULL, _IOLBF, 0);
				setvbuf(stderr, NULL, _IOLBF, 0);
				exit(_cmocka_run_group_tests(name, &tests[started], 1, NULL, NULL) ? 1 : 0);
			}
			pid[started++] = p;
			running++;
			continue;
		}
		done = wait(&status);
		if (done < 0) {
			if (errno == EINTR)
				continue;
			perror("wait");
			return failed + (int)running + (int)(n - started);
		}
		for (size_t i = 0; i < started; i++)
			if (pid[i] == done) {
				running--;
				if (!WIFEXITED(status) || WEXITSTATUS(status)) {
					failed++;
					printf("%s: %s did not pass (%s %d)\n", name, tests[i].name,
					       WIFEXITED(status) ? "exit" : "signal",
					       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
					fflush(stdout);
				}
			}
	}
	return failed + (int)(n - started);
}

#endif
