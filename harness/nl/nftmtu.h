/* A path MTU black hole, made on demand: a table of its own ("plmtu", in
 * the netdev family) on a router that drops every IPv4 packet longer than
 * N bytes, and every IPv6 packet whose whole length is, at the ingress of
 * each of its interfaces, and says nothing (no ICMP "fragmentation
 * needed"), as a link with a smaller MTU behind a router that filters
 * ICMP does. At ingress, before conntrack gathers fragments: fragments of
 * N bytes or fewer pass, as they would on such a link. */
#ifndef PL_NL_NFTMTU_H
#define PL_NL_NFTMTU_H

#include <stddef.h>

#define NFTMTU_TABLE "plmtu"

/* Drop what is longer than max_bytes (576 to 9000) on every interface of
 * NETNS but lo; max_bytes 0 removes the table. One batch. */
int nftmtu_blackhole(const char *netns, int max_bytes, char *err, size_t errlen);

#endif
