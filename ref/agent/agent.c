/* The agent's core: its one UDP socket (WireGuard, discovery and punching
 * alike), the introducer (UDP, or TCP where UDP is blocked), the relay,
 * and what arrives. Everything goes out through a->io. */
#include "agent.h"
#include "../mesh/pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REGISTER_RETRY_MS 1000
#define TCP_FALLBACK_MS 3000       /* no UDP answer this long: try TCP */
#define SILENCE_MS 5000            /* connected over TCP, no answer this long: say why it may be */
#define TTL_SWEEP 8
#define PEER_EXPIRE_MS (2 * MESH_LIST_REFRESH_MS + 30000)   /* not listed for two refreshes and more: 150 s */
/* Records of one peer further apart than this in the introducer's counter
 * are not a reordering but another introducer process (a clock behind). */
#define RECORD_REORDER_NS (2ULL << 32)

void agent_log(struct agent *a, const char *fmt, ...)
{
	va_list ap;
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	/* Wall time, to set beside other logs (UTC: the same everywhere). */
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "punchlab-agent %s [%s.%03ldZ]: ", a->conf.interface, stamp, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *agent_rtt_str(double ms)
{
	static char buf[4][24];
	static int k;

	/* Pings carry millisecond stamps: below one, say so. */
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), ms < 1 ? "under 1 ms" : "%.0f ms", ms);
	return buf[k];
}

const char *agent_ep_str(const struct wg_endpoint *ep)
{
	static char buf[4][64];
	static int k;

	k = (k + 1) % 4;
	wg_endpoint_format(ep, buf[k], sizeof(buf[k]));
	return buf[k];
}

static struct agent_peer *peer_by_wg(struct agent *a, const struct wg_peer *wp)
{
	for (int i = 0; i < AGENT_MAX_PEERS; i++)
		if (a->peers[i].used && a->peers[i].wg == wp)
			return &a->peers[i];
	return NULL;
}

/* A peer is gone: its sockets, its WireGuard peer, its keys. */
static void peer_drop(struct agent *a, struct agent_peer *p, const char *why)
{
	agent_log(a, "peer %s %s", p->rec.name, why);
	punch_close_birthday(a, p, -1);
	wg_peer_remove(a->dev, p->wg);
	sodium_memzero(p->shared, 32);
	p->used = false;
}

static struct agent_peer *peer_by_key(struct agent *a, const uint8_t *key)
{
	for (int i = 0; i < AGENT_MAX_PEERS; i++)
		if (a->peers[i].used && !memcmp(a->peers[i].rec.key, key, WG_KEY_LEN))
			return &a->peers[i];
	return NULL;
}

static struct agent_peer *peer_by_id(struct agent *a, uint32_t id)
{
	for (int i = 0; i < AGENT_MAX_PEERS; i++)
		if (a->peers[i].used && a->peers[i].rec.id == id)
			return &a->peers[i];
	return NULL;
}

static int out(struct agent *a, int sock, const uint8_t *buf, size_t len, const struct wg_endpoint *ep, int ttl)
{
	return a->io.send(a->io.ctx, sock, buf, len, ep, ttl);
}

static uint64_t real_ns(struct agent *a)
{
	return a->io.real_ns(a->io.ctx);
}

static void tcp_close(struct agent *a)
{
	if (a->tcp)
		a->io.tcp_close(a->io.ctx);
	a->tcp = false;
	a->tcp_up = false;
	a->tcp_in.len = 0;
}

/* A datagram for the introducer: UDP to its first address, or the TCP
 * connection when UDP does not get through; on an IPv6-only host, its
 * IPv6 address. */
static int to_introducer(struct agent *a, const uint8_t *buf, size_t len)
{
	if (agent_ipv6_only(a))
		return out(a, a->udp, buf, len, &a->conf.introducer6, 0);
	if (a->tcp_up) {
		int ret = a->io.tcp_write(a->io.ctx, buf, len);
		if (ret == -EPIPE) {
			agent_log(a, "writing to the introducer over TCP failed; connecting again in 1 s");
			tcp_close(a);
			a->tcp_next_ms = a->now + 1000;
		}
		return ret;
	}
	return out(a, a->udp, buf, len, &a->conf.introducer[0], 0);
}

/* Seal m (sender, counter and session set here) for peer p, or for the
 * introducer (NULL): as a session message while the introducer answers
 * our session REGISTERs; when no REGISTERED came within
 * SESSION_ANSWER_MS of the first one since the last (it restarted, or
 * took us out), in full, which any introducer process reads, until one
 * comes. A REGISTER with a proof goes in full: the proof may be a new
 * introducer process's. */
#define SESSION_ANSWER_MS 2000
static int seal(struct agent *a, struct agent_peer *p, struct mesh_msg *m, uint8_t *out, size_t cap)
{
	memcpy(m->sender, a->pub, WG_KEY_LEN);
	m->counter = mesh_counter_next(&a->counter, real_ns(a));
	m->session = p ? 0 : a->session;
	if (!p && a->has_sid && !(m->type == MESH_REGISTER && m->u.reg.has_proof) &&
	    (!a->session_asked_ms || a->now - a->session_asked_ms < SESSION_ANSWER_MS)) {
		if (!a->session_asked_ms && m->type == MESH_REGISTER)
			a->session_asked_ms = a->now ? a->now : 1;
		return mesh_session_seal(m, a->sid, a->intro_keys.to_introducer, out, cap);
	}
	return mesh_seal(m, p ? p->rec.key : a->conf.introducer_key, p ? p->shared : a->intro_shared, out, cap);
}

int agent_send_control(struct agent *a, struct agent_peer *p, struct mesh_msg *m, int fd, const struct wg_endpoint *ep,
		       int ttl)
{
	static uint8_t sealed[MESH_MAX_PROBE];
	int n = seal(a, p, m, sealed, sizeof(sealed));

	if (n < 0)
		return n;
	if (!ep)
		return to_introducer(a, sealed, (size_t)n);
	return out(a, fd, sealed, (size_t)n, ep, ttl);
}

int agent_send_to_introducer(struct agent *a, struct mesh_msg *m)
{
	return agent_send_control(a, NULL, m, -1, NULL, 0);
}

struct piece_ctx {
	struct agent *a;
	struct agent_peer *p;
};

static int send_piece(void *ctx, const uint8_t *frag, size_t n)
{
	struct piece_ctx *c = ctx;

	return out(c->a, c->p->direct_fd, frag, n, &c->p->direct_ep, 0);
}

