#include "check.h"
#include "../topo/instance.h"
#include "../../lib/util/proc.h"

#include <errno.h>
#include <stdio.h>

#include <string.h>

struct lab_ctx {
	struct conform_report *rep;
	const struct conform_timing *timing;
};

static int observe_lab(const char *run_id, const struct topo_net *net, const char *wan, void *ctx)
{
	struct lab_ctx *x = ctx;
	struct conform_lab lab;
	int stun = topo_find_node(&net->topo, "stun");

	memset(&lab, 0, sizeof(lab));
	instance_netns_name(run_id, "client", lab.client_ns, sizeof(lab.client_ns));
	instance_netns_name(run_id, "client2", lab.client2_ns, sizeof(lab.client2_ns));
	instance_netns_name(run_id, "stun", lab.server_ns, sizeof(lab.server_ns));
	instance_netns_name(run_id, "nat", lab.router_ns, sizeof(lab.router_ns));
	lab.client = topo_net_addr(net, "client", 0);
	lab.client2 = topo_net_addr(net, "client2", 0);
	lab.server[0] = topo_net_addr(net, "stun", 0);
	lab.server[1] = topo_net_addr(net, "stun", 1);
	snprintf(lab.server_if, sizeof(lab.server_if), "%s", net->nodes[stun].ifaces[0].ifname);
	snprintf(lab.router_wan, sizeof(lab.router_wan), "%s", wan);
	lab.gateway = natcheck_gateway(net);
	snprintf(lab.client_if, sizeof(lab.client_if), "%s",
		 net->nodes[topo_find_node(&net->topo, "client")].ifaces[0].ifname);
	if (x->timing)
		lab.timing = *x->timing;
	return conform_observe(&lab, &x->rep->obs);
}

void conform_check(const char *model, const struct natcheck_opts *opts, const struct conform_timing *timing,
		 struct conform_report *rep)
{
	struct natcheck_opts o = *opts;
	struct lab_ctx x = { rep, timing };

	memset(rep, 0, sizeof(*rep));
	o.extra = observe_lab;
	o.ctx = &x;
	natcheck_run(model, &o, &rep->check);
	rep->obs.v6_kind = rep->check.declared.ipv6;
	rep->obs.v6 = rep->check.measured6;
	if (!rep->check.error)
		rep->n_rows = conform_judge(&rep->check.measured, &rep->obs, rep->rows);
}

struct many_ctx {
	char *const *models;
	const struct natcheck_opts *opts;
	const struct conform_timing *timing;
};

static void run_one(int i, void *out, void *ctx)
{
	struct many_ctx *m = ctx;

	conform_check(m->models[i], m->opts, m->timing, out);
}

void conform_check_many(char *const models[], int k, int jobs, const struct natcheck_opts *opts,
		      const struct conform_timing *timing, struct conform_report *reps)
{
	struct many_ctx m = { models, opts, timing };
	bool failed[64] = { false };

	if (k > 64)
		k = 64;
	proc_pool(k, jobs, sizeof(*reps), reps, failed, run_one, NULL, &m);
	for (int i = 0; i < k; i++)
		if (failed[i]) {
			reps[i].check.error = -EIO;
			snprintf(reps[i].check.model, sizeof(reps[i].check.model), "%s", models[i]);
			snprintf(reps[i].check.detail, sizeof(reps[i].check.detail), "the worker checking %s died", models[i]);
		}
}

void conform_print_json_all(const struct conform_report *const reps[], int n, FILE *out)
{
	fputs("[", out);
	for (int i = 0, k = 0; i < n; i++) {
		if (reps[i]->check.error)
			continue;
		fputs(k++ ? "," : "", out);
		conform_print_json(reps[i]->check.model, reps[i]->rows, reps[i]->n_rows, out);
	}
	fputs("]\n", out);
}
