/* The simulated internet of sim.h: NATs, routers, TTLs, a TCP pipe, and
 * the clock, around the real cores. */
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INTRO_IP0 0xcb00710a      /* 203.0.113.10 */
#define INTRO_IP1 0xcb00710b
#define INTRO_PORT 3478
#define TCP_DELAY_MS 3

static uint32_t rnd(struct sim *s)
{
	/* xorshift32: reproducible runs */
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 17;
	s->rng ^= s->rng << 5;
	return s->rng;
}

static struct wg_endpoint endpoint(uint32_t ip, uint16_t port)
{
	struct wg_endpoint e;
	struct sockaddr_in *sin = (struct sockaddr_in *)&e.addr;

	memset(&e, 0, sizeof(e));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(ip);
	sin->sin_port = htons(port);
	return e;
}

static uint32_t ep_ip(const struct wg_endpoint *e)
{
	return ntohl(((const struct sockaddr_in *)&e->addr)->sin_addr.s_addr);
}

static uint16_t ep_port(const struct wg_endpoint *e)
{
	return ntohs(((const struct sockaddr_in *)&e->addr)->sin_port);
}

static bool is_introducer(uint32_t ip)
{
	return ip == INTRO_IP0 || ip == INTRO_IP1;
}

static uint64_t wall_ns(const struct sim *s, int64_t offset)
{
	return (uint64_t)((int64_t)((SIM_EPOCH_S * 1000 + s->now) * 1000000ULL) + offset);
}

uint64_t sim_wall_ns(const struct sim *s)
{
	return wall_ns(s, 0);
}

static struct sim_packet *enqueue(struct sim *s, enum sim_kind kind, uint64_t at, const uint8_t *data, size_t len)
{
	struct sim_packet *p;

	if (s->n_packets == SIM_MAX_PACKETS)
		return NULL; /* a full network drops, as a real one does */
	p = &s->packets[s->n_packets++];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->at = at;
	p->len = len;
	if (len) {
		p->data = malloc(len);
		if (!p->data) {
			s->n_packets--;
			return NULL;
		}
		memcpy(p->data, data, len);
	}
	return p;
}

/* ---- NATs ---- */

static uint64_t nat_timeout(const struct sim_agent *g)
{
	return g->nat.timeout_ms ? g->nat.timeout_ms : 120000;
}

static bool port_taken(const struct sim_agent *g, uint16_t port, uint64_t now)
{
	for (int i = 0; i < SIM_MAX_MAPPINGS; i++)
		if (g->maps[i].used && g->maps[i].out_port == port && now - g->maps[i].last_ms <= nat_timeout(g))
			return true;
	return false;
}

static void allow(struct sim_mapping_entry *m, uint32_t ip, uint16_t port)
{
	for (int i = 0; i < m->n_allowed; i++)
		if (m->allowed[i].ip == ip && m->allowed[i].port == port)
			return;
	if (m->n_allowed == SIM_ALLOWED)
		memmove(m->allowed, m->allowed + 1, sizeof(m->allowed[0]) * (SIM_ALLOWED - 1)), m->n_allowed--;
	m->allowed[m->n_allowed].ip = ip;
	m->allowed[m->n_allowed++].port = port;
}

