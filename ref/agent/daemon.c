/* The agent on real sockets: its UDP socket and birthday sockets, TCP to
 * the introducer, the TUN device, the UAPI and status sockets, and the
 * loop that hands the core what arrives, with the time. */
#include "agent.h"
#include "../../lib/nat/model.h"
#include "../../lib/nl/rtnl.h"
#include "../../lib/portmap/portmap.h"
#include "../../lib/util/proc.h"
#include "../../lib/util/timeutil.h"
#include "../wg/sock.h"
#include "../wg/tun.h"
#include "../wg/uapi.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_addr.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <net/if_arp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint64_t io_real_ns(void *ctx)
{
	(void)ctx;
	return time_real_ns();
}

/* sendto with a TTL of its own for this one datagram (IP_TTL or
 * IPV6_HOPLIMIT as ancillary data), so punching can stop short of the
 * peer's NAT. The main socket's IPv6 datagrams go out on its IPv6 twin. */
static int io_send(void *ctx, int fd, const uint8_t *buf, size_t len, const struct wg_endpoint *ep, int ttl)
{
	struct agent *a = ctx;
	struct iovec iov = { (void *)buf, len };
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct msghdr mh = { .msg_name = (void *)&ep->addr, .msg_namelen = wg_endpoint_len(ep), .msg_iov = &iov,
			     .msg_iovlen = 1 };

	if (ep->addr.ss_family == AF_INET6 && fd == a->udp) {
		if (a->udp6 < 0)
			return -EAFNOSUPPORT;
		fd = a->udp6;
	}
	if (ttl > 0) {
		struct cmsghdr *c;
		memset(&ctrl, 0, sizeof(ctrl));
		mh.msg_control = ctrl.b;
		mh.msg_controllen = sizeof(ctrl.b);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = ep->addr.ss_family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
		c->cmsg_type = ep->addr.ss_family == AF_INET6 ? IPV6_HOPLIMIT : IP_TTL;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &ttl, sizeof(int));
	}
	return sendmsg(fd, &mh, MSG_DONTWAIT) < 0 ? -errno : 0;
}

static int io_open_socket(void *ctx)
{
	struct wg_endpoint any;

	(void)ctx;
	memset(&any, 0, sizeof(any));
	any.addr.ss_family = AF_INET;
	return wg_udp_open(&any, 0);
}

static void io_close_socket(void *ctx, int fd)
{
	(void)ctx;
	if (fd >= 0)
		close(fd);
}

static int io_tcp_connect(void *ctx, const struct wg_endpoint *ep)
{
	struct agent *a = ctx;
	int fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&ep->addr, wg_endpoint_len(ep)) && errno != EINPROGRESS) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	a->tcp_fd = fd;
	return 0;
}

static int io_tcp_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct agent *a = ctx;

	return a->tcp_fd < 0 ? -EPIPE : mesh_stream_write(a->tcp_fd, buf, len);
}

static void io_tcp_close(void *ctx)
{
	struct agent *a = ctx;

	if (a->tcp_fd >= 0)
		close(a->tcp_fd);
	a->tcp_fd = -1;
}

static void io_deliver(void *ctx, const uint8_t *pkt, size_t len)
{
	struct agent *a = ctx;

	if (write(a->tun, pkt, len) < 0 && errno != EAGAIN)
		agent_log(a, "writing to %s: %s", a->conf.interface, strerror(errno));
}

