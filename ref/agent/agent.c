/* The agent's daemon: its one UDP socket (WireGuard, discovery and punching
 * alike), the TUN device, the introducer (UDP, or TCP where UDP is
 * blocked), the relay, and the loop that drives them. */
#include "agent.h"
#include "../../harness/nl/rtnl.h"
#include "../../harness/util/timeutil.h"
#include "../mesh/pool.h"
#include "../wg/sock.h"
#include "../wg/tun.h"
#include "../wg/uapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REGISTER_RETRY_MS 1000
#define TCP_FALLBACK_MS 3000       /* no UDP answer this long: try TCP */
#define TTL_SWEEP 8
#define PEER_EXPIRE_MS 90000

uint64_t agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void agent_log(struct agent *a, const char *fmt, ...)
{
	va_list ap;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "punchlab-agent %s [%ld.%03ld]: ", a->conf.interface, (long)ts.tv_sec % 100000,
		ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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

/* sendto with a TTL of its own for this one datagram (IP_TTL as
 * ancillary data), so punching can stop short of the peer's NAT. */
static int send_ttl(int fd, const uint8_t *buf, size_t len, const struct wg_endpoint *ep, int ttl)
{
	struct iovec iov = { (void *)buf, len };
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct msghdr mh = { .msg_name = (void *)&ep->addr, .msg_namelen = wg_endpoint_len(ep), .msg_iov = &iov,
			     .msg_iovlen = 1 };

	if (ttl > 0 && ep->addr.ss_family == AF_INET) {
		struct cmsghdr *c;
		memset(&ctrl, 0, sizeof(ctrl));
		mh.msg_control = ctrl.b;
		mh.msg_controllen = sizeof(ctrl.b);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_TTL;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &ttl, sizeof(int));
	}
	return sendmsg(fd, &mh, MSG_DONTWAIT) < 0 ? -errno : 0;
}

static void tcp_close(struct agent *a)
{
	if (a->tcp >= 0)
		close(a->tcp);
	a->tcp = -1;
	a->tcp_up = false;
	a->tcp_in.len = 0;
}

/* A datagram for the introducer: UDP to its first address, or the TCP
 * connection when UDP does not get through. */
static int to_introducer(struct agent *a, const uint8_t *buf, size_t len)
{
	if (a->tcp_up) {
		int ret = mesh_stream_write(a->tcp, buf, len);
		if (ret == -EPIPE) {
			agent_log(a, "writing to the introducer over TCP failed; connecting again in 1 s");
			tcp_close(a);
			a->tcp_next_ms = a->now + 1000;
		}
		return ret;
	}
	return send_ttl(a->udp, buf, len, &a->conf.introducer[0], 0);
}

int agent_send_control(struct agent *a, struct agent_peer *p, struct mesh_msg *m, int fd, const struct wg_endpoint *ep,
		       int ttl)
{
	uint8_t out[MESH_MAX_MSG];
	int n;

	memcpy(m->sender, a->pub, WG_KEY_LEN);
	m->counter = mesh_counter_next(&a->counter, time_real_ns());
	n = mesh_seal(m, p ? p->shared : a->intro_shared, out, sizeof(out));
	if (n < 0)
		return n;
	if (!ep)
		return to_introducer(a, out, (size_t)n);
	return send_ttl(fd, out, (size_t)n, ep, ttl);
}

int agent_send_to_introducer(struct agent *a, struct mesh_msg *m)
{
	return agent_send_control(a, NULL, m, -1, NULL, 0);
}

/* WireGuard's way out: the direct path when there is one, else the relay. */
static int send_cb(void *ctx, struct wg_peer *wp, const struct wg_endpoint *ep, const uint8_t *buf, size_t len)
{
	struct agent *a = ctx;
	struct agent_peer *p = peer_by_wg(a, wp);
	static uint8_t frame[MESH_RELAY_HDR_LEN + WG_MAX_PACKET + 64];
	int n;

	if (!p)
		return -ENOENT;
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
	if (p->direct)
		return send_ttl(p->direct_fd, buf, len, &p->direct_ep, 0);
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
	if (write(a->tun, pkt, len) < 0 && errno != EAGAIN)
		agent_log(a, "writing to %s: %s", a->conf.interface, strerror(errno));
}

/* Local candidates: this host's own IPv4 addresses, with our port (peers
 * on the same LAN meet there without the NAT). */
