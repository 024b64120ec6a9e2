/* Helpers for the reference mesh's lab tests: a topology with the real
 * punchlab-introducer on `introducer` and real punchlab-agents on a and b
 * (c: a key the introducer does not know), their status read from their
 * status sockets, pings through the mesh, and nftables counters on the
 * routers that say which way the tunnel's bytes went. */
#ifndef PL_MESH_LAB_H
#define PL_MESH_LAB_H

#include "lab.h"

#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "expect/topology.h"
#include "mesh/proto.h"
#include "mesh/status.h"
#include "util/key.h"
#include "runner/meter.h"
#include "runner/runner.h"
#include "util/proc.h"
#include "util/timeutil.h"

#define MESH_HOSTS 3   /* a, b, c */

struct mesh {
	struct lab lab;
	char dir[64];
	char ifname[MESH_HOSTS][16];
	char pub[MESH_HOSTS][45], intro_pub[45];
	pid_t intro, agent[MESH_HOSTS];
	struct meter meter;          /* the tunnel's bytes, counted as punchlab run counts them */
	bool allow_c;                /* c is a member too (three peers) */
	const char *agent_extra;     /* more lines of every agent's configuration (set before mesh_up) */
};

/* Where the lab is dual-stack: the introducer's IPv6 address, which it
 * listens on and agents register on too, as ADDR6 text ("": none). */
static inline const char *mesh_introducer6(const struct mesh *m)
{
	static char text[INET6_ADDRSTRLEN];
	uint8_t a6[16];

	if (!m->lab.net.ipv6 || !topo_net_addr6(&m->lab.net, "introducer", a6))
		return "";
	return inet_ntop(AF_INET6, a6, text, sizeof(text)) ? text : "";
}

static inline const char *mesh_host(int i)
{
	static const char *const names[] = { "a", "b", "c" };
	return names[i];
}

/* A fresh control message counter, as an agent would send it now. */
static inline uint64_t mesh_counter_now(void)
{
	static struct mesh_counter c;

	return mesh_counter_next(&c, time_real_ns());
}

/* A sibling of the punchlab binary under test (build/asan/NAME). */
static inline const char *mesh_bin(const char *name)
{
	static char path[2][PATH_MAX];
	static int k;
	char *slash;

	k ^= 1;
	snprintf(path[k], sizeof(path[k]), "%s", lab_punchlab());
	slash = strrchr(path[k], '/');
	snprintf(slash + 1, sizeof(path[k]) - (size_t)(slash + 1 - path[k]), "%s", name);
	return path[k];
}

static inline void mesh_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* A WireGuard key pair, as `wg genkey` would make it. */
static inline void mesh_keypair(const char *path, char pub[45])
{
	assert_int_equal(key_new_file(path, pub), 0);
}

static inline pid_t mesh_spawn(struct mesh *m, const char *node, char *const argv[], const char *log)
{
	char path[128];
	int fd;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", m->dir, log);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(proc_spawn(lab_ns(&m->lab, node), argv, fd, fd, &pid), 0);
	close(fd);
	instance_note_pid(&m->lab.inst, pid);
	return pid;
}

static inline void mesh_start_introducer(struct mesh *m, const char *extra)
{
	char conf[2048], path[128];
	char *argv[] = { (char *)mesh_bin("punchlab-introducer"), "--config", path, NULL };

	snprintf(conf, sizeof(conf),
		 "private-key-file = %s/introducer.key\nlisten = 203.0.113.10 203.0.113.11\nallow = %s a\nallow = %s b\n%s%s%s%s%s%s%s",
		 m->dir, m->pub[0], m->pub[1], m->allow_c ? "allow = " : "", m->allow_c ? m->pub[2] : "",
		 m->allow_c ? " c\n" : "", *mesh_introducer6(m) ? "listen6 = " : "", mesh_introducer6(m),
		 *mesh_introducer6(m) ? "\n" : "", extra ? extra : "");
	snprintf(path, sizeof(path), "%s/introducer.conf", m->dir);
	mesh_write(path, conf);
	m->intro = mesh_spawn(m, "introducer", argv, "introducer.log");
}