/* An outbound packet through agent g's NAT: the outside port it leaves from. */
static uint16_t nat_out(struct sim *s, struct sim_agent *g, uint16_t in_port, uint32_t dst_ip, uint16_t dst_port)
{
	bool per_dest = g->nat.mapping == SIM_ADM_RANDOM || g->nat.mapping == SIM_ADM_SEQUENTIAL;
	struct sim_mapping_entry *m = NULL, *free_slot = NULL;

	if (g->pm_port && s->now < g->pm_until && in_port == g->sock_port[1])
		for (int i = 0; i < g->n_pm_flows; i++)
			if (g->pm_flows[i].ip == dst_ip && g->pm_flows[i].port == dst_port)
				return g->pm_port;

	for (int i = 0; i < SIM_MAX_MAPPINGS; i++) {
		struct sim_mapping_entry *e = &g->maps[i];
		if (e->used && s->now - e->last_ms > nat_timeout(g))
			e->used = false;
		if (!e->used) {
			if (!free_slot)
				free_slot = e;
			continue;
		}
		if (e->in_port == in_port && (!per_dest || (e->dst_ip == dst_ip && e->dst_port == dst_port)))
			m = e;
	}
	if (!m) {
		uint16_t port = in_port;
		if (!free_slot)
			return 0;
		m = free_slot;
		if (g->nat.mapping == SIM_ADM_SEQUENTIAL)
			port = g->next_seq_port++;
		else if (g->nat.mapping == SIM_ADM_RANDOM || port_taken(g, port, s->now))
			do
				port = (uint16_t)(1024 + rnd(s) % (65536 - 1024));
			while (port_taken(g, port, s->now));
		memset(m, 0, sizeof(*m));
		m->used = true;
		m->in_ip = g->local_ip;
		m->in_port = in_port;
		m->out_port = port;
		m->dst_ip = dst_ip;
		m->dst_port = dst_port;
	}
	m->last_ms = s->now;
	allow(m, dst_ip, dst_port);
	return m->out_port;
}

/* An inbound packet at agent g's NAT: the inside port it goes to (0: dropped). */
static uint16_t nat_in(struct sim *s, struct sim_agent *g, uint16_t out_port, uint32_t src_ip, uint16_t src_port)
{
	if (g->pm_port && out_port == g->pm_port && s->now < g->pm_until && !g->nat.portmap_says_ip) {
		/* a port the router mapped on request: anyone gets in, and the
		 * flow's answers go back out by it */
		int k = g->n_pm_flows < 16 ? g->n_pm_flows++ : (int)(rnd(s) % 16);
		g->pm_flows[k].ip = src_ip, g->pm_flows[k].port = src_port;
		return g->sock_port[1];
	}
	for (int i = 0; i < SIM_MAX_MAPPINGS; i++) {
		struct sim_mapping_entry *e = &g->maps[i];
		bool ok = false;
		if (!e->used || e->out_port != out_port || s->now - e->last_ms > nat_timeout(g))
			continue;
		for (int k = 0; k < e->n_allowed && !ok; k++)
			ok = g->nat.filtering == SIM_EIF ||
			     (e->allowed[k].ip == src_ip && (g->nat.filtering == SIM_ADF || e->allowed[k].port == src_port));
		if (g->nat.filtering == SIM_EIF)
			ok = true;
		if (!ok)
			continue;
		e->last_ms = s->now; /* Linux refreshes on inbound traffic too */
		return e->in_port;
	}
	return 0;
}

static struct sim_agent *agent_by_public(struct sim *s, uint32_t ip)
{
	for (int i = 0; i < s->n_agents; i++)
		if (s->agents[i].public_ip == ip)
			return &s->agents[i];
	return NULL;
}

/* ---- UDP: out of a host, across the internet, into a host ---- */

static void udp_send(struct sim *s, struct sim_agent *from, uint32_t src_ip, uint16_t src_port, uint32_t dst_ip,
		     uint16_t dst_port, const uint8_t *buf, size_t len, int ttl)
{
	struct sim_packet *p;
	int hops = 0;

	if (ttl <= 0)
		ttl = 64;
	if (from && from->nat.max_datagram && len > from->nat.max_datagram) {
		s->dropped_by_nat++;
		return;
	}
	if (from && from->nat.mapping != SIM_NO_NAT) {
		if (from->nat.udp_blocked) {
			s->dropped_by_nat++;
			return;
		}
		if (ttl <= 1) {
			s->dropped_ttl++;
			return;
		}
		ttl--, hops++;
		src_port = nat_out(s, from, src_port, dst_ip, dst_port);
		src_ip = from->public_ip;
		if (!src_port)
			return;
	}
	/* The internet router. */
	if (ttl <= 1) {
		s->dropped_ttl++;
		return;
	}
	ttl--, hops++;
	if (is_introducer(src_ip) || is_introducer(dst_ip))
		s->intro_bytes += len;
	else
		s->direct_bytes += len;
	if (!(p = enqueue(s, SIM_UDP, s->now + (uint64_t)(hops + 1) * s->hop_ms, buf, len)))
		return;
	p->src_ip = src_ip, p->src_port = src_port, p->dst_ip = dst_ip, p->dst_port = dst_port;
	p->ttl = ttl;
}