static void gather_locals(struct agent *a)
{
	struct ifaddrs *ifs, *i;

	a->n_locals = 0;
	if (getifaddrs(&ifs))
		return;
	for (i = ifs; i && a->n_locals < MESH_MAX_CANDS; i = i->ifa_next) {
		struct sockaddr_in *sin;
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
		    !strcmp(i->ifa_name, a->conf.interface))
			continue;
		sin = (struct sockaddr_in *)&a->locals[a->n_locals].addr;
		memset(&a->locals[a->n_locals], 0, sizeof(a->locals[0]));
		sin->sin_family = AF_INET;
		sin->sin_addr = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		sin->sin_port = htons(a->port);
		a->n_locals++;
	}
	freeifaddrs(ifs);
}

static void send_register(struct agent *a, int which, int ttl)
{
	struct mesh_msg m = { .type = MESH_REGISTER };
	uint8_t out[MESH_MAX_MSG];
	int n;

	m.u.reg.has_join = a->conf.has_join;
	memcpy(m.u.reg.join, a->conf.join, 32);
	snprintf(m.u.reg.name, sizeof(m.u.reg.name), "%s", a->conf.name);
	m.u.reg.ttl = (uint8_t)(ttl ? ttl : 64);
	m.u.reg.n_cands = (uint8_t)a->n_locals;
	memcpy(m.u.reg.cands, a->locals, sizeof(a->locals));
	memcpy(m.sender, a->pub, WG_KEY_LEN);
	m.counter = mesh_counter_next(&a->counter, time_real_ns());
	if ((n = mesh_seal(&m, a->intro_shared, out, sizeof(out))) < 0)
		return;
	if (which == 2)
		to_introducer(a, out, (size_t)n);
	else if (which < a->conf.n_introducer)
		send_ttl(a->udp, out, (size_t)n, &a->conf.introducer[which], ttl);
}

static void remeasure(struct agent *a)
{
	struct mesh_nat_class old = a->nat;

	mesh_nat_classify(a->seen, a->locals, a->n_locals, a->tcp_up && !a->udp_reply_ms, &a->nat);
	if (memcmp(&old, &a->nat, sizeof(old))) {
		char d[80];
		agent_log(a, "network measured: %s (seen as %s / %s)", mesh_nat_describe(&a->nat, d, sizeof(d)),
			  agent_ep_str(&a->seen[0]), agent_ep_str(&a->seen[1]));
		for (int i = 0; i < AGENT_MAX_PEERS; i++)
			if (a->peers[i].used)
				punch_reassess(a, &a->peers[i]);
	}
}

