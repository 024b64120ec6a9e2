/* toynat: a small userspace UDP NAT for `punchlab conform --router-cmd`
 * tests: what a person's own NAT program looks like to conform, and a NAT
 * whose mappings can misbehave in ways the kernel's never do.
 *
 *   toynat --wan IF --lan IF [--timeout S] [--no-outbound-refresh]
 *          [--ports LO-HI] [--hold-down S]
 *
 * It turns the kernel's forwarding off, drops UDP coming in on the outside
 * before the kernel answers it, reads packets on both interfaces (packet
 * sockets) and sends the translated ones with a raw socket. Mappings are
 * endpoint-independent with endpoint-independent filtering (a full cone),
 * ports kept where free; a mapping lives --timeout seconds after the last
 * packet that refreshes it: both ways, or with --no-outbound-refresh only
 * inbound ones (RFC 4787 REQ-6 broken on purpose). --ports limits the
 * outside ports to a pool (when it is used up, new flows are dropped);
 * --hold-down keeps a port of an expired mapping out of use that long
 * (RFC 6888 REQ-8), else it is free at once. UDP only: TCP and ICMP do not
 * get through. */
#include "nl/nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TOYNAT_MAX 4096

struct toynat_mapping {
	uint32_t in_addr;           /* network order */
	uint16_t in_port, ext_port; /* host order */
	uint64_t refreshed_ms;
	bool used;
};

struct toynat {
	uint32_t wan_addr;          /* network order */
	unsigned timeout_s, hold_down_s;
	uint16_t port_min, port_max;
	bool outbound_refresh;
	struct toynat_mapping map[TOYNAT_MAX];
	uint64_t port_until[65536]; /* ms: a port is held until then */
};

static void refresh(struct toynat *t, struct toynat_mapping *m, uint64_t now)
{
	m->refreshed_ms = now;
	t->port_until[m->ext_port] = now + ((uint64_t)t->timeout_s + t->hold_down_s) * 1000;
}

static bool alive(const struct toynat *t, const struct toynat_mapping *m, uint64_t now)
{
	return m->used && now - m->refreshed_ms < (uint64_t)t->timeout_s * 1000;
}

/* Still holding its port: alive, or expired less than the hold-down ago. */
static bool holding(const struct toynat *t, const struct toynat_mapping *m, uint64_t now)
{
	return m->used && now - m->refreshed_ms < ((uint64_t)t->timeout_s + t->hold_down_s) * 1000;
}

static bool port_taken(const struct toynat *t, uint16_t port, uint64_t now)
{
	return t->port_until[port] > now;
}

static struct toynat_mapping *by_inside(struct toynat *t, uint32_t addr, uint16_t port, uint64_t now)
{
	for (int i = 0; i < TOYNAT_MAX; i++)
		if (alive(t, &t->map[i], now) && t->map[i].in_addr == addr && t->map[i].in_port == port)
			return &t->map[i];
	return NULL;
}

static struct toynat_mapping *by_outside(struct toynat *t, uint16_t port, uint64_t now)
{
	for (int i = 0; i < TOYNAT_MAX; i++)
		if (alive(t, &t->map[i], now) && t->map[i].ext_port == port)
			return &t->map[i];
	return NULL;
}

/* A new mapping: the inside port when it is in the pool and free, else
 * the next free one; NULL when none is. */
static struct toynat_mapping *map_new(struct toynat *t, uint32_t addr, uint16_t port, uint64_t now)
{
	struct toynat_mapping *slot = NULL;
	unsigned span = (unsigned)(t->port_max - t->port_min) + 1, tries = 0;
	uint16_t ext = port < t->port_min || port > t->port_max ? t->port_min : port;

	for (int i = 0; i < TOYNAT_MAX && !slot; i++)
		if (!holding(t, &t->map[i], now))
			slot = &t->map[i];
	if (!slot)
		return NULL;
	for (; port_taken(t, ext, now) && tries < span; tries++)
		ext = ext == t->port_max ? t->port_min : (uint16_t)(ext + 1);
	if (tries == span)
		return NULL;
	*slot = (struct toynat_mapping){ addr, port, ext, now, true };
	refresh(t, slot, now);
	return slot;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Translate one IPv4 packet in place: from the inside (outbound) or the
 * outside. Returns the length to send, or -1 to drop it (why in *why).
 * The UDP checksum becomes 0 (none, allowed in IPv4); the kernel fills the
 * IP header's. */
static int toynat_translate(struct toynat *t, uint8_t *pkt, size_t len, bool outbound, uint64_t now, const char **why)
{
	size_t hl;
	uint32_t src, dst;
	struct toynat_mapping *m;

	if (len < 20 || (pkt[0] >> 4) != 4 || (hl = (size_t)(pkt[0] & 0x0f) * 4) < 20 || len < hl + 8) {
		*why = "not an IPv4 packet with room for a UDP header";
		return -1;
	}
	if (get16(pkt + 2) != len) {
		*why = "IP length does not match what arrived";
		return -1;
	}
	if (pkt[9] != IPPROTO_UDP) {
		*why = "not UDP";
		return -1;
	}
	if (get16(pkt + 6) & 0x3fff) {
		*why = "a fragment";
		return -1;
	}
	if (get16(pkt + hl + 4) != len - hl) {
		*why = "UDP length does not match the packet";
		return -1;
	}
	memcpy(&src, pkt + 12, 4);
	memcpy(&dst, pkt + 16, 4);
	if (outbound) {
		if (dst == t->wan_addr) {
			*why = "to our own outside address (no hairpinning)";
			return -1;
		}
		m = by_inside(t, src, get16(pkt + hl), now);
		if (!m && !(m = map_new(t, src, get16(pkt + hl), now))) {
			*why = "no mapping left";
			return -1;
		}
		if (t->outbound_refresh)
			refresh(t, m, now);
		memcpy(pkt + 12, &t->wan_addr, 4);
		put16(pkt + hl, m->ext_port);
	} else {
		if (dst != t->wan_addr || !(m = by_outside(t, get16(pkt + hl + 2), now))) {
			*why = "no mapping for it";
			return -1;
		}
		refresh(t, m, now);
		memcpy(pkt + 16, &m->in_addr, 4);
		put16(pkt + hl + 2, m->in_port);
	}
	put16(pkt + hl + 6, 0);
	put16(pkt + 10, 0);
	return (int)len;
}

#ifndef TOYNAT_NO_MAIN
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int packet_socket(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP) };
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "toynat: cannot listen on %s: %s\n", ifname, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static uint32_t iface_addr(const char *ifname)
{
	struct ifaddrs *ifa, *i;
	uint32_t a = 0;

	if (getifaddrs(&ifa))
		return 0;
	for (i = ifa; i && !a; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !strcmp(i->ifa_name, ifname))
			a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
	freeifaddrs(ifa);
	return a;
}

