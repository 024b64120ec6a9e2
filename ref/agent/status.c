/* `punchlab-agent status`: the daemon answers on a UNIX socket with its
 * state, as a table for people or JSON for programs. */
#include "agent.h"
#include "../../lib/portmap/portmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <time.h>
#include <unistd.h>

int status_listen(struct agent *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	mkdir(MESH_STATUS_DIR, 0755);
	snprintf(a->status_path, sizeof(a->status_path), "%s/%s.sock", MESH_STATUS_DIR, a->conf.interface);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a->status_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	unlink(a->status_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8)) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	chmod(a->status_path, 0600);
	return fd;
}

struct out {
	char *buf;
	size_t cap, len;
};

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->cap == 0 || o->len >= o->cap - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len = o->len + (size_t)n < o->cap ? o->len + (size_t)n : o->cap - 1;
}

/* Strings we emit come from our own formatting or checked names; escape
 * quotes and backslashes anyway. */
static const char *js(const char *s)
{
	static char buf[4][512];
	static int k;
	size_t j = 0;

	k = (k + 1) % 4;
	for (; *s && j < sizeof(buf[k]) - 2; s++) {
		if (*s == '"' || *s == '\\')
			buf[k][j++] = '\\';
		buf[k][j++] = (unsigned char)*s < 0x20 ? ' ' : *s;
	}
	buf[k][j] = '\0';
	return buf[k];
}

static const char *ip4(uint32_t a)
{
	static char buf[2][16];
	static int k;

	k ^= 1;
	return inet_ntop(AF_INET, &a, buf[k], sizeof(buf[k]));
}

static const char *ip6(const uint8_t *a)
{
	static char buf[48];

	return inet_ntop(AF_INET6, a, buf, sizeof(buf));
}

const char *agent_introducer_state(const struct agent *a)
{
	bool udp_fresh = a->udp_reply_ms && a->now - a->udp_reply_ms < 3 * a->conf.keepalive_s * 1000ull;

	if (a->refused)
		return "refused";
	if (a->tcp_up && a->registered)
		return "tcp";
	return a->registered && udp_fresh ? "udp" : "unreachable";
}

/* The port mapping we hold: for people, "192.0.2.2:51820 by PCP, renewed
 * in 3540 s" (or none, and why); in JSON an object with protocol
 * ("" none), endpoint, offered, renew_in_s and why. */
static void portmap_render(const struct agent *a, bool json, char *buf, size_t len)
{
	const struct agent_portmap *pm = &a->pmap;
	char why[200], ep[64];
	bool offered = portmap_offered(a, why, sizeof(why)) != NULL;
	long renew = pm->got.by && pm->next_ms > a->now ? (long)((pm->next_ms - a->now) / 1000) : 0;

	snprintf(ep, sizeof(ep), "%s", pm->got.by ? agent_ep_str(&pm->got.ext) : "");
	if (!pm->got.by)
		snprintf(why, sizeof(why), "%s", !a->conf.port_mapping ? "off (port-mapping = no)"
						 : pm->got.why[0]  ? pm->got.why
						 : pm->asking	   ? "asking the router"
								   : "not asked yet");
	if (json)
		snprintf(buf, len, "{\"protocol\":\"%s\",\"endpoint\":\"%s\",\"offered\":%s,\"renew_in_s\":%ld,\"why\":\"%s\"}",
			 pm->got.by ? pmap_protocol_name(pm->got.by) : "", ep, offered ? "true" : "false", renew, js(why));
	else if (pm->got.by)
		snprintf(buf, len, "%s by %s, renewed in %ld s%s%s", ep, pmap_protocol_name(pm->got.by), renew, why[0] ? "; " : "",
			 why);
	else
		snprintf(buf, len, "none: %s", why);
}

