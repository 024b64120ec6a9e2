#include "fault.h"
#include "../nat/plan.h"
#include "../nl/conntrack.h"
#include "../nl/nft.h"
#include "../nl/rtnl.h"
#include "../topo/build.h"
#include "../topo/topo.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The run's topology as it was brought up. */
static int run_net(const struct run *r, struct topo_net *net, char *err, size_t errlen)
{
	char params[sizeof(r->params)], *assigns[8], *save = NULL;
	struct topo t;
	int n = 0;

	snprintf(params, sizeof(params), "%s", r->params);
	for (char *w = strtok_r(params, " ", &save); w && n < 8; w = strtok_r(NULL, " ", &save))
		assigns[n++] = w;
	if (topo_load(r->topology, &t, err, errlen) || topo_resolve(&t, n, assigns, net, err, errlen))
		return -EINVAL;
	return 0;
}

/* Install the router's NAT again: its dynamic maps and sets start empty. */
static int reinstall_nat(const struct topo_net *net, int router, const char *ns, char *err, size_t errlen)
{
	const struct topo *t = &net->topo;
	struct nat_context ctx = { .public_addr = net->nodes[router].public_addr };
	struct nat_plan *plan = calloc(1, sizeof(*plan));
	int ret;

	if (!plan)
		return -ENOMEM;
	for (int i = 0; i < t->n_nodes; i++) {
		int s = t->nodes[i].segment;
		if (s < 0 || t->segments[s].gateway != router)
			continue;
		for (int f = 0; f < net->nodes[i].n_ifaces; f++)
			if (!net->nodes[i].ifaces[f].bridge && ctx.n_subscribers < NAT_MAX_SUBSCRIBERS)
				ctx.subscribers[ctx.n_subscribers++] = net->nodes[i].ifaces[f].addrs[0];
	}
	ret = nat_plan_compile(&net->nodes[router].model, &ctx, plan, err, errlen);
	if (ret == 0 && plan->n_rules)
		ret = nft_plan_apply(ns, plan, err, errlen);
	free(plan);
	return ret;
}

int fault_apply(const struct run *r, const char *kind, const char *target, const char *arg, char *err, size_t errlen)
{
	struct topo_net *net = calloc(1, sizeof(*net));
	char ns[64];
	int router, ret = 0, deleted = 0;

	if (!net)
		return -ENOMEM;
	if ((ret = run_net(r, net, err, errlen)))
		goto out;
	router = topo_find_node(&net->topo, target);
	if (router < 0 || !net->nodes[router].router || topo_node_netns(r, target, ns, sizeof(ns))) {
		snprintf(err, errlen, "run %s has no router \"%s\"", r->id, target);
		ret = -EINVAL;
		goto out;
	}
	if (!strcmp(kind, "link")) {
		if (!arg || (strcmp(arg, "down") && strcmp(arg, "up"))) {
			snprintf(err, errlen, "link takes down or up: punchlab fault link %s down", target);
			ret = -EINVAL;
		} else if (net->topo.nodes[router].segment < 0) {
			snprintf(err, errlen, "%s has no uplink to cut", target);
			ret = -EINVAL;
		} else {
			ret = !strcmp(arg, "down") ? rtnl_link_down(ns, "wan") : rtnl_link_up(ns, "wan");
			if (ret)
				snprintf(err, errlen, "%s: setting wan %s: %s", ns, arg, strerror(-ret));
		}
		goto out;
	}
	if (strcmp(kind, "nat-reboot") && strcmp(kind, "mapping-expire")) {
		snprintf(err, errlen, "unknown fault \"%s\"; expected nat-reboot, mapping-expire or link", kind);
		ret = -EINVAL;
		goto out;
	}
	if (!net->nodes[router].has_model || !net->nodes[router].model.translate) {
		snprintf(err, errlen, "%s does no NAT: nothing to %s", target, kind);
		ret = -EINVAL;
		goto out;
	}
	/* A reboot forgets every flow; an idle timeout only the UDP ones. Both
	 * empty the model's maps (they only ever hold UDP mappings). */
	if (!strcmp(kind, "nat-reboot"))
		ret = conntrack_flush(ns);
	else
		ret = conntrack_flush_proto(ns, IPPROTO_UDP, &deleted);
	if (ret) {
		snprintf(err, errlen, "%s: flushing conntrack: %s", ns, strerror(-ret));
		goto out;
	}
	ret = reinstall_nat(net, router, ns, err, errlen);
out:
	free(net);
	return ret;
}