/* WireGuard's way out: the direct path when there is one, else the relay. */
static int send_cb(void *ctx, struct wg_peer *wp, const struct wg_endpoint *ep, const uint8_t *buf, size_t len)
{
	struct agent *a = ctx;
	struct agent_peer *p = peer_by_wg(a, wp);
	static uint8_t frame[MESH_RELAY_HDR_LEN + WG_MAX_PACKET + 64];
	int n;

	if (!p) {
		/* No peer: a cookie reply under load (WireGuard paper 5.4.7). It
		 * goes back the way the initiation came: through the relay to the
		 * member that sent it, or to the address it came from, on the
		 * socket it came in on (issue 13 #5). */
		if (a->reply_relay_id) {
			if (!a->registered)
				return -ENOTCONN;
			n = mesh_relay_build(frame, sizeof(frame), a->token, a->reply_relay_id, buf, len);
			if (n < 0)
				return n;
			a->relayed_out++;
			return to_introducer(a, frame, (size_t)n);
		}
		if (ep && ep->addr.ss_family)
			return out(a, a->reply_sock >= 0 ? a->reply_sock : a->udp, buf, len, ep, 0);
		return -ENOENT;
	}
	/* Roaming, as WireGuard does it: the device moves a peer's endpoint
	 * only on authenticated packets that came directly (never relayed
	 * ones); when the peer's NAT gave it a new mapping, follow at once. */
	if (ep && ep->addr.ss_family && !wg_endpoint_equal(ep, &p->dev_ep_seen)) {
		/* A newer authenticated packet than when we last looked. */
		p->dev_ep_seen = *ep;
		if (p->direct && p->direct_fd == a->udp && !wg_endpoint_equal(ep, &p->direct_ep)) {
			agent_log(a, "peer %s: roams from %s to %s", p->rec.name, agent_ep_str(&p->direct_ep), agent_ep_str(ep));
			p->direct_ep = *ep;
		}
	}
	if (p->direct && len > MESH_FRAG_SAFE && len > p->pmtu_ok) {
		/* Larger than the path has been seen to carry: in pieces that
		 * pass any path (a black hole drops it whole, and says nothing). */
		struct piece_ctx c = { a, p };
		a->frags_out++;
		n = mesh_frag_split(buf, len, randombytes_random(), send_piece, &c);
		return n < 0 ? n : (int)len;
	}
	if (p->direct)
		return out(a, p->direct_fd, buf, len, &p->direct_ep, 0);
	if (!a->registered)
		return -ENOTCONN;
	n = mesh_relay_build(frame, sizeof(frame), a->token, p->rec.id, buf, len);
	if (n < 0)
		return n;
	a->relayed_out++;
	return to_introducer(a, frame, (size_t)n);
}

static void deliver_cb(void *ctx, struct wg_peer *wp, const uint8_t *pkt, size_t len)
{
	struct agent *a = ctx;

	(void)wp;
	a->io.deliver(a->io.ctx, pkt, len);
}

bool agent_in_mesh(const struct agent *a, const struct wg_endpoint *ep)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ep->addr;
	uint32_t mask;

	if (ep->addr.ss_family == AF_INET6) {
		const uint8_t *x = ((const struct sockaddr_in6 *)&ep->addr)->sin6_addr.s6_addr;
		int bits = a->plen6;
		if (!bits)
			return false;
		for (int i = 0; i < 16 && bits > 0; i++, bits -= 8) {
			uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
			if ((x[i] ^ a->mesh6[i]) & m)
				return false;
		}
		return true;
	}
	if (!a->plen4 || ep->addr.ss_family != AF_INET)
		return false;
	mask = a->plen4 >= 32 ? 0xffffffffu : ~(0xffffffffu >> a->plen4);
	return ((ntohl(sin->sin_addr.s_addr) ^ ntohl(a->mesh4)) & mask) == 0;
}

/* An IPv6 address of our own among the local candidates. */
static bool local_ipv6(const struct agent *a)
{
	for (int i = 0; i < a->n_locals; i++)
		if (a->locals[i].addr.ss_family == AF_INET6)
			return true;
	return false;
}

bool agent_has_ipv6(const struct agent *a)
{
	return a->seen6.addr.ss_family == AF_INET6 || local_ipv6(a);
}

bool agent_ipv6_only(const struct agent *a)
{
	for (int i = 0; i < a->n_locals; i++)
		if (a->locals[i].addr.ss_family == AF_INET)
			return false;
	return local_ipv6(a) && a->conf.introducer6.addr.ss_family == AF_INET6;
}

/* Local candidates: this host's own addresses (the io says which), with
 * our port (peers on the same LAN meet there without the NAT). Never one
 * inside the mesh: another agent's tunnel address on this host would make
 * a "direct" path through the mesh itself (issue 13 #15). */
static void gather_locals(struct agent *a)
{
	struct wg_endpoint found[MESH_MAX_CANDS];
	int n = a->io.local_addresses(a->io.ctx, found, MESH_MAX_CANDS);

	a->n_locals = 0;
	for (int i = 0; i < n && i < MESH_MAX_CANDS; i++) {
		if (agent_in_mesh(a, &found[i]))
			continue;
		a->locals[a->n_locals] = found[i];
		((struct sockaddr_in *)&a->locals[a->n_locals].addr)->sin_port = htons(a->port);
		a->n_locals++;
	}
	memset(a->locals + a->n_locals, 0, sizeof(a->locals[0]) * (size_t)(MESH_MAX_CANDS - a->n_locals));
}

/* A cookie is used this long after it came (the introducer takes it for
 * two to four minutes). */
#define COOKIE_KEEP_MS 110000

/* Is which one of the introducer's UDP addresses (0, 1, its IPv6 one)? */
static bool via_udp(int which)
{
	return which == 0 || which == 1 || which == MESH_VIA_UDP6;
}

static void send_register(struct agent *a, int which, int ttl)
{
	struct mesh_msg m = { .type = MESH_REGISTER };
	uint8_t sealed[MESH_MAX_MSG + MESH_COOKIED_OVERHEAD];
	bool cookie = via_udp(which) && a->cookie_ms[which] &&
		      a->now - a->cookie_ms[which] < COOKIE_KEEP_MS;
	int n;

	m.u.reg.has_join = a->conf.has_join;
	memcpy(m.u.reg.join, a->conf.join, 32);
	m.u.reg.on_demand = a->conf.peers_on_demand;
	if (which != MESH_VIA_TCP && which < MESH_VIAS && a->has_proof[which]) {
		m.u.reg.has_proof = true;
		memcpy(m.u.reg.proof, a->proof[which], MESH_PROOF_LEN);
	}
	/* A cookie of that address's proves ours as a PROVE's proof does, in
	 * the sealed body too (bound to our key: no one else proves their
	 * address with our REGISTER). */
	if (cookie) {
		m.u.reg.has_proof = true;
		memcpy(m.u.reg.proof, a->cookie[which], MESH_PROOF_LEN);
	}
	snprintf(m.u.reg.name, sizeof(m.u.reg.name), "%s", a->conf.name);
	m.u.reg.ttl = (uint8_t)(ttl ? ttl : 64);
	m.u.reg.n_cands = (uint8_t)a->n_locals;
	memcpy(m.u.reg.cands, a->locals, sizeof(a->locals));
	if (portmap_offered(a, NULL, 0)) {
		m.u.reg.mapped = a->pmap.got.ext;
		m.u.reg.mapped_by = (uint8_t)a->pmap.got.by;
	}
	if ((n = seal(a, NULL, &m, sealed, MESH_MAX_MSG)) < 0)
		return;
	if (via_udp(which) && sealed[3] != MESH_SESSION) {
		/* A COOKIE that answers it names its mac1. */
		int *k = &a->reg_mac1_next[which];
		memcpy(a->reg_mac1[which][*k], sealed + n - MESH_MAC1_LEN, MESH_MAC1_LEN);
		*k = (*k + 1) % AGENT_COOKIE_ASKS;
	}
	/* And around it (mac2), so it is heard when the introducer is busy. */
	if (cookie && sealed[3] != MESH_SESSION &&
	    (n = mesh_cookied_wrap(sealed, sizeof(sealed), sealed, (size_t)n, a->cookie[which])) < 0)
		return;
	if ((which == 0 || which == 1 || (which == MESH_VIA_UDP6 && agent_ipv6_only(a))) && !ttl) {
		/* Its answer gives the RTT to the introducer, unless an earlier
		 * one is still unanswered: which one the answer is for is not
		 * known then (Karn's rule), and no sample is taken. */
		int k = m.u.reg.has_proof;
		a->reg_ambiguous[which][k] = a->reg_sent_ms[which][k] != 0;
		a->reg_sent_ms[which][k] = a->now ? a->now : 1;
	}
	if (which == MESH_VIA_TCP)
		to_introducer(a, sealed, (size_t)n);
	else if (which == MESH_VIA_UDP6)
		out(a, a->udp, sealed, (size_t)n, &a->conf.introducer6, ttl);
	else if (which < a->conf.n_introducer)
		out(a, a->udp, sealed, (size_t)n, &a->conf.introducer[which], ttl);
}