static void render(struct agent *a, struct out *o, bool json)
{
	char key[45], nat[80], addr[40], pmap[512];
	const char *intro = agent_introducer_state(a);
	uint64_t now = a->now;

	key_format(a->pub, key);
	mesh_nat_describe(&a->nat, nat, sizeof(nat));
	portmap_render(a, json, pmap, sizeof(pmap));
	if (json) {
		emit(o, "{\"interface\":\"%s\",\"name\":\"%s\",\"public_key\":\"%s\",\"listen_port\":%u,", js(a->conf.interface),
		     js(a->conf.name), key, a->port);
		emit(o, "\"mesh_ipv4\":\"%s\",\"mesh_ipv6\":\"%s\",\"introducer\":\"%s\",\"seen\":[\"%s\",\"%s\"],",
		     a->registered || a->mesh4 ? ip4(a->mesh4) : "", a->mesh4 ? ip6(a->mesh6) : "", intro,
		     agent_ep_str(&a->seen[0]), agent_ep_str(&a->seen[1]));
		emit(o, "\"registered_at_ms\":%llu,\"introducer_rtt_ms\":%.1f,", (unsigned long long)a->registered_at_ms,
		     a->intro_rtt_ms);
		emit(o, "\"seen_ipv6\":\"%s\",\"ipv6\":%s,\"ipv6_only\":%s,",
		     a->seen6.addr.ss_family ? agent_ep_str(&a->seen6) : "", agent_has_ipv6(a) ? "true" : "false",
		     agent_ipv6_only(a) ? "true" : "false");
		emit(o, "\"nat\":\"%s\",\"opener_ttl\":%d,\"relayed_out\":%llu,\"relayed_in\":%llu,\"dropped_control\":%llu,"
			"\"port_mapping\":%s,\"peers\":[",
		     js(nat), a->min_ttl > 2 ? a->min_ttl - 1 : 0, (unsigned long long)a->relayed_out,
		     (unsigned long long)a->relayed_in, (unsigned long long)a->dropped_control, pmap);
	} else {
		emit(o, "interface %s (%s), key %s\n", a->conf.interface, a->conf.name[0] ? a->conf.name : "-", key);
		if (a->mesh4)
			snprintf(addr, sizeof(addr), "%s/%u", ip4(a->mesh4), a->plen4);
		else
			snprintf(addr, sizeof(addr), "none yet");
		emit(o, "  mesh address %s, UDP port %u, introducer %s\n", addr, a->port, intro);
		if (agent_ipv6_only(a))
			emit(o, "  no IPv4 here: registered over IPv6 alone (introducer6)\n");
		else
			emit(o, "  seen as %s and %s: %s\n", agent_ep_str(&a->seen[0]), agent_ep_str(&a->seen[1]), nat);
		if (a->seen6.addr.ss_family)
			emit(o, "  seen over IPv6 as %s\n", agent_ep_str(&a->seen6));
		else
			emit(o, "  IPv6: %s\n", agent_has_ipv6(a) ? "an address of its own, not seen by the introducer over it"
								   : "none");
		emit(o, "  port mapping: %s\n\n", pmap);
		emit(o, "%-12s %-15s %-26s %8s %10s %12s %12s  %s\n", "peer", "mesh address", "path", "rtt", "handshake",
		     "received", "sent", "why relayed");
	}
	bool firstp = true;
	for (int i = 0; i < AGENT_MAX_PEERS; i++) {
		struct agent_peer *p = &a->peers[i];
		struct wg_peer_info info;
		char path[80], pkey[45];
		long ago;

		if (!p->used)
			continue;
		wg_peer_info(p->wg, &info);
		key_format(p->rec.key, pkey);
		ago = info.last_handshake_sec ? (long)(time(NULL) - info.last_handshake_sec) : -1;
		if (p->direct)
			snprintf(path, sizeof(path), "direct %s", agent_ep_str(&p->direct_ep));
		else
			snprintf(path, sizeof(path), "relay");
		if (json) {
			emit(o, "%s{\"name\":\"%s\",\"public_key\":\"%s\",\"id\":%u,\"mesh_ipv4\":\"%s\",\"mesh_ipv6\":\"%s\",",
			     firstp ? "" : ",", js(p->rec.name), pkey, p->rec.id, ip4(p->rec.mesh4), ip6(p->rec.mesh6));
			emit(o, "\"path\":\"%s\",", p->direct ? "direct" : "relay");
			emit(o, "\"endpoint\":\"%s\",\"rtt_ms\":%.3f,\"last_handshake\":%lld,\"handshakes\":%llu,\"rx_bytes\":%llu,\"tx_bytes\":%llu,",
			     p->direct ? agent_ep_str(&p->direct_ep) : "", p->direct ? p->rtt_ms : -1.0,
			     (long long)info.last_handshake_sec, (unsigned long long)info.handshakes, (unsigned long long)info.rx_bytes,
			     (unsigned long long)info.tx_bytes);
			emit(o, "\"expected\":\"%s\",\"technique\":\"%s\",\"found_by\":\"%s\",\"why\":\"%s\",\"direct_for_ms\":%llu}",
			     p->expect.direct ? "direct" : "relay", expect_technique_name(p->expect.technique),
			     p->direct ? agent_cand_technique(p->found_by) : "", p->direct ? "" : js(p->why),
			     (unsigned long long)(p->direct ? now - p->direct_since_ms : 0));
		} else {
			char rtt[16], hs[16];
			snprintf(rtt, sizeof(rtt), !p->direct ? "-" : p->rtt_ms < 1 ? "<1ms" : "%.0fms", p->rtt_ms);
			snprintf(hs, sizeof(hs), ago < 0 ? "never" : "%lds ago", ago);
			emit(o, "%-12s %-15s %-26s %8s %10s %12llu %12llu  %s\n", p->rec.name, ip4(p->rec.mesh4), path, rtt, hs,
			     (unsigned long long)info.rx_bytes, (unsigned long long)info.tx_bytes, p->direct ? "" : p->why);
		}
		firstp = false;
	}
	if (json)
		emit(o, "]}\n");
}

