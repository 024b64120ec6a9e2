/* RFC 4787's UDP requirements beyond what the STUN probe measures:
 * pooling, overloading, parity, payload, determinism, ICMP, DF, fragments. */
#include "observe_int.h"
#include "../../lib/csum/csum.h"
#include "../../lib/nat/model.h"
#include "../../lib/nl/rtnl.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <linux/errqueue.h>
#include <sys/socket.h>
#include <unistd.h>

#define SRV_PORT 5001
#define SRV_PORT2 5003
#define POOL_PORT 5005
#define POOL_EXTRA OBS_EXTRA_ADDRS
#define WAIT_MS 600

/* One datagram out from fd to addr:port, seen by srv: where it came from
 * (an outside port now known to be in use). */
static bool udp_seen(struct obs_ctx *c, int fd, int srv, uint32_t addr, uint16_t port, const char *tag,
		     struct obs_ep *from)
{
	uint8_t buf[512];

	for (int i = 0; i < 3; i++) {
		if (csock_send(fd, addr, port, tag, strlen(tag)))
			return false;
		if (csock_recv_tag(srv, tag, WAIT_MS / 2, from, buf, sizeof(buf)) >= 0) {
			obs_port_used(c, from->port);
			return true;
		}
	}
	return false;
}

static void pool_add(uint32_t *pool, int *n, uint32_t a)
{
	for (int i = 0; i < *n; i++)
		if (pool[i] == a)
			return;
	if (*n < OBS_MAX_POOL)
		pool[(*n)++] = a;
}

/* RFC 4787 REQ-2: one inside host, many destinations: how many external
 * addresses? The server gets extra addresses so that a NAT choosing its
 * address per destination cannot pass by luck. */
static void pooling(struct obs_ctx *c, const char *ns, int *n_addrs, uint32_t *pool, int *flows, int *dests)
{
	uint32_t dst[2 + POOL_EXTRA];
	int srv = csock_udp(c->lab->server_ns, 0, POOL_PORT);

	if (srv < 0)
		return;
	dst[0] = c->lab->server[0];
	dst[1] = c->lab->server[1];
	for (int i = 0; i < POOL_EXTRA; i++)
		dst[2 + i] = c->extra[i];
	*n_addrs = 0;
	*dests = 0;
	for (int d = 0; d < 2 + POOL_EXTRA; d++)
		*dests += dst[d] != 0;
	for (int p = 0; p < 4; p++) {
		int fd = csock_udp(ns, 0, (uint16_t)(41000 + p));

		if (fd < 0)
			continue;
		for (int d = 0; d < 2 + POOL_EXTRA; d++) {
			char tag[48];
			struct obs_ep e;

			if (!dst[d])
				continue;
			snprintf(tag, sizeof(tag), "PLC pool %d %d", p, d);
			if (udp_seen(c, fd, srv, dst[d], POOL_PORT, tag, &e)) {
				pool_add(pool, n_addrs, e.addr);
				(*flows)++;
			}
		}
		close(fd);
	}
	close(srv);
	if (!*flows)
		*n_addrs = OBS_UNKNOWN;
}

/* RFC 4787 REQ-3: two inside hosts, the same local port, different
 * destinations: do they share one external port? */
static void overloading(struct obs_ctx *c, struct conform_obs *o)
{
	int a = csock_udp(c->lab->client_ns, 0, 41100), b = csock_udp(c->lab->client2_ns, 0, 41100);

	if (a >= 0 && b >= 0) {
		udp_seen(c, a, c->srv_a, c->lab->server[0], SRV_PORT, "PLC over 1", &o->over1);
		udp_seen(c, b, c->srv_b, c->lab->server[1], SRV_PORT, "PLC over 2", &o->over2);
	}
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
}

/* RFC 4787 REQ-4: is the parity of the local port kept? Over 24 local
 * ports: a NAT that picks outside ports at random keeps all their
 * parities by chance once in 16 million checks (over 8, once in 256: a
 * stress run of the suite saw it happen). */
#define PARITY_PORTS 24

static void parity(struct obs_ctx *c, struct conform_obs *o)
{
	for (int p = 0; p < PARITY_PORTS; p++) {
		int fd = csock_udp(c->lab->client_ns, 0, (uint16_t)(41200 + p));
		char tag[32];
		struct obs_ep e;

		if (fd < 0)
			continue;
		snprintf(tag, sizeof(tag), "PLC parity %d", p);
		if (udp_seen(c, fd, c->srv_a, c->lab->server[0], SRV_PORT, tag, &e)) {
			o->parity_tried++;
			o->parity_kept += (e.port & 1) == (p & 1);
		}
		close(fd);
	}
}