/* What we measured changed: what is expected toward every peer too. */
static void reassess_peers(struct agent *a)
{
	for (int i = 0; i < AGENT_MAX_PEERS; i++)
		if (a->peers[i].used)
			punch_reassess(a, &a->peers[i]);
}

void agent_remeasure(struct agent *a)
{
	struct mesh_nat_class old = a->nat;

	mesh_nat_classify(a->seen, a->locals, a->n_locals, a->tcp_up && !a->udp_reply_ms, &a->nat);
	a->nat.portmap = portmap_offered(a, NULL, 0) ? a->pmap.got.by : 0;
	if (memcmp(&old, &a->nat, sizeof(old))) {
		char d[80];
		agent_log(a, "network measured: %s (seen as %s / %s)", mesh_nat_describe(&a->nat, d, sizeof(d)),
			  agent_ep_str(&a->seen[0]), agent_ep_str(&a->seen[1]));
		reassess_peers(a);
	}
}

static int set_address(struct agent *a)
{
	return a->io.set_address(a->io.ctx, a->mesh4, a->plen4, a->mesh6, a->plen6);
}

/* A TTL (hop limit) that reached the introducer: the smallest is the
 * hops there (0: the answer did not say). */
static void note_hops(uint8_t *min, uint8_t ttl)
{
	if (ttl && (*min == 0 || ttl < *min))
		*min = ttl;
}

/* Which of the introducer's addresses from is (0, 1, MESH_VIA_UDP6), or
 * -1: none of them. */
static int introducer_via(const struct agent *a, const struct wg_endpoint *from)
{
	for (int i = 0; i < a->conf.n_introducer; i++)
		if (wg_endpoint_equal(from, &a->conf.introducer[i]))
			return i;
	if (a->conf.introducer6.addr.ss_family && wg_endpoint_equal(from, &a->conf.introducer6))
		return MESH_VIA_UDP6;
	return -1;
}

/* An answer (a PROVE, or REGISTERED) from introducer address via to a
 * REGISTER sent with TTL ttl: a plain one's answer is an RTT sample (over
 * IPv6 for an IPv6-only host, which has no other). A PROVE answers one
 * without a proof; REGISTERED the latest of either kind. A first
 * contact's sweep is answered by PROVEs, and the first of them has us
 * send the proof at once: kept apart, the REGISTER without a proof still
 * gives a sample (issue 17: an IPv6-only host, with no second address,
 * had none, and its rounds waited the 300 ms of an RTT not measured). */
static void rtt_sample(struct agent *a, int via, uint8_t ttl, bool prove, uint64_t now)
{
	uint64_t *sent;
	int k;

	if (via < 0 || (via > 1 && !(via == MESH_VIA_UDP6 && agent_ipv6_only(a))) || ttl != 64)
		return;
	sent = a->reg_sent_ms[via];
	k = prove ? 0 : sent[1] >= sent[0];
	if (sent[k] && !a->reg_ambiguous[via][k] && now >= sent[k]) {
		/* ms stamps: the middle of the millisecond; smoothed as TCP does */
		double rtt = (double)(now - sent[k]) + 0.5;
		a->intro_rtt_ms = a->intro_rtt_ms > 0 ? 0.875 * a->intro_rtt_ms + 0.125 * rtt : rtt;
	}
	sent[k] = 0;
	if (!prove)
		sent[!k] = 0;   /* answered, or lost: no late sample from it */
}

static void register_ipv6(struct agent *a);

static void on_registered(struct agent *a, const struct mesh_msg *m, bool via_tcp, uint64_t now)
{
	const int via = m->u.regd.via;

	/* Registered there: that address of ours is proven, and what we send
	 * there goes as session messages again (a proof or a cookie in a
	 * REGISTER keeps it in full: three X25519s for the introducer). */
	if (!via_tcp && via_udp(via)) {
		a->has_proof[via] = false;
		a->cookie_ms[via] = 0;
	}

	/* Our session's keys: what we send from now on goes under them. */
	if (!a->has_sid || memcmp(a->sid, m->u.regd.sid, MESH_SID_LEN)) {
		memcpy(a->sid, m->u.regd.sid, MESH_SID_LEN);
		mesh_session_keys(m->u.regd.secret, a->intro_shared, &a->intro_keys);
		a->has_sid = true;
	}

	if (!a->registered || memcmp(a->token, m->u.regd.token, MESH_TOKEN_LEN) || a->mesh4 != m->u.regd.mesh4) {
		char buf[16];
		a->mesh4 = m->u.regd.mesh4;
		a->plen4 = m->u.regd.plen4;
		memcpy(a->mesh6, m->u.regd.mesh6, 16);
		a->plen6 = m->u.regd.plen6;
		memcpy(a->token, m->u.regd.token, MESH_TOKEN_LEN);
		a->id = m->u.regd.id;
		/* Another introducer process: its counters are its own. */
		for (int i = 0; i < AGENT_MAX_PEERS; i++)
			a->peers[i].rec_counter = 0;
		agent_log(a, "registered as id %u, mesh address %s/%u%s", a->id, inet_ntop(AF_INET, &a->mesh4, buf, sizeof(buf)),
			  a->plen4, via_tcp ? " (over TCP)" : "");
		if (!a->addr_set && set_address(a) == 0)
			a->addr_set = true;
	}
	if (!a->registered_at_ms)
		a->registered_at_ms = now ? now : 1;
	if (!a->registered && !agent_ipv6_only(a) && (via_tcp || via != MESH_VIA_UDP6)) {
		/* A dual-stack host's IPv6 registration follows its first
		 * over IPv4 at once, not at the next retry a second later:
		 * until the introducer has seen it there, it has no IPv6
		 * candidate a translated peer can reach (issue 17: two
		 * IPv6 pairs direct 1.05 s late). */
		a->registered = true;
		register_ipv6(a);
	}
	a->registered = true;
	a->refused = false;
	if (m->u.regd.name[0])
		snprintf(a->conf.name, sizeof(a->conf.name), "%s", m->u.regd.name);
	if (!via_tcp && via == MESH_VIA_UDP6) {
		/* Where we are seen from over IPv6: our IPv6 candidate for
		 * peers, through whatever NAT66 or prefix translation is on
		 * the way. */
		if (m->u.regd.seen.addr.ss_family != AF_INET6)
			return;
		a->seen6_ms = now;
		if (agent_ipv6_only(a))
			a->udp_reply_ms = now;   /* our only way to the introducer answers */
		note_hops(&a->min_ttl6, m->u.regd.ttl);
		rtt_sample(a, via, m->u.regd.ttl, false, now);
		if (!wg_endpoint_equal(&a->seen6, &m->u.regd.seen)) {
			agent_log(a, "seen over IPv6 as %s%s", agent_ep_str(&m->u.regd.seen),
				  a->seen6.addr.ss_family ? " (it changed)" : "");
			a->seen6 = m->u.regd.seen;
			reassess_peers(a);
		}
		return;
	}
	if (via_tcp || via > 1) {
		if (!a->udp_reply_ms)
			agent_remeasure(a); /* registered over TCP, never over UDP: UDP is blocked */
		return;
	}
	a->udp_reply_ms = now;
	note_hops(&a->min_ttl, m->u.regd.ttl);
	rtt_sample(a, via, m->u.regd.ttl, false, now);
	if (!wg_endpoint_equal(&a->seen[via], &m->u.regd.seen) && a->seen[via].addr.ss_family)
		agent_log(a, "seen from introducer address %d as %s (was %s): the network changed", via,
			  agent_ep_str(&m->u.regd.seen), agent_ep_str(&a->seen[via]));
	a->seen[via] = m->u.regd.seen;
	a->seen_ms[via] = now;
	if (a->tcp) {
		agent_log(a, "UDP reaches the introducer again: leaving TCP");
		tcp_close(a);
	}
	agent_remeasure(a);
}

