/* introducer-load: many agents against one punchlab-introducer, for
 * `make bench` (issue 17). Test equipment, not a program users need.
 *
 *   introducer-load --introducer ADDR:PORT --introducer-key KEY
 *                   --join-secret SECRET --from ADDR[,ADDR...] --agents N
 *                   [--peers all|on-demand] [--keepalive-s S]
 *                   [--relay-s S] [--pid PID] [--json FILE]
 *
 * Each agent is a key of its own on a UDP socket of its own, bound to one
 * of the --from addresses in turn (many source addresses, each with many
 * ports). In order, it measures:
 *   1. first registrations: every agent joins (REGISTER, PROVE, REGISTER
 *      with the proof, REGISTERED), at most WINDOW under way at once;
 *      registrations a second over the whole phase;
 *   2. re-registrations: every agent registers again from where it is,
 *      as fast as the introducer answers (WINDOW under way), with session
 *      messages as agents do (--full: sealed in full, an X25519 each way);
 *   3. keepalive: every agent registers every 10 s, as agents do, for
 *      --keepalive-s seconds; the introducer's CPU then (with --pid);
 *   4. relay: agent 0 sends 1200-byte packets to agent 1 through the
 *      introducer's relay for --relay-s seconds; Mbit/s that arrive;
 *   5. the same between two more members that reach it over TCP.
 * With --pid, the introducer's resident memory before and after the
 * members joined (bytes per member) and its CPU in each phase.
 * The REGISTERs of phases 1 and 2 are sealed before their phase starts,
 * so the figures are the introducer's, not this program's crypto. What
 * arrives is counted by its type, not opened (a lab, not the internet). */
#include "mesh/conf.h"
#include "mesh/proto.h"
#include "util/key.h"

#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WINDOW 256          /* registrations under way at once */
#define MAX_FROM 256
#define PHASE_TIMEOUT_S 600
#define RETRY_S 0.25        /* a registration not answered is sent again after this */

struct agent {
	uint8_t priv[32], pub[32], shared[32];
	int fd;
	uint32_t id;
	uint8_t token[MESH_TOKEN_LEN];
	uint8_t msg[MESH_MAX_MSG + MESH_COOKIED_OVERHEAD];   /* a REGISTER sealed ahead */
	size_t msg_len;
	bool has_sid;                /* its session's keys, from REGISTERED */
	uint8_t sid[MESH_SID_LEN];
	struct mesh_session_keys keys;
	bool has_proof;              /* this phase's PROVE came: its proof */
	uint8_t proof[MESH_PROOF_LEN];
	bool has_cookie;             /* the introducer was busy: its cookie for our address */
	struct mesh_eph eph;         /* an ephemeral key made ahead, for the REGISTER with the cookie */
	uint8_t mac1[MESH_MAC1_LEN]; /* our last REGISTER's in full: a COOKIE answers it */
	uint8_t cookie[MESH_COOKIE_LEN];
	int state;                   /* 0 idle, 1 sent, 2 done (this phase) */
	double sent_at;
};

static struct {
	struct wg_endpoint intro;
	uint8_t intro_pub[32];
	uint8_t cookie_key[32];
	uint8_t join[32];
	struct wg_endpoint from[MAX_FROM];
	int n_from;
	int n;
	bool on_demand, full;
	int keepalive_s, relay_s;
	int pid;
	const char *json;
	struct agent *agents;
	int ep;
	struct mesh_counter counter;
	uint64_t seq;
} L;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, const char *what)
{
	fprintf(stderr, "introducer-load: ");
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	exit(1);
}

/* The introducer's /proc/PID/WHAT, or NULL (no --pid, or gone). */
static FILE *proc_open(const char *what)
{
	char path[64];

	if (!L.pid)
		return NULL;
	snprintf(path, sizeof(path), "/proc/%d/%s", L.pid, what);
	return fopen(path, "r");
}