/* iifname WAN meta l4proto udp drop, in the input hook: the kernel must
 * not answer what is ours to translate. */
static void drop_rule(struct nftnl_rule *r, void *arg)
{
	char ifname[IFNAMSIZ] = { 0 };
	uint8_t udp = IPPROTO_UDP;

	snprintf(ifname, sizeof(ifname), "%s", (const char *)arg);
	nft_emit_meta(r, NFT_META_IIFNAME, NFT_REG_1);
	nft_emit_cmp(r, NFT_REG_1, NFT_CMP_EQ, ifname, sizeof(ifname));
	nft_emit_meta(r, NFT_META_L4PROTO, NFT_REG_1);
	nft_emit_cmp(r, NFT_REG_1, NFT_CMP_EQ, &udp, 1);
	nft_emit_verdict(r, NF_DROP);
}

static const char usage[] = "usage: toynat --wan IF --lan IF [--timeout S] [--no-outbound-refresh]\n"
			    "              [--ports LO-HI] [--hold-down S]\n";

int main(int argc, char **argv)
{
	static struct toynat t;
	const char *wan = NULL, *lan = NULL, *why;
	int fds[2], raw, one = 1;
	char err[256];
	FILE *fwd;

	t.timeout_s = 30;
	t.port_min = 1024;
	t.port_max = 65535;
	t.outbound_refresh = true;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--wan") && i + 1 < argc)
			wan = argv[++i];
		else if (!strcmp(argv[i], "--lan") && i + 1 < argc)
			lan = argv[++i];
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc && atoi(argv[i + 1]) > 0)
			t.timeout_s = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--hold-down") && i + 1 < argc && atoi(argv[i + 1]) >= 0)
			t.hold_down_s = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--ports") && i + 1 < argc &&
			 sscanf(argv[i + 1], "%hu-%hu", &t.port_min, &t.port_max) == 2 && t.port_min >= 1024 &&
			 t.port_min <= t.port_max && ++i)
			;
		else if (!strcmp(argv[i], "--no-outbound-refresh"))
			t.outbound_refresh = false;
		else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!wan || !lan) {
		fputs(usage, stderr);
		return 2;
	}
	if (!(t.wan_addr = iface_addr(wan))) {
		fprintf(stderr, "toynat: %s has no IPv4 address\n", wan);
		return 1;
	}
	fwd = fopen("/proc/sys/net/ipv4/ip_forward", "w");
	if (!fwd || fputs("0", fwd) < 0 || fclose(fwd)) {
		fprintf(stderr, "toynat: cannot turn forwarding off: %s\n", strerror(errno));
		return 1;
	}
	if (nft_one_rule_table(NULL, "toynat", "input", NF_INET_LOCAL_IN, 0, drop_rule, (void *)wan, "toynat's input rule",
			       err, sizeof(err))) {
		fprintf(stderr, "toynat: %s\n", err);
		return 1;
	}
	fds[0] = packet_socket(lan);
	fds[1] = packet_socket(wan);
	raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fds[0] < 0 || fds[1] < 0 || raw < 0)
		return 1;
	setsockopt(raw, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one));
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	while (!stop) {
		struct pollfd p[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };

		if (poll(p, 2, 500) <= 0)
			continue;
		for (int k = 0; k < 2; k++) {
			uint8_t pkt[65536];
			struct sockaddr_ll from;
			socklen_t fl = sizeof(from);
			struct sockaddr_in to = { .sin_family = AF_INET };
			ssize_t n;
			int out;

			if (!(p[k].revents & POLLIN))
				continue;
			n = recvfrom(fds[k], pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
			if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING)
				continue;
			out = toynat_translate(&t, pkt, (size_t)n, k == 0, now_ms(), &why);
			if (out < 0)
				continue;
			memcpy(&to.sin_addr.s_addr, pkt + 16, 4);
			sendto(raw, pkt, (size_t)out, 0, (struct sockaddr *)&to, sizeof(to));
		}
	}
	nft_one_rule_table(NULL, "toynat", "input", NF_INET_LOCAL_IN, 0, NULL, NULL, "toynat's input rule", err, sizeof(err));
	return 0;
}
#endif
