/* rtnetlink through libmnl: links, addresses and routes inside our
 * namespaces (NS NULL: the caller's own). Each call is one request and its ack. */
#ifndef PL_NL_RTNL_H
#define PL_NL_RTNL_H

#include <stdbool.h>
#include <stdint.h>

/* A veth pair: end NAME_A in namespace NS_A, NAME_B in NS_B. */
int rtnl_veth_create(const char *ns_a, const char *name_a, const char *ns_b, const char *name_b);
/* A bridge NAME in NS. */
int rtnl_bridge_create(const char *ns, const char *name);
/* Enslave IFNAME to bridge MASTER (both in NS). */
int rtnl_link_set_master(const char *ns, const char *ifname, const char *master);
/* Set IFNAME's MTU. */
int rtnl_link_set_mtu(const char *ns, const char *ifname, unsigned mtu);
/* Rename IFNAME to NAME (the link must be down). */
int rtnl_link_rename(const char *ns, const char *ifname, const char *name);
/* Set IFNAME up. */
int rtnl_link_up(const char *ns, const char *ifname);
/* Set IFNAME down. */
int rtnl_link_down(const char *ns, const char *ifname);
/* Delete IFNAME (a veth: its peer goes too). */
int rtnl_link_delete(const char *ns, const char *ifname);
/* Add ADDR/PLEN (network order) to IFNAME. */
int rtnl_addr_add(const char *ns, const char *ifname, uint32_t addr, uint8_t plen);
/* Add the IPv6 address ADDR/PLEN to IFNAME. */
int rtnl_addr6_add(const char *ns, const char *ifname, const uint8_t addr[16], uint8_t plen);
/* Remove ADDR/PLEN from IFNAME. */
int rtnl_addr_del(const char *ns, const char *ifname, uint32_t addr, uint8_t plen);
/* Route DST/PLEN via GW (plen 0: the default route). */
int rtnl_route_add(const char *ns, uint32_t dst, uint8_t plen, uint32_t gw);
/* The same for IPv6 (dst is not read when plen is 0). */
int rtnl_route6_add(const char *ns, const uint8_t dst[16], uint8_t plen, const uint8_t gw[16]);

/* The route the current namespace takes to dst (network order): its
 * gateway (0: dst is on a link of ours), our source address on it, and
 * the interface's index. -ENETUNREACH when there is none. */
int rtnl_route_get(uint32_t dst, uint32_t *gw, uint32_t *src, int *oif);

/* The current namespace's IPv6 addresses, with the kernel's IFA_F_*
 * flags (deprecated, tentative, ...) and scope: how many (at most max),
 * or a negative errno. */
struct rtnl_addr6 {
	uint8_t addr[16];
	uint8_t plen, scope;
	uint32_t flags;
	int ifindex;
	bool has_local;               /* addr came from IFA_LOCAL */
};
int rtnl_addr6_list(struct rtnl_addr6 *out, int max);

#endif