static int io_set_address(void *ctx, uint32_t mesh4, uint8_t plen4, const uint8_t mesh6[16], uint8_t plen6)
{
	struct agent *a = ctx;
	char path[96];
	int ret = rtnl_addr_add(NULL, a->conf.interface, mesh4, plen4), fd;

	if (ret && ret != -EEXIST)
		return ret;
	/* IPv6 on our own interface, even where the host turned it off by
	 * default (the lab does); without IPv6 in the kernel, IPv4 only. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", a->conf.interface);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
		if (write(fd, "0", 1) != 1)
			agent_log(a, "cannot enable IPv6 on %s: %s", a->conf.interface, strerror(errno));
		close(fd);
		ret = rtnl_addr6_add(NULL, a->conf.interface, mesh6, plen6);
		if (ret && ret != -EEXIST)
			agent_log(a, "IPv6 mesh address not set: %s (IPv4 works)", strerror(-ret));
	}
	return rtnl_link_up(NULL, a->conf.interface);
}

/* This host's own IPv4 addresses, but loopback and our own interface. */
/* Is interface NAME a layer-3 tunnel (TUN, WireGuard: no link-layer
 * header)? Its addresses are no way to reach this host from a LAN. */
static bool is_tunnel(const struct ifaddrs *all, const char *name)
{
	for (const struct ifaddrs *i = all; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_PACKET && !strcmp(i->ifa_name, name))
			return ((const struct sockaddr_ll *)i->ifa_addr)->sll_hatype == ARPHRD_NONE;
	return false;
}

/* Is interface index ifindex ours, loopback or a tunnel? */
static bool not_for_peers(const struct agent *a, const struct ifaddrs *all, int ifindex)
{
	char name[IF_NAMESIZE];

	if (!if_indextoname((unsigned)ifindex, name) || !strcmp(name, a->conf.interface) || is_tunnel(all, name))
		return true;
	for (const struct ifaddrs *i = all; i; i = i->ifa_next)
		if (!strcmp(i->ifa_name, name) && (i->ifa_flags & IFF_LOOPBACK))
			return true;
	return false;
}

/* This host's IPv6 addresses a peer may reach it on, after the IPv4 ones
 * in out[0..n): global and unique local ones, but never link-local ones,
 * nor ones the kernel has not finished with (tentative, failed duplicate
 * address detection) or is giving up (deprecated), nor our mesh's own
 * (agent_in_mesh, in the core). Global ones first. */
static int add_local_ipv6(struct agent *a, const struct ifaddrs *all, struct wg_endpoint *out, int n, int max)
{
	struct rtnl_addr6 got[32];
	int k = a->udp6 >= 0 ? rtnl_addr6_list(got, 32) : 0;

	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < k && n < max; i++) {
			struct sockaddr_in6 *s6;
			bool global = (got[i].addr[0] & 0xe0) == 0x20;
			if (got[i].scope != RT_SCOPE_UNIVERSE || (pass == 0) != global ||
			    (got[i].flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED)) ||
			    not_for_peers(a, all, got[i].ifindex))
				continue;
			memset(&out[n], 0, sizeof(out[n]));
			s6 = (struct sockaddr_in6 *)&out[n].addr;
			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, got[i].addr, 16);
			n++;
		}
	return n;
}

static int io_local_addresses(void *ctx, struct wg_endpoint *out, int max)
{
	struct agent *a = ctx;
	struct ifaddrs *ifs, *i;
	int n = 0;

	if (getifaddrs(&ifs))
		return 0;
	/* IPv4's take at most all but two places where we speak IPv6 too (a
	 * host with many IPv4 addresses, Docker's bridges, still offers IPv6) */
	for (i = ifs; i && n < (a->udp6 >= 0 && max > 2 ? max - 2 : max); i = i->ifa_next) {
		struct sockaddr_in *sin;
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
		    !strcmp(i->ifa_name, a->conf.interface) || is_tunnel(ifs, i->ifa_name))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		sin = (struct sockaddr_in *)&out[n].addr;
		sin->sin_family = AF_INET;
		sin->sin_addr = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		n++;
	}
	n = add_local_ipv6(a, ifs, out, n, max);
	freeifaddrs(ifs);
	return n;
}

/* Port mapping: asking a router takes up to seconds (a router that does
 * not answer one protocol), so a helper thread asks while the loop goes
 * on. It works on a job of its own (what to ask, what came back) and
 * touches nothing else; it says it is done on a pipe the loop polls. One
 * ask at a time. */
struct pm_job {
	uint32_t toward;          /* the introducer's address: the route there names our router */
	uint16_t port;
	uint32_t lifetime;
	struct pmap_ask held;     /* in: the mapping we hold (PCP's nonce in it); out: the one granted */
	unsigned held_by;
	char ifname[IF_NAMESIZE];
	struct agent_portmap_answer ans;
};

static struct {
	pthread_t thread;
	bool running;
	int pipe[2];
	struct pm_job job;        /* the helper's while it runs */
	struct pmap_ask held;     /* the loop's: what we hold, for removal at exit */
	unsigned held_by;
} pm = { .pipe = { -1, -1 } };

static void pm_note(struct pm_job *j, const char *what)
{
	size_t used = strlen(j->ans.why);

	snprintf(j->ans.why + used, sizeof(j->ans.why) - used, "%s%s", used ? "; " : "", what);
}