/* "ready": registered with the introducer (UDP or TCP) and a peer known
 * (traffic to it flows at once: over the relay until a direct path is
 * found); else "waiting: " and what is missing. */
static void render_ready(struct agent *a, struct out *o)
{
	int peers = 0;

	for (int i = 0; i < AGENT_MAX_PEERS; i++)
		peers += a->peers[i].used;
	const char *intro = agent_introducer_state(a);

	if (!strcmp(intro, "refused"))
		emit(o, "waiting: the introducer refused us (not a member, or its pool is full)\n");
	else if (!strcmp(intro, "unreachable"))
		emit(o, "waiting: %s\n", a->registered ? "the introducer has not answered lately"
						   : "not registered with the introducer (yet?)");
	else
		emit(o, peers ? "ready\n" : "waiting: no peer in the mesh yet\n");
}

size_t status_render(struct agent *a, enum status_request req, char *buf, size_t len)
{
	struct out o = { buf, len, 0 };

	if (len)
		buf[0] = '\0';
	if (req == STATUS_READY)
		render_ready(a, &o);
	else if (req == STATUS_ADDRESS)
		emit(&o, a->mesh4 ? "%s\n" : "waiting: no mesh address yet\n", ip4(a->mesh4));
	else
		render(a, &o, req == STATUS_JSON);
	return o.len;
}

int status_serve(struct agent *a)
{
	static char buf[MESH_STATUS_MAX];
	char req[16] = "";
	size_t len;
	struct timeval tv = { 1, 0 };
	int c = accept4(a->status, NULL, NULL, SOCK_CLOEXEC);
	ssize_t n;

	if (c < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = read(c, req, sizeof(req) - 1);
	len = status_render(a, n <= 0 ? STATUS_TEXT : mesh_status_request_parse(req), buf, sizeof(buf));
	if (write(c, buf, len) < 0)
		agent_log(a, "status: %s", strerror(errno));
	close(c);
	return 0;
}

int status_print(const char *ifname, enum status_request req, int wait_s)
{
	static char buf[MESH_STATUS_MAX + 1];
	long long until = (long long)time(NULL) + wait_s;
	int n;

	/* --wait: until the agent answers "ready" (or its address). */
	while (wait_s > 0) {
		n = mesh_status_ask(ifname, req == STATUS_ADDRESS ? STATUS_ADDRESS : STATUS_READY, buf, sizeof(buf));
		if (n > 0 && strncmp(buf, "waiting: ", 9))
			break;
		if ((long long)time(NULL) >= until) {
			if (n > 0)
				fprintf(stderr, "punchlab-agent: %s after %d s: %s", ifname, wait_s, buf + 9);
			else
				fprintf(stderr, "punchlab-agent: no agent answered on %s/%s.sock within %d s: %s\n",
					MESH_STATUS_DIR, ifname, wait_s, strerror(-n));
			return -ETIMEDOUT;
		}
		usleep(5 * 1000);   /* the harness times from the line this gives */
	}
	n = mesh_status_ask(ifname, req, buf, sizeof(buf));
	if (n < 0) {
		fprintf(stderr, "punchlab-agent: no agent answers on %s/%s.sock: %s (%s)\n", MESH_STATUS_DIR, ifname,
			strerror(-n),
			n == -EACCES      ? "it is root's: try sudo"
			: n == -ETIMEDOUT ? "one is there but said nothing: is it stopped (SIGSTOP) or stuck?"
					  : "is `punchlab-agent up` running for it?");
		return n;
	}
	if (req == STATUS_ADDRESS && !strncmp(buf, "waiting: ", 9)) {
		fprintf(stderr, "punchlab-agent: %s: %s", ifname, buf + 9);
		return -EAGAIN;
	}
	fwrite(buf, 1, (size_t)n, stdout);
	/* Not in the mesh (refused, or no introducer answers): exit 1. */
	if (mesh_status_ask(ifname, STATUS_READY, buf, sizeof(buf)) > 0 && !strncmp(buf, "waiting: ", 9) &&
	    strstr(buf, "introducer")) {
		fprintf(stderr, "punchlab-agent: %s is not in the mesh: %s", ifname, buf + 9);
		return -ENOTCONN;
	}
	return 0;
}
