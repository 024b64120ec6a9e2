/* Our WireGuard against Debian's wireguard-go, and against itself, in two
 * namespaces joined by a switch: handshakes both ways, 100 MB through the
 * tunnel with its content checked, roaming, rekeying, cookies. */
#include "lab.h"

#include "util/paths.h"
#include "util/proc.h"
#include "util/timeutil.h"

#include <fcntl.h>
#include <signal.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <sys/stat.h>

enum impl { OURS, WGGO };

struct wgside {
	const char *host;       /* a or b */
	enum impl impl;
	char ifname[16];
	char keyfile[64];
	char pub[64];           /* base64 */
	const char *inner;      /* 10.9.0.x */
	uint16_t port;
	pid_t pid;
};

static struct lab lab;
static struct wgside A, B;

static void key_pair(struct wgside *s)
{
	uint8_t priv[32], pub[32];
	char b64[64];
	FILE *f;

	randombytes_buf(priv, 32);
	priv[0] &= 248;
	priv[31] = (uint8_t)((priv[31] & 127) | 64);
	crypto_scalarmult_base(pub, priv);
	snprintf(s->keyfile, sizeof(s->keyfile), "%s/%s.key", lab.inst.dir, s->host);
	f = fopen(s->keyfile, "w");
	assert_non_null(f);
	fchmod(fileno(f), 0600);
	sodium_bin2base64(b64, sizeof(b64), priv, 32, sodium_base64_VARIANT_ORIGINAL);
	fprintf(f, "%s\n", b64);
	fclose(f);
	sodium_bin2base64(s->pub, sizeof(s->pub), pub, 32, sodium_base64_VARIANT_ORIGINAL);
}

static int run_in(const char *host, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int run_in(const char *host, const char *fmt, ...)
{
	char cmd[1024];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return proc_run(lab_ns(&lab, host), argv, -1, -1);
}

/* Output of a command in host (first line), into out. */
static void capture_in(const char *host, char *out, size_t len, const char *cmd)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	int fds[2];
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(proc_run(lab_ns(&lab, host), argv, fds[1], -1), 0);
	close(fds[1]);
	n = read(fds[0], out, len - 1);
	close(fds[0]);
	out[n > 0 ? n : 0] = '\0';
}

static void start(struct wgside *s, const char *extra)
{
	char path[PATH_MAX], sock[128];
	struct stat st;
	int log;

	snprintf(path, sizeof(path), "%s/%s.log", lab.inst.dir, s->host);
	log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(log >= 0);
	snprintf(s->ifname, sizeof(s->ifname), "wg%c%s", s->host[0], lab.inst.id);
	if (s->impl == WGGO) {
		char *argv[] = { "wireguard-go", "-f", s->ifname, NULL };
		setenv("WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD", "1", 1);
		assert_int_equal(proc_spawn(lab_ns(&lab, s->host), argv, log, log, &s->pid), 0);
	} else {
		char *argv[] = { path, s->ifname, (char *)extra, NULL };
		snprintf(path, sizeof(path), "%s-wg", lab_punchlab());
		if (!extra)
			argv[2] = NULL;
		assert_int_equal(proc_spawn(lab_ns(&lab, s->host), argv, log, log, &s->pid), 0);
	}
	close(log);
	instance_note_pid(&lab.inst, s->pid);
	snprintf(sock, sizeof(sock), "/var/run/wireguard/%s.sock", s->ifname);
	for (int i = 0; i < 500 && stat(sock, &st); i++)
		time_sleep_ms(10);
	assert_int_equal(stat(sock, &st), 0);
}

static void configure(struct wgside *s, struct wgside *peer, const char *extra)
{
	char peer_ip[16];

	text_ipv4(lab_addr(&lab, peer->host, 0), peer_ip);
	assert_int_equal(run_in(s->host, "wg set %s private-key %s listen-port %u peer %s endpoint %s:%u allowed-ips %s/32 %s",
				s->ifname, s->keyfile, s->port, peer->pub, peer_ip, peer->port, peer->inner, extra ? extra : ""),
			 0);
	assert_int_equal(run_in(s->host, "ip addr add %s/24 dev %s && ip link set %s up", s->inner, s->ifname, s->ifname), 0);
}