/* The introducer's CPU seconds so far, and its resident bytes (0 without --pid). */
static double cpu_s(void)
{
	char buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f = proc_open("stat");

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
	fclose(f);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long rss_bytes(void)
{
	char line[256];
	long kb = 0;
	FILE *f = proc_open("status");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/* Seal a REGISTER of agent a (with a proof when given) into its msg. */
/* A REGISTER from pub, of agent session `session`, with the join secret. */
static void register_msg(struct mesh_msg *m, const uint8_t pub[static 32], uint64_t session, bool on_demand)
{
	memset(m, 0, sizeof(*m));
	m->type = MESH_REGISTER;
	memcpy(m->sender, pub, 32);
	m->counter = mesh_counter_next(&L.counter, real_ns());
	m->session = session;
	m->u.reg.has_join = true;
	memcpy(m->u.reg.join, L.join, 32);
	m->u.reg.on_demand = on_demand;
	m->u.reg.ttl = 64;
}

static void seal_register(struct agent *a, const uint8_t *proof)
{
	struct mesh_msg m;
	int n;

	register_msg(&m, a->pub, 1, L.on_demand);
	if (a->has_cookie)
		proof = a->cookie;   /* which proves our address as a PROVE's proof does */
	if (proof) {
		m.u.reg.has_proof = true;
		memcpy(m.u.reg.proof, proof, MESH_PROOF_LEN);
	}
	snprintf(m.u.reg.name, sizeof(m.u.reg.name), "load%d", (int)(a - L.agents));
	/* Registered: as agents do, in its session (--full: in full). */
	if (a->has_sid && !L.full && !proof)
		n = mesh_session_seal(&m, a->sid, a->keys.to_introducer, a->msg, sizeof(a->msg));
	else
		n = a->eph.ready ? mesh_seal_with(&m, L.intro_pub, a->shared, &a->eph, a->msg, MESH_MAX_MSG)
				 : mesh_seal(&m, L.intro_pub, a->shared, a->msg, MESH_MAX_MSG);
	if (n > 0 && a->msg[3] != MESH_SESSION)
		memcpy(a->mac1, a->msg + n - MESH_MAC1_LEN, MESH_MAC1_LEN);
	/* In full with a cookie from the introducer: in COOKIED, as agents do. */
	if (n > 0 && a->has_cookie && a->msg[3] != MESH_SESSION)
		n = mesh_cookied_wrap(a->msg, sizeof(a->msg), a->msg, (size_t)n, a->cookie);
	if (n < 0)
		die("%s", "cannot seal a REGISTER");
	a->msg_len = (size_t)n;
}

static socklen_t intro_len(void)
{
	return L.intro.addr.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static void send_msg(struct agent *a)
{
	if (sendto(a->fd, a->msg, a->msg_len, 0, &L.intro.addr.sa, intro_len()) < 0 &&
	    errno != EAGAIN && errno != ENOBUFS)
		die("sendto: %s", strerror(errno));
	a->state = 1;
	a->sent_at = now_s();
}

/* What came for agent a: a PROVE answered at once (a REGISTER with its
 * proof); a REGISTERED ends its registration (opened when want_token, for
 * the relay's id and token). Returns true when a registration ended. */
static bool on_reply(struct agent *a, const uint8_t *buf, size_t len, bool want_token)
{
	struct mesh_msg m;
	char why[160];

	if (len < 4 || !mesh_is_message(buf, len))
		return false;
	if (buf[3] == MESH_PROVE && a->state == 1) {
		if (mesh_receive(buf, len, a->priv, a->shared, &m, why, sizeof(why)))
			return false;
		a->has_proof = true;
		memcpy(a->proof, m.u.prove.proof, MESH_PROOF_LEN);
		seal_register(a, a->proof);
		send_msg(a);
		return false;
	}
	if (buf[3] == MESH_COOKIE && a->state == 1) {
		/* Busy: again at once with the cookie (sealed anew: the
		 * introducer drops a copy of what it has had). */
		if (mesh_cookie_open(buf, len, L.cookie_key, a->mac1, a->cookie))
			return false;
		a->has_cookie = true;
		seal_register(a, a->has_proof ? a->proof : NULL);
		send_msg(a);
		return false;
	}
	if (buf[3] == MESH_REFUSED)
		die("%s", "the introducer refused an agent (is --join-secret the introducer's?)");
	if ((buf[3] != MESH_REGISTERED && buf[3] != MESH_SESSION) || a->state != 1)
		return false;
	if (want_token && buf[3] == MESH_REGISTERED) {
		struct mesh_env env;
		int ret = mesh_unwrap(buf, len, a->priv, a->pub, &env);
		if (!ret)
			ret = mesh_open(buf, len, &env, a->shared, &m, why, sizeof(why));
		if (ret)
			return false;
		a->id = m.u.regd.id;
		memcpy(a->token, m.u.regd.token, MESH_TOKEN_LEN);
		memcpy(a->sid, m.u.regd.sid, MESH_SID_LEN);
		mesh_session_keys(m.u.regd.secret, a->shared, &a->keys);
		a->has_sid = true;
	}
	a->state = 2;
	return true;
}

/* Read whatever is waiting for up to wait_ms; hand each datagram to on_reply.
 * Returns the registrations that ended. */
static int pump(int wait_ms, bool want_token, uint64_t *other_bytes)
{
	struct epoll_event ev[256];
	uint8_t buf[2048];
	int n = epoll_wait(L.ep, ev, 256, wait_ms), done = 0;

	for (int i = 0; i < n; i++) {
		struct agent *a = &L.agents[ev[i].data.u32];
		ssize_t len;
		while ((len = recv(a->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
			if (on_reply(a, buf, (size_t)len, want_token))
				done++;
			else if (other_bytes)
				*other_bytes += (uint64_t)len;
		}
	}
	return done;
}

/* Seal every agent's REGISTER for the next phase, which starts afresh: no
 * proof and no cookie of the phase before (a cookie would make it a
 * REGISTER in full); and make the X25519s of the one that answers a
 * COOKIE ahead too. */
static void seal_all(void)
{
	for (int i = 0; i < L.n; i++) {
		L.agents[i].has_proof = L.agents[i].has_cookie = false;
		seal_register(&L.agents[i], NULL);
		if (mesh_seal_ahead(&L.agents[i].eph, L.intro_pub))
			die("%s", "--introducer-key: not a usable key");
	}
}

/* Phases 1 and 2: every agent's sealed REGISTER out, WINDOW at a time,
 * again after RETRY_S without an answer; the seconds it took. */
static double register_all(bool want_token, uint64_t *other_bytes)
{
	double t0 = now_s();
	int next = 0, done = 0, out = 0;

	for (int i = 0; i < L.n; i++)
		L.agents[i].state = 0;
	while (done < L.n) {
		while (out < WINDOW && next < L.n) {
			send_msg(&L.agents[next++]);
			out++;
		}
		int d = pump(10, want_token, other_bytes);
		done += d;
		out -= d;
		/* Lost (or over a budget): sealed again (the introducer drops a
		 * copy of a message it has had) and sent again. */
		double t = now_s();
		for (int i = 0; i < next; i++)
			if (L.agents[i].state == 1 && t - L.agents[i].sent_at > RETRY_S) {
				seal_register(&L.agents[i], L.agents[i].has_proof ? L.agents[i].proof : NULL);
				send_msg(&L.agents[i]);
			}
		if (t - t0 > PHASE_TIMEOUT_S) {
			fprintf(stderr, "introducer-load: %d of %d registered after %d s\n", done, L.n, PHASE_TIMEOUT_S);
			exit(1);
		}
	}
	return now_s() - t0;
}

static void usage(FILE *f)
{
	fputs("usage: introducer-load --introducer ADDR:PORT --introducer-key KEY --join-secret SECRET\n"
	      "                       --from ADDR[,ADDR...] --agents N [--peers all|on-demand]\n"
	      "                       [--keepalive-s S] [--relay-s S] [--pid PID] [--json FILE] [--full]\n",
	      f);
}

static void parse_from(char *list)
{
	for (char *s = strtok(list, ","); s; s = strtok(NULL, ",")) {
		char ep[80];
		if (L.n_from == MAX_FROM)
			die("%s", "--from: at most 256 addresses");
		snprintf(ep, sizeof(ep), strchr(s, ':') ? "[%s]:0" : "%s:0", s);
		if (wg_endpoint_parse(ep, &L.from[L.n_from++]))
			die("--from: not an address: %s", s);
	}
}

static void open_agents(void)
{
	struct rlimit rl = { (rlim_t)L.n + 64, (rlim_t)L.n + 64 };

	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("cannot allow that many sockets: %s", strerror(errno));
	if ((L.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll: %s", strerror(errno));
	if (!(L.agents = calloc((size_t)L.n, sizeof(*L.agents))))
		die("%s", "out of memory");
	for (int i = 0; i < L.n; i++) {
		struct agent *a = &L.agents[i];
		const struct wg_endpoint *from = &L.from[i % L.n_from];
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		int buf = 1 << 20;
		crypto_box_keypair(a->pub, a->priv);
		if (mesh_shared_key(a->shared, L.intro_pub, a->priv))
			die("%s", "a bad key");
		a->fd = socket(from->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (a->fd < 0 || bind(a->fd, &from->addr.sa,
				      from->addr.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)))
			die("cannot bind a socket: %s (are the --from addresses on this host?)", strerror(errno));
		if (i < 2)
			setsockopt(a->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		epoll_ctl(L.ep, EPOLL_CTL_ADD, a->fd, &ev);
	}
}

/* Phase 3: every agent registers every 10 s, spread evenly. */
static void keepalive(void)
{
	double t0 = now_s(), end = t0 + L.keepalive_s, step = 10.0 / L.n;
	int k = 0;

	for (double next = t0; now_s() < end;) {
		while (now_s() >= next && now_s() < end) {
			struct agent *a = &L.agents[k++ % L.n];
			seal_register(a, NULL);
			send_msg(a);
			next += step;
		}
		pump(1, false, NULL);
	}
}

/* What the relay carries: 1200 bytes under a WireGuard data message's
 * header, so it passes for one. */
static void wg_data_packet(uint8_t pkt[static 1200])
{
	memset(pkt, 0x5a, 1200);
	pkt[0] = 4;
	pkt[1] = pkt[2] = pkt[3] = 0;
}

/* Payload Mbit/s: got bytes between the first and the last arrival. */
static double mbit_s(uint64_t got, double first, double last)
{
	return got && last > first ? (double)got * 8 / (last - first) / 1e6 : 0;
}

/* Phase 4: agent 0 to agent 1 through the relay; payload Mbit/s arriving. */
static double relay(void)
{
	uint8_t pkt[1200], frame[1400], buf[2048];
	double t0 = now_s(), end = t0 + L.relay_s, first = 0, last = 0;
	uint64_t got = 0;
	int n;

	wg_data_packet(pkt);
	n = mesh_relay_build(frame, sizeof(frame), L.agents[0].token, L.agents[1].id, pkt, sizeof(pkt));
	if (n < 0)
		die("%s", "cannot build a relay frame");
	while (now_s() < end) {
		for (int i = 0; i < 32; i++)
			if (sendto(L.agents[0].fd, frame, (size_t)n, MSG_DONTWAIT, &L.intro.addr.sa, intro_len()) < 0 &&
			    errno != EAGAIN && errno != ENOBUFS)
				die("relay send: %s", strerror(errno));
		ssize_t len;
		while ((len = recv(L.agents[1].fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			if (len > 4 && buf[3] == MESH_RELAYED) {
				last = now_s();
				if (!got)
					first = last;
				got += (uint64_t)len - MESH_RELAYED_HDR_LEN;
			}
	}
	return mbit_s(got, first, last);
}

/* A member over TCP (a network that drops UDP): connected, registered
 * (no proof over TCP), its id and relay token learned. */
struct tcp_agent {
	int fd;
	uint8_t priv[32], pub[32], shared[32];
	uint32_t id;
	uint8_t token[MESH_TOKEN_LEN];
	uint8_t in[1 << 17];
	size_t in_len;
};

static void write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("TCP write: %s", strerror(errno));
		buf += n;
		len -= (size_t)n;
	}
}

static void tcp_agent_up(struct tcp_agent *t)
{
	struct mesh_msg m;
	uint8_t frame[2 + MESH_MAX_MSG];
	char why[160];
	int n;
	double t0 = now_s();

	crypto_box_keypair(t->pub, t->priv);
	if (mesh_shared_key(t->shared, L.intro_pub, t->priv))
		die("%s", "a bad key");
	if ((t->fd = socket(L.intro.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(t->fd, &L.intro.addr.sa, intro_len()))
		die("cannot connect to the introducer over TCP: %s", strerror(errno));
	register_msg(&m, t->pub, 2, true);
	snprintf(m.u.reg.name, sizeof(m.u.reg.name), "tcp%d", t->fd);
	if ((n = mesh_seal(&m, L.intro_pub, t->shared, frame + 2, sizeof(frame) - 2)) < 0)
		die("%s", "cannot seal a REGISTER");
	frame[0] = (uint8_t)(n >> 8);
	frame[1] = (uint8_t)n;
	write_all(t->fd, frame, (size_t)n + 2);
	/* Frames until the REGISTERED. */
	while (now_s() - t0 < 10) {
		ssize_t got = read(t->fd, t->in + t->in_len, sizeof(t->in) - t->in_len);
		if (got <= 0)
			die("%s", "the introducer closed our TCP connection");
		t->in_len += (size_t)got;
		while (t->in_len >= 2 && t->in_len >= 2 + (size_t)(t->in[0] << 8 | t->in[1])) {
			size_t len = (size_t)(t->in[0] << 8 | t->in[1]);
			bool done = len > 4 && t->in[5] == MESH_REGISTERED &&
				    !mesh_receive(t->in + 2, len, t->priv, t->shared, &m, why, sizeof(why));
			memmove(t->in, t->in + 2 + len, t->in_len - 2 - len);
			t->in_len -= 2 + len;
			if (done) {
				t->id = m.u.regd.id;
				memcpy(t->token, m.u.regd.token, MESH_TOKEN_LEN);
				return;
			}
		}
	}
	die("%s", "no REGISTERED over TCP within 10 s");
}

/* Phase 5: the same over TCP, from one member's connection to another's. */
static double relay_tcp(void)
{
	static struct tcp_agent a, b;
	uint8_t pkt[1200], batch[64 * (2 + 1400)];
	size_t bl = 0;
	double t0, end, first = 0, last = 0;
	uint64_t got = 0;
	int n;

	tcp_agent_up(&a);
	tcp_agent_up(&b);
	wg_data_packet(pkt);
	for (int i = 0; i < 64; i++) {
		n = mesh_relay_build(batch + bl + 2, 1400, a.token, b.id, pkt, sizeof(pkt));
		if (n < 0)
			die("%s", "cannot build a relay frame");
		batch[bl] = (uint8_t)(n >> 8);
		batch[bl + 1] = (uint8_t)n;
		bl += 2 + (size_t)n;
	}
	fcntl(a.fd, F_SETFL, O_NONBLOCK);
	fcntl(b.fd, F_SETFL, O_NONBLOCK);
	t0 = now_s();
	end = t0 + L.relay_s;
	b.in_len = 0;
	for (size_t off = 0; now_s() < end;) {
		ssize_t w = write(a.fd, batch + off, bl - off), r;
		if (w > 0)
			off = (off + (size_t)w) % bl;
		while ((r = read(b.fd, b.in + b.in_len, sizeof(b.in) - b.in_len)) > 0) {
			b.in_len += (size_t)r;
			size_t k = 0;
			while (b.in_len - k >= 2 && b.in_len - k >= 2 + (size_t)(b.in[k] << 8 | b.in[k + 1])) {
				size_t len = (size_t)(b.in[k] << 8 | b.in[k + 1]);
				if (len > MESH_RELAYED_HDR_LEN && b.in[k + 5] == MESH_RELAYED) {
					last = now_s();
					if (!got)
						first = last;
					got += len - MESH_RELAYED_HDR_LEN;
				}
				k += 2 + len;
			}
			memmove(b.in, b.in + k, b.in_len - k);
			b.in_len -= k;
		}
		if (w < 0 && errno == EAGAIN) {
			struct pollfd p[2] = { { a.fd, POLLOUT, 0 }, { b.fd, POLLIN, 0 } };
			poll(p, 2, 5);
		}
	}
	close(a.fd);
	close(b.fd);
	return mbit_s(got, first, last);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "introducer", 1, NULL, 'i' }, { "introducer-key", 1, NULL, 'k' }, { "join-secret", 1, NULL, 'j' },
		{ "from", 1, NULL, 'f' },       { "agents", 1, NULL, 'n' },         { "peers", 1, NULL, 'p' },
		{ "keepalive-s", 1, NULL, 'K' }, { "relay-s", 1, NULL, 'R' },       { "pid", 1, NULL, 'P' },
		{ "json", 1, NULL, 'J' },       { "help", 0, NULL, 'h' },           { "full", 0, NULL, 'F' },
		{ 0 }
	};
	bool have_intro = false, have_key = false, have_join = false;
	uint64_t list_bytes = 0;
	long rss0, rss1;
	double cpu0, cpu1, cpu2, cpu3, t_first, t_again, mbit = 0, mbit_tcp = 0;
	int c;

	L.keepalive_s = 20;
	L.relay_s = 5;
	L.on_demand = true;
	if (sodium_init() < 0)
		return 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (wg_endpoint_parse(optarg, &L.intro))
				die("--introducer: not ADDR:PORT: %s", optarg);
			have_intro = true;
			break;
		case 'k':
			if (key_parse(optarg, L.intro_pub))
				die("--introducer-key: not a key: %s", optarg);
			mesh_cookie_key(L.cookie_key, L.intro_pub);
			have_key = true;
			break;
		case 'j':
			mesh_join_hash(optarg, L.join);
			have_join = true;
			break;
		case 'f':
			parse_from(optarg);
			break;
		case 'n':
			L.n = atoi(optarg);
			break;
		case 'p':
			if (strcmp(optarg, "all") && strcmp(optarg, "on-demand"))
				die("--peers: all or on-demand, not %s", optarg);
			L.on_demand = !strcmp(optarg, "on-demand");
			break;
		case 'K':
			L.keepalive_s = atoi(optarg);
			break;
		case 'R':
			L.relay_s = atoi(optarg);
			break;
		case 'P':
			L.pid = atoi(optarg);
			break;
		case 'J':
			L.json = optarg;
			break;
		case 'F':
			L.full = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!have_intro || !have_key || !have_join || !L.n_from || L.n < 2 || L.n > 1000000) {
		usage(stderr);
		fputs("introducer-load: --introducer, --introducer-key, --join-secret, --from and --agents (2 or more) "
		      "are needed\n",
		      stderr);
		return 2;
	}
	open_agents();
	seal_all();
	rss0 = rss_bytes();
	cpu0 = cpu_s();
	t_first = register_all(true, &list_bytes);
	cpu1 = cpu_s();
	rss1 = rss_bytes();
	fprintf(stderr, "introducer-load: %d agents registered in %.2f s (%.0f a second)\n", L.n, t_first, L.n / t_first);
	seal_all();
	t_again = register_all(false, &list_bytes);
	cpu2 = cpu_s();
	fprintf(stderr, "introducer-load: %d registered again in %.2f s (%.0f a second)\n", L.n, t_again, L.n / t_again);
	keepalive();
	cpu3 = cpu_s();
	if (L.relay_s > 0) {
		mbit = relay();
		mbit_tcp = relay_tcp();
	}
	fprintf(stderr, "introducer-load: relay %.0f Mbit/s over UDP, %.0f over TCP; %ld bytes a member; keepalive CPU %.1f %%\n",
		mbit, mbit_tcp,
		L.pid ? (rss1 - rss0) / L.n : 0L, L.keepalive_s ? 100 * (cpu3 - cpu2) / L.keepalive_s : 0);
	if (L.json) {
		FILE *f = fopen(L.json, "w");
		if (!f)
			die("cannot write %s", L.json);
		fprintf(f,
			"{\"agents\":%d,\"sources\":%d,\"peers\":\"%s\",\"registrations\":\"%s\",\"first_registrations_per_s\":%.1f,"
			"\"first_registrations_s\":%.3f,\"introducer_cpu_first_s\":%.3f,"
			"\"reregistrations_per_s\":%.1f,\"introducer_cpu_again_s\":%.3f,\"list_bytes_received\":%llu,"
			"\"rss_bytes_before\":%ld,\"rss_bytes_after\":%ld,\"rss_bytes_per_agent\":%.1f,"
			"\"keepalive_s\":%d,\"keepalive_cpu_percent\":%.2f,\"relay_udp_mbit_s\":%.1f,\"relay_tcp_mbit_s\":%.1f}\n",
			L.n, L.n_from, L.on_demand ? "on-demand" : "all", L.full ? "full" : "session", L.n / t_first, t_first, cpu1 - cpu0, L.n / t_again,
			cpu2 - cpu1, (unsigned long long)list_bytes, rss0, rss1, L.pid ? (double)(rss1 - rss0) / L.n : 0.0,
			L.keepalive_s, L.keepalive_s ? 100 * (cpu3 - cpu2) / L.keepalive_s : 0, mbit, mbit_tcp);
		fclose(f);
	}
	return 0;
}