static int set_address(struct agent *a)
{
	char path[96];
	int ret = rtnl_addr_add(NULL, a->conf.interface, a->mesh4, a->plen4), fd;

	if (ret && ret != -EEXIST)
		return ret;
	/* IPv6 on our own interface, even where the host turned it off by
	 * default (the lab does); without IPv6 in the kernel, IPv4 only. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", a->conf.interface);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
		if (write(fd, "0", 1) != 1)
			agent_log(a, "cannot enable IPv6 on %s: %s", a->conf.interface, strerror(errno));
		close(fd);
		ret = rtnl_addr6_add(NULL, a->conf.interface, a->mesh6, a->plen6);
		if (ret && ret != -EEXIST)
			agent_log(a, "IPv6 mesh address not set: %s (IPv4 works)", strerror(-ret));
	}
	return rtnl_link_up(NULL, a->conf.interface);
}

static void on_registered(struct agent *a, const struct mesh_msg *m, bool via_tcp, uint64_t now)
{
	const int via = m->u.regd.via;

	if (!a->registered || memcmp(a->token, m->u.regd.token, MESH_TOKEN_LEN) || a->mesh4 != m->u.regd.mesh4) {
		char buf[16];
		a->mesh4 = m->u.regd.mesh4;
		a->plen4 = m->u.regd.plen4;
		memcpy(a->mesh6, m->u.regd.mesh6, 16);
		a->plen6 = m->u.regd.plen6;
		memcpy(a->token, m->u.regd.token, MESH_TOKEN_LEN);
		a->id = m->u.regd.id;
		agent_log(a, "registered as id %u, mesh address %s/%u%s", a->id, inet_ntop(AF_INET, &a->mesh4, buf, sizeof(buf)),
			  a->plen4, via_tcp ? " (over TCP)" : "");
		if (!a->addr_set && set_address(a) == 0)
			a->addr_set = true;
	}
	a->registered = true;
	a->refused = false;
	if (m->u.regd.name[0])
		snprintf(a->conf.name, sizeof(a->conf.name), "%s", m->u.regd.name);
	if (via_tcp || via > 1)
		return;
	a->udp_reply_ms = now;
	if (m->u.regd.ttl && (a->min_ttl == 0 || m->u.regd.ttl < a->min_ttl))
		a->min_ttl = m->u.regd.ttl;
	if (!wg_endpoint_equal(&a->seen[via], &m->u.regd.seen) && a->seen[via].addr.ss_family)
		agent_log(a, "seen from introducer address %d as %s (was %s): the network changed", via,
			  agent_ep_str(&m->u.regd.seen), agent_ep_str(&a->seen[via]));
	a->seen[via] = m->u.regd.seen;
	a->seen_ms[via] = now;
	if (a->tcp >= 0) {
		agent_log(a, "UDP reaches the introducer again: leaving TCP");
		tcp_close(a);
	}
	remeasure(a);
}

static void on_peer(struct agent *a, const struct mesh_peer_rec *r, uint64_t now)
{
	struct agent_peer *p = peer_by_key(a, r->key);
	bool seen_changed;

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
		agent_log(a, "peer %s joined (id %u)", r->name, r->id);
		punch_reassess(a, p);
	}
	p->last_heard_ms = now;
	seen_changed = memcmp(p->rec.seen, r->seen, sizeof(r->seen)) || p->rec.tcp_only != r->tcp_only;
	if (p->rec.mesh4 != r->mesh4 || memcmp(p->rec.mesh6, r->mesh6, 16)) {
		wg_peer_clear_allowed_ips(a->dev, p->wg);
		wg_peer_add_allowed_ip(a->dev, p->wg, 4, (const uint8_t *)&r->mesh4, 32);
		wg_peer_add_allowed_ip(a->dev, p->wg, 6, r->mesh6, 128);
	}
	p->rec = *r;
	if (seen_changed)
		punch_reassess(a, p);
}

/* A sender whose counter we already hold (it restarted while we kept its
 * old stream, or its clock stepped back): say how far we hold, at most
 * once a second, and never in more bytes than the message we answer. */
static void send_resync(struct agent *a, struct agent_peer *p, size_t answered_len, int fd, const struct wg_endpoint *from,
			bool via_tcp, uint64_t now)
{
	struct mesh_replay *r = p ? &p->replay : &a->intro_replay;
	struct mesh_msg m = { .type = MESH_RESYNC };
	uint8_t out[MESH_MAX_MSG];
	int n;

	if (!mesh_replay_resync_due(r, now))
		return;
	m.u.resync.newest = mesh_replay_newest(r);
	memcpy(m.sender, a->pub, WG_KEY_LEN);
	m.counter = mesh_counter_next(&a->counter, time_real_ns());
	n = mesh_seal(&m, p ? p->shared : a->intro_shared, out, sizeof(out));
	if (n < 0 || (size_t)n > answered_len)
		return;
	if (p && !via_tcp && fd >= 0) {
		send_ttl(fd, out, (size_t)n, from, 0);
		return;
	}
	to_introducer(a, out, (size_t)n);
	/* What the introducer said is lost: ask again once it has moved on. */
	a->reg_next_ms = now;
}

/* A control message (sealed) from the introducer or a peer. */
static void on_control(struct agent *a, const uint8_t *buf, size_t len, int fd, const struct wg_endpoint *from,
		       bool via_tcp, uint64_t now)
{
	uint8_t type;
	const uint8_t *sender;
	struct mesh_msg m;
	struct agent_peer *p = NULL;
	char why[160];

	if (mesh_peek(buf, len, &type, &sender)) {
		a->dropped_control++;
		return;
	}
	if (!memcmp(sender, a->conf.introducer_key, WG_KEY_LEN)) {
		if (mesh_open(buf, len, a->intro_shared, &m, why, sizeof(why))) {
			a->dropped_control++;
			return;
		}
	} else if ((p = peer_by_key(a, sender))) {
		if (mesh_open(buf, len, p->shared, &m, why, sizeof(why))) {
			a->dropped_control++;
			return;
		}
	} else {
		a->dropped_control++;
		return;
	}
	/* The same rules for the introducer as for peers: sent within the
	 * skew, and each counter once. */
	if (!mesh_counter_fresh(m.counter, time_real_ns(), MESH_COUNTER_SKEW_S)) {
		a->dropped_control++;
		return;
	}
	if (m.type == MESH_RESYNC) {
		/* Outside the replay window on purpose: it only ever moves our
		 * counter forward, so a replayed one changes nothing. */
		if (mesh_counter_resync(&a->counter, m.u.resync.newest, time_real_ns()))
			agent_log(a, "%s holds newer counters of ours (we restarted, or the clock stepped back): continuing above them",
				  p ? p->rec.name : "the introducer");
		return;
	}
	if (!mesh_replay_check(p ? &p->replay : &a->intro_replay, m.counter)) {
		a->dropped_control++;
		if (!mesh_replay_holds(p ? &p->replay : &a->intro_replay, m.counter))
			send_resync(a, p, len, fd, from, via_tcp, now);
		return;
	}
	if (!p)
		a->intro_heard_ms = now;
	if (!p) {
		switch (m.type) {
		case MESH_REGISTERED:
			on_registered(a, &m, via_tcp, now);
			break;
		case MESH_PEER:
			on_peer(a, &m.u.peer, now);
			break;
		case MESH_PUNCH: {
			struct agent_peer *q;
			on_peer(a, &m.u.punch.peer, now);
			if ((q = peer_by_key(a, m.u.punch.peer.key)))
				punch_start(a, q, m.u.punch.round);
			break;
		}
		case MESH_REFUSED:
			if (!a->refused)
				agent_log(a, "the introducer refused us: %s",
					  m.u.refused.reason == MESH_REFUSED_NOT_MEMBER
						  ? "not a member (add our public key to its allowlist, or set join-secret)"
						  : "no mesh address left in its pool");
			a->refused = true;
			a->registered = false;
			break;
		default:
			a->dropped_control++;
		}
		return;
	}
	if (m.type == MESH_PING)
		punch_on_ping(a, p, &m, fd, from);
	else if (m.type == MESH_PONG)
		punch_on_pong(a, p, &m, fd, from);
	else
		a->dropped_control++;
}

/* A datagram on one of our UDP sockets (or a frame from TCP). */
static void on_datagram(struct agent *a, uint8_t *buf, size_t len, int fd, const struct wg_endpoint *from, bool via_tcp,
			uint64_t now)
{
	if (wg_is_message(buf, len)) {
		wg_device_receive(a->dev, buf, len, from, false, now);
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
		if (!via_tcp && !wg_endpoint_equal(from, &a->conf.introducer[0]) &&
		    !(a->conf.n_introducer > 1 && wg_endpoint_equal(from, &a->conf.introducer[1])))
			return;
		if (mesh_relayed_parse(buf, len, &src, &pkt, &plen) || !peer_by_id(a, src) || plen > sizeof(copy))
			return;
		memcpy(copy, pkt, plen);
		a->relayed_in++;
		wg_device_receive(a->dev, copy, plen, from, true, now);
		return;
	}
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

void agent_read_socket(struct agent *a, int fd, uint64_t now)
{
	static uint8_t buf[65536];

	for (int k = 0; k < 64; k++) {
		struct wg_endpoint from;
		socklen_t sl = sizeof(from.addr);
		ssize_t n;

		memset(&from, 0, sizeof(from));
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from.addr, &sl);
		if (n < 0)
			return;
		on_datagram(a, buf, (size_t)n, fd, &from, false, now);
	}
}

static void tcp_start(struct agent *a)
{
	const struct wg_endpoint *ep = &a->conf.introducer[0];
	int fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&ep->addr, wg_endpoint_len(ep)) && errno != EINPROGRESS) {
		close(fd);
		return;
	}
	a->tcp = fd;
	a->tcp_up = false;
	agent_log(a, "no answer from the introducer over UDP: trying TCP to %s", agent_ep_str(ep));
}