static void pair_up(enum impl a, enum impl b, const char *extra_b)
{
	char dir[PATH_MAX], topo[PATH_MAX + 16], *none[] = { NULL };

	assert_int_equal(paths_data_dir("tests/data", dir, sizeof(dir)), 0);
	snprintf(topo, sizeof(topo), "%s/wg-pair.topo", dir);
	lab_up(&lab, topo, 0, none);
	A = (struct wgside){ "a", a, "", "", "", "10.9.0.1", 51820, -1 };
	B = (struct wgside){ "b", b, "", "", "", "10.9.0.2", 51821, -1 };
	key_pair(&A);
	key_pair(&B);
	start(&A, NULL);
	start(&B, extra_b);
}

/* Stop both sides: each must still be running and exit 0 on SIGTERM (a
 * crash or a sanitizer's abort fails the test; its log says why). The run
 * (and the logs) stay until pair_down. */
static void pair_stop(void)
{
	struct wgside *sides[] = { &A, &B };
	char why[256] = "";

	for (int i = 0; i < 2; i++) {
		int code = -1;
		if (sides[i]->pid <= 0)
			continue;
		kill(sides[i]->pid, SIGTERM);
		if (proc_wait_timeout(sides[i]->pid, 5000, &code)) {
			kill(sides[i]->pid, SIGKILL);
			proc_wait(sides[i]->pid, &code);
		}
		if (code != 0 && !why[0])
			snprintf(why, sizeof(why), "%s on %s ended with %s %d (log: %s/%s.log)",
				 sides[i]->impl == OURS ? "punchlab-wg" : "wireguard-go", sides[i]->host,
				 code > 128 ? "signal" : "exit code", code > 128 ? code - 128 : code, lab.inst.dir, sides[i]->host);
		sides[i]->pid = -1;
	}
	if (why[0])
		fail_msg("%s", why);
}

static void pair_down(void)
{
	pair_stop();
	lab_down(&lab);
}

static uint32_t inner(const char *a)
{
	uint32_t x;

	text_parse_ipv4(a, &x);
	return x;
}

/* UDP from one inner address to the other and back; true if it came back. */
static bool ping(const char *from_host, const char *from_ip, const char *to_host, const char *to_ip)
{
	int s = lab_udp(&lab, from_host, inner(from_ip), 0), d = lab_udp(&lab, to_host, inner(to_ip), 6000);
	char buf[64];
	uint32_t src;
	uint16_t sport;
	bool ok = false;

	for (int t = 0; t < 10 && !ok; t++) {
		lab_send(s, inner(to_ip), 6000, "ping", 4);
		if (lab_recv(d, buf, sizeof(buf), 500, &src, &sport) == 4) {
			lab_send(d, src, sport, "pong", 4);
			ok = lab_recv(s, buf, sizeof(buf), 500, NULL, NULL) == 4;
		}
	}
	close(s);
	close(d);
	return ok;
}

struct tcp_arg {
	uint32_t addr;
	uint16_t port;
	int fd;
};

static int tcp_listen(void *p)
{
	struct tcp_arg *a = p;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = a->addr, .sin_port = htons(a->port) };
	int one = 1;

	a->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(a->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	return bind(a->fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(a->fd, 1) ? -errno : 0;
}

static int tcp_connect(void *p)
{
	struct tcp_arg *a = p;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = a->addr, .sin_port = htons(a->port) };

	a->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return connect(a->fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
}

/* The stream's bytes: a keyed pseudo-random sequence, checked on arrival. */
static uint8_t stream_byte(uint64_t i)
{
	uint64_t x = (i / 8 + 1) * 0x9E3779B97F4A7C15ULL;

	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ULL;
	x ^= x >> 32;
	return (uint8_t)(x >> (8 * (i % 8)));
}

/* Send bytes through the tunnel from host `from` to `to_ip` and check every byte. */
static void bulk(const char *from, const char *to, const char *to_ip, uint64_t bytes)
{
	struct tcp_arg srv = { inner(to_ip), 7000, -1 }, cli = { inner(to_ip), 7000, -1 };
	static uint8_t buf[1 << 16];
	uint64_t sent = 0, got = 0, start = time_now_ms();
	int conn;

	assert_int_equal(netns_call(lab_ns(&lab, to), tcp_listen, &srv), 0);
	assert_int_equal(netns_call(lab_ns(&lab, from), tcp_connect, &cli), 0);
	conn = accept(srv.fd, NULL, NULL);
	assert_true(conn >= 0);
	fcntl(cli.fd, F_SETFL, O_NONBLOCK);
	fcntl(conn, F_SETFL, O_NONBLOCK);
	while (got < bytes) {
		struct pollfd p[2] = { { cli.fd, sent < bytes ? POLLOUT : 0, 0 }, { conn, POLLIN, 0 } };
		assert_true(poll(p, 2, 10000) > 0);
		assert_true(time_now_ms() - start < 120000);
		if (p[0].revents & POLLOUT) {
			size_t n = sizeof(buf) < bytes - sent ? sizeof(buf) : (size_t)(bytes - sent);
			for (size_t i = 0; i < n; i++)
				buf[i] = stream_byte(sent + i);
			ssize_t w = write(cli.fd, buf, n);
			if (w > 0)
				sent += (uint64_t)w;
			if (sent == bytes)
				shutdown(cli.fd, SHUT_WR);
		}
		if (p[1].revents & POLLIN) {
			ssize_t r = read(conn, buf, sizeof(buf));
			assert_true(r > 0);
			for (ssize_t i = 0; i < r; i++)
				if (buf[i] != stream_byte(got + (uint64_t)i))
					fail_msg("byte %llu differs", (unsigned long long)(got + (uint64_t)i));
			got += (uint64_t)r;
		}
	}
	print_message("%llu MB %s -> %s in %.1f s\n", (unsigned long long)(bytes >> 20), from, to,
		      (double)(time_now_ms() - start) / 1000.0);
	close(conn);
	close(cli.fd);
	close(srv.fd);
}

static void handshake_time(const char *host, const char *ifname, char *out, size_t len)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "wg show %s latest-handshakes | cut -f2", ifname);
	capture_in(host, out, len, cmd);
}