/* RFC 4787 REQ-10: a payload carrying the inside address and port, in
 * text and in binary, as an ALG would look for it. */
static void payload(struct obs_ctx *c, struct conform_obs *o)
{
	uint8_t msg[128], got[256];
	char ip[16];
	int fd = csock_udp(c->lab->client_ns, 0, 41300), n, len;
	const uint8_t *a = (const uint8_t *)&c->lab->client;

	o->payload = OBS_UNKNOWN;
	if (fd < 0)
		return;
	snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	len = snprintf((char *)msg, sizeof(msg), "PLC payload %s:41300 %u,%u,%u,%u,160,244 ", ip, a[0], a[1], a[2], a[3]);
	memcpy(msg + len, a, 4);
	msg[len + 4] = 41300 >> 8;
	msg[len + 5] = 41300 & 0xff;
	len += 6;
	for (int i = 0; i < 3 && o->payload == OBS_UNKNOWN; i++) {
		struct obs_ep e;

		csock_send(fd, c->lab->server[0], SRV_PORT, msg, (size_t)len);
		n = csock_recv_tag(c->srv_a, "PLC payload", WAIT_MS, &e, got, sizeof(got));
		if (n >= 0) {
			o->payload = n == len && !memcmp(got, msg, (size_t)len);
			obs_port_used(c, e.port);
		}
	}
	close(fd);
}

/* One mapping classification from a fresh local port: the same port to a
 * second port of the first address and to the second address? */
static int mapping_class(struct obs_ctx *c, uint16_t local)
{
	int fd = csock_udp(c->lab->client_ns, 0, local), cls = OBS_UNKNOWN;
	struct obs_ep a, b, d;
	char t1[32], t2[32], t3[32];

	if (fd < 0)
		return OBS_UNKNOWN;
	snprintf(t1, sizeof(t1), "PLC det %u a", local);
	snprintf(t2, sizeof(t2), "PLC det %u b", local);
	snprintf(t3, sizeof(t3), "PLC det %u c", local);
	if (udp_seen(c, fd, c->srv_a, c->lab->server[0], SRV_PORT, t1, &a) &&
	    udp_seen(c, fd, c->srv_b, c->lab->server[1], SRV_PORT, t2, &b) &&
	    udp_seen(c, fd, c->srv_c, c->lab->server[0], SRV_PORT2, t3, &d)) {
		if (a.addr == b.addr && a.port == b.port && a.port == d.port)
			cls = NAT_ENDPOINT_INDEPENDENT;
		else if (a.addr == d.addr && a.port == d.port)
			cls = NAT_ADDRESS_DEPENDENT;
		else
			cls = NAT_ADDRESS_AND_PORT_DEPENDENT;
	}
	close(fd);
	return cls;
}

/* RFC 4787 REQ-11: the same test, again and again, the same answer? */
static void determinism(struct obs_ctx *c, struct conform_obs *o)
{
	for (int i = 0; i < 6; i++) {
		int cls = mapping_class(c, (uint16_t)(41400 + i));

		if (cls >= 0) {
			o->det_runs++;
			o->det_class[cls]++;
		}
	}
}

/* An ICMP error (TYPE/CODE) from the server about the datagram from ext to
 * server:port, as a router on the way would send it. */
static int send_icmp_error(struct obs_ctx *c, uint8_t type, uint8_t code, const struct obs_ep *ext, uint32_t server,
			   uint16_t port)
{
	uint8_t pkt[8 + 20 + 8];
	struct iphdr *ip = (struct iphdr *)(pkt + 8);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = ext->addr };
	int fd = csock_new(c->lab->server_ns, SOCK_RAW, IPPROTO_ICMP), ret = 0;
	uint16_t sum;

	if (fd < 0)
		return fd;
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = type;
	pkt[1] = code;
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(20 + 8 + 13); /* "PLC icmp open" */
	ip->ttl = 63;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = ext->addr;
	ip->daddr = server;
	sum = csum_inet((const uint8_t *)ip, 20, 0);
	ip->check = htons(sum);
	pkt[28] = (uint8_t)(ext->port >> 8);
	pkt[29] = (uint8_t)ext->port;
	pkt[30] = (uint8_t)(port >> 8);
	pkt[31] = (uint8_t)port;
	pkt[33] = 8 + 13;
	sum = csum_inet(pkt, sizeof(pkt), 0);
	pkt[2] = (uint8_t)(sum >> 8);
	pkt[3] = (uint8_t)sum;
	if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&sa, sizeof(sa)) != (ssize_t)sizeof(pkt))
		ret = -errno;
	close(fd);
	return ret;
}