/* A member's record from the introducer (PEER, or in a PUNCH), sent with
 * counter: UDP may reorder two of them, and an older record must not
 * replace a newer one (the later one may be the last for a minute: the
 * whole list is sent again only every minute). */
static void on_peer(struct agent *a, const struct mesh_peer_rec *r, uint64_t counter, uint64_t now)
{
	struct agent_peer *p = peer_by_key(a, r->key);
	bool seen_changed, mapped_changed;

	if (!memcmp(r->key, a->pub, WG_KEY_LEN))
		return;
	if (!p) {
		for (int i = 0; i < AGENT_MAX_PEERS && !p; i++)
			if (!a->peers[i].used)
				p = &a->peers[i];
		if (!p)
			return;
		memset(p, 0, sizeof(*p));
		if (mesh_shared_key(p->shared, r->key, a->conf.private_key))
			return;
		p->wg = wg_peer_add(a->dev, r->key);
		if (!p->wg)
			return;
		p->used = true;
		p->rec = *r;
		mesh_replay_init(&p->replay);
		wg_peer_add_allowed_ip(a->dev, p->wg, 4, (const uint8_t *)&r->mesh4, 32);
		wg_peer_add_allowed_ip(a->dev, p->wg, 6, r->mesh6, 128);
		p->next_connect_ms = now + 200;
		p->connect_soon = true;
		agent_log(a, "peer %s joined (id %u)", r->name, r->id);
		punch_reassess(a, p);
	}
	p->last_heard_ms = now;
	if (counter < p->rec_counter && p->rec_counter - counter < RECORD_REORDER_NS)
		return;
	p->rec_counter = counter;
	/* what the peer measured, or a port its router mapped, changed: what
	 * is expected changes with it */
	seen_changed = memcmp(p->rec.seen, r->seen, sizeof(r->seen)) || p->rec.tcp_only != r->tcp_only;
	/* (or its IPv6: where it is seen from over it, its own addresses) */
	mapped_changed = !wg_endpoint_equal(&p->rec.mapped, &r->mapped) || p->rec.mapped_by != r->mapped_by ||
			 !wg_endpoint_equal(&p->rec.seen6, &r->seen6) || p->rec.n_cands != r->n_cands ||
			 memcmp(p->rec.cands, r->cands, sizeof(r->cands[0]) * r->n_cands);
	if (p->rec.mesh4 != r->mesh4 || memcmp(p->rec.mesh6, r->mesh6, 16)) {
		wg_peer_clear_allowed_ips(a->dev, p->wg);
		wg_peer_add_allowed_ip(a->dev, p->wg, 4, (const uint8_t *)&r->mesh4, 32);
		wg_peer_add_allowed_ip(a->dev, p->wg, 6, r->mesh6, 128);
	}
	p->rec = *r;
	if (seen_changed) {
		punch_reassess(a, p);
	} else if (mapped_changed) {
		/* A mapping alone that comes and goes (a member gone bad can flip
		 * it every registration) does not cancel our backoff. */
		unsigned failures = p->failures;
		uint64_t until = p->backoff_until_ms;
		punch_reassess(a, p);
		p->failures = failures;
		p->backoff_until_ms = until;
	}
}

/* A sender whose counter we already hold (it restarted while we kept its
 * old stream, or its clock stepped back): say how far we hold, at most
 * once a second, and never in more bytes than the message we answer. */
static void send_resync(struct agent *a, struct agent_peer *p, size_t answered_len, int fd, const struct wg_endpoint *from,
			bool via_tcp, uint64_t now)
{
	struct mesh_replay *r = p ? &p->replay : &a->intro_replay;
	struct mesh_msg m = { .type = MESH_RESYNC };
	uint8_t sealed[MESH_MAX_MSG];
	int n;

	if (!mesh_replay_resync_due(r, now))
		return;
	m.u.resync.newest = mesh_replay_newest(r);
	memcpy(m.sender, a->pub, WG_KEY_LEN);
	m.counter = mesh_counter_next(&a->counter, real_ns(a));
	m.session = p ? 0 : a->session;
	n = mesh_seal(&m, p ? p->rec.key : a->conf.introducer_key, p ? p->shared : a->intro_shared, sealed,
		      sizeof(sealed));
	if (n < 0 || (size_t)n > answered_len)
		return;
	if (p && !via_tcp && fd >= 0) {
		out(a, fd, sealed, (size_t)n, from, 0);
		return;
	}
	to_introducer(a, sealed, (size_t)n);
	/* What the introducer said is lost: ask again once it has moved on. */
	a->reg_next_ms = now;
}

/* The introducer asks the address it saw us from to prove itself: keep
 * the proof for that introducer address and register again with it (at
 * most once a second each, whatever it asks). */
static void on_prove(struct agent *a, const struct mesh_msg *m, const struct wg_endpoint *from, bool via_tcp, uint64_t now)
{
	int v = via_tcp ? -1 : introducer_via(a, from);

	if (v < 0)
		return;
	memcpy(a->proof[v], m->u.prove.proof, MESH_PROOF_LEN);
	a->has_proof[v] = true;
	a->cookie_ms[v] = 0;   /* not busy, or our cookie did not prove us: the PROVE's proof does */
	/* The TTL sweep of a first contact is answered by PROVEs: the
	 * smallest TTL that got one is the hops to the introducer. */
	note_hops(v == MESH_VIA_UDP6 ? &a->min_ttl6 : &a->min_ttl, m->u.prove.ttl);
	rtt_sample(a, v, m->u.prove.ttl, true, now);
	if (a->proof_sent_ms[v] && now - a->proof_sent_ms[v] < 1000)
		return;
	a->proof_sent_ms[v] = now;
	send_register(a, v, 0);
}