/* Agent i (0 a, 1 b, 2 c) on host NODE. */
static inline void mesh_start_agent_on(struct mesh *m, int i, const char *node)
{
	char conf[1024], path[128], log[32];
	char *argv[] = { (char *)mesh_bin("punchlab-agent"), "up", "--config", path, "-v", NULL };

	snprintf(conf, sizeof(conf),
		 "private-key-file = %s/%s.key\nintroducer = 203.0.113.10 203.0.113.11\nintroducer-key = %s\n"
		 "interface = %s\nname = %s\n%s%s%s%s",
		 m->dir, mesh_host(i), m->intro_pub, m->ifname[i], mesh_host(i), *mesh_introducer6(m) ? "introducer6 = " : "",
		 mesh_introducer6(m), *mesh_introducer6(m) ? "\n" : "", m->agent_extra ? m->agent_extra : "");
	snprintf(path, sizeof(path), "%s/%s.conf", m->dir, mesh_host(i));
	mesh_write(path, conf);
	snprintf(log, sizeof(log), "%s.log", mesh_host(i));
	m->agent[i] = mesh_spawn(m, node, argv, log);
}

static inline void mesh_start_agent(struct mesh *m, int i)
{
	mesh_start_agent_on(m, i, mesh_host(i));
}

/* The mesh a test has up, so a failed test's teardown can show its logs
 * and remove its files. */
static struct mesh *mesh_live;

/* Send buf from fd and collect what comes back within wait_ms: returns the
 * largest answer's length (0: none). */
static inline ssize_t mesh_answer_to(int fd, uint32_t addr, uint16_t port, const uint8_t *buf, size_t len, int wait_ms)
{
	uint8_t in[2048];
	ssize_t n, largest = 0;

	lab_send(fd, addr, port, buf, len);
	while ((n = lab_recv(fd, in, sizeof(in), wait_ms, NULL, NULL)) >= 0)
		largest = n > largest ? n : largest;
	return largest;
}

/* A REGISTER from key priv, with the proof a PROVE gave (NULL: none) and
 * n local candidates, sealed as an agent seals it. */
static inline int mesh_seal_register_cands(const uint8_t priv[32], const uint8_t intro_pub[32], uint64_t counter,
					   const uint8_t *proof, const struct wg_endpoint *cands, int n_cands, uint8_t *out,
					   size_t cap)
{
	struct mesh_msg msg = { .type = MESH_REGISTER };
	uint8_t shared[32];
	int n;

	for (int i = 0; i < n_cands && i < MESH_MAX_CANDS; i++)
		msg.u.reg.cands[msg.u.reg.n_cands++] = cands[i];
	if (proof) {
		msg.u.reg.has_proof = true;
		memcpy(msg.u.reg.proof, proof, MESH_PROOF_LEN);
	}
	key_public(msg.sender, priv);
	msg.counter = counter;
	snprintf(msg.u.reg.name, sizeof(msg.u.reg.name), "x");
	assert_int_equal(mesh_shared_key(shared, intro_pub, priv), 0);
	n = mesh_seal(&msg, intro_pub, shared, out, cap);
	assert_true(n > 0);
	return n;
}

static inline int mesh_seal_register(const uint8_t priv[32], const uint8_t intro_pub[32], uint64_t counter,
				     const uint8_t *proof, uint8_t *out, size_t cap)
{
	return mesh_seal_register_cands(priv, intro_pub, counter, proof, NULL, 0, out, cap);
}

/* A member played by the test (allowed, no agent): its socket, key, the
 * key it shares with the introducer, and what REGISTERED gave it. */
struct mesh_played {
	int fd;
	uint8_t priv[32], shared[32], token[MESH_TOKEN_LEN];
	uint32_t id;
};

/* Register n members whose keys are m->dir/WHO.key (or the file WHO, a
 * path), each from a new socket on NODE, each saying it has the n_cands
 * local candidates: REGISTER, PROVE, REGISTER with the proof, REGISTERED.
 * Together, and again every second for those not in yet, as agents do:
 * the introducer computes only a few keys a second for one address. */