/* RFC 4787 REQ-12: after ICMP errors about it (host and port unreachable,
 * from the server), is the mapping still there? Checked from the inside
 * before anything goes out again (which would make it anew): a NAT that
 * let a stranger in before must still, the server must still get back,
 * and the next datagram out must leave from the same outside port. */
static void icmp_keep(struct obs_ctx *c, struct conform_obs *o)
{
	int fd = csock_udp(c->lab->client_ns, 0, 41500);
	struct obs_ep e, again;
	uint8_t buf[64];
	bool open_before, open_after = false, back = false;

	o->icmp_keep = OBS_UNKNOWN;
	if (fd < 0)
		return;
	if (!udp_seen(c, fd, c->srv_a, c->lab->server[0], SRV_PORT, "PLC icmp open", &e))
		goto out;
	csock_send(c->srv_b, e.addr, e.port, "PLC icmp stranger", 17);
	open_before = csock_recv_tag(fd, "PLC icmp stranger", WAIT_MS, NULL, buf, sizeof(buf)) >= 0;
	if (send_icmp_error(c, 3, 1, &e, c->lab->server[0], SRV_PORT) ||
	    send_icmp_error(c, 3, 3, &e, c->lab->server[0], SRV_PORT))
		goto out;
	usleep(200 * 1000);
	if (open_before) {
		/* a stranger never seen before: the first one's flow is known to
		 * conntrack now, whatever became of the mapping */
		int s2 = csock_udp(c->lab->server_ns, c->lab->server[1], 5011);

		if (s2 >= 0) {
			csock_send(s2, e.addr, e.port, "PLC icmp stranger2", 18);
			open_after = csock_recv_tag(fd, "PLC icmp stranger2", WAIT_MS, NULL, buf, sizeof(buf)) >= 0;
			close(s2);
		}
	}
	csock_send(c->srv_a, e.addr, e.port, "PLC icmp back", 13);
	back = csock_recv_tag(fd, "PLC icmp back", WAIT_MS, NULL, buf, sizeof(buf)) >= 0;
	o->icmp_keep = back && open_after == open_before &&
		       udp_seen(c, fd, c->srv_a, c->lab->server[0], SRV_PORT, "PLC icmp again", &again) &&
		       again.port == e.port && again.addr == e.addr;
out:
	close(fd);
}

/* RFC 4787 REQ-13: a DF datagram too big for the outside link must come
 * back as ICMP "fragmentation needed". The router's outside MTU is lowered
 * for this test only. */
static void df(struct obs_ctx *c, struct conform_obs *o)
{
	int fd = csock_udp(c->lab->client_ns, 0, 41600), on = 1, pmtu = IP_PMTUDISC_DO;
	uint8_t big[1400];

	o->df = OBS_UNKNOWN;
	if (fd < 0)
		return;
	if (rtnl_link_set_mtu(c->lab->router_ns, c->lab->router_wan, 1280)) {
		snprintf(c->o->note, sizeof(c->o->note), "cannot set the MTU of %s in the router", c->lab->router_wan);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
	memset(big, 'x', sizeof(big));
	memcpy(big, "PLC df", 6);
	o->df = 0;
	for (int i = 0; i < 2 && o->df != 1; i++) {
		struct pollfd p = { fd, 0, 0 };

		csock_send(fd, c->lab->server[0], SRV_PORT, big, sizeof(big));
		if (poll(&p, 1, WAIT_MS) == 1 && (p.revents & POLLERR)) {
			char ctl[512];
			uint8_t data[64];
			struct iovec iov = { data, sizeof(data) };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };

			if (recvmsg(fd, &mh, MSG_ERRQUEUE) < 0)
				continue;
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
				struct sock_extended_err ee;

				if (cm->cmsg_level != IPPROTO_IP || cm->cmsg_type != IP_RECVERR)
					continue;
				memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
				if (ee.ee_origin == SO_EE_ORIGIN_ICMP && ee.ee_type == 3 && ee.ee_code == 4) {
					o->df = 1;
					o->df_mtu = (int)ee.ee_info;
				}
			}
		}
	}
	rtnl_link_set_mtu(c->lab->router_ns, c->lab->router_wan, 1500);
	close(fd);
}

/* A UDP datagram from src:sport to dst:dport as raw IPv4 fragments of 1200
 * bytes, last first when reverse. The UDP checksum is 0 (none, IPv4). */