/* The introducer is busy: it sent a cookie for our address instead of
 * reading our REGISTER. Keep it for that address of the introducer's
 * and register there again at once with it (at most once a second). It
 * names the mac1 of a REGISTER of ours: only who saw that one makes a
 * COOKIE we take. A bad cookie (one from before the introducer
 * restarted, or a forgery from the path) costs a round trip: the
 * introducer reads a REGISTER whose cookie does not check as one
 * without, answering with a PROVE (which ends our use of the cookie) or,
 * busy, with a real one. */
static void on_cookie(struct agent *a, const uint8_t *buf, size_t len, const struct wg_endpoint *from, bool via_tcp,
		      uint64_t now)
{
	int v = via_tcp ? -1 : introducer_via(a, from);
	uint8_t key[32], cookie[MESH_COOKIE_LEN];
	int ret;

	if (v < 0) {
		a->dropped_control++;
		return;
	}
	mesh_cookie_key(key, a->conf.introducer_key);
	/* It answers one of our last REGISTERs there. */
	ret = -EBADMSG;
	for (int i = 0; i < AGENT_COOKIE_ASKS && ret; i++)
		ret = mesh_cookie_open(buf, len, key, a->reg_mac1[v][i], cookie);
	sodium_memzero(key, sizeof(key));
	if (ret) {
		a->dropped_control++;   /* and the cookie we hold stays */
		return;
	}
	memcpy(a->cookie[v], cookie, MESH_COOKIE_LEN);
	a->cookie_ms[v] = now ? now : 1;
	if (a->cookie_sent_ms[v] && now - a->cookie_sent_ms[v] < 1000)
		return;
	a->cookie_sent_ms[v] = now ? now : 1;
	send_register(a, v, 0);
}

/* The X25519 that opens a control message: from the introducer's
 * addresses (or its TCP connection), at most AGENT_INTRO_X25519_BURST at
 * once (a whole member list, which comes in a burst) and
 * AGENT_INTRO_X25519_PER_S a second; from anywhere else at most
 * AGENT_X25519_BURST at once and AGENT_X25519_PER_S a second in all, and
 * from one source address a share of that. A flood by someone who knows
 * our key, or from many spoofed sources, costs a bounded share of a core. */
#define AGENT_INTRO_X25519_BURST 2100
#define AGENT_INTRO_X25519_PER_S 1000
#define AGENT_X25519_BURST 400
#define AGENT_X25519_PER_S 200
#define AGENT_X25519_SOURCE_BURST 64
#define AGENT_X25519_SOURCE_PER_S 32

static bool x25519_allowed(struct agent *a, const struct wg_endpoint *from, bool via_tcp, uint64_t now)
{
	struct bucket *src;
	uint8_t key[16];

	if (via_tcp || introducer_via(a, from) >= 0) {
		if (bucket_take(&a->x25519_intro, AGENT_INTRO_X25519_BURST, AGENT_INTRO_X25519_PER_S, now))
			return true;
		a->x25519_limited++;
		return false;
	}
	bucket_fill(&a->x25519, AGENT_X25519_BURST, AGENT_X25519_PER_S, now);
	bucket_addr_sockaddr(&from->addr.sa, key);
	src = bucket_for(a->x25519_src, 64, key, AGENT_X25519_SOURCE_BURST, AGENT_X25519_SOURCE_PER_S, now);
	if (!bucket_take_both(&a->x25519, src)) {
		a->x25519_limited++;
		return false;
	}
	return true;
}

static void handle(struct agent *a, struct agent_peer *p, struct mesh_msg *m, size_t len, int fd,
		   const struct wg_endpoint *from, bool via_tcp, uint64_t now);

/* A session message from the introducer: its sid must be our session's,
 * its key opens it (no X25519); then as any message of the introducer's. */
static void on_session(struct agent *a, const uint8_t *buf, size_t len, int fd, const struct wg_endpoint *from,
		       bool via_tcp, uint64_t now)
{
	const uint8_t *sid;
	struct mesh_msg m;
	char why[160];

	if (!a->has_sid || (!via_tcp && introducer_via(a, from) < 0) || mesh_session_sid(buf, len, &sid) ||
	    sodium_memcmp(sid, a->sid, MESH_SID_LEN) ||
	    mesh_session_open(buf, len, a->intro_keys.to_agent, &m, why, sizeof(why))) {
		a->dropped_control++;
		return;
	}
	memcpy(m.sender, a->conf.introducer_key, WG_KEY_LEN);
	handle(a, NULL, &m, len, fd, from, via_tcp, now);
	sodium_memzero(&m, sizeof(m));   /* a REGISTERED's secret */
}

/* A control message (sealed) from the introducer or a peer. */
static void on_control(struct agent *a, const uint8_t *buf, size_t len, int fd, const struct wg_endpoint *from,
		       bool via_tcp, uint64_t now)
{
	uint8_t type;
	struct mesh_env env;
	struct mesh_msg m;
	struct agent_peer *p = NULL;
	char why[160];
	int ret;

	if ((ret = mesh_check(buf, len, a->mac1_key, &type))) {
		a->dropped_control++;
		/* Another version of the protocol: say so, once a minute. */
		if (ret == -EPROTO && (!a->version_log_ms || now - a->version_log_ms >= 60000)) {
			a->version_log_ms = now;
			agent_log(a, "a message of mesh protocol version %u from %s; we speak %d: update the older side",
				  buf[2], via_tcp ? "the introducer (TCP)" : agent_ep_str(from), MESH_VERSION);
		}
		return;
	}
	/* Only someone who knows our key gets this far (or a copy of what
	 * was sent to us): one X25519 says who sent it, within budget. */
	if (mesh_recent_copy(&a->recent, buf + len - MESH_MAC1_LEN, now) || !x25519_allowed(a, from, via_tcp, now) ||
	    mesh_unwrap(buf, len, a->conf.private_key, a->pub, &env)) {
		a->dropped_control++;
		return;
	}
	if (!memcmp(env.sender, a->conf.introducer_key, WG_KEY_LEN))
		ret = mesh_open(buf, len, &env, a->intro_shared, &m, why, sizeof(why));
	else if ((p = peer_by_key(a, env.sender)))
		ret = mesh_open(buf, len, &env, p->shared, &m, why, sizeof(why));
	else
		ret = -ENOENT;
	sodium_memzero(&env, sizeof(env));
	if (ret) {
		a->dropped_control++;
		return;
	}
	handle(a, p, &m, len, fd, from, via_tcp, now);
	sodium_memzero(&m, sizeof(m));   /* a REGISTERED's secret */
}

