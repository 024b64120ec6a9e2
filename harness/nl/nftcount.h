/* Traffic counters on a router, for telling which way a tunnel's packets
 * went: a table of its own ("plcount", beside the NAT's) with one counting
 * rule per interface pair, made in one nftables batch over netlink and read
 * back by name. */
#ifndef PL_NL_NFTCOUNT_H
#define PL_NL_NFTCOUNT_H

#include <stdint.h>
#include <stddef.h>

#define NFTCOUNT_TABLE "plcount"
#define NFTCOUNT_MAX_RULES 16

/* One counting rule: packets forwarded from iif to oif (NULL: any), UDP
 * and TCP only (ICMP errors of punching are not the tunnel; nor ICMPv6), summed under
 * name. bridge: count frames a bridge forwards between its ports instead
 * (a LAN's own traffic, which no router routes). */
struct nftcount_rule {
	const char *name;
	const char *iif, *oif;
	uint16_t log_group;        /* not 0: each packet of at least log_min_len */
	uint16_t log_min_len;      /* bytes (IP) also goes to this log group, prefixed name (nflog.h) */
};

/* Replace table plcount in NETNS (family inet, or bridge) with these
 * rules; each also counts its IPv6 share alone, under "NAME/6". */
int nftcount_install(const char *netns, int bridge, const struct nftcount_rule *rules, int n, char *err, size_t errlen);
/* Packets and bytes counted so far under name (the sum of its rules). */
int nftcount_read(const char *netns, int bridge, const char *name, uint64_t *packets, uint64_t *bytes);

#endif