static int send_fragments(const char *ns, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
			  const uint8_t *data, size_t len, bool reverse)
{
	uint8_t dgram[4096], pkt[20 + 1200];
	struct iphdr *ip = (struct iphdr *)pkt;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = dst };
	size_t total = 8 + len, chunk = 1200, n = (total + chunk - 1) / chunk;
	int fd, ret = 0;
	uint16_t id = (uint16_t)(0x5000 + (sport & 0xfff));

	if (total > sizeof(dgram))
		return -EMSGSIZE;
	dgram[0] = (uint8_t)(sport >> 8);
	dgram[1] = (uint8_t)sport;
	dgram[2] = (uint8_t)(dport >> 8);
	dgram[3] = (uint8_t)dport;
	dgram[4] = (uint8_t)(total >> 8);
	dgram[5] = (uint8_t)total;
	dgram[6] = dgram[7] = 0;
	memcpy(dgram + 8, data, len);
	fd = csock_new(ns, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0)
		return fd;
	for (size_t k = 0; k < n; k++) {
		size_t i = reverse ? n - 1 - k : k, off = i * chunk, part = total - off < chunk ? total - off : chunk;

		memset(ip, 0, sizeof(*ip));
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons((uint16_t)(20 + part));
		ip->id = htons(id);
		ip->frag_off = htons((uint16_t)((off / 8) | (i + 1 < n ? IP_MF : 0)));
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->saddr = src;
		ip->daddr = dst;
		memcpy(pkt + 20, dgram + off, part);
		if (sendto(fd, pkt, 20 + part, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			ret = -errno;
			break;
		}
	}
	close(fd);
	return ret;
}

static bool got_whole(int fd, const char *tag, const uint8_t *want, size_t len)
{
	static uint8_t buf[4096];
	int n = csock_recv_tag(fd, tag, WAIT_MS, NULL, buf, sizeof(buf));

	return n == (int)len && !memcmp(buf, want, len);
}

/* RFC 4787 REQ-14: fragmented datagrams both ways, in order and reversed. */
static void fragments(struct obs_ctx *c, struct conform_obs *o)
{
	static uint8_t data[3000];
	int out = csock_udp(c->lab->client_ns, 0, 41700), in = csock_udp(c->lab->client_ns, 0, 41702);
	int nopmtu = IP_PMTUDISC_DONT;
	struct obs_ep e;

	for (int i = 0; i < 4; i++)
		o->frag[i] = OBS_UNKNOWN;
	if (out < 0 || in < 0)
		goto out;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	setsockopt(out, IPPROTO_IP, IP_MTU_DISCOVER, &nopmtu, sizeof(nopmtu));
	setsockopt(c->srv_a, IPPROTO_IP, IP_MTU_DISCOVER, &nopmtu, sizeof(nopmtu));
	memcpy(data, "PLC frag 1", 10);
	csock_send(out, c->lab->server[0], SRV_PORT, data, sizeof(data));
	o->frag[0] = got_whole(c->srv_a, "PLC frag 1", data, sizeof(data));
	memcpy(data, "PLC frag 2", 10);
	send_fragments(c->lab->client_ns, c->lab->client, 41701, c->lab->server[0], SRV_PORT, data, sizeof(data), true);
	o->frag[1] = got_whole(c->srv_a, "PLC frag 2", data, sizeof(data));
	if (udp_seen(c, in, c->srv_a, c->lab->server[0], SRV_PORT, "PLC frag open", &e)) {
		memcpy(data, "PLC frag 3", 10);
		csock_send(c->srv_a, e.addr, e.port, data, sizeof(data));
		o->frag[2] = got_whole(in, "PLC frag 3", data, sizeof(data));
		memcpy(data, "PLC frag 4", 10);
		send_fragments(c->lab->server_ns, c->lab->server[0], SRV_PORT, e.addr, e.port, data, sizeof(data), true);
		o->frag[3] = got_whole(in, "PLC frag 4", data, sizeof(data));
	}
out:
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
}

void observe_udp(struct obs_ctx *c, struct conform_obs *o)
{
	pooling(c, c->lab->client_ns, &o->pool_addrs, o->pool, &o->pool_flows, &o->pool_dests);
	{
		uint32_t pool2[OBS_MAX_POOL];
		int flows2 = 0, dests2;

		pooling(c, c->lab->client2_ns, &o->pool2_addrs, pool2, &flows2, &dests2);
	}
	overloading(c, o);
	parity(c, o);
	payload(c, o);
	determinism(c, o);
	icmp_keep(c, o);
	fragments(c, o);
	df(c, o);
}