static void *pm_ask(void *arg)
{
	static const unsigned order[] = { NAT_PORTMAP_PCP, NAT_PORTMAP_NATPMP, NAT_PORTMAP_UPNP };
	struct pm_job *j = arg;
	struct pmap_ask q;
	int ret;

	memset(&j->ans, 0, sizeof(j->ans));
	memset(&q, 0, sizeof(q));
	if ((ret = pmap_route(j->toward, &q, j->ifname))) {
		pm_note(j, ret == -EHOSTUNREACH ? "no router between us and the introducer" : strerror(-ret));
	} else {
		/* The protocol that granted it first (a renewal keeps PCP's nonce),
		 * then the others, newest first. */
		for (int i = -1; i < 3 && !j->ans.by; i++) {
			unsigned by = i < 0 ? j->held_by : order[i];
			if (!by || (i >= 0 && by == j->held_by))
				continue;
			struct pmap_ask t = i < 0 ? j->held : q;
			t.gateway = q.gateway, t.host = q.host, t.ifname = q.ifname;
			t.port = j->port;
			t.lifetime = j->lifetime;
			if (pmap_ask(by, &t) || !t.got) {
				pm_note(j, t.why[0] ? t.why : pmap_protocol_name(by));
				continue;
			}
			j->held = t;
			j->ans.by = by;
			j->ans.lifetime_s = t.granted;
			struct sockaddr_in *sin = (struct sockaddr_in *)&j->ans.ext.addr;
			sin->sin_family = AF_INET;
			sin->sin_addr.s_addr = t.ext_addr;
			sin->sin_port = htons(t.ext_port);
		}
		j->held_by = j->ans.by;
	}
	if (write(pm.pipe[1], "", 1) < 0) {
		/* the loop joins us at its next poll all the same */
	}
	return NULL;
}