static void udp_arrive(struct sim *s, struct sim_packet *p)
{
	struct sim_agent *g;
	struct wg_endpoint from = endpoint(p->src_ip, p->src_port);
	uint16_t port = p->dst_port;

	if (is_introducer(p->dst_ip)) {
		if (s->intro_up && p->dst_port == INTRO_PORT)
			introducer_receive(s->intro, p->dst_ip == INTRO_IP0 ? 0 : 1, &from, p->data, p->len, s->now);
		return;
	}
	if (!(g = agent_by_public(s, p->dst_ip)))
		return;
	if (g->nat.max_datagram && p->len > g->nat.max_datagram) {
		s->dropped_by_nat++;
		return;
	}
	if (g->nat.mapping != SIM_NO_NAT) {
		if (p->ttl <= 1 || g->nat.udp_blocked) {
			s->dropped_ttl += p->ttl <= 1;
			s->dropped_by_nat += g->nat.udp_blocked;
			return;
		}
		if (!(port = nat_in(s, g, p->dst_port, p->src_ip, p->src_port))) {
			s->dropped_by_nat++;
			return;
		}
	}
	if (!g->up)
		return;
	for (int k = 1; k < SIM_MAX_SOCKETS; k++)
		if (g->sock_port[k] == port) {
			agent_receive(&g->a, k, &from, p->data, p->len, s->now);
			return;
		}
}

/* ---- the introducer's io ---- */

static void intro_send_udp(void *ctx, int via, const struct wg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct sim *s = ctx;

	udp_send(s, NULL, via ? INTRO_IP1 : INTRO_IP0, INTRO_PORT, ep_ip(to), ep_port(to), buf, len, 0);
}

static struct sim_agent *agent_by_conn(struct sim *s, int conn)
{
	for (int i = 0; i < s->n_agents; i++)
		if ((s->agents[i].tcp_up || s->agents[i].tcp_connecting) && s->agents[i].tcp_conn == conn)
			return &s->agents[i];
	return NULL;
}

static int intro_send_tcp(void *ctx, int conn, const uint8_t *buf, size_t len)
{
	struct sim *s = ctx;
	struct sim_agent *g = agent_by_conn(s, conn);
	uint8_t frame[2 + MESH_STREAM_MAX];
	struct sim_packet *p;

	if (!g || !g->tcp_up || len > MESH_STREAM_MAX)
		return -EPIPE;
	frame[0] = (uint8_t)(len >> 8), frame[1] = (uint8_t)len;
	memcpy(frame + 2, buf, len);
	s->intro_bytes += len + 2;
	if ((p = enqueue(s, SIM_TCP_DATA, s->now + TCP_DELAY_MS, frame, len + 2)))
		p->agent = g->index;
	return 0;
}

static void intro_close_tcp(void *ctx, int conn)
{
	struct sim *s = ctx;
	struct sim_agent *g = agent_by_conn(s, conn);
	struct sim_packet *p;

	if (!g)
		return;
	g->tcp_conn = -1;
	if ((p = enqueue(s, SIM_TCP_CLOSE, s->now + TCP_DELAY_MS, NULL, 0)))
		p->agent = g->index;
}

static uint64_t intro_real_ns(void *ctx)
{
	struct sim *s = ctx;

	return wall_ns(s, s->intro_clock_offset_ns);
}

/* ---- an agent's io ---- */

static uint64_t agent_real_ns(void *ctx)
{
	struct sim_agent *g = ctx;

	return wall_ns(g->sim, g->clock_offset_ns);
}

static int agent_send(void *ctx, int sock, const uint8_t *buf, size_t len, const struct wg_endpoint *to, int ttl)
{
	struct sim_agent *g = ctx;

	if (sock < 1 || sock >= SIM_MAX_SOCKETS || !g->sock_port[sock])
		return -EBADF;
	udp_send(g->sim, g, g->local_ip, g->sock_port[sock], ep_ip(to), ep_port(to), buf, len, ttl);
	return 0;
}