static inline void mesh_play_members(struct mesh *m, const char *const who[], int n, const char *node,
				     const struct wg_endpoint *cands, int n_cands, struct mesh_played *c)
{
	uint8_t buf[1500], intro_pub[32];
	uint32_t intro = htonl(0xcb00710a); /* 203.0.113.10 */
	char path[128];
	ssize_t len;
	int left = n;
	bool *in = calloc((size_t)n, sizeof(*in));

	assert_non_null(in);
	assert_int_equal(key_parse(m->intro_pub, intro_pub), 0);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), who[i][0] == '/' ? "%s%s" : "%s/%s.key", who[i][0] == '/' ? "" : m->dir,
			 who[i]);
		assert_int_equal(key_read(path, c[i].priv, (char *)buf, sizeof(buf)), 0);
		assert_int_equal(mesh_shared_key(c[i].shared, intro_pub, c[i].priv), 0);
		c[i].fd = lab_udp(&m->lab, node, 0, 0);
	}
	for (int t = 0; t < 30 && left; t++) {
		double until = time_now_s() + 1;
		for (int i = 0; i < n; i++) {
			if (in[i])
				continue;
			len = mesh_seal_register_cands(c[i].priv, intro_pub, mesh_counter_now(), NULL, cands, n_cands, buf,
						       sizeof(buf));
			lab_send(c[i].fd, intro, 3478, buf, (size_t)len);
		}
		while (left && time_now_s() < until) {
			bool any = false;
			for (int i = 0; i < n; i++) {
				struct mesh_msg msg;
				char why[160];
				if (in[i] || (len = lab_recv(c[i].fd, buf, sizeof(buf), 0, NULL, NULL)) <= 0)
					continue;
				any = true;
				if (mesh_receive(buf, (size_t)len, c[i].priv, c[i].shared, &msg, why, sizeof(why)))
					continue;
				if (msg.type == MESH_PROVE) {
					/* Our address proves itself: register again with the proof. */
					len = mesh_seal_register_cands(c[i].priv, intro_pub, mesh_counter_now(), msg.u.prove.proof,
								       cands, n_cands, buf, sizeof(buf));
					lab_send(c[i].fd, intro, 3478, buf, (size_t)len);
				} else if (msg.type == MESH_REGISTERED) {
					memcpy(c[i].token, msg.u.regd.token, MESH_TOKEN_LEN);
					c[i].id = msg.u.regd.id;
					in[i] = true;
					left--;
				}
			}
			if (!any)
				time_sleep_ms(5);
		}
	}
	free(in);
	assert_int_equal(left, 0);
}

static inline void mesh_play_member_cands(struct mesh *m, const char *who, const char *node,
					  const struct wg_endpoint *cands, int n_cands, struct mesh_played *c)
{
	mesh_play_members(m, &who, 1, node, cands, n_cands, c);
}

static inline void mesh_play_member(struct mesh *m, const char *who, const char *node, struct mesh_played *c)
{
	mesh_play_member_cands(m, who, node, NULL, 0, c);
}

static inline int mesh_raw_open(void *p)
{
	int *fd = p;

	*fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);   /* IP_HDRINCL implied */
	return *fd < 0 ? -errno : 0;
}

/* A raw socket in NODE's namespace: it sends IPv4 packets with any
 * source (an attacker spoofing), from inside the test's own lab only. */
static inline int mesh_raw(const struct lab *l, const char *node)
{
	int fd = -1;

	assert_int_equal(netns_call(lab_ns(l, node), mesh_raw_open, &fd), 0);
	return fd;
}

/* One UDP datagram from src:sport (anyone's address) to dst:dport through
 * a raw socket; the UDP checksum is left out (0), as IPv4 allows. */