/* An opened control message from peer p, or from the introducer (NULL). */
static void handle(struct agent *a, struct agent_peer *p, struct mesh_msg *m, size_t len, int fd,
		   const struct wg_endpoint *from, bool via_tcp, uint64_t now)
{
	/* The same rules for the introducer as for peers: sent within the
	 * skew, and each counter once. */
	if (!mesh_counter_fresh(m->counter, real_ns(a), MESH_COUNTER_SKEW_S)) {
		a->dropped_control++;
		return;
	}
	/* The introducer speaks to this process only: what it said to an
	 * earlier one (captured, and replayed to us after a restart) names
	 * another session. */
	if (!p && m->session != a->session) {
		a->dropped_control++;
		return;
	}
	if (m->type == MESH_RESYNC) {
		/* Outside the replay window on purpose: it only ever moves our
		 * counter forward, so a replayed one changes nothing. */
		if (mesh_counter_resync(&a->counter, m->u.resync.newest, real_ns(a)))
			agent_log(a, "%s holds newer counters of ours (we restarted, or the clock stepped back): continuing above them",
				  p ? p->rec.name : "the introducer");
		return;
	}
	if (!mesh_replay_check(p ? &p->replay : &a->intro_replay, m->counter)) {
		a->dropped_control++;
		if (!mesh_replay_holds(p ? &p->replay : &a->intro_replay, m->counter))
			send_resync(a, p, len, fd, from, via_tcp, now);
		return;
	}
	if (!p) {
		a->intro_heard_ms = now;
		if (m->type == MESH_REGISTERED) {
			a->session_asked_ms = 0;
			a->session_fell_back = false;
		}
	}
	if (!p) {
		switch (m->type) {
		case MESH_REGISTERED:
			on_registered(a, m, via_tcp, now);
			break;
		case MESH_PEER:
			on_peer(a, &m->u.peer, m->counter, now);
			break;
		case MESH_PUNCH: {
			struct agent_peer *q;
			on_peer(a, &m->u.punch.peer, m->counter, now);
			if ((q = peer_by_key(a, m->u.punch.peer.key)))
				punch_start(a, q, m->u.punch.round);
			break;
		}
		case MESH_REFUSED:
			if (!a->refused)
				agent_log(a, "the introducer refused us: %s",
					  m->u.refused.reason == MESH_REFUSED_NOT_MEMBER
						  ? "not a member (add our public key to its allowlist, or set join-secret)"
						  : "no mesh address left in its pool");
			a->refused = true;
			a->registered = false;
			break;
		case MESH_PROVE:
			on_prove(a, m, from, via_tcp, now);
			break;
		case MESH_GONE: {
			/* At once, not after PEER_EXPIRE_MS of silence. */
			struct agent_peer *q = peer_by_key(a, m->u.gone.key);
			if (q && q->rec.id == m->u.gone.id)
				peer_drop(a, q, "left the mesh (the introducer says so)");
			break;
		}
		default:
			a->dropped_control++;
		}
		return;
	}
	if (m->type == MESH_PING) {
		m->u.ping.size = (uint16_t)len;   /* as it came: the pong says so (path MTU probes) */
		punch_on_ping(a, p, m, fd, from);
	} else if (m->type == MESH_PONG)
		punch_on_pong(a, p, m, fd, from);
	else
		a->dropped_control++;
}

/* Is from, on socket fd, where a peer's direct path goes? */
static bool peer_on_path(const struct agent *a, int fd, const struct wg_endpoint *from)
{
	for (int i = 0; i < AGENT_MAX_PEERS; i++)
		if (a->peers[i].used && a->peers[i].direct && a->peers[i].direct_fd == fd &&
		    wg_endpoint_equal(&a->peers[i].direct_ep, from))
			return true;
	return false;
}

/* A datagram on one of our UDP sockets (or a frame from TCP). */
static void on_datagram(struct agent *a, uint8_t *buf, size_t len, int fd, const struct wg_endpoint *from, bool via_tcp,
			uint64_t now)
{
	if (wg_is_message(buf, len)) {
		a->reply_sock = fd;
		wg_device_receive(a->dev, buf, len, from, false, now);
		a->reply_sock = -1;
		return;
	}
	if (!mesh_is_message(buf, len)) {
		a->dropped_control++;
		return;
	}
	if (buf[3] == MESH_RELAYED) {
		const uint8_t *pkt;
		size_t plen;
		uint32_t src;
		static uint8_t copy[WG_MAX_PACKET + 64];
		/* Only from the introducer, whose relay the keys below prove. */
		if (!via_tcp && introducer_via(a, from) < 0)
			return;
		if (mesh_relayed_parse(buf, len, &src, &pkt, &plen) || !peer_by_id(a, src) || plen > sizeof(copy))
			return;
		memcpy(copy, pkt, plen);
		a->relayed_in++;
		a->reply_relay_id = src;
		wg_device_receive(a->dev, copy, plen, from, true, now);
		a->reply_relay_id = 0;
		return;
	}
	if (buf[3] == MESH_FRAG) {
		static uint8_t whole[MESH_FRAG_MAX];
		char why[80];
		int n;
		/* A piece of a WireGuard packet, from a peer's direct path only. */
		if (via_tcp || !peer_on_path(a, fd, from) ||
		    (n = mesh_frag_take(&a->reasm, from, buf, len, now, whole, sizeof(whole), why, sizeof(why))) < 0) {
			a->dropped_control++;
			return;
		}
		if (n > 0 && wg_is_message(whole, (size_t)n)) {
			a->frags_in++;
			a->reply_sock = fd;
			wg_device_receive(a->dev, whole, (size_t)n, from, false, now);
			a->reply_sock = -1;
		}
		return;
	}
	if (buf[3] == MESH_SESSION)
		on_session(a, buf, len, fd, from, via_tcp, now);
	else if (buf[3] == MESH_COOKIE)
		on_cookie(a, buf, len, from, via_tcp, now);
	else
		on_control(a, buf, len, fd, from, via_tcp, now);
}

struct frame_ctx {
	struct agent *a;
	uint64_t now;
};

static void on_frame(void *ctx, const uint8_t *msg, size_t len)
{
	struct frame_ctx *f = ctx;
	static uint8_t buf[MESH_STREAM_MAX];

	memcpy(buf, msg, len);
	on_datagram(f->a, buf, len, -1, &f->a->conf.introducer[0], true, f->now);
}

void agent_receive(struct agent *a, int sock, const struct wg_endpoint *from, uint8_t *buf, size_t len, uint64_t now)
{
	a->now = now;
	on_datagram(a, buf, len, sock, from, false, now);
}

/* peers = on-demand: ask the introducer for the member at a mesh address
 * (family 4 or 6), at most once a LOOKUP_EVERY_MS per address. */
#define LOOKUP_EVERY_MS 1000
static void lookup(struct agent *a, int family, const uint8_t *addr, uint64_t now)
{
	struct mesh_msg m = { .type = MESH_LOOKUP };
	struct agent_lookup *l, *oldest = &a->lookups[0];
	size_t n = family == 4 ? 4 : 16;

	for (size_t i = 0; i < sizeof(a->lookups) / sizeof(a->lookups[0]); i++) {
		l = &a->lookups[i];
		if (l->at_ms && l->family == family && !memcmp(l->addr, addr, n)) {
			if (now - l->at_ms < LOOKUP_EVERY_MS)
				return;
			oldest = l;
			break;
		}
		if (l->at_ms < oldest->at_ms)
			oldest = l;
	}
	memset(oldest, 0, sizeof(*oldest));
	oldest->family = (uint8_t)family;
	memcpy(oldest->addr, addr, n);
	oldest->at_ms = now ? now : 1;
	m.u.lookup.family = (uint8_t)family;
	memcpy(m.u.lookup.addr, addr, n);
	agent_send_to_introducer(a, &m);
}