static int agent_open_socket(void *ctx)
{
	struct sim_agent *g = ctx;

	for (int k = 2; k < SIM_MAX_SOCKETS; k++)
		if (!g->sock_port[k]) {
			g->sock_port[k] = g->next_port++;
			if (++g->n_open > g->max_open)
				g->max_open = g->n_open;
			return k;
		}
	return -EMFILE;
}

static void agent_close_socket(void *ctx, int sock)
{
	struct sim_agent *g = ctx;

	if (sock >= 2 && sock < SIM_MAX_SOCKETS && g->sock_port[sock]) {
		g->sock_port[sock] = 0;
		g->n_open--;
	}
}

static int agent_tcp_connect(void *ctx, const struct wg_endpoint *to)
{
	struct sim_agent *g = ctx;
	struct sim_packet *p;

	if (ep_ip(to) != INTRO_IP0 || ep_port(to) != INTRO_PORT)
		return -ECONNREFUSED;
	g->tcp_connecting = true;
	g->tcp_up = false;
	g->tcp_conn = -1;
	if ((p = enqueue(g->sim, SIM_TCP_CONNECT, g->sim->now + TCP_DELAY_MS, NULL, 0))) {
		p->agent = g->index;
		p->to_introducer = true;
	}
	return 0;
}

static int agent_tcp_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct sim_agent *g = ctx;
	uint8_t frame[2 + MESH_STREAM_MAX];
	struct sim_packet *p;

	if (!g->tcp_up || len > MESH_STREAM_MAX)
		return -EPIPE;
	frame[0] = (uint8_t)(len >> 8), frame[1] = (uint8_t)len;
	memcpy(frame + 2, buf, len);
	g->sim->intro_bytes += len + 2;
	if ((p = enqueue(g->sim, SIM_TCP_DATA, g->sim->now + TCP_DELAY_MS, frame, len + 2))) {
		p->agent = g->index;
		p->to_introducer = true;
	}
	return 0;
}

static void agent_tcp_close(void *ctx)
{
	struct sim_agent *g = ctx;
	struct sim_packet *p;

	if ((g->tcp_up || g->tcp_connecting) && g->tcp_conn >= 0 &&
	    (p = enqueue(g->sim, SIM_TCP_CLOSE, g->sim->now + TCP_DELAY_MS, NULL, 0))) {
		p->agent = g->index;
		p->to_introducer = true;
		p->src_port = (uint16_t)g->tcp_conn;
	}
	g->tcp_up = g->tcp_connecting = false;
}

static void agent_deliver(void *ctx, const uint8_t *pkt, size_t len)
{
	struct sim_agent *g = ctx;

	g->delivered++;
	g->delivered_bytes += len;
	if (len >= 32)
		memcpy(&g->last_seq, pkt + 28, 4);
}

static int agent_set_address(void *ctx, uint32_t mesh4, uint8_t plen4, const uint8_t mesh6[16], uint8_t plen6)
{
	(void)ctx, (void)mesh4, (void)plen4, (void)mesh6, (void)plen6;
	return 0;
}

static int agent_portmap(void *ctx, uint32_t lifetime_s)
{
	struct sim_agent *g = ctx;

	if (g->pm_asked)
		return -EBUSY;
	g->pm_asked = true;
	g->pm_ask_lifetime = lifetime_s;
	g->pm_answer_at = g->sim->now + (g->sim->portmap_ms ? g->sim->portmap_ms : 2 * g->sim->hop_ms);
	g->pm_asks++;
	return 0;
}

