/* Finding a direct path: candidates, coordinated punching, prediction,
 * birthday probing, and keeping (or losing) the path found. */
#include "agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ROUND_PUNCH_MS 4000        /* plain punching and prediction */
#define ROUND_END_MS 15000         /* birthday probing too, then give up for now */
/* Timers scale with the RTT to the introducer (issue 17): */
#define OPEN_WAIT_MS 300           /* after the openers, before plain pings, until an RTT is measured */
#define OPEN_WAIT_MIN_MS 50        /* at least: room for a busy host (ours or the peer's) to send its openers */
#define SEND_EVERY_MS 200          /* the longest gap between a round's pings */
#define SEND_FIRST_MIN_MS 10       /* the shortest first gap; each gap doubles (about the same pings a round) */
#define CONNECT_WAIT_MS 200        /* a new peer: ask at once if both NATs are measured, else at most this late */
#define PREDICT_PORTS 16
#define BDAY_PROBES_PER_TICK 48
/* The latest a hard side opens its birthday mappings (its waits at their
 * ceilings), and their open wait after that. */
#define BDAY_LATE_MS (OPEN_WAIT_MS + 3 * SEND_EVERY_MS + OPEN_WAIT_MS)
#define BDAY_VOLLEYS ((ROUND_END_MS - ROUND_PUNCH_MS) / 1000)   /* the hard side's opener volleys a round */
#define BACKOFF_MAX_MS 300000

static uint16_t port_of(const struct wg_endpoint *e)
{
	return ntohs(((const struct sockaddr_in *)&e->addr)->sin_port);
}

static void set_port(struct wg_endpoint *e, uint16_t port)
{
	((struct sockaddr_in *)&e->addr)->sin_port = htons(port);
}

/* A port the peer's router mapped, on the address the introducer sees it
 * from (the introducer passes on no other; checked again here), or NULL. */
static const struct wg_endpoint *peer_mapped(const struct agent_peer *p)
{
	return p->rec.mapped.addr.ss_family && p->rec.mapped_by && wg_endpoint_same_address(&p->rec.mapped, &p->rec.seen[0])
		       ? &p->rec.mapped
		       : NULL;
}

static void peer_class(const struct agent_peer *p, struct mesh_nat_class *c)
{
	mesh_nat_classify(p->rec.seen, p->rec.cands, p->rec.n_cands, p->rec.tcp_only, c);
	c->portmap = peer_mapped(p) ? p->rec.mapped_by : 0;
}

/* The TTL that passes our own NAT(s) but dies before the peer's: one less
 * than what it takes to reach the introducer, which sits beyond the first
 * router past our NATs. A first punch that reached the peer's NAT before
 * the peer had sent would be recorded there as an inbound flow, and Linux's
 * masquerade would then give the peer's own packets another port. */
static int opener_ttl(const struct agent *a, const struct wg_endpoint *to)
{
	uint8_t min = to->addr.ss_family == AF_INET6 ? a->min_ttl6 : a->min_ttl;

	return min > 2 ? min - 1 : 0;
}

void punch_close_birthday(struct agent *a, struct agent_peer *p, int keep)
{
	for (int k = 0; k < p->n_bday; k++)
		if (p->bday_fds[k] >= 0 && p->bday_fds[k] != keep)
			a->io.close_socket(a->io.ctx, p->bday_fds[k]);
	p->n_bday = 0;
	p->bday_role = 0;
	p->bday_probes = 0;
}

/* An IPv6 address no peer of ours has: unspecified, loopback,
 * link-local (it names no link), multicast, site-local, the discard
 * prefix, or one that stands for an IPv4 address (IPv4-mapped or
 * -compatible, NAT64, 6to4, Teredo: IPv4's budget would not count it). */
static bool ipv6_unusable(const struct agent *a, const struct wg_endpoint *ep)
{
	const struct in6_addr *x = &((const struct sockaddr_in6 *)&ep->addr)->sin6_addr;
	const uint8_t *b = x->s6_addr;
	static const uint8_t zero[12], discard[8] = { 0x01 }, nat64[4] = { 0x00, 0x64, 0xff, 0x9b },
				      teredo[4] = { 0x20, 0x01, 0x00, 0x00 }, six_to_four[2] = { 0x20, 0x02 };

	return !memcmp(b, zero, 12) || IN6_IS_ADDR_LINKLOCAL(x) || IN6_IS_ADDR_MULTICAST(x) || IN6_IS_ADDR_V4MAPPED(x) ||
	       IN6_IS_ADDR_SITELOCAL(x) || !memcmp(b, discard, 8) || !memcmp(b, nat64, 4) || !memcmp(b, teredo, 4) ||
	       !memcmp(b, six_to_four, 2) || agent_in_mesh(a, ep);
}

/* A global IPv6 address (2000::/3): one the internet routes to, where a
 * firewall, not a NAT, stands between (a unique local one, fc00::/7,
 * reaches no farther than its site, or a NAT66 / prefix translator). */
static bool ipv6_global(const struct wg_endpoint *ep)
{
	const uint8_t *x = ((const struct sockaddr_in6 *)&ep->addr)->sin6_addr.s6_addr;

	return ep->addr.ss_family == AF_INET6 && (x[0] & 0xe0) == 0x20;
}