static void registration_tick(struct agent *a, uint64_t now)
{
	bool udp_ok = a->udp_reply_ms && now - a->udp_reply_ms < 3 * a->conf.keepalive_s * 1000u;

	if (now >= a->reg_next_ms) {
		struct wg_endpoint old[MESH_MAX_CANDS];
		int n_old = a->n_locals;

		memcpy(old, a->locals, sizeof(old));
		gather_locals(a);
		if (a->udp_reply_ms && (n_old != a->n_locals || memcmp(old, a->locals, sizeof(old[0]) * (size_t)n_old))) {
			/* Roaming: a new local address; what we measured is stale. */
			agent_log(a, "local addresses changed: measuring again");
			memset(a->seen, 0, sizeof(a->seen));
			a->udp_reply_ms = 0;
			a->min_ttl = 0;
			remeasure(a);
		}
		if (!a->udp_reply_ms) {
			/* First contact: also learn how many hops reach the
			 * introducer (the smallest TTL that gets an answer). */
			for (int ttl = 1; ttl <= TTL_SWEEP; ttl++)
				send_register(a, 0, ttl);
		}
		send_register(a, 0, 0);
		if (a->conf.n_introducer > 1)
			send_register(a, 1, 0);
		if (a->tcp_up)
			send_register(a, 2, 0);
		a->reg_next_ms = now + (a->registered && (udp_ok || a->tcp_up) ? a->conf.keepalive_s * 1000u : REGISTER_RETRY_MS);
	}
	if (!udp_ok && a->tcp < 0 && now - a->started_ms > TCP_FALLBACK_MS && now >= a->tcp_next_ms) {
		tcp_start(a);
		a->tcp_next_ms = now + 10000;
	}
}

