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

static struct nat_model seen_by(const struct nat_model *m, bool tcp)
{
	return tcp ? expect_tcp_view(m) : *m;
}

int expect_topology_over(const struct topo_net *net, const char *host_a, const char *host_b, bool tcp,
			 struct expect_result *out)
{
	const struct topo *t = &net->topo;
	int ia = topo_find_node(t, host_a), ib = topo_find_node(t, host_b), ca[TOPO_MAX_NODES], cb[TOPO_MAX_NODES];
	int na, nb, meet_a = -1, meet_b = -1;
	struct nat_model a = no_nat(), b = no_nat(), m, carrier;

	memset(out, 0, sizeof(*out));
	if (ia < 0 || ib < 0 || t->nodes[ia].router || t->nodes[ib].router) {
		snprintf(out->why, sizeof(out->why), "topology %s has no host \"%s\"", t->name, ia < 0 || t->nodes[ia].router ? host_a : host_b);
		return -EINVAL;
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
	for (int i = 0; i < (meet_a < 0 ? na : meet_a); i++)
		if (net->nodes[ca[i]].has_model) {
			m = seen_by(&net->nodes[ca[i]].model, tcp);
			a = expect_compose(&a, &m);
		}
	for (int j = 0; j < (meet_b < 0 ? nb : meet_b); j++)
		if (net->nodes[cb[j]].has_model) {
			m = seen_by(&net->nodes[cb[j]].model, tcp);
			b = expect_compose(&b, &m);
		}
	if (meet_a >= 0 && net->nodes[ca[meet_a]].has_model && net->nodes[ca[meet_a]].model.translate) {
		carrier = seen_by(&net->nodes[ca[meet_a]].model, tcp);
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