static void check_pair(void)
{
	char t[64];

	/* b starts the handshake by sending first, then traffic both ways. */
	assert_true(ping("b", "10.9.0.2", "a", "10.9.0.1"));
	assert_true(ping("a", "10.9.0.1", "b", "10.9.0.2"));
	handshake_time("b", B.ifname, t, sizeof(t));
	assert_true(atol(t) > 0); /* `wg show` sees a recent handshake on b */
	handshake_time("a", A.ifname, t, sizeof(t));
	assert_true(atol(t) > 0);
	bulk("a", "b", "10.9.0.2", 100ull << 20);
	bulk("b", "a", "10.9.0.1", 10ull << 20);
}

static void ours_initiates_to_wireguard_go(void **state)
{
	char psk[PATH_MAX + 32];
	FILE *f;
	uint8_t key[32];
	char b64[64];

	(void)state;
	pair_up(WGGO, OURS, NULL);
	/* With a preshared key (the psk2 of Noise_IKpsk2). */
	snprintf(psk, sizeof(psk), "%s/psk", lab.inst.dir);
	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(b64, sizeof(b64), key, 32, sodium_base64_VARIANT_ORIGINAL);
	f = fopen(psk, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", b64);
	fclose(f);
	{
		char extra[PATH_MAX + 40];
		snprintf(extra, sizeof(extra), "preshared-key %s", psk);
		configure(&A, &B, extra);
		configure(&B, &A, extra);
	}
	check_pair();
	pair_down();
}

static void wireguard_go_initiates_to_ours(void **state)
{
	(void)state;
	pair_up(OURS, WGGO, NULL);
	configure(&A, &B, NULL);
	configure(&B, &A, NULL);
	check_pair();
	pair_down();
}

static void ours_with_ours(void **state)
{
	(void)state;
	pair_up(OURS, OURS, NULL);
	configure(&A, &B, NULL);
	configure(&B, &A, NULL);
	check_pair();
	pair_down();
}

static void ours_follows_wireguard_go_to_a_new_address(void **state)
{
	char ep[128], cmd[160];

	(void)state;
	pair_up(WGGO, OURS, NULL);
	configure(&A, &B, NULL);
	configure(&B, &A, NULL);
	assert_true(ping("b", "10.9.0.2", "a", "10.9.0.1"));
	/* wireguard-go's packets now leave from another address, as after a
	 * NAT rebinding: its host gets 192.0.2.60 and a stateless rewrite of
	 * the source (replies to .60 reach the same socket). */
	assert_int_equal(run_in("a", "ip addr add 192.0.2.60/24 dev eth0 && nft add table ip roam && "
				     "nft add chain ip roam out '{ type filter hook postrouting priority 0; }' && "
				     "nft add rule ip roam out udp sport 51820 ip saddr set 192.0.2.60"),
			 0);
	assert_true(ping("a", "10.9.0.1", "b", "10.9.0.2"));
	snprintf(cmd, sizeof(cmd), "wg show %s endpoints", B.ifname);
	capture_in("b", ep, sizeof(ep), cmd);
	assert_non_null(strstr(ep, "192.0.2.60:51820"));
	/* And traffic keeps flowing on the new path. */
	assert_true(ping("b", "10.9.0.2", "a", "10.9.0.1"));
	pair_down();
}

static void wireguard_go_takes_our_rekeyed_sessions_without_loss(void **state)
{
	char seen[8][32];
	int n_seen = 0, sent = 0, back = 0;
	int s, d;

	(void)state;
	pair_up(WGGO, OURS, "--rekey-after-ms=2000");
	configure(&A, &B, NULL);
	configure(&B, &A, NULL);
	assert_true(ping("b", "10.9.0.2", "a", "10.9.0.1"));
	s = lab_udp(&lab, "b", inner("10.9.0.2"), 0);
	d = lab_udp(&lab, "a", inner("10.9.0.1"), 6001);
	/* A packet every 20 ms, echoed, until wireguard-go has shown three
	 * handshakes (our side rekeys every 2 s; ~6 s), at most 30 s: the
	 * count, not a fixed time, ends it, so a slow machine only takes
	 * longer. */
	for (uint64_t end = time_now_ms() + 30000; time_now_ms() < end && n_seen < 3;) {
		char buf[64], t[32];
		uint32_t src;
		uint16_t sport;

		lab_send(s, inner("10.9.0.1"), 6001, "seq", 3);
		sent++;
		/* Generous waits: a busy machine delays, only a drop loses. */
		if (lab_recv(d, buf, sizeof(buf), 1000, &src, &sport) == 3) {
			lab_send(d, src, sport, "ack", 3);
			back += lab_recv(s, buf, sizeof(buf), 1000, NULL, NULL) == 3;
		}
		if (sent % 25 == 0) {
			handshake_time("a", A.ifname, t, sizeof(t));
			if (n_seen == 0 || strcmp(seen[n_seen - 1], t))
				snprintf(seen[n_seen < 8 ? n_seen++ : 7], sizeof(seen[0]), "%s", t);
		}
		time_sleep_ms(20);
	}
	print_message("%d sent, %d echoed, %d distinct handshake times on wireguard-go\n", sent, back, n_seen);
	assert_true(n_seen >= 3);
	assert_int_equal(back, sent);
	close(s);
	close(d);
	pair_down();
}

static void wireguard_go_gets_through_with_a_cookie(void **state)
{
	bool ok = false;

	(void)state;
	/* Ours demands cookies; wireguard-go initiates, gets a cookie reply,
	 * and its retry (REKEY_TIMEOUT later) carries mac2. */
	pair_up(WGGO, OURS, "--under-load");
	configure(&A, &B, NULL);
	configure(&B, &A, NULL);
	for (int i = 0; i < 4 && !ok; i++)
		ok = ping("a", "10.9.0.1", "b", "10.9.0.2");
	assert_true(ok);
	/* It went through the cookie: ours sent at least one cookie reply and
	 * then completed the handshake (its log, written as it stops). */
	pair_stop();
	{
		char path[PATH_MAX], *text = NULL, *p;
		size_t len;
		long long hs = -1, cookies = -1;
		snprintf(path, sizeof(path), "%s/b.log", lab.inst.dir);
		assert_int_equal(text_read_file(path, 1 << 20, &text, &len), 0);
		if ((p = strstr(text, "stopped; ")))
			sscanf(p, "stopped; %lld handshakes, %lld cookie replies sent", &hs, &cookies);
		free(text);
		print_message("ours: %lld handshakes, %lld cookie replies sent\n", hs, cookies);
		assert_true(cookies >= 1);
		assert_true(hs >= 1);
	}
	lab_down(&lab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(ours_initiates_to_wireguard_go, lab_teardown),
		cmocka_unit_test_teardown(wireguard_go_initiates_to_ours, lab_teardown),
		cmocka_unit_test_teardown(ours_with_ours, lab_teardown),
		cmocka_unit_test_teardown(ours_follows_wireguard_go_to_a_new_address, lab_teardown),
		cmocka_unit_test_teardown(wireguard_go_takes_our_rekeyed_sessions_without_loss, lab_teardown),
		cmocka_unit_test_teardown(wireguard_go_gets_through_with_a_cookie, lab_teardown),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