/* Where a side can be reached over IPv6 from the internet: where the
 * introducer saw it over IPv6; else, unless only that counts (we know
 * the introducer's IPv6 address and have not been seen there yet: our
 * IPv6 may not reach out, and our openers' hop limit is not measured),
 * its own global address (a firewall only: the same address and port).
 * NULL: neither. */
static const struct wg_endpoint *ipv6_reach(const struct agent *a, const struct wg_endpoint *seen6,
					    const struct wg_endpoint *cands, int n, bool seen_only)
{
	if (seen6->addr.ss_family == AF_INET6 && !ipv6_unusable(a, seen6))
		return seen6;
	for (int i = 0; i < n && !seen_only; i++)
		if (ipv6_global(&cands[i]) && !ipv6_unusable(a, &cands[i]))
			return &cands[i];
	return NULL;
}

/* A target for this round (its opener not sent yet); the one there
 * already, or NULL when it is none we send to. */
static struct agent_target *add_target(struct agent *a, struct agent_peer *p, const struct wg_endpoint *ep, int fd,
				       enum agent_cand kind)
{
	if (ep->addr.ss_family != AF_INET && ep->addr.ss_family != AF_INET6)
		return NULL;
	/* IPv6 only when we have it (and from the main socket: birthday
	 * sockets are IPv4), never to an address that reaches no one. */
	if (ep->addr.ss_family == AF_INET6 && (fd != a->udp || !agent_has_ipv6(a) || ipv6_unusable(a, ep)))
		return NULL;
	if (ep->addr.ss_family == AF_INET && agent_ipv6_only(a))
		return NULL;   /* no IPv4 here: it could not even leave */
	for (int i = 0; i < p->n_targets; i++)
		if (wg_endpoint_equal(&p->targets[i].ep, ep) && p->targets[i].fd == fd)
			return &p->targets[i];
	if (p->n_targets >= AGENT_MAX_TARGETS)
		return NULL;
	p->targets[p->n_targets] = (struct agent_target){ *ep, fd, kind, 0 };
	return &p->targets[p->n_targets++];
}

/* The peer's IPv6 endpoints, where it was seen over IPv6 and its own
 * addresses: at a round's start, and again when either side's IPv6
 * becomes known while a round runs (they join it, openers first). */
static void add_ipv6_targets(struct agent *a, struct agent_peer *p)
{
	/* Its opener needs our hop limit over IPv6 (what reaches the
	 * introducer's IPv6 address, less one). Until that is measured, an
	 * "opener" at the full hop limit reached a NAT66 peer's router before
	 * the peer's own left, and the conntrack entry it left there made the
	 * peer's masquerade move its port: nat66 x nat66 relayed one run in
	 * two. It joins the round once we are seen over IPv6. */
	if (!a->conf.introducer6.addr.ss_family || a->min_ttl6)
		add_target(a, p, &p->rec.seen6, a->udp, CAND_REFLEXIVE);
	for (int i = 0; i < p->rec.n_cands; i++)
		if (p->rec.cands[i].addr.ss_family == AF_INET6)
			add_target(a, p, &p->rec.cands[i], a->udp, CAND_LOCAL);
}

const char *agent_cand_technique(enum agent_cand k)
{
	static const char *const names[] = {
		[CAND_REFLEXIVE] = "punching",   [CAND_PREDICTED] = "prediction",     [CAND_LOCAL] = "same-lan",
		[CAND_PEER_REFLEXIVE] = "punching", [CAND_BIRTHDAY] = "birthday", [CAND_HAIRPIN] = "hairpin",
		[CAND_OPEN] = "open", [CAND_MAPPED] = "port-mapping",
	};
	return k <= CAND_MAPPED ? names[k] : "punching";
}

/* How a pong on fd from `from` was reached: the target it answers, or a
 * birthday probe's random port (easy side) or socket (hard side). */
static enum agent_cand found_by(const struct agent *a, const struct agent_peer *p, int fd, const struct wg_endpoint *from)
{
	enum agent_cand k = p->bday_role == 2 ? CAND_BIRTHDAY : CAND_PEER_REFLEXIVE;
	struct mesh_nat_class peer;

	if (fd != a->udp)
		return CAND_BIRTHDAY;
	for (int i = 0; i < p->n_targets; i++)
		if (p->targets[i].fd == fd && wg_endpoint_equal(&p->targets[i].ep, from))
			k = p->targets[i].kind;
	/* Over IPv6 (no NAT to speak of, or one that keeps the port): a
	 * path between the sides' own or seen addresses is punched, but on
	 * a LAN's own addresses (not global ones). */
	if (from->addr.ss_family == AF_INET6)
		return k == CAND_LOCAL && !ipv6_global(from) ? CAND_LOCAL : CAND_PEER_REFLEXIVE;
	if (k == CAND_REFLEXIVE || k == CAND_PEER_REFLEXIVE) {
		peer_class(p, &peer);
		if (wg_endpoint_same_address(from, &a->seen[0]))
			k = CAND_HAIRPIN;
		else if (peer.open || a->nat.open)
			k = CAND_OPEN;
		else if (p->expect.technique == EXPECT_PORTMAP && a->nat.portmap)
			k = CAND_MAPPED;   /* the peer reached us through our mapping */
	}
	return k;
}