/* The router answers an ask that is due. */
static void portmap_answer(struct sim *s, struct sim_agent *g)
{
	struct agent_portmap_answer ans;

	if (!g->pm_asked || s->now < g->pm_answer_at)
		return;
	g->pm_asked = false;
	memset(&ans, 0, sizeof(ans));
	if (!g->nat.portmap || g->nat.mapping == SIM_NO_NAT) {
		snprintf(ans.why, sizeof(ans.why), "PCP: no answer; NAT-PMP: no answer; UPnP: no device answered discovery");
	} else if (g->pm_ask_lifetime) {
		uint32_t life = g->nat.portmap_lifetime_s ? g->nat.portmap_lifetime_s : g->pm_ask_lifetime;
		g->pm_port = g->sock_port[1];
		g->pm_until = s->now + (uint64_t)life * 1000;
		ans.by = g->nat.portmap;
		ans.lifetime_s = life;
		ans.ext = endpoint(g->nat.portmap_says_ip ? g->nat.portmap_says_ip : g->public_ip, g->pm_port);
	} else {
		g->pm_port = 0;
		g->n_pm_flows = 0;
	}
	if (g->up)
		agent_portmap_answer(&g->a, &ans, s->now);
}

static int agent_local_addresses(void *ctx, struct wg_endpoint *out, int max)
{
	struct sim_agent *g = ctx;

	if (max < 1)
		return 0;
	out[0] = endpoint(g->local_ip, 0);
	if (g->extra_local_ip && max > 1) {
		out[1] = endpoint(g->extra_local_ip, 0);
		return 2;
	}
	return 1;
}

/* ---- TCP events ---- */

static void tcp_arrive(struct sim *s, struct sim_packet *p)
{
	struct sim_agent *g = &s->agents[p->agent];

	switch (p->kind) {
	case SIM_TCP_CONNECT: {
		struct wg_endpoint from = endpoint(g->public_ip, (uint16_t)(30000 + p->agent));
		int c = s->intro_up ? introducer_conn_open(s->intro, &from, s->now) : -ECONNREFUSED;
		struct sim_packet *q;
		if (!g->tcp_connecting)
			return;
		if (c < 0) {
			if ((q = enqueue(s, SIM_TCP_CLOSE, s->now + TCP_DELAY_MS, NULL, 0)))
				q->agent = p->agent;
			return;
		}
		g->tcp_conn = c;
		if ((q = enqueue(s, SIM_TCP_CONNECTED, s->now + TCP_DELAY_MS, NULL, 0)))
			q->agent = p->agent;
		return;
	}
	case SIM_TCP_CONNECTED:
		if (!g->tcp_connecting || g->tcp_conn < 0)
			return;
		g->tcp_connecting = false;
		g->tcp_up = true;
		if (g->up)
			agent_tcp_connected(&g->a, s->now);
		return;
	case SIM_TCP_DATA:
		if (p->to_introducer) {
			if (s->intro_up && g->tcp_conn >= 0)
				introducer_conn_input(s->intro, g->tcp_conn, p->data, p->len, s->now);
		} else if (g->up && g->tcp_up) {
			agent_tcp_input(&g->a, p->data, p->len, s->now);
		}
		return;
	case SIM_TCP_CLOSE:
		if (p->to_introducer) {
			if (s->intro_up)
				introducer_conn_closed(s->intro, p->src_port);
		} else {
			bool was = g->tcp_up || g->tcp_connecting;
			g->tcp_up = g->tcp_connecting = false;
			g->tcp_conn = -1;
			if (was && g->up)
				agent_tcp_closed(&g->a, -EPIPE, s->now);
		}
		return;
	default:
		return;
	}
}

/* ---- the simulation ---- */

static void keypair(uint8_t priv[WG_KEY_LEN])
{
	randombytes_buf(priv, WG_KEY_LEN);
	priv[0] &= 248;
	priv[31] = (uint8_t)((priv[31] & 127) | 64);
}

void sim_init(struct sim *s, const char *intro_extra)
{
	char err[256];

	memset(s, 0, sizeof(*s));
	if (sodium_init() < 0)
		abort();
	s->rng = 4787;
	s->hop_ms = SIM_HOP_MS;
	s->packets = calloc(SIM_MAX_PACKETS, sizeof(*s->packets));
	if (!s->packets)
		abort();
	introducer_conf_defaults(&s->intro_conf);
	keypair(s->intro_priv);
	memcpy(s->intro_conf.private_key, s->intro_priv, WG_KEY_LEN);
	s->intro_conf.has_key = true;
	s->intro_conf.listen[0] = endpoint(INTRO_IP0, INTRO_PORT);
	s->intro_conf.listen[1] = endpoint(INTRO_IP1, INTRO_PORT);
	s->intro_conf.n_listen = 2;
	s->intro_conf.user[0] = '\0';
	if (intro_extra &&
	    introducer_conf_parse(&s->intro_conf, intro_extra, strlen(intro_extra), "the test", err, sizeof(err))) {
		fprintf(stderr, "sim: %s\n", err);
		abort();
	}
}