static int io_portmap(void *ctx, uint32_t lifetime_s)
{
	struct agent *a = ctx;

	if (pm.running)
		return -EBUSY;
	if (a->conf.introducer[0].addr.ss_family != AF_INET)
		return -EAFNOSUPPORT;
	if (pm.pipe[0] < 0 && pipe2(pm.pipe, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	memset(&pm.job, 0, sizeof(pm.job));
	pm.job.toward = ((const struct sockaddr_in *)&a->conf.introducer[0].addr)->sin_addr.s_addr;
	pm.job.port = a->port;
	pm.job.lifetime = lifetime_s;
	pm.job.held = pm.held;
	pm.job.held_by = pm.held_by;
	if (pthread_create(&pm.thread, NULL, pm_ask, &pm.job))
		return -EAGAIN;
	pm.running = true;
	return 0;
}

/* The helper thread has said it is done: join it and hold what it granted. */
static void pm_join(void)
{
	pthread_join(pm.thread, NULL);
	pm.running = false;
	pm.held = pm.job.held;
	pm.held_by = pm.job.held_by;
	pm.held.ifname = NULL;   /* it pointed into the job; a removal needs only the addresses */
}

/* The helper thread is done: its answer to the core. */
static void pm_done(struct agent *a, uint64_t now)
{
	char c;

	while (read(pm.pipe[0], &c, 1) > 0) {
	}
	if (!pm.running)
		return;
	pm_join();
	agent_portmap_answer(a, &pm.job.ans, now);
}

/* At exit: the mapping we hold is removed (by the protocol and, for PCP,
 * the nonce that made it), so a router keeps nothing of us. A renewal
 * still out is waited for a second and a half (one that reached the
 * router after our removal would make the mapping again); one that takes
 * longer, or a first ask, is left to the process's end. */
static void pm_remove(struct agent *a)
{
	a->pmap.removed = true;
	/* only a renewal in flight: a first ask (a router that may never
	 * answer) does not hold up the exit */
	if (pm.running && pm.held_by) {
		struct pollfd pfd = { pm.pipe[0], POLLIN, 0 };
		if (poll(&pfd, 1, 1500) > 0)
			pm_join();
	}
	if (pm.held_by) {
		struct pmap_ask q = pm.held;
		char ifname[IF_NAMESIZE];
		q.lifetime = 0;
		if (pm.held_by == NAT_PORTMAP_UPNP && pmap_route(((const struct sockaddr_in *)&a->conf.introducer[0].addr)->sin_addr.s_addr,
								   &q, ifname))
			q.ifname = NULL;
		if (pmap_ask(pm.held_by, &q) == 0 && q.got)
			agent_log(a, "port mapping removed (%s)", pmap_protocol_name(pm.held_by));
		else
			agent_log(a, "port mapping not removed: %s (it lapses by itself)", q.why);
		pm.held_by = 0;
	}
	for (int i = 0; i < 2 && !pm.running; i++)
		if (pm.pipe[i] >= 0)
			close(pm.pipe[i]), pm.pipe[i] = -1;
}

static int rebind(void *ctx, uint16_t port)
{
	(void)ctx;
	(void)port;
	return -EBUSY; /* the mesh owns its socket: the mapping it learned is this one's */
}

int agent_start(struct agent *a, const struct agent_conf *conf, char *err, size_t errlen)
{
	struct agent_io io = { a, io_real_ns, io_send, io_open_socket, io_close_socket, io_tcp_connect, io_tcp_write,
			       io_tcp_close, io_deliver, io_set_address, io_local_addresses, io_portmap };
	static struct agent_conf resolved;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int ret, udp;

	memset(a, 0, sizeof(*a));
	a->udp = a->udp6 = a->tun = a->uapi = a->status = a->tcp_fd = -1;
	proc_raise_fd_limit(); /* birthday probing opens hundreds of sockets */
	if ((udp = wg_udp_bind(AF_INET, conf->listen_port)) < 0) {
		snprintf(err, errlen, "cannot bind UDP port %u: %s", conf->listen_port, strerror(-udp));
		return udp;
	}
	getsockname(udp, (struct sockaddr *)&sa, &sl);
	/* Names are resolved now; one that does not resolve yet (the network
	 * coming up at boot) is tried again while it runs. */
	resolved = *conf;
	if (agent_conf_resolve(&resolved, err, errlen))
		fprintf(stderr, "punchlab-agent %s: %s; trying again every 5 s\n", conf->interface, err);
	if ((ret = agent_init(a, &resolved, &io, udp, ntohs(sa.sin_port), time_now_ms(), err, errlen))) {
		close(udp);
		a->udp = -1;
		return ret;
	}
	/* IPv6 on the same port, where the host has it: peers and the
	 * introducer over IPv6 (without it, IPv4 only). */
	if ((a->udp6 = wg_udp_bind(AF_INET6, a->port)) < 0) {
		if (a->udp6 != -EAFNOSUPPORT)
			agent_log(a, "no IPv6: cannot bind UDP port %u over it: %s (IPv4 works)", a->port, strerror(-a->udp6));
		a->udp6 = -1;
	}
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
	pm_remove(a);
	if (a->dev)
		agent_fini(a);
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
	if (a->udp6 >= 0)
		close(a->udp6);
	if (a->tun >= 0)
		close(a->tun);
	a->uapi = a->status = a->udp = a->udp6 = a->tun = -1;
}

/* Read what a UDP socket of ours (main or birthday) holds; the main
 * socket's IPv6 twin's datagrams are the main socket's to the core. */
static void read_socket(struct agent *a, int fd, uint64_t now)
{
	static uint8_t buf[65536];
	int sock = fd == a->udp6 ? a->udp : fd;

	for (int k = 0; k < 64; k++) {
		struct wg_endpoint from;
		socklen_t sl = sizeof(from.addr);
		ssize_t n;

		memset(&from, 0, sizeof(from));
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from.addr, &sl);
		if (n < 0)
			return;
		agent_receive(a, sock, &from, buf, (size_t)n, now);
	}
}

static void tcp_ready(struct agent *a, short revents, uint64_t now)
{
	if (!a->tcp_up) {
		int err = 0;
		socklen_t sl = sizeof(err);
		if ((revents & (POLLERR | POLLHUP)) || getsockopt(a->tcp_fd, SOL_SOCKET, SO_ERROR, &err, &sl) || err)
			agent_tcp_closed(a, err ? -err : -ECONNREFUSED, now);
		else
			agent_tcp_connected(a, now);
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		uint8_t buf[16384];
		ssize_t n = recv(a->tcp_fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			agent_tcp_closed(a, -EPIPE, now);
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			agent_tcp_closed(a, -errno, now);
		else if (n > 0)
			agent_tcp_input(a, buf, (size_t)n, now);
	}
}

static void pause_listening(struct agent *a, uint64_t now)
{
	if (errno == EMFILE || errno == ENFILE)
		agent_log(a, "out of file descriptors: the UAPI and status sockets wait a second");
	a->listen_paused_ms = now + 1000;
}

/* The introducer by name: resolved again every RESOLVE_MS while it does
 * not answer (it may have moved), every 5 s while the name resolves to
 * nothing at all. */
#define RESOLVE_MS 30000

static void resolve_again(struct agent *a, uint64_t now, uint64_t *next)
{
	struct agent_conf c;
	char err[300];
	bool named = false, unresolved = false;

	for (int i = 0; i < a->conf.n_introducer_given; i++) {
		named |= a->conf.introducer_host[i][0] != '\0';
		unresolved |= a->conf.introducer[i].addr.ss_family == 0;
	}
	if (!named || now < *next)
		return;
	*next = now + (unresolved ? 5000 : RESOLVE_MS);
	if (!unresolved && strcmp(agent_introducer_state(a), "unreachable"))
		return;
	c = a->conf;
	if (agent_conf_resolve(&c, err, sizeof(err))) {
		agent_log(a, "%s", err);
		return;
	}
	for (int i = 0; i < c.n_introducer; i++)
		if (!wg_endpoint_equal(&c.introducer[i], &a->conf.introducer[i]))
			agent_log(a, "introducer %s is at %s now", c.introducer_host[i][0] ? c.introducer_host[i] : c.introducer_host[0],
				  agent_ep_str(&c.introducer[i]));
	memcpy(a->conf.introducer, c.introducer, sizeof(c.introducer));
	a->conf.n_introducer = c.n_introducer;
	a->conf.introducer6 = c.introducer6;
}

int agent_run(struct agent *a, volatile int *stop, volatile int *reload)
{
	static uint8_t pkt[WG_MAX_PACKET];
	struct wg_uapi_hooks hooks = { rebind, a };
	uint64_t next_resolve = 0;

	while (!*stop) {
		struct pollfd p[7 + AGENT_MAX_PEERS * 2 + AGENT_BDAY_ROUNDS * AGENT_BDAY_SOCKETS];
		if (reload && *reload)
			return 1;
		int n = 0, nbase;
		uint64_t now = time_now_ms();
		/* Out of descriptors, a listening socket stays readable: leave it
		 * alone for a second rather than spin on it. */
		bool listen = now >= a->listen_paused_ms;

		p[n++] = (struct pollfd){ a->udp, POLLIN, 0 };
		p[n++] = (struct pollfd){ a->tun, POLLIN, 0 };
		p[n++] = (struct pollfd){ listen ? a->uapi : -1, POLLIN, 0 };
		p[n++] = (struct pollfd){ listen ? a->status : -1, POLLIN, 0 };
		p[n++] = (struct pollfd){ a->tcp_fd, (short)(a->tcp_up ? POLLIN : POLLOUT), 0 };
		p[n++] = (struct pollfd){ pm.pipe[0], POLLIN, 0 };
		p[n++] = (struct pollfd){ a->udp6, POLLIN, 0 };
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
		if (poll(p, (nfds_t)n, agent_tick_in(a, now)) < 0 && errno != EINTR)
			return -errno;
		now = time_now_ms();
		a->now = now;
		if (p[0].revents & POLLIN)
			read_socket(a, a->udp, now);
		if (p[1].revents & POLLIN)
			for (int k = 0; k < 64; k++) {
				ssize_t len = read(a->tun, pkt, sizeof(pkt));
				if (len <= 0)
					break;
				agent_tun_packet(a, pkt, (size_t)len, now);
			}
		if ((p[2].revents & POLLIN) && wg_uapi_serve(a->uapi, a->dev, &hooks) < 0)
			pause_listening(a, now);
		if ((p[3].revents & POLLIN) && status_serve(a) < 0)
			pause_listening(a, now);
		if (a->tcp_fd >= 0 && p[4].revents)
			tcp_ready(a, p[4].revents, now);
		if (p[5].revents & POLLIN)
			pm_done(a, now);
		if (p[6].revents & POLLIN)
			read_socket(a, a->udp6, now);
		for (int i = nbase; i < n; i++)
			if (p[i].revents & POLLIN)
				read_socket(a, p[i].fd, now);
		resolve_again(a, now, &next_resolve);
		agent_tick(a, now);
	}
	return 0;
}
