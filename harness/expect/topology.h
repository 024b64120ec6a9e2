/* Expected paths in a topology (the theory itself is lib/expect). */
#ifndef PL_EXPECT_TOPOLOGY_H
#define PL_EXPECT_TOPOLOGY_H

#include "../../lib/expect/expect.h"

struct topo_net;
/* The verdict for hosts host_a and host_b of a resolved topology: each
 * host's NATs up to where their paths meet are composed; meeting on one
 * segment is a LAN, meeting at a translating router is a shared (carrier)
 * NAT. -EINVAL (with why set) for unknown hosts. */
int expect_topology(const struct topo_net *net, const char *host_a, const char *host_b, struct expect_result *out);
/* The same for a tool whose traffic is TCP (tcp true): every NAT as TCP
 * sees it (expect_tcp_view), the reason starting "over TCP". */
int expect_topology_over(const struct topo_net *net, const char *host_a, const char *host_b, bool tcp,
			 struct expect_result *out);

/* The same over IPv6 (each router as nat_model_ipv6_view sees it): no
 * direct path, "no IPv6 on X's side", where either host has no IPv6. */
int expect_topology_ipv6(const struct topo_net *net, const char *host_a, const char *host_b, bool tcp,
			 struct expect_result *out);
/* Both families where the topology is dual-stack (net->ipv6): a direct
 * path over either will do, IPv4's first; out->why names both ("IPv4:
 * ...; IPv6: ...", each cut to half of it). Each family's own verdict in
 * v4 and v6 (either may be NULL). Without IPv6, IPv4's alone. */
int expect_topology_both(const struct topo_net *net, const char *host_a, const char *host_b, bool tcp,
			 struct expect_result *out, struct expect_result *v4, struct expect_result *v6);

#endif