/* A ping's txid: its send time (the low 32 bits, in ms, for the RTT) and
 * a MAC over that time, the socket and where the ping went, under a key of
 * this process. A PONG counts only when it comes back from there, on that
 * socket, within PONG_MAX_AGE_MS: one carried to us from anywhere else
 * moves no path (issue 13 #2). */
#define PONG_MAX_AGE_MS 10000
#define BETTER_PONGS 2        /* pongs in a row that move a working direct path to a better one */
#define PMTU_EVERY_MS 5000    /* a full-size probe of the direct path this often */
#define PMTU_ANSWER_MS 1000   /* a probe unanswered this long is lost */

static uint32_t txid_mac(const struct agent *a, uint32_t sent, int fd, const struct wg_endpoint *ep)
{
	uint8_t in[4 + 4 + 2 + 16 + 2], h[crypto_shorthash_BYTES];
	size_t n = 0;

	memcpy(in + n, &sent, 4), n += 4;
	memcpy(in + n, &fd, 4), n += 4;
	if (ep->addr.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ep->addr;
		in[n++] = 0, in[n++] = 4;
		memcpy(in + n, &s4->sin_addr, 4), n += 4;
		memcpy(in + n, &s4->sin_port, 2), n += 2;
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ep->addr;
		in[n++] = 0, in[n++] = 6;
		memcpy(in + n, &s6->sin6_addr, 16), n += 16;
		memcpy(in + n, &s6->sin6_port, 2), n += 2;
	}
	crypto_shorthash(h, in, n, a->txid_key);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

/* May we send one more ping to ep's address this minute? What a peer,
 * a member gone bad or a hostile introducer names gets at most
 * AGENT_ADDR_BUDGET packets a minute from us (issue 13 #6). */
static bool within_budget(struct agent *a, const struct wg_endpoint *ep)
{
	struct agent_budget *b = NULL, *oldest = &a->budget[0];

	for (int i = 0; i < AGENT_BUDGET_SLOTS && !b; i++) {
		if (a->budget[i].since_ms && wg_endpoint_same_source(&a->budget[i].ep, ep))
			b = &a->budget[i];
		else if (a->budget[i].since_ms < oldest->since_ms)
			oldest = &a->budget[i];
	}
	if (b && a->now - b->since_ms >= 60000)
		b->since_ms = 0;
	if (!b || !b->since_ms) {
		if (!b)
			b = oldest;
		memset(b, 0, sizeof(*b));
		b->ep = *ep;
		b->since_ms = a->now ? a->now : 1;
	}
	if (b->sent >= AGENT_ADDR_BUDGET)
		return false;
	b->sent++;
	return true;
}

/* A ping of `size` bytes on the wire (0: as small as it comes, with two
 * zeros so that the pong, which says the ping's size, is no larger). */
static void send_ping_sized(struct agent *a, struct agent_peer *p, int fd, const struct wg_endpoint *ep, int ttl,
			    size_t size)
{
	struct mesh_msg m = { .type = MESH_PING };
	uint8_t body[MESH_MAX_MSG];
	int n;

	m.u.ping.txid = (uint64_t)txid_mac(a, (uint32_t)a->now, fd, ep) << 32 | (uint32_t)a->now;
	m.u.ping.addr = *ep;
	n = mesh_msg_encode(&m, body, sizeof(body));
	if (n > 0 && size > MESH_CONTROL_OVERHEAD + (size_t)n + 2)
		m.u.ping.pad = (uint16_t)(size - MESH_CONTROL_OVERHEAD - (size_t)n);
	else
		m.u.ping.pad = 2;
	agent_send_control(a, p, &m, fd, ep, ttl);
}

static void send_ping(struct agent *a, struct agent_peer *p, int fd, const struct wg_endpoint *ep, int ttl)
{
	send_ping_sized(a, p, fd, ep, ttl, 0);
}

/* The size a path MTU probe takes: the largest datagram the tunnel makes
 * (the interface's MTU and WireGuard's 32 bytes). */
static size_t pmtu_probe_size(const struct agent *a)
{
	size_t want = (size_t)a->conf.mtu + 32;

	return want < MESH_MAX_PROBE ? want : MESH_MAX_PROBE;
}

/* Probe the direct path's MTU every PMTU_EVERY_MS with a ping padded to
 * the full size. Two in a row unanswered (while the path's checks are
 * answered, or it would have been dropped): the path is a black hole for
 * them, and larger packets go in pieces until a probe gets through. */
static void pmtu_tick(struct agent *a, struct agent_peer *p, uint64_t now)
{
	if (p->pmtu_sent_ms && now - p->pmtu_sent_ms > PMTU_ANSWER_MS) {
		p->pmtu_sent_ms = 0;
		if (++p->pmtu_lost >= 2 && p->pmtu_ok) {
			agent_log(a, "peer %s: %u-byte datagrams no longer pass the direct path: larger packets go in pieces",
				  p->rec.name, p->pmtu_ok);
			p->pmtu_ok = 0;
		}
		if (p->pmtu_lost < 2)
			p->pmtu_next_ms = now; /* once more at once: one may be lost */
	}
	if (now >= p->pmtu_next_ms && !p->pmtu_sent_ms) {
		send_ping_sized(a, p, p->direct_fd, &p->direct_ep, 0, pmtu_probe_size(a));
		p->pmtu_sent_ms = now ? now : 1;
		p->pmtu_next_ms = now + PMTU_EVERY_MS;
	}
}

/* A ping within its address's budget; birthday rounds (bounded by their
 * own rules: one per peer per 5 minutes, two at once) and a working
 * direct path's checks use send_ping. */
static void ping(struct agent *a, struct agent_peer *p, int fd, const struct wg_endpoint *ep, int ttl)
{
	if (within_budget(a, ep))
		send_ping(a, p, fd, ep, ttl);
}

static void set_why(struct agent_peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_why(struct agent_peer *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
}

/* What IPv6 adds to IPv4's verdict r (from mesh_nat_expect): where both
 * sides have IPv6, a direct path over it is punched (a stateful firewall
 * lets in the replies to what went out; NAT66 and prefix translation
 * keep one mapping per socket), so a pair IPv4 relays may go direct.
 * The reason names each family. */
static void expect_ipv6(const struct agent *a, const struct agent_peer *p, struct expect_result *r)
{
	/* Only where the introducer saw us over IPv6, once it is known to
	 * answer there: given as introducer6, or heard from there (a name's
	 * IPv6 address where nothing listens must not stop a firewall's own
	 * global address from counting). */
	bool seen_only = a->conf.introducer6.addr.ss_family && (a->conf.introducer6_given || a->min_ttl6);
	const struct wg_endpoint *me = ipv6_reach(a, &a->seen6, a->locals, a->n_locals, seen_only);
	const struct wg_endpoint *peer = ipv6_reach(a, &p->rec.seen6, p->rec.cands, p->rec.n_cands, false);
	const char *v4 = r->why;
	char v6[160], why[sizeof(r->why)];

	if (r->direct && r->technique == EXPECT_SAME_LAN)
		return;
	if (me && peer)
		snprintf(v6, sizeof(v6), "both have IPv6 (%s at %s): punching over it", p->rec.name, agent_ep_str(peer));
	else if (!me && !peer)
		snprintf(v6, sizeof(v6), "no IPv6 on either side");
	else if (!me)
		snprintf(v6, sizeof(v6), "no IPv6 on our side");
	else
		snprintf(v6, sizeof(v6), "no IPv6 on %s's side", p->rec.name);
	/* IPv4's reason is measured; IPv6's is what each side has (its
	 * filtering is not measured: replies are assumed let in). The family
	 * that goes direct is named first. */
	if (r->direct && !(me && peer))
		return;
	if (!r->direct && me && peer) {
		snprintf(why, sizeof(why), "IPv6: %s; IPv4: %s", v6, v4);
		r->direct = true;
		r->technique = EXPECT_PUNCH;
	} else {
		snprintf(why, sizeof(why), "IPv4: %s; IPv6: %s", v4, v6);
	}
	snprintf(r->why, sizeof(r->why), "%s", why);
}

/* A peer on an IPv6-only host: the introducer saw it over IPv6 alone. */
static bool peer_ipv6_only(const struct agent_peer *p)
{
	return !p->rec.seen[0].addr.ss_family && !p->rec.tcp_only && p->rec.seen6.addr.ss_family == AF_INET6;
}

static bool peer_known(const struct agent_peer *p)
{
	struct mesh_nat_class c;

	peer_class(p, &c);
	return c.known;
}

/* Is what a round needs of each side known: its NAT, seen from both
 * introducer addresses; or, for an IPv6-only host (seen over IPv6 and
 * never over IPv4), where it is seen over IPv6: it has no NAT class to
 * wait for (issue 17: its CONNECTs waited the 200 ms of one not
 * measured). */
static bool ours_measured(const struct agent *a)
{
	return a->nat.known || (agent_ipv6_only(a) && a->seen6.addr.ss_family == AF_INET6);
}

static bool peer_measured(const struct agent_peer *p)
{
	return peer_known(p) || peer_ipv6_only(p);
}

void punch_connect_soon(struct agent *a, struct agent_peer *p)
{
	if (p->next_connect_ms > a->now + CONNECT_WAIT_MS)
		p->next_connect_ms = a->now + CONNECT_WAIT_MS;
	p->connect_soon = true;
}

void punch_reassess(struct agent *a, struct agent_peer *p)
{
	struct mesh_nat_class peer;
	bool same_site, no_ipv4_here = agent_ipv6_only(a);

	peer_class(p, &peer);
	same_site = wg_endpoint_same_address(&a->seen[0], &p->rec.seen[0]);
	p->failures = 0;
	if (no_ipv4_here || peer_ipv6_only(p)) {
		/* No IPv4 on one side: IPv6 alone can go direct. */
		memset(&p->expect, 0, sizeof(p->expect));
		if (no_ipv4_here)
			snprintf(p->expect.why, sizeof(p->expect.why), "no IPv4 on our side");
		else
			snprintf(p->expect.why, sizeof(p->expect.why), "no IPv4 on %s's side", p->rec.name);
		expect_ipv6(a, p, &p->expect);
	} else if (!a->nat.known || !peer.known) {
		p->impossible = false;
		memset(&p->expect, 0, sizeof(p->expect));
		p->expect.direct = true;
		p->expect.technique = EXPECT_PUNCH;
		if (!p->direct)
			set_why(p, "waiting for the introducer's measurements");
		return;
	} else {
		mesh_nat_expect(&a->nat, &peer, same_site, p->rec.name, &p->expect);
		expect_ipv6(a, p, &p->expect);
	}
	/* probe-impossible: the theory is tested, not assumed (a lab's
	 * setting): such pairs are punched too, within the same rounds and
	 * backoffs. */
	p->impossible = !p->expect.direct && !a->conf.probe_impossible;
	if (!p->expect.direct && !p->impossible) {
		if (!p->direct)
			set_why(p, "trying punching though it should fail: %s", p->expect.why);
		punch_connect_soon(a, p);
	} else if (p->impossible) {
		if (!p->direct)
			agent_log(a, "peer %s: relayed: %s", p->rec.name, p->expect.why);
		set_why(p, "%s", p->expect.why);
		p->punching = false;
		punch_close_birthday(a, p, p->direct ? p->direct_fd : -1);
	} else if (!p->direct) {
		set_why(p, "trying %s", expect_technique_name(p->expect.technique));
		punch_connect_soon(a, p);
	}
	if (p->punching && !p->direct) {
		/* What the peer's record gained since the round began joins it:
		 * a port its router mapped (the answer may come a moment after
		 * the PUNCH), its IPv6 endpoints. */
		int before = p->n_targets;
		if (peer_mapped(p))
			add_target(a, p, peer_mapped(p), a->udp, CAND_MAPPED);
		add_ipv6_targets(a, p);
		if (p->n_targets > before && p->next_send_ms > a->now)
			p->next_send_ms = a->now;
	}
}

uint64_t punch_open_wait_ms(const struct agent *a)
{
	uint64_t w;

	if (!(a->intro_rtt_ms > 0))
		return OPEN_WAIT_MS;
	w = (uint64_t)(2 * a->intro_rtt_ms) + 20;
	return w < OPEN_WAIT_MIN_MS ? OPEN_WAIT_MIN_MS : w < OPEN_WAIT_MS ? w : OPEN_WAIT_MS;
}

/* A round's first gap between plain pings: twice the RTT we know, at
 * least SEND_FIRST_MIN_MS; the gaps double from there to SEND_EVERY_MS. */
static uint32_t first_gap_ms(const struct agent *a)
{
	double g = a->intro_rtt_ms > 0 ? 2 * a->intro_rtt_ms : SEND_EVERY_MS;

	return g < SEND_FIRST_MIN_MS ? SEND_FIRST_MIN_MS : g > SEND_EVERY_MS ? SEND_EVERY_MS : (uint32_t)g;
}

/* Birthday probing starts this far into a round: plain punching's openers
 * and first two volleys have had their chance. */
static uint64_t bday_after_ms(const struct agent *a)
{
	return punch_open_wait_ms(a) + 3 * (uint64_t)first_gap_ms(a);
}

void punch_start(struct agent *a, struct agent_peer *p, uint32_t round)
{
	struct mesh_nat_class peer;
	uint64_t now = a->now;

	if (p->impossible || p->direct)
		return;
	/* A PUNCH never restarts a round that runs, nor starts one while we
	 * back off after a failed one: rounds are ours to pace (issue 13 #6). */
	if (p->punching && now - p->round_ms <= ROUND_END_MS)
		return;
	if (p->failures && now < p->backoff_until_ms)
		return;
	peer_class(p, &peer);
	p->punching = true;
	p->round = round;
	p->connect_sent_ms = 0;
	p->connect_soon = false;
	p->round_ms = now;
	p->next_send_ms = now;
	p->send_gap_ms = first_gap_ms(a);
	p->n_targets = 0;
	punch_close_birthday(a, p, -1);
	/* Order matters for sequential allocators: each new destination takes
	 * the next port, so predicted ports go first, in order (both sides do
	 * the same, so their n-th new mappings meet), then a port the peer's
	 * router mapped, then reflexive, then local addresses. */
	if (peer.sequential) {
		for (int k = 1; k <= PREDICT_PORTS; k++) {
			struct wg_endpoint e = p->rec.seen[1];
			int port = port_of(&p->rec.seen[1]) + k * peer.delta;
			if (port > 65535)
				break;
			set_port(&e, (uint16_t)port);
			add_target(a, p, &e, a->udp, CAND_PREDICTED);
		}
	}
	if (peer_mapped(p))
		add_target(a, p, peer_mapped(p), a->udp, CAND_MAPPED);
	add_target(a, p, &p->rec.seen[0], a->udp, CAND_REFLEXIVE);
	add_target(a, p, &p->rec.seen[1], a->udp, CAND_REFLEXIVE);
	for (int i = 0; i < p->rec.n_cands; i++)
		if (p->rec.cands[i].addr.ss_family == AF_INET && !agent_in_mesh(a, &p->rec.cands[i]))
			add_target(a, p, &p->rec.cands[i], a->udp, CAND_LOCAL);   /* a path through the mesh is no path */
	add_ipv6_targets(a, p);
	set_why(p, "punching (%s), round %u", expect_technique_name(p->expect.technique), round);
	if (a->log_verbose)
		agent_log(a, "peer %s: round %u, %d candidates, expecting %s", p->rec.name, round, p->n_targets,
			  expect_technique_name(p->expect.technique));
}

static void take_path(struct agent *a, struct agent_peer *p, int fd, const struct wg_endpoint *ep, double rtt)
{
	uint64_t now = a->now;
	bool was = p->direct;
	struct wg_peer_info info;

	p->found_by = found_by(a, p, fd, ep);

	/* What the device last saw is older than this path: not a roam. */
	wg_peer_info(p->wg, &info);
	p->dev_ep_seen = info.endpoint;

	if (was && p->direct_fd != fd && p->direct_fd != a->udp)
		a->io.close_socket(a->io.ctx, p->direct_fd);
	p->direct = true;
	p->direct_ep = *ep;
	p->direct_fd = fd;
	p->rtt_ms = rtt;
	p->direct_since_ms = now;
	p->last_pong_ms = now;
	p->next_ping_ms = now + a->conf.ping_ms;
	/* A new path: its MTU is not known until a probe passes (at once). */
	p->pmtu_ok = 0;
	p->pmtu_lost = 0;
	p->pmtu_sent_ms = 0;
	p->pmtu_next_ms = now;
	p->punching = false;
	p->failures = 0;
	p->why[0] = '\0';
	/* A birthday socket that won carries this peer from now on. */
	punch_close_birthday(a, p, fd);
	/* A handshake lost on the relay (the peer did not know us yet) goes
	 * again this way now. */
	wg_peer_path_changed(a->dev, p->wg, now);
	agent_log(a, "peer %s: %s path via %s (rtt %s, found by %s%s)", p->rec.name, was ? "better direct" : "direct",
		  agent_ep_str(ep), agent_rtt_str(rtt), agent_cand_technique(p->found_by),
		  fd != a->udp ? ", a birthday socket" : "");
}

/* The RTT of the ping a PONG answers, or -1 when we sent no such ping
 * from fd to `from` lately. */
static double rtt_of(const struct agent *a, uint64_t txid, int fd, const struct wg_endpoint *from)
{
	uint32_t sent = (uint32_t)txid, age = (uint32_t)a->now - sent;

	if (age > PONG_MAX_AGE_MS || (uint32_t)(txid >> 32) != txid_mac(a, sent, fd, from))
		return -1;
	return (double)age;
}

void punch_on_ping(struct agent *a, struct agent_peer *p, const struct mesh_msg *m, int fd, const struct wg_endpoint *from)
{
	struct mesh_msg r = { .type = MESH_PONG };

	/* Answer on the socket it came in on, to where it came from: that is
	 * the peer's mapping toward us (peer-reflexive), whatever its NAT. */
	uint8_t body[MESH_MAX_MSG];
	int n;

	r.u.ping.txid = m->u.ping.txid;
	r.u.ping.addr = *from;
	r.u.ping.size = m->u.ping.size;
	/* Never larger than the ping (its source may be someone else's). */
	n = mesh_msg_encode(&r, body, sizeof(body));
	if (n < 0 || MESH_CONTROL_OVERHEAD + (size_t)n > m->u.ping.size)
		return;
	agent_send_control(a, p, &r, fd, from, 0);
	if (p->direct)
		return;
	{
		/* its ping came through: nothing to open first */
		struct agent_target *g = add_target(a, p, from, fd, fd == a->udp ? CAND_PEER_REFLEXIVE : CAND_BIRTHDAY);
		if (g && !g->opened_ms)
			g->opened_ms = 1;
	}
	if (!p->punching) {
		/* The peer is punching toward us: join in. */
		p->punching = true;
		p->round_ms = a->now;
		p->next_send_ms = p->round_ms + punch_open_wait_ms(a);
		p->send_gap_ms = first_gap_ms(a);
	} else if (p->next_send_ms > a->now + 20) {
		p->next_send_ms = a->now;
	}
}

void punch_on_pong(struct agent *a, struct agent_peer *p, const struct mesh_msg *m, int fd, const struct wg_endpoint *from)
{
	double rtt = rtt_of(a, m->u.ping.txid, fd, from);

	if (rtt < 0)
		return;
	if (p->direct && p->direct_fd == fd && wg_endpoint_equal(&p->direct_ep, from)) {
		p->last_pong_ms = a->now;
		p->rtt_ms = p->rtt_ms * 0.7 + rtt * 0.3;
		if (m->u.ping.size >= pmtu_probe_size(a)) {
			if (!p->pmtu_ok)
				agent_log(a, "peer %s: %u-byte datagrams pass the direct path", p->rec.name, m->u.ping.size);
			p->pmtu_ok = m->u.ping.size;
			p->pmtu_lost = 0;
			p->pmtu_sent_ms = 0;
		}
		return;
	}
	if (!p->direct) {
		take_path(a, p, fd, from, rtt);
		return;
	}
	/* A better path: a clearly shorter one (the LAN rather than a
	 * hairpin), and twice in a row from the same place: one lucky pong
	 * does not move a working path. */
	if (rtt + 0.5 < p->rtt_ms * 0.5 && fd == a->udp) {
		if (p->better_pongs && wg_endpoint_equal(&p->better_ep, from))
			p->better_pongs++;
		else {
			p->better_ep = *from;
			p->better_pongs = 1;
		}
		if (p->better_pongs >= BETTER_PONGS) {
			p->better_pongs = 0;
			take_path(a, p, fd, from, rtt);
		}
	} else if (wg_endpoint_equal(&p->better_ep, from))
		p->better_pongs = 0;
}

/* Birthday paradox (one side maps per destination with unpredictable
 * ports, the other's mapping is known): the hard side opens many mappings
 * toward the easy side's endpoint (low TTL, so they never reach its NAT),
 * the easy side sends to random ports of the hard side's address; with
 * 256 mappings among ~64k ports, 4096 probes meet with probability
 * 1 - (1 - 256/64512)^4096 > 99.9%. */
static void birthday_tick(struct agent *a, struct agent_peer *p, const struct mesh_nat_class *peer, uint64_t now)
{
	if (!p->bday_role) {
		/* A budget for the whole agent: at most AGENT_BDAY_ROUNDS rounds
		 * (and their sockets) at once; the others wait their turn. */
		int running = 0;
		for (int i = 0; i < AGENT_MAX_PEERS; i++)
			running += a->peers[i].used && &a->peers[i] != p && a->peers[i].bday_role;
		if (running >= AGENT_BDAY_ROUNDS) {
			set_why(p, "birthday probing waits: %d rounds already running", running);
			return;
		}
		if (p->bday_last_ms && now - p->bday_last_ms < AGENT_BDAY_EVERY_MS) {
			set_why(p, "birthday probing again in %llu s",
				(unsigned long long)(AGENT_BDAY_EVERY_MS - (now - p->bday_last_ms)) / 1000);
			return;
		}
		p->bday_last_ms = now;
		p->bday_role = a->nat.varies && !peer->varies ? 1 : 2;
		/* The hard side's mappings first: the easy side's probes start
		 * once its openers have had time to leave. */
		p->bday_next_ms = now + (p->bday_role == 2 ? punch_open_wait_ms(a) : 0);
		set_why(p, "birthday probing, round %u", p->round);
		if (p->bday_role == 1)
			for (int k = 0; k < AGENT_BDAY_SOCKETS; k++) {
				int fd = a->io.open_socket(a->io.ctx);
				if (fd < 0)
					break;
				p->bday_fds[p->n_bday++] = fd;
			}
		agent_log(a, "peer %s: birthday probing, %s", p->rec.name,
			  p->bday_role == 1 ? "opening mappings toward it" : "probing its ports");
	}
	if (now < p->bday_next_ms)
		return;
	if (p->bday_role == 1) {
		/* A volley a second, as many a round as when it began after
		 * ROUND_PUNCH_MS: the same packet budget. */
		if (p->bday_probes >= BDAY_VOLLEYS)
			return;
		p->bday_probes++;
		for (int k = 0; k < p->n_bday; k++)
			send_ping(a, p, p->bday_fds[k], &p->rec.seen[0], opener_ttl(a, &p->rec.seen[0]));
		p->bday_next_ms = now + 1000;
	} else {
		/* Half the probes at once; the other half once a hard side
		 * whose waits are the longest (an RTT not measured, or large:
		 * each side times its round by its own) has surely opened its
		 * mappings. 2048 probes meet 256 mappings with p > 99.9 %. */
		int limit = now - p->round_ms < BDAY_LATE_MS ? AGENT_BDAY_PROBES / 2 : AGENT_BDAY_PROBES;
		for (int k = 0; k < BDAY_PROBES_PER_TICK && p->bday_probes < limit; k++, p->bday_probes++) {
			struct wg_endpoint e = p->rec.seen[0];
			set_port(&e, (uint16_t)(1024 + randombytes_uniform(65536 - 1024)));
			send_ping(a, p, a->udp, &e, 0);
		}
		if (p->bday_probes < limit)
			p->bday_next_ms = now + 10;
		else if (limit < AGENT_BDAY_PROBES)
			p->bday_next_ms = p->round_ms + BDAY_LATE_MS;
		/* (all sent: no more wake-ups for it) */
	}
}

static void end_round(struct agent *a, struct agent_peer *p, uint64_t now)
{
	uint64_t backoff = 10000u << (p->failures < 5 ? p->failures : 5);

	if (backoff > BACKOFF_MAX_MS)
		backoff = BACKOFF_MAX_MS;
	p->punching = false;
	p->failures++;
	punch_close_birthday(a, p, -1);
	p->next_connect_ms = now + backoff;
	p->backoff_until_ms = now + backoff;
	set_why(p, "direct attempts failed (%u so far, expected %s); next try in %llu s", p->failures,
		expect_technique_name(p->expect.technique), (unsigned long long)backoff / 1000);
	agent_log(a, "peer %s: no direct path this round; relayed, next try in %llu s", p->rec.name,
		  (unsigned long long)backoff / 1000);
}

void punch_tick(struct agent *a, struct agent_peer *p, uint64_t now)
{
	struct mesh_nat_class peer;

	if (p->direct) {
		/* Two path checks unanswered: the path is gone. */
		if (now - p->last_pong_ms > 2u * a->conf.ping_ms + 500u) {
			agent_log(a, "peer %s: direct path via %s lost; back on the relay", p->rec.name, agent_ep_str(&p->direct_ep));
			if (p->direct_fd != a->udp)
				a->io.close_socket(a->io.ctx, p->direct_fd);
			p->direct = false;
			p->direct_fd = -1;
			p->failures = 0;
			p->next_connect_ms = now + 500;
			set_why(p, "direct path lost; punching again");
			/* Our own mapping may have changed too (a NAT rebooted or
			 * renumbered): tell the introducer now, so the relay takes us. */
			a->reg_next_ms = now;
			/* A path through the port our router mapped: the router may
			 * have forgotten it (a reboot): ask it again now, not at the
			 * renewal. */
			if (p->found_by == CAND_MAPPED && a->nat.portmap)
				portmap_ask_again(a);
		} else if (now >= p->next_ping_ms) {
			/* Not charged to the address's budget: the peer answers
			 * these checks (it asked for them), and members that do
			 * not answer, behind the same carrier NAT, must not
			 * starve them. */
			send_ping(a, p, p->direct_fd, &p->direct_ep, 0);
			p->next_ping_ms = now + a->conf.ping_ms;
		}
		if (p->direct)
			pmtu_tick(a, p, now);
		return;
	}
	if (p->punching) {
		uint64_t t = now - p->round_ms;
		peer_class(p, &peer);
		if (t > ROUND_END_MS) {
			end_round(a, p, now);
			return;
		}
		if (now >= p->next_send_ms) {
			/* A target's first ping is its opener (low TTL, but to a
			 * LAN's own address); the next ones the open wait later. */
			uint64_t wait = punch_open_wait_ms(a);
			bool opening = false;
			for (int i = 0; i < p->n_targets; i++) {
				struct agent_target *g = &p->targets[i];
				if (!g->opened_ms) {
					ping(a, p, g->fd, &g->ep, g->kind != CAND_LOCAL ? opener_ttl(a, &g->ep) : 0);
					g->opened_ms = now ? now : 1;
					opening = true;
				} else if (now - g->opened_ms >= wait) {
					ping(a, p, g->fd, &g->ep, 0);
				}
			}
			if (opening) {
				p->next_send_ms = now + wait;
			} else if (t < ROUND_PUNCH_MS) {
				p->next_send_ms = now + p->send_gap_ms;
				p->send_gap_ms = p->send_gap_ms * 2 < SEND_EVERY_MS ? p->send_gap_ms * 2 : SEND_EVERY_MS;
			} else {
				p->next_send_ms = now + 1000;
			}
		}
		/* Both sides' measured NATs say birthday probing is the only way
		 * (expect's simplest technique, filtering assumed the strictest):
		 * it starts once plain punching's openers and first two volleys
		 * had their chance, not after ROUND_PUNCH_MS (issue 17); plain
		 * punching goes on beside it. Not at once: where the peer's
		 * filter is kinder than assumed, plain punching wins within
		 * those, and both sides must not settle on different paths (one
		 * on a birthday socket the other then closes). */
		if (t >= bday_after_ms(a) && p->expect.technique == EXPECT_BIRTHDAY && peer.known && a->nat.known &&
		    a->nat.varies != peer.varies)
			birthday_tick(a, p, &peer, now);
		return;
	}
	if (p->impossible || !a->registered || a->tcp_up || p->rec.tcp_only)
		return;
	if (p->connect_sent_ms && now - p->connect_sent_ms > 2000) {
		/* The introducer did not start a round (it may be down): we know
		 * the peer's candidates, so punch on our own; its side joins in
		 * when our pings reach it. */
		agent_log(a, "peer %s: no answer from the introducer; punching on our own", p->rec.name);
		punch_start(a, p, 0);
		return;
	}
	/* A new peer (or news of one): at once when both NATs are measured,
	 * else when they should be. */
	if (now < p->next_connect_ms && !(p->connect_soon && ours_measured(a) && peer_measured(p)))
		return;
	/* Ask the introducer to start a round. The smaller key asks; the
	 * other asks too if nothing happened for a while. With peers on
	 * demand we ask whatever our key: the peer may not know us yet, and
	 * learns of us from the round. */
	{
		struct mesh_msg m = { .type = MESH_CONNECT };
		bool first = memcmp(a->pub, p->rec.key, WG_KEY_LEN) < 0 || a->conf.peers_on_demand;
		m.u.connect.id = p->rec.id;
		p->connect_soon = false;
		if (first || (now > p->next_connect_ms && now - p->next_connect_ms > 6000)) {
			agent_send_to_introducer(a, &m);
			p->next_connect_ms = now + 5000;
			p->connect_sent_ms = now;
		} else if (!p->connect_sent_ms) {
			/* The other side asks; a round should start now. */
			p->connect_sent_ms = now;
		}
	}
}

int agent_tick_in(const struct agent *a, uint64_t now)
{
	/* Deadlines the last tick (at a->now) has not yet seen: one it saw
	 * and left where it was (a peer that waits for something else) must
	 * not keep the loop spinning. */
	uint64_t soonest = now + 20, d[3];

	for (int i = 0; i < AGENT_MAX_PEERS; i++) {
		const struct agent_peer *p = &a->peers[i];
		if (!p->used || p->direct)
			continue;
		d[0] = p->punching ? p->next_send_ms : 0;
		d[1] = p->bday_role ? p->bday_next_ms : 0;
		d[2] = p->punching ? 0 : p->next_connect_ms;
		for (int k = 0; k < 3; k++)
			if (d[k] > a->now && d[k] < soonest)
				soonest = d[k];
	}
	return soonest <= now ? 0 : (int)(soonest - now);
}