static inline void mesh_spoof_udp(int raw, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, const void *buf,
				  size_t len)
{
	uint8_t pkt[1600] = { 0x45 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = dst };
	size_t total = 20 + 8 + len;

	assert_true(total <= sizeof(pkt));
	pkt[2] = (uint8_t)(total >> 8), pkt[3] = (uint8_t)total;
	pkt[8] = 64, pkt[9] = IPPROTO_UDP;    /* id, checksum: the kernel fills them in */
	memcpy(pkt + 12, &src, 4);
	memcpy(pkt + 16, &dst, 4);
	pkt[20] = (uint8_t)(sport >> 8), pkt[21] = (uint8_t)sport;
	pkt[22] = (uint8_t)(dport >> 8), pkt[23] = (uint8_t)dport;
	pkt[24] = (uint8_t)((8 + len) >> 8), pkt[25] = (uint8_t)(8 + len);
	memcpy(pkt + 28, buf, len);
	assert_int_equal(sendto(raw, pkt, total, 0, (struct sockaddr *)&sa, sizeof(sa)), (ssize_t)total);
}

/* Bring up TOPOLOGY, the introducer (with more configuration lines
 * intro_extra), and agents on a and b; with allow_c, c's key is a member
 * too, and with start_c its agent runs (else the test plays c itself). */
static inline void mesh_up_allowing(struct mesh *m, const char *topology, int n, char *assigns[], const char *intro_extra,
				    bool allow_c, bool start_c)
{
	char path[128];

	const char *agent_extra = m->agent_extra;

	memset(m, 0, sizeof(*m));
	m->agent_extra = agent_extra;
	assert_true(sodium_init() >= 0);
	lab_up(&m->lab, topology, n, assigns);
	snprintf(m->dir, sizeof(m->dir), "/tmp/pl-mesh-XXXXXX");
	assert_non_null(mkdtemp(m->dir));
	for (int i = 0; i < MESH_HOSTS; i++) {
		char id[INSTANCE_ID_LEN + 1];
		snprintf(id, sizeof(id), "%s", m->lab.inst.id);
		snprintf(m->ifname[i], sizeof(m->ifname[i]), "m%s%s", id, mesh_host(i));
		snprintf(path, sizeof(path), "%s/%s.key", m->dir, mesh_host(i));
		mesh_keypair(path, m->pub[i]);
	}
	snprintf(path, sizeof(path), "%s/introducer.key", m->dir);
	mesh_keypair(path, m->intro_pub);
	mesh_live = m;
	m->allow_c = allow_c;
	mesh_start_introducer(m, intro_extra);
	time_sleep_ms(200);
	mesh_start_agent(m, 0);
	mesh_start_agent(m, 1);
	if (start_c)
		mesh_start_agent(m, 2);
}

static inline void mesh_up_members(struct mesh *m, const char *topology, int n, char *assigns[], const char *intro_extra,
				   bool three)
{
	mesh_up_allowing(m, topology, n, assigns, intro_extra, three, three);
}

static inline void mesh_up_with(struct mesh *m, const char *topology, int n, char *assigns[], const char *intro_extra)
{
	mesh_up_members(m, topology, n, assigns, intro_extra, false);
}

static inline void mesh_up(struct mesh *m, const char *topology, int n, char *assigns[])
{
	mesh_up_with(m, topology, n, assigns, NULL);
}

/* Stop the daemons the test started (SIGTERM, then SIGKILL after 5 s).
 * Each must exit 0: one that died by a signal (a crash, a sanitizer's
 * abort) or exited non-zero is named in why (returns false). */
static inline bool mesh_stop_daemons(struct mesh *m, char *why, size_t len)
{
	pid_t *pids[] = { &m->intro, &m->agent[0], &m->agent[1], &m->agent[2] };
	static const char *const names[] = { "punchlab-introducer", "punchlab-agent on a", "punchlab-agent on b",
					     "punchlab-agent on c" };
	bool ok = true;

	why[0] = '\0';
	for (int i = 0; i < 4; i++) {
		int code = -1;
		if (*pids[i] <= 0)
			continue;
		kill(*pids[i], SIGTERM);
		if (proc_wait_timeout(*pids[i], 5000, &code)) {
			kill(*pids[i], SIGKILL);
			proc_wait(*pids[i], &code);
			snprintf(why + strlen(why), len - strlen(why), "%s did not stop on SIGTERM within 5 s; ", names[i]);
			ok = false;
		} else if (code != 0) {
			snprintf(why + strlen(why), len - strlen(why), "%s %s %d; ", names[i],
				 code > 128 ? "died by signal" : "exited with", code > 128 ? code - 128 : code);
			ok = false;
		}
		*pids[i] = 0;
	}
	return ok;
}