void sim_free(struct sim *s)
{
	for (int i = 0; i < s->n_agents; i++) {
		sim_stop_agent(s, i);
		free(s->agents[i].maps);
	}
	if (s->intro_up)
		introducer_free(s->intro);
	for (int i = 0; i < s->n_packets; i++)
		free(s->packets[i].data);
	free(s->packets);
	memset(s, 0, sizeof(*s));   /* freed twice: nothing the second time */
}

int sim_add_agent(struct sim *s, const char *name, const struct sim_nat *nat)
{
	int i = s->n_agents++;
	struct sim_agent *g = &s->agents[i];
	uint8_t pub[WG_KEY_LEN];

	memset(g, 0, sizeof(*g));
	g->sim = s;
	g->index = i;
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->nat = *nat;
	g->public_ip = 0xc0000200u + (uint32_t)(i + 1) * 10;     /* 192.0.2.10, .20, ... */
	g->local_ip = nat->mapping == SIM_NO_NAT ? g->public_ip : 0x0a000002u + ((uint32_t)(i + 1) << 8); /* 10.0.N.2 */
	g->maps = calloc(SIM_MAX_MAPPINGS, sizeof(*g->maps));
	if (!g->maps)
		abort();
	g->next_seq_port = 20000;
	g->tcp_conn = -1;
	agent_conf_defaults(&g->conf);
	keypair(g->conf.private_key);
	g->conf.has_key = true;
	key_public(g->conf.introducer_key, s->intro_priv);
	g->conf.has_introducer_key = true;
	g->conf.introducer[0] = endpoint(INTRO_IP0, INTRO_PORT);
	g->conf.introducer[1] = endpoint(INTRO_IP1, INTRO_PORT);
	g->conf.n_introducer = 2;
	snprintf(g->conf.interface, sizeof(g->conf.interface), "sim%d", i);
	snprintf(g->conf.name, sizeof(g->conf.name), "%s", name);
	/* The introducer knows it by name. */
	key_public(pub, g->conf.private_key);
	memcpy(s->intro_conf.allow[s->intro_conf.n_allow].key, pub, WG_KEY_LEN);
	snprintf(s->intro_conf.allow[s->intro_conf.n_allow].name, sizeof(s->intro_conf.allow[0].name), "%s", name);
	s->intro_conf.n_allow++;
	return i;
}

static void start_introducer(struct sim *s)
{
	struct introducer_io io = { s, intro_send_udp, intro_send_tcp, intro_close_tcp, intro_real_ns };
	char err[256];

	if (!(s->intro = introducer_new(&s->intro_conf, &io, err, sizeof(err)))) {
		fprintf(stderr, "sim: %s\n", err);
		abort();
	}
	s->intro_up = true;
}

void sim_stop_introducer(struct sim *s)
{
	if (s->intro_up)
		introducer_free(s->intro);
	s->intro_up = false;
}

void sim_restart_introducer(struct sim *s)
{
	sim_stop_introducer(s);
	start_introducer(s);
}

void sim_start_agent(struct sim *s, int i)
{
	struct sim_agent *g = &s->agents[i];
	struct agent_io io = { g, agent_real_ns, agent_send, agent_open_socket, agent_close_socket, agent_tcp_connect,
			       agent_tcp_write, agent_tcp_close, agent_deliver, agent_set_address, agent_local_addresses,
			       agent_portmap };
	char err[256];

	if (!s->intro_up)
		start_introducer(s);
	if (g->up)
		sim_stop_agent(s, i);
	memset(g->sock_port, 0, sizeof(g->sock_port));
	g->n_open = g->max_open = 1;
	g->sock_port[1] = (uint16_t)(40000 + i * 1000 + rnd(s) % 500);
	g->next_port = (uint16_t)(g->sock_port[1] + 1);
	if (agent_init(&g->a, &g->conf, &io, 1, g->sock_port[1], s->now, err, sizeof(err))) {
		fprintf(stderr, "sim: %s\n", err);
		abort();
	}
	g->up = true;
}