/* A packet from the TUN device for no peer: with peers = on-demand and a
 * destination in the mesh, ask who is there (this packet is dropped; the
 * next ones go once the peer is in). */
static void lookup_for(struct agent *a, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct wg_endpoint dst = { 0 };
	int family = len ? pkt[0] >> 4 : 0;

	if (!a->conf.peers_on_demand || !a->registered)
		return;
	if (family == 4 && len >= 20) {
		dst.addr.in4.sin_family = AF_INET;
		memcpy(&dst.addr.in4.sin_addr, pkt + 16, 4);
	} else if (family == 6 && len >= 40) {
		dst.addr.in6.sin6_family = AF_INET6;
		memcpy(&dst.addr.in6.sin6_addr, pkt + 24, 16);
	} else
		return;
	if (agent_in_mesh(a, &dst))
		lookup(a, family, family == 4 ? pkt + 16 : pkt + 24, now);
}

void agent_tun_packet(struct agent *a, const uint8_t *pkt, size_t len, uint64_t now)
{
	a->now = now;
	if (wg_device_send(a->dev, pkt, len, now) == -ENETUNREACH)
		lookup_for(a, pkt, len, now);
}

static void tcp_start(struct agent *a)
{
	const struct wg_endpoint *ep = &a->conf.introducer[0];

	if (a->io.tcp_connect(a->io.ctx, ep))
		return;
	a->tcp = true;
	a->tcp_up = false;
	agent_log(a, "no answer from the introducer over UDP: trying TCP to %s", agent_ep_str(ep));
}

/* What IPv6 told us (a new network, another introducer): seen, hops and
 * proof there, measured again. */
static void forget_ipv6(struct agent *a)
{
	memset(&a->seen6, 0, sizeof(a->seen6));
	a->min_ttl6 = 0;
	a->has_proof[MESH_VIA_UDP6] = false;
}

/* What we measured of our networks (a new network): measured again
 * from scratch, over both families. */
static void forget_measurements(struct agent *a)
{
	memset(a->seen, 0, sizeof(a->seen));
	a->udp_reply_ms = 0;
	a->min_ttl = 0;
	a->intro_rtt_ms = 0;   /* another network: the waits go back to their ceilings until measured */
	memset(a->cookie_ms, 0, sizeof(a->cookie_ms));   /* cookies of our old address */
	forget_ipv6(a);
}

/* Register at the introducer's IPv6 address, where it has one and we
 * have an IPv6 address, with the hops there (as over IPv4, for IPv6's
 * openers) until it has seen us. */
static void register_ipv6(struct agent *a)
{
	if (!a->conf.introducer6.addr.ss_family || !local_ipv6(a))
		return;
	for (int ttl = 1; ttl <= TTL_SWEEP && !a->seen6.addr.ss_family; ttl++)
		send_register(a, MESH_VIA_UDP6, ttl);
	send_register(a, MESH_VIA_UDP6, 0);
}

static void registration_tick(struct agent *a, uint64_t now)
{
	bool udp_ok = a->udp_reply_ms && now - a->udp_reply_ms < 3 * a->conf.keepalive_s * 1000u;
	bool v6only;

	/* Our session messages went unanswered (the introducer restarted, or
	 * took us out): register in full now, not a keepalive later. */
	if (a->session_asked_ms && now - a->session_asked_ms >= SESSION_ANSWER_MS && !a->session_fell_back) {
		a->session_fell_back = true;
		a->reg_next_ms = now;
	}
	if (now >= a->reg_next_ms) {
		struct wg_endpoint old[MESH_MAX_CANDS];
		int n_old = a->n_locals;

		memcpy(old, a->locals, sizeof(old));
		gather_locals(a);
		if (a->udp_reply_ms && (n_old != a->n_locals || memcmp(old, a->locals, sizeof(old[0]) * (size_t)n_old))) {
			/* Roaming: a new local address; what we measured is stale. */
			agent_log(a, "local addresses changed: measuring again");
			forget_measurements(a);
			agent_remeasure(a);
		}
		v6only = agent_ipv6_only(a);
		if (v6only && a->tcp) {
			agent_log(a, "no IPv4 here any more: leaving TCP (it reaches the introducer's IPv4 address)");
			tcp_close(a);
		}
		if (!a->udp_reply_ms && !v6only) {
			/* First contact: also learn how many hops reach the
			 * introducer (the smallest TTL that gets an answer). */
			for (int ttl = 1; ttl <= TTL_SWEEP; ttl++)
				send_register(a, 0, ttl);
		}
		if (!v6only) {
			send_register(a, 0, 0);
			if (a->conf.n_introducer > 1)
				send_register(a, 1, 0);
		}
		if (a->tcp_up)
			send_register(a, MESH_VIA_TCP, 0);
		/* Over IPv6 too, once registered over IPv4 (a dual-stack host
		 * joins there), when we have an IPv6 address; an IPv6-only
		 * host registers there alone, from the start. */
		if (a->registered || v6only)
			register_ipv6(a);
		if (a->seen6.addr.ss_family && now - a->seen6_ms > 3 * a->conf.keepalive_s * 1000u) {
			agent_log(a, "no longer seen over IPv6 (was %s)", agent_ep_str(&a->seen6));
			memset(&a->seen6, 0, sizeof(a->seen6));
			reassess_peers(a);
		}
		a->reg_next_ms = now + (a->registered && (udp_ok || a->tcp_up) ? a->conf.keepalive_s * 1000u : REGISTER_RETRY_MS);
	}
	if (a->tcp_up_ms && !a->registered && !a->refused && !a->silence_said && now - a->tcp_up_ms > SILENCE_MS) {
		/* TCP reaches it, yet nothing answers our REGISTER: it cannot
		 * read them (not its key) or will not (not a member). */
		agent_log(a, "the introducer answers TCP but not our REGISTER: is introducer-key its public key "
			     "(punchlab-introducer --public-key)? Are we on its allowlist?");
		a->silence_said = true;
	}
	/* TCP reaches the introducer's IPv4 address: of no use to an
	 * IPv6-only host. */
	if (!udp_ok && !a->tcp && !agent_ipv6_only(a) && now - a->started_ms > TCP_FALLBACK_MS && now >= a->tcp_next_ms) {
		tcp_start(a);
		a->tcp_next_ms = now + 10000;
	}
}

void agent_tcp_connected(struct agent *a, uint64_t now)
{
	a->now = now;
	if (!a->tcp || a->tcp_up)
		return;
	a->tcp_up = true;
	if (!a->tcp_up_ms)
		a->tcp_up_ms = now;   /* the first time TCP reached it */
	agent_log(a, "connected to the introducer over TCP");
	send_register(a, MESH_VIA_TCP, 0);
}

void agent_tcp_closed(struct agent *a, int err, uint64_t now)
{
	a->now = now;
	if (!a->tcp)
		return;
	if (!a->tcp_up) {
		tcp_close(a); /* it did not connect: registration_tick tries again */
		return;
	}
	agent_log(a, "TCP connection to the introducer closed (%s); connecting again in 1 s",
		  err == -EPIPE ? "by the introducer" : strerror(-err));
	tcp_close(a);
	a->registered = a->udp_reply_ms && now - a->udp_reply_ms < 30000;
	a->tcp_next_ms = now + 1000;
}