/* Print the logs (for a failing test), stop everything, remove the run.
 * A passing test (show_logs false) fails here if a daemon did not exit
 * cleanly. */
static inline void mesh_down(struct mesh *m, bool show_logs)
{
	char cmd[256], why[512];

	if (!mesh_stop_daemons(m, why, sizeof(why)) && !show_logs) {
		mesh_down(m, true);
		fail_msg("%s", why);
	}
	if (show_logs) {
		snprintf(cmd, sizeof(cmd), "tail -n 40 %s/*.log >&2", m->dir);
		if (system(cmd) < 0)
			perror("system");
	}
	lab_down(&m->lab);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", m->dir);
	if (m->dir[0] && system(cmd) < 0)
		perror("system");
	m->dir[0] = '\0';
	mesh_live = NULL;
}

/* cmocka teardown: a test that failed midway shows its logs; then
 * everything it made goes. */
static inline int mesh_teardown(void **state)
{
	if (mesh_live && mesh_live->dir[0])
		mesh_down(mesh_live, true);
	return lab_teardown(state);
}

/* The agent's status (JSON) from its status socket. */
static inline bool mesh_status(const struct mesh *m, int i, char *buf, size_t len)
{
	return mesh_status_fetch(m->ifname[i], true, buf, len) > 0;
}

/* The value of "key" in the first peer's object (or the top level when
 * peer is false). */
static inline bool mesh_json(const char *json, bool peer, const char *key, char *out, size_t len)
{
	return text_json_field(peer ? strstr(json, "\"peers\":[{") : json, key, out, len);
}

static inline bool mesh_peer_field(const struct mesh *m, int i, const char *key, char *out, size_t len)
{
	static char buf[8192];

	return mesh_status(m, i, buf, sizeof(buf)) && mesh_json(buf, true, key, out, len);
}

/* A number in agent i's status: at the top level, or (peer) in its first
 * peer's object ("relayed_in", "dropped_control", "handshakes"...). */
static inline long long mesh_number(const struct mesh *m, int i, bool peer, const char *key)
{
	char json[8192], v[48];

	assert_true(mesh_status(m, i, json, sizeof(json)));
	assert_true(mesh_json(json, peer, key, v, sizeof(v)));
	return atoll(v);
}

/* Stop agent i (SIGTERM): it must exit 0. Start it again with
 * mesh_start_agent. */
static inline void mesh_stop_agent(struct mesh *m, int i)
{
	int code = -1;

	kill(m->agent[i], SIGTERM);
	assert_int_equal(proc_wait(m->agent[i], &code), 0);
	assert_int_equal(code, 0);
	m->agent[i] = 0;
}

/* Wait until agent i's first peer has path PATH ("direct"/"relay") and, for
 * "relay", the pair is settled (expected relay, or TCP-only). */
static inline bool mesh_wait_path(const struct mesh *m, int i, const char *path, int timeout_ms)
{
	char got[32], expected[32];

	for (int t = 0; t < timeout_ms; t += 200) {
		if (mesh_peer_field(m, i, "path", got, sizeof(got)) && !strcmp(got, path) &&
		    (strcmp(path, "relay") || (mesh_peer_field(m, i, "expected", expected, sizeof(expected)) &&
					       !strcmp(expected, "relay"))))
			return true;
		time_sleep_ms(200);
	}
	return false;
}

/* Ping from host i to ADDR: COUNT pings of SIZE bytes; returns how many
 * were answered. */