void sim_stop_agent(struct sim *s, int i)
{
	struct sim_agent *g = &s->agents[i];

	(void)s;
	if (!g->up)
		return;
	agent_fini(&g->a);
	g->up = false;
	memset(g->sock_port, 0, sizeof(g->sock_port));
}

static void process_due(struct sim *s)
{
	for (;;) {
		int k = -1;
		for (int i = 0; i < s->n_packets; i++)
			if (s->packets[i].at <= s->now && (k < 0 || s->packets[i].at < s->packets[k].at))
				k = i;
		if (k < 0)
			return;
		struct sim_packet p = s->packets[k];
		s->packets[k] = s->packets[--s->n_packets];
		if (p.kind == SIM_UDP)
			udp_arrive(s, &p);
		else
			tcp_arrive(s, &p);
		free(p.data);
	}
}

void sim_run(struct sim *s, uint64_t ms)
{
	uint64_t end = s->now + ms;

	while (s->now < end) {
		uint64_t next = end;
		for (int i = 0; i < s->n_packets; i++)
			if (s->packets[i].at < next)
				next = s->packets[i].at;
		if (s->next_tick < next)
			next = s->next_tick;
		if (s->next_intro_tick < next)
			next = s->next_intro_tick;
		if (next > s->now)
			s->now = next;
		process_due(s);
		if (s->now >= s->next_tick) {
			for (int i = 0; i < s->n_agents; i++) {
				portmap_answer(s, &s->agents[i]);
				if (s->agents[i].up)
					agent_tick(&s->agents[i].a, s->now);
			}
			s->next_tick = s->now + 10;
		}
		if (s->now >= s->next_intro_tick) {
			if (s->intro_up)
				introducer_tick(s->intro, s->now);
			s->next_intro_tick = s->now + 100;
		}
	}
}

bool sim_run_until(struct sim *s, uint64_t ms, bool (*cond)(struct sim *s, void *ctx), void *ctx)
{
	for (uint64_t t = 0; t < ms; t += 10) {
		if (cond(s, ctx))
			return true;
		sim_run(s, 10);
	}
	return cond(s, ctx);
}

void sim_send(struct sim *s, int i, int j, size_t len, uint32_t seq)
{
	uint8_t pkt[1500];
	struct agent *a = &s->agents[i].a, *b = &s->agents[j].a;

	if (len < 32)
		len = 32;
	if (len > sizeof(pkt))
		len = sizeof(pkt);
	memset(pkt, 0, len);
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)(len >> 8), pkt[3] = (uint8_t)len;
	pkt[8] = 64;
	pkt[9] = 17;
	memcpy(pkt + 12, &a->mesh4, 4);
	memcpy(pkt + 16, &b->mesh4, 4);
	pkt[20] = 0x1f, pkt[21] = 0x90, pkt[22] = 0x1f, pkt[23] = 0x90;
	pkt[24] = (uint8_t)((len - 20) >> 8), pkt[25] = (uint8_t)(len - 20);
	memcpy(pkt + 28, &seq, 4);
	agent_tun_packet(a, pkt, len, s->now);
}

struct agent_peer *sim_peer(struct sim *s, int i, int j)
{
	struct agent *a = &s->agents[i].a;

	for (int k = 0; k < AGENT_MAX_PEERS; k++)
		if (a->peers[k].used && !strcmp(a->peers[k].rec.name, s->agents[j].name))
			return &a->peers[k];
	return NULL;
}

bool sim_direct(struct sim *s, int i, int j)
{
	struct agent_peer *p = sim_peer(s, i, j);

	return p && p->direct;
}

void sim_flush_nat(struct sim *s, int i)
{
	memset(s->agents[i].maps, 0, SIM_MAX_MAPPINGS * sizeof(s->agents[i].maps[0]));
}

int sim_members(struct sim *s)
{
	return s->intro_up ? introducer_members(s->intro) : 0;
}