static void tcp_ready(struct agent *a, short revents, uint64_t now)
{
	if (!a->tcp_up) {
		int err = 0;
		socklen_t sl = sizeof(err);
		if ((revents & (POLLERR | POLLHUP)) || getsockopt(a->tcp, SOL_SOCKET, SO_ERROR, &err, &sl) || err) {
			tcp_close(a);
			return;
		}
		a->tcp_up = true;
		agent_log(a, "connected to the introducer over TCP");
		remeasure(a);
		send_register(a, 2, 0);
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		struct frame_ctx f = { a, now };
		int ret = mesh_stream_read(a->tcp, &a->tcp_in, on_frame, &f);
		if (ret < 0) {
			agent_log(a, "TCP connection to the introducer closed (%s); connecting again in 1 s",
				  ret == -EPIPE ? "by the introducer" : strerror(-ret));
			tcp_close(a);
			a->registered = a->udp_reply_ms && now - a->udp_reply_ms < 30000;
			a->tcp_next_ms = now + 1000;
		}
	}
}


static int rebind(void *ctx, uint16_t port)
{
	(void)ctx;
	(void)port;
	return -EBUSY; /* the mesh owns its socket: the mapping it learned is this one's */
}

int agent_start(struct agent *a, const struct agent_conf *conf, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int ret;

	memset(a, 0, sizeof(*a));
	a->conf = *conf;
	a->udp = a->tun = a->uapi = a->status = a->tcp = -1;
	a->txid_hi = randombytes_random();
	a->started_ms = a->now = agent_now_ms();
	mesh_replay_init(&a->intro_replay);
	mesh_key_public(a->pub, conf->private_key);
	if (mesh_shared_key(a->intro_shared, conf->introducer_key, conf->private_key)) {
		snprintf(err, errlen, "introducer-key is not a usable public key");
		return -EINVAL;
	}
	if (!(a->dev = wg_device_new(send_cb, deliver_cb, a))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	wg_device_set_private_key(a->dev, conf->private_key);
	if ((a->udp = wg_udp_bind(conf->listen_port)) < 0) {
		snprintf(err, errlen, "cannot bind UDP port %u: %s", conf->listen_port, strerror(-a->udp));
		return a->udp;
	}
	getsockname(a->udp, (struct sockaddr *)&sa, &sl);
	a->port = ntohs(sa.sin_port);
	wg_device_set_listen_port(a->dev, a->port);
	if ((a->tun = wg_tun_open(conf->interface, conf->mtu)) < 0) {
		snprintf(err, errlen, "cannot create TUN device %s: %s", conf->interface, strerror(-a->tun));
		return a->tun;
	}
	fcntl(a->tun, F_SETFL, O_NONBLOCK);
	if ((ret = rtnl_link_up(NULL, conf->interface))) {
		snprintf(err, errlen, "cannot bring %s up: %s", conf->interface, strerror(-ret));
		return ret;
	}
	if ((a->uapi = wg_uapi_listen(conf->interface, a->uapi_path, sizeof(a->uapi_path))) < 0) {
		snprintf(err, errlen, "cannot open the UAPI socket %s: %s", a->uapi_path, strerror(-a->uapi));
		return a->uapi;
	}
	if ((a->status = status_listen(a)) < 0) {
		snprintf(err, errlen, "cannot open the status socket %s: %s", a->status_path, strerror(-a->status));
		return a->status;
	}
	agent_log(a, "listening on UDP port %u; introducer %s", a->port, agent_ep_str(&conf->introducer[0]));
	return 0;
}

void agent_stop(struct agent *a)
{
	for (int i = 0; i < AGENT_MAX_PEERS; i++)
		if (a->peers[i].used)
			punch_close_birthday(&a->peers[i], -1);
	tcp_close(a);
	if (a->uapi_path[0] && a->uapi >= 0)
		unlink(a->uapi_path);
	if (a->status_path[0] && a->status >= 0)
		unlink(a->status_path);
	if (a->uapi >= 0)
		close(a->uapi);
	if (a->status >= 0)
		close(a->status);
	if (a->udp >= 0)
		close(a->udp);
	if (a->tun >= 0)
		close(a->tun);
	wg_device_free(a->dev);
	a->dev = NULL;
	sodium_memzero(a->conf.private_key, sizeof(a->conf.private_key));
	sodium_memzero(a->intro_shared, sizeof(a->intro_shared));
	for (int i = 0; i < AGENT_MAX_PEERS; i++)
		sodium_memzero(a->peers[i].shared, 32);
}

static void expire_peers(struct agent *a, uint64_t now)
{
	for (int i = 0; i < AGENT_MAX_PEERS; i++) {
		struct agent_peer *p = &a->peers[i];
		/* Only while the introducer answers: when it is down, the peers
		 * (and their direct paths) stay. */
		if (p->used && a->registered && now - a->intro_heard_ms < 3000 && now - p->last_heard_ms > PEER_EXPIRE_MS) {
			agent_log(a, "peer %s left the mesh", p->rec.name);
			punch_close_birthday(p, -1);
			wg_peer_remove(a->dev, p->wg);
			sodium_memzero(p->shared, 32);
			p->used = false;
		}
	}
}

int agent_run(struct agent *a, volatile int *stop)
{
	static uint8_t pkt[WG_MAX_PACKET];
	struct wg_uapi_hooks hooks = { rebind, a };

	while (!*stop) {
		struct pollfd p[6 + AGENT_MAX_PEERS * 2 + AGENT_BDAY_SOCKETS];
		int n = 0, nbase;
		uint64_t now;

		p[n++] = (struct pollfd){ a->udp, POLLIN, 0 };
		p[n++] = (struct pollfd){ a->tun, POLLIN, 0 };
		p[n++] = (struct pollfd){ a->uapi, POLLIN, 0 };
		p[n++] = (struct pollfd){ a->status, POLLIN, 0 };
		p[n++] = (struct pollfd){ a->tcp, (short)(a->tcp_up ? POLLIN : POLLOUT), 0 };
		nbase = n;
		for (int i = 0; i < AGENT_MAX_PEERS; i++) {
			struct agent_peer *q = &a->peers[i];
			if (!q->used)
				continue;
			for (int k = 0; k < q->n_bday && n < (int)(sizeof(p) / sizeof(p[0])); k++)
				if (q->bday_fds[k] >= 0)
					p[n++] = (struct pollfd){ q->bday_fds[k], POLLIN, 0 };
			if (q->direct && q->direct_fd != a->udp && q->n_bday == 0 && n < (int)(sizeof(p) / sizeof(p[0])))
				p[n++] = (struct pollfd){ q->direct_fd, POLLIN, 0 };
		}
		if (poll(p, (nfds_t)n, 20) < 0 && errno != EINTR)
			return -errno;
		now = a->now = agent_now_ms();
		if (p[0].revents & POLLIN)
			agent_read_socket(a, a->udp, now);
		if (p[1].revents & POLLIN)
			for (int k = 0; k < 64; k++) {
				ssize_t len = read(a->tun, pkt, sizeof(pkt));
				if (len <= 0)
					break;
				wg_device_send(a->dev, pkt, (size_t)len, now);
			}
		if (p[2].revents & POLLIN)
			wg_uapi_serve(a->uapi, a->dev, &hooks);
		if (p[3].revents & POLLIN)
			status_serve(a);
		if (a->tcp >= 0 && p[4].revents)
			tcp_ready(a, p[4].revents, now);
		for (int i = nbase; i < n; i++)
			if (p[i].revents & POLLIN)
				agent_read_socket(a, p[i].fd, now);
		registration_tick(a, now);
		for (int i = 0; i < AGENT_MAX_PEERS; i++)
			if (a->peers[i].used)
				punch_tick(a, &a->peers[i], now);
		expire_peers(a, now);
		wg_device_tick(a->dev, now);
	}
	return 0;
}
