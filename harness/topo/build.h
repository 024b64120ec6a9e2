/* Make a resolved topology real inside a run: namespaces, bridges, veth
 * pairs, addresses, routes, sysctls and each router's NAT. */
#ifndef PL_TOPO_BUILD_H
#define PL_TOPO_BUILD_H

#include "instance.h"
#include "topo.h"

/* Build net in run r. On failure err says what and where; the caller
 * removes the run (instance_destroy), which removes whatever was made. */
int topo_build(const struct topo_net *net, struct instance *r, char *err, size_t errlen);
/* IPv6 on in namespace NS as the lab has it (no DAD, no RA, addresses
 * kept on link down; forwarding for a router). */
int topo_ipv6_on(const char *ns, bool router, char *err, size_t errlen);
/* Wait up to timeout_ms until every link in NS has carrier and a
 * link-local IPv6 address (IPv6's neighbour discovery needs both):
 * -ETIMEDOUT, with err, if one never does. */
#define IPV6_READY_MS 5000
int topo_ipv6_wait(const char *ns, int timeout_ms, char *err, size_t errlen);
struct nat_context;
/* The NAT context of router ROUTER: its public address and, as subscribers,
 * every address on the segments it is the gateway of. */
void topo_nat_context(const struct topo_net *net, int router, struct nat_context *ctx);
/* Install router ROUTER's NAT model in namespace NS: its IPv4 ruleset and,
 * where the model has IPv6, its IPv6 one (each replaces any earlier). */
int topo_nat_install(const struct topo_net *net, int router, const char *ns, char *err, size_t errlen);
/* Move, in net, each host run r has roamed (fault roam) to where it is
 * now: its segment (the topology's and its link's) and its address. */
void topo_net_apply_roams(struct topo_net *net, const struct instance *r);
/* The namespace of node NAME in run r (buf of 40). -ENOENT if no such node. */
int topo_node_netns(const struct instance *r, const char *node, char *buf, size_t len);

#endif
