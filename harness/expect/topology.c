/* expect_path for two hosts of a topology: their NATs composed up to
 * where their paths meet. */
#include "topology.h"
#include "../topo/topo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static struct nat_model no_nat(void)
{
	struct nat_model m;

	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "none");
	return m;
}

int expect_topology(const struct topo_net *net, const char *host_a, const char *host_b, struct expect_result *out)
{
	return expect_topology_over(net, host_a, host_b, false, out);
}

/* Router m as this family's traffic sees it; false when it carries none
 * of that family (no IPv6). */
static bool seen_by(const struct nat_model *m, bool tcp, bool ipv6, struct nat_model *out)
{
	struct nat_model v6;

	if (ipv6) {
		if (!nat_model_ipv6_view(m, &v6))
			return false;
		m = &v6;
	}
	*out = tcp ? expect_tcp_view(m) : *m;
	return true;
}

/* Host h's NATs composed, innermost first, below position `below` of its
 * gateway chain; false (and who in why) when one carries no IPv6. */
static bool side(const struct topo_net *net, const int chain[], int below, bool tcp, bool ipv6, struct nat_model *out)
{
	struct nat_model m;

	*out = no_nat();
	for (int i = 0; i < below; i++)
		if (net->nodes[chain[i]].has_model) {
			if (!seen_by(&net->nodes[chain[i]].model, tcp, ipv6, &m))
				return false;
			*out = expect_compose(out, &m);
		}
	return true;
}

static int verdict(const struct topo_net *net, const char *host_a, const char *host_b, bool tcp, bool ipv6,
		   struct expect_result *out)
{
	const struct topo *t = &net->topo;
	int ia = topo_find_node(t, host_a), ib = topo_find_node(t, host_b), ca[TOPO_MAX_NODES], cb[TOPO_MAX_NODES];
	int na, nb, meet_a = -1, meet_b = -1;
	struct nat_model a = no_nat(), b = no_nat(), carrier;

	memset(out, 0, sizeof(*out));
	if (ia < 0 || ib < 0 || t->nodes[ia].router || t->nodes[ib].router) {
		snprintf(out->why, sizeof(out->why), "topology %s has no host \"%s\"", t->name, ia < 0 || t->nodes[ia].router ? host_a : host_b);
		return -EINVAL;
	}
	if (!ipv6 && (net->nodes[ia].no_ipv4 || net->nodes[ib].no_ipv4)) {
		snprintf(out->why, sizeof(out->why), "no IPv4 on %s's side", net->nodes[ia].no_ipv4 ? host_a : host_b);
		return 0;
	}
	if (ipv6 && (!net->nodes[ia].ipv6 || !net->nodes[ib].ipv6)) {
		snprintf(out->why, sizeof(out->why), "no IPv6 on %s's side", !net->nodes[ia].ipv6 ? host_a : host_b);
		return 0;
	}
	if (t->nodes[ia].segment == t->nodes[ib].segment) {
		expect_path(&a, &b, SHAPE_SAME_LAN, NULL, out);
		return 0;
	}
	na = topo_gateway_chain(t, ia, ca);
	nb = topo_gateway_chain(t, ib, cb);
	for (int i = 0; i < na && meet_a < 0; i++)
		for (int j = 0; j < nb; j++)
			if (ca[i] == cb[j]) {
				meet_a = i;
				meet_b = j;
				break;
			}
	/* Each side's NATs below the meeting point, innermost first. */
	if (!side(net, ca, meet_a < 0 ? na : meet_a, tcp, ipv6, &a) || !side(net, cb, meet_b < 0 ? nb : meet_b, tcp, ipv6, &b)) {
		snprintf(out->why, sizeof(out->why), "a router between %s and %s carries no IPv6", host_a, host_b);
		return 0;
	}
	/* A router's IPv6 sites meet without translation (only its uplink
	 * translates): no shared NAT over IPv6. */
	if (!ipv6 && meet_a >= 0 && net->nodes[ca[meet_a]].has_model && net->nodes[ca[meet_a]].model.translate) {
		seen_by(&net->nodes[ca[meet_a]].model, tcp, false, &carrier);
		expect_path(&a, &b, SHAPE_SAME_CARRIER, &carrier, out);
	} else {
		expect_path(&a, &b, SHAPE_TWO_SITES, NULL, out);
	}
	if (tcp) {
		char why[sizeof(out->why)];
		snprintf(why, sizeof(why), "over TCP (every model masquerades TCP): %s", out->why);
		snprintf(out->why, sizeof(out->why), "%s", why);
	}
	return 0;
}

int expect_topology_over(const struct topo_net *net, const char *host_a, const char *host_b, bool tcp,
			 struct expect_result *out)
{
	return verdict(net, host_a, host_b, tcp, false, out);
}

int expect_topology_ipv6(const struct topo_net *net, const char *host_a, const char *host_b, bool tcp,
			 struct expect_result *out)
{
	return verdict(net, host_a, host_b, tcp, true, out);
}

int expect_topology_both(const struct topo_net *net, const char *host_a, const char *host_b, bool tcp,
			 struct expect_result *out, struct expect_result *v4, struct expect_result *v6)
{
	struct expect_result r4, r6;
	int ret;

	if ((ret = verdict(net, host_a, host_b, tcp, false, &r4)))
		return ret;
	*out = r4;
	if (v4)
		*v4 = r4;
	if (!net->ipv6)
		return 0;
	if ((ret = verdict(net, host_a, host_b, tcp, true, &r6)))
		return ret;
	if (v6)
		*v6 = r6;
	if (!r4.direct && r6.direct)
		*out = r6;
	snprintf(out->why, sizeof(out->why), "IPv4: %.*s; IPv6: %.*s", (int)sizeof(out->why) / 2 - 10, r4.why,
		 (int)sizeof(out->why) / 2 - 10, r6.why);
	return 0;
}
