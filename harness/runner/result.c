/* What a scenario's result means, and where its files go. */
#include "runner.h"
#include "../../lib/util/paths.h"
#include "../../lib/util/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A model for a directory name: a path's slashes become '_'. */
static const char *dir_word(const char *model, char *buf, size_t len)
{
	snprintf(buf, len, "%s", model[0] ? model : "-");
	for (char *p = buf; *p; p++)
		if (*p == '/')
			*p = '_';
	return buf;
}

void runner_scenario_dir(const struct runner_opts *o, const struct scenario *sc, char *buf, size_t len)
{
	char a[sizeof(sc->a)], b[sizeof(sc->b)];

	if (sc->lifecycle[0])
		snprintf(buf, len, "%s/scenarios/%s%s%.0d", o->outdir, sc->lifecycle, sc->repeat ? "-" : "", sc->repeat);
	else
		snprintf(buf, len, "%s/scenarios/%s-%s-%s%s%.0d", o->outdir, sc->topology, dir_word(sc->a, a, sizeof(a)),
			 dir_word(sc->b, b, sizeof(b)), sc->repeat ? "-" : "", sc->repeat);
}

bool runner_expect_wrong(const struct scenario_result *r)
{
	return r->connected && r->path == PATH_DIRECT && !r->expected_direct && r->expected_technique[0];
}

bool runner_as_expected(const struct scenario_result *r)
{
	return r->connected && (!r->expected_direct || r->path == PATH_DIRECT) && r->lc.pairs_connected == r->lc.pairs &&
	       !runner_expect_wrong(r);
}

bool runner_disagrees(const struct scenario_result *r)
{
	return r->connected && r->tool_said_path != PATH_UNKNOWN && r->tool_said_path != r->path;
}

enum short_of_direct runner_short_of_direct(const struct scenario_result *r)
{
	int t;

	if (!r->ran || !r->expected_direct || r->sc.lifecycle[0] || (r->connected && r->path == PATH_DIRECT))
		return SHORT_NOT;
	/* A path only IPv6 has, which the tool did not take. */
	if (r->expected_ipv6_only)
		return SHORT_TECHNIQUE;
	t = expect_technique_parse(r->expected_technique);
	/* A port mapping the tool did get is not a technique it lacks: it
	 * used it, and still did not go direct. */
	for (int k = 0; t == EXPECT_PORTMAP && k < r->n_portmaps; k++)
		if (r->portmaps[k].granted > 0)
			return SHORT_UNKNOWN;
	return t >= 0 && expect_technique_special((enum expect_technique)t) ? SHORT_TECHNIQUE : SHORT_UNKNOWN;
}

const char *runner_short_need(const struct scenario_result *r)
{
	return r->expected_ipv6_only ? "IPv6" : r->expected_technique;
}

int runner_short_techniques(const struct scenario_result *res, int n, char tech[][RUNNER_TECHNIQUE_LEN], int count[],
			    int max)
{
	int nt = 0;

	for (int i = 0; i < n; i++) {
		int t = 0;
		if (runner_short_of_direct(&res[i]) != SHORT_TECHNIQUE)
			continue;
		while (t < nt && strcmp(tech[t], runner_short_need(&res[i])))
			t++;
		if (t == nt) {
			if (nt == max)
				continue;
			snprintf(tech[nt], RUNNER_TECHNIQUE_LEN, "%s", runner_short_need(&res[i]));
			count[nt++] = 0;
		}
		count[t]++;
	}
	return nt;
}

const char *runner_short_word(enum short_of_direct s)
{
	return s == SHORT_TECHNIQUE ? "technique" : s == SHORT_UNKNOWN ? "unknown" : "";
}

int runner_resolve(const struct scenario *sc, struct topo_net *net, char *params, size_t plen, char *err, size_t errlen)
{
	char assign[3][300], *assigns[3];
	struct topo t;
	int n = 0, ret;

	if (plen)
		params[0] = '\0';
	if ((ret = topo_load(sc->topology, &t, err, errlen)))
		return ret;
	for (int i = 0; i < t.n_params && n < 3; i++) {
		const char *model = !strcmp(t.params[i], "C")                                     ? sc->c
				    : !strcmp(t.params[i], "B") || (t.n_params == 1 && !sc->a[0]) ? sc->b
												     : sc->a;
		char data[256];
		if (model[0] == '@' && paths_data_dir("tests/data", data, sizeof(data)) == 0)
			snprintf(assign[n], sizeof(assign[n]), "%s=%s/%s", t.params[i], data, model + 1);
		else
			snprintf(assign[n], sizeof(assign[n]), "%s=%s", t.params[i], model);
		assigns[n] = assign[n];
		if (plen)
			snprintf(params + strlen(params), plen - strlen(params), "%s%s", n ? " " : "", assign[n]);
		n++;
	}
	return topo_resolve(&t, n, assigns, net, err, errlen);
}

/* p50, p90, p99 of v[0..n) (sorted here); -1 each when n is 0. */
static void quantiles(double *v, int n, double *p50, double *p90, double *p99)
{
	stats_sort(v, n);
	*p50 = n ? stats_quantile(v, n, 0.50) : -1;
	*p90 = n ? stats_quantile(v, n, 0.90) : -1;
	*p99 = n ? stats_quantile(v, n, 0.99) : -1;
}

int runner_ttd_summary(const struct scenario_result *res, int n, struct ttd_summary *out, int max)
{
	double *v = malloc(sizeof(double) * (size_t)(n ? n : 1)), *w = malloc(sizeof(double) * (size_t)(n ? n : 1));
	int nt = 0;

	if (!v || !w) {
		free(v);
		free(w);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		const struct scenario_result *r = &res[i];
		int t = 0;
		if (r->time_to_direct_s < 0 || r->sc.lifecycle[0])
			continue;
		while (t < nt && strcmp(out[t].technique, r->expected_technique))
			t++;
		if (t == nt && nt < max) {
			memset(&out[nt], 0, sizeof(out[nt]));
			snprintf(out[nt++].technique, RUNNER_TECHNIQUE_LEN, "%s", r->expected_technique);
		}
	}
	for (int t = 0; t < nt; t++) {
		struct ttd_summary *o = &out[t];
		for (int i = 0; i < n; i++) {
			const struct scenario_result *r = &res[i];
			if (r->time_to_direct_s < 0 || r->sc.lifecycle[0] || strcmp(o->technique, r->expected_technique))
				continue;
			v[o->n++] = r->time_to_direct_s;
			if (r->time_to_direct_reg_s >= 0)
				w[o->n_reg++] = r->time_to_direct_reg_s;
		}
		quantiles(v, o->n, &o->p50, &o->p90, &o->p99);
		quantiles(w, o->n_reg, &o->reg_p50, &o->reg_p90, &o->reg_p99);
	}
	free(v);
	free(w);
	return nt;
}