void agent_tcp_input(struct agent *a, const uint8_t *bytes, size_t len, uint64_t now)
{
	struct frame_ctx f = { a, now };
	int ret;

	a->now = now;
	if (!a->tcp_up)
		return;
	if ((ret = mesh_stream_feed(&a->tcp_in, bytes, len, on_frame, &f)) < 0)
		agent_tcp_closed(a, ret, now);
}

int agent_init(struct agent *a, const struct agent_conf *conf, const struct agent_io *io, int sock, uint16_t port,
	       uint64_t now, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	a->conf = *conf;
	a->io = *io;
	a->udp = sock;
	a->reply_sock = -1;
	a->port = port;
	a->udp6 = a->tun = a->uapi = a->status = a->tcp_fd = -1;
	randombytes_buf(a->txid_key, sizeof(a->txid_key));
	randombytes_buf(&a->session, sizeof(a->session));
	a->started_ms = a->now = now;
	mesh_replay_init(&a->intro_replay);
	key_public(a->pub, conf->private_key);
	if (mesh_shared_key(a->intro_shared, conf->introducer_key, conf->private_key)) {
		snprintf(err, errlen, "introducer-key is not a usable public key");
		return -EINVAL;
	}
	mesh_mac1_key(a->mac1_key, a->pub);
	if (!(a->dev = wg_device_new(send_cb, deliver_cb, a))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	wg_device_set_private_key(a->dev, conf->private_key);
	wg_device_set_listen_port(a->dev, port);
	return 0;
}

int agent_reconfigure(struct agent *a, const struct agent_conf *c, uint64_t now)
{
	bool intro_changed = memcmp(a->conf.introducer_key, c->introducer_key, WG_KEY_LEN) ||
			     memcmp(a->conf.introducer, c->introducer, sizeof(c->introducer)) ||
			     !wg_endpoint_equal(&a->conf.introducer6, &c->introducer6) ||
			     a->conf.n_introducer != c->n_introducer;
	int kept = 0;

	a->now = now;
	/* What only a restart changes: the key, the device, the socket. */
	if (sodium_memcmp(a->conf.private_key, c->private_key, WG_KEY_LEN) && ++kept)
		agent_log(a, "reload: a new private key takes a restart; kept the running one");
	if (strcmp(a->conf.interface, c->interface) && ++kept)
		agent_log(a, "reload: interface %s takes a restart; kept %s", c->interface, a->conf.interface);
	if (a->conf.listen_port != c->listen_port && ++kept)
		agent_log(a, "reload: listen-port %u takes a restart; kept the running one", c->listen_port);
	if (a->conf.mtu != c->mtu && ++kept)
		agent_log(a, "reload: mtu %d takes a restart; kept %d", c->mtu, a->conf.mtu);
	if (a->conf.port_mapping != c->port_mapping && ++kept)
		agent_log(a, "reload: port-mapping = %s takes a restart; kept the running one", c->port_mapping ? "yes" : "no");
	if (intro_changed && mesh_shared_key(a->intro_shared, c->introducer_key, a->conf.private_key)) {
		agent_log(a, "reload: introducer-key is not a usable public key; kept the running configuration");
		mesh_shared_key(a->intro_shared, a->conf.introducer_key, a->conf.private_key);
		return -EINVAL;
	}
	memcpy(a->conf.introducer, c->introducer, sizeof(c->introducer));
	a->conf.introducer6 = c->introducer6;
	a->conf.introducer6_given = c->introducer6_given;
	memcpy(a->conf.introducer_host, c->introducer_host, sizeof(c->introducer_host));
	memcpy(a->conf.introducer_port, c->introducer_port, sizeof(c->introducer_port));
	a->conf.n_introducer = c->n_introducer;
	a->conf.n_introducer_given = c->n_introducer_given;
	memcpy(a->conf.introducer_key, c->introducer_key, WG_KEY_LEN);
	snprintf(a->conf.name, sizeof(a->conf.name), "%s", c->name);
	a->conf.has_join = c->has_join;
	memcpy(a->conf.join, c->join, sizeof(c->join));
	a->conf.keepalive_s = c->keepalive_s;
	a->conf.ping_ms = c->ping_ms;
	if (intro_changed) {
		/* Another introducer: register with it from scratch. */
		mesh_replay_init(&a->intro_replay);
		tcp_close(a);
		a->registered = a->refused = false;
		a->udp_reply_ms = 0;
		a->has_sid = false;   /* its session keys were the other's */
		sodium_memzero(&a->intro_keys, sizeof(a->intro_keys));
		forget_ipv6(a);   /* its IPv6 address may be another one's */
		a->tcp_up_ms = 0;
		a->silence_said = false;
		a->started_ms = now;
	}
	memset(a->cookie_ms, 0, sizeof(a->cookie_ms));   /* its cookies may be another's, for another address */
	a->reg_next_ms = now;   /* tell the introducer at once (a new name, a join secret) */
	agent_log(a, "configuration read again%s%s", intro_changed ? ": a new introducer" : "",
		  kept ? " (what takes a restart was kept)" : "");
	return kept;
}

void agent_fini(struct agent *a)
{
	for (int i = 0; i < AGENT_MAX_PEERS; i++)
		if (a->peers[i].used)
			punch_close_birthday(a, &a->peers[i], -1);
	tcp_close(a);
	wg_device_free(a->dev);
	a->dev = NULL;
	sodium_memzero(a->conf.private_key, sizeof(a->conf.private_key));
	sodium_memzero(a->intro_shared, sizeof(a->intro_shared));
	sodium_memzero(&a->intro_keys, sizeof(a->intro_keys));
	sodium_memzero(a->txid_key, sizeof(a->txid_key));
	for (int i = 0; i < AGENT_MAX_PEERS; i++)
		sodium_memzero(a->peers[i].shared, 32);
}

static void expire_peers(struct agent *a, uint64_t now)
{
	for (int i = 0; i < AGENT_MAX_PEERS; i++) {
		struct agent_peer *p = &a->peers[i];
		/* peers = on-demand: no list comes, so we ask for each peer's
		 * record again a list refresh after the last one came, every
		 * few seconds until one does. */
		if (p->used && a->conf.peers_on_demand && a->registered && now - p->last_heard_ms > MESH_LIST_REFRESH_MS &&
		    now - p->looked_up_ms > 5000) {
			p->looked_up_ms = now;
			lookup(a, 4, (const uint8_t *)&p->rec.mesh4, now);
		}
		/* Only while the introducer answers: when it is down, the peers
		 * (and their direct paths) stay. */
		if (p->used && a->registered && now - a->intro_heard_ms < 3000 && now - p->last_heard_ms > PEER_EXPIRE_MS) {
			peer_drop(a, p, "left the mesh");
		}
	}
}

void agent_tick(struct agent *a, uint64_t now)
{
	a->now = now;
	registration_tick(a, now);
	portmap_tick(a, now);
	for (int i = 0; i < AGENT_MAX_PEERS; i++)
		if (a->peers[i].used)
			punch_tick(a, &a->peers[i], now);
	expire_peers(a, now);
	wg_device_tick(a->dev, now);
}