static inline int mesh_ping_every(const struct mesh *m, int i, const char *addr, int count, int size, const char *every)
{
	char path[128], c[16], s[16], buf[4096];
	char *argv[] = { "ping", "-n", "-q", "-M", "do", "-c", c, "-s", s, "-i", (char *)every, "-W", "2", (char *)addr, NULL };
	int fd, received = 0;
	ssize_t n;
	const char *p;

	snprintf(c, sizeof(c), "%d", count);
	snprintf(s, sizeof(s), "%d", size);
	snprintf(path, sizeof(path), "%s/ping.out", m->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	proc_run(lab_ns(&m->lab, mesh_host(i)), argv, fd, fd);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if ((p = strstr(buf, " received")))
		while (p > buf && p[-1] >= '0' && p[-1] <= '9')
			p--;
	if (p)
		received = atoi(p);
	return received;
}

static inline int mesh_ping(const struct mesh *m, int i, const char *addr, int count, int size)
{
	return mesh_ping_every(m, i, addr, count, size, "0.05");
}

/* Does host's log (a.log, introducer.log, ...) hold TEXT? */
static inline bool mesh_log_has(const struct mesh *m, const char *log, const char *text)
{
	char path[128], *buf = NULL;
	size_t len;
	bool found;

	snprintf(path, sizeof(path), "%s/%s", m->dir, log);
	if (text_read_file(path, 1 << 22, &buf, &len))
		return false;
	found = strstr(buf, text) != NULL;
	free(buf);
	return found;
}

/* Counters where each pair of hosts meets and where the introducer hangs
 * (harness/runner/meter.c, the runner's own): a and b, and c when the
 * topology has it. */
static inline void mesh_counters(struct mesh *m)
{
	static const char *const hosts[] = { "a", "b", "c" };
	char err[256];

	if (meter_install(&m->meter, &m->lab.net, &m->lab.inst, hosts, topo_find_node(&m->lab.net.topo, "c") >= 0 ? 3 : 2, 0,
			  err, sizeof(err)))
		fail_msg("counters: %s", err);
}

/* Two agents in two-sites behind A and B, counted, and both settled on
 * the path WANT ("direct", "relay") within 30 s (else the test fails,
 * logs shown). */
static inline void mesh_up_pair(struct mesh *m, const char *a, const char *b, const char *want)
{
	char pa[64], pb[64], *assigns[] = { pa, pb };

	snprintf(pa, sizeof(pa), "A=%s", a);
	snprintf(pb, sizeof(pb), "B=%s", b);
	mesh_up(m, "two-sites", 2, assigns);
	mesh_counters(m);
	if (!mesh_wait_path(m, 0, want, 30000) || !mesh_wait_path(m, 1, want, 30000)) {
		mesh_down(m, true);
		fail_msg("two-sites %s %s: no %s path", a, b, want);
	}
}

struct mesh_bytes {
	long long direct, introducer;
};

/* Bytes so far between hosts x and y where they meet, and at the introducer. */
static inline struct mesh_bytes mesh_read_pair(const struct mesh *m, const char *x, const char *y)
{
	uint64_t d = 0, r = 0;
	struct mesh_bytes b;

	assert_int_equal(meter_read(&m->meter, x, y, &d, &r), 0);
	b.direct = (long long)d;
	b.introducer = (long long)r;
	return b;
}

static inline struct mesh_bytes mesh_read_counters(const struct mesh *m)
{
	return mesh_read_pair(m, "a", "b");
}

/* What 20 pings of 1000 bytes each way, with their replies, carry inside
 * the tunnel (IPv4 and ICMP headers included). */
#define MESH_TRAFFIC_PAYLOAD (4 * 20 * 1028)

/* Pings both ways (20 of 1000 bytes each) through the mesh; returns the
 * bytes each counter saw meanwhile. Fails the test if pings are lost. */
static inline struct mesh_bytes mesh_traffic(const struct mesh *m)
{
	char addr_b[32], addr_a[32], addr6[64];
	struct mesh_bytes before, after, d;

	assert_true(mesh_peer_field(m, 0, "mesh_ipv4", addr_b, sizeof(addr_b)));
	assert_true(mesh_peer_field(m, 1, "mesh_ipv4", addr_a, sizeof(addr_a)));
	before = mesh_read_counters(m);
	assert_in_range(mesh_ping(m, 0, addr_b, 20, 1000), 19, 20);
	assert_in_range(mesh_ping(m, 1, addr_a, 20, 1000), 19, 20);
	after = mesh_read_counters(m);
	/* IPv6 inside the tunnel too, whatever the underlay speaks. */
	assert_true(mesh_peer_field(m, 0, "mesh_ipv6", addr6, sizeof(addr6)));
	assert_in_range(mesh_ping(m, 0, addr6, 3, 56), 2, 3);
	d.direct = after.direct - before.direct;
	d.introducer = after.introducer - before.introducer;
	return d;
}

/* How the runner judges what mesh_traffic measured. */
static inline enum path mesh_traffic_path(struct mesh_bytes d)
{
	return verdict_traffic((uint64_t)d.direct, (uint64_t)d.introducer, MESH_TRAFFIC_PAYLOAD);
}

/* The pair test: agents on a and b of TOPOLOGY; the path both agents
 * report and the routers' counters must be WANT ("direct" or "relay"),
 * pinned by hand in the test, never taken from `punchlab expect` (which
 * the agent uses too: an expect that wrongly said "relay" would make the
 * agent not try and the test agree); expect must say the same. Direct,
 * one of the agents must have found its path by TECHNIQUE (status
 * "found_by"); relayed, their "why" must contain why_relayed. */
static inline void mesh_check_pair(const char *topology, const char *params, const char *want, const char *technique,
				   const char *why_relayed)
{
	static struct mesh m;
	struct expect_result r;
	struct mesh_bytes d;
	char buf[256], *assigns[4], why[400], found[2][32] = { "", "" };
	const bool direct = !strcmp(want, "direct");
	int n;
	bool ok;

	snprintf(buf, sizeof(buf), "%s", params);
	n = text_split(buf, assigns, 4);
	mesh_up(&m, topology, n, assigns);
	mesh_counters(&m);
	assert_int_equal(expect_topology(&m.lab.net, "a", "b", &r), 0);
	print_message("%s %s: want %s (%s); expect says %s (%s, %s)\n", topology, params, want,
		      technique ? technique : why_relayed, r.direct ? "direct" : "relay", expect_technique_name(r.technique),
		      r.why);
	if (r.direct != direct) {
		mesh_down(&m, false);
		fail_msg("%s %s: punchlab expect says %s, the test's table says %s", topology, params,
			 r.direct ? "direct" : "relay", want);
	}
	ok = mesh_wait_path(&m, 0, want, 30000) && mesh_wait_path(&m, 1, want, 30000);
	if (!ok) {
		mesh_down(&m, true);
		fail_msg("%s %s: the agents did not settle on the %s path", topology, params, direct ? "direct" : "relayed");
	}
	d = mesh_traffic(&m);
	print_message("  tunnel bytes: %lld direct, %lld through the introducer\n", d.direct, d.introducer);
	/* The runner's own judgement of a burst (verdict_traffic). */
	ok = mesh_traffic_path(d) == (direct ? PATH_DIRECT : PATH_RELAY);
	for (int i = 0; i < 2 && ok; i++) {
		char path[32];
		ok = mesh_peer_field(&m, i, "path", path, sizeof(path)) && !strcmp(path, want);
		if (ok && direct)
			ok = mesh_peer_field(&m, i, "found_by", found[i], sizeof(found[i]));
		if (ok && !direct && why_relayed)
			ok = mesh_peer_field(&m, i, "why", why, sizeof(why)) && strstr(why, why_relayed);
	}
	if (ok && direct && technique) {
		print_message("  found by: a %s, b %s\n", found[0], found[1]);
		ok = !strcmp(found[0], technique) || !strcmp(found[1], technique);
	}
	if (!ok) {
		mesh_down(&m, true);
		fail_msg("%s %s: counters (direct %lld, introducer %lld), the path (found by %s / %s) or the status disagree "
			 "with the %s path%s%s",
			 topology, params, d.direct, d.introducer, found[0], found[1], want, technique ? " by " : "",
			 technique ? technique : "");
	}
	mesh_down(&m, false);
}

#endif
