/* punchlab run: the traversal matrix. */
#include "cmd.h"
#include "../conform/run.h"
#include "../../lib/nat/model.h"
#include "../runner/runner.h"
#include "../../lib/util/timeutil.h"
#include "../../lib/util/log.h"
#include "../../lib/util/paths.h"
#include "../../lib/util/text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char usage[] =
	"usage: punchlab run [--tool NAME] [--models A,B,...] [--topology T] [--ordered]\n"
	"                    [-j N] [--repeat N] [--timeout S] [--output DIR]\n"
	"                    [--keep-failed] [--conform] [--baseline FILE] [--list-tools]\n"
	"       punchlab run --scenario NAME|all [--tool NAME] [--list-scenarios]\n"
	"\n"
	"Drive a NAT-traversal tool (default: ref, the reference mesh) through every\n"
	"unordered pair of NAT models in two-sites, plus same-lan, same-carrier,\n"
	"double-nat and udp-blocked-site; or through the pairs of --models in\n"
	"--topology. Each scenario gets its own namespaces; the harness probes through\n"
	"the tunnel and reads nftables counters on the routers to decide whether the\n"
	"pair connected, directly or through the relay, and how fast.\n"
	"  -j N            scenarios at once (default 2)\n"
	"  --timeout S     give up on a scenario after S seconds (default 25)\n"
	"  --output DIR    where results go (default results/<date-time>/): results.json,\n"
	"                  junit.xml, report.html, and each failed scenario's logs\n"
	"  --keep-failed   leave a failed scenario's network up to look at\n"
	"  --conform       also judge each model's RFC conformance (punchlab conform):\n"
	"                  conformance.json and a section of report.html\n"
	"  --baseline F    exit 1 when a cell got worse than in that results.json\n"
	"  --scenario S    a lifecycle scenario (a fault, silence, a dead introducer,\n"
	"                  a lossy link) on a pair that is up: how the tunnel recovers\n"
	"Exit 1 when a pair did not connect, or was relayed where `punchlab expect`\n"
	"says a direct path is possible.\n";

/* Each model's conformance, k at a time as jobs allows: conformance.json,
 * a line each on the terminal; the reports (freed by the caller) in *out
 * and pointers to them in conf. */
static int conform_models(char names[][NAT_MODEL_NAME_MAX], int k, int jobs, const char *outdir,
			  struct conform_report **out, const struct conform_report *conf[])
{
	struct conform_report *reps = calloc((size_t)k, sizeof(*reps));
	struct natcheck_opts o = { 0 };
	char *models[64], path[600];
	FILE *f;

	*out = reps;
	if (!reps)
		return -ENOMEM;
	for (int i = 0; i < k; i++)
		models[i] = names[i];
	conform_run_many(models, k, jobs, &o, NULL, reps);
	for (int i = 0; i < k; i++) {
		const struct conform_report *r = &reps[i];
		int musts = 0;

		conf[i] = r;
		if (r->check.error) {
			printf("conformance of %s: ERROR: %s\n", names[i], r->check.detail);
			continue;
		}
		for (int j = 0; j < r->n_rows; j++)
			musts += r->rows[j].level == CONFORM_MUST && r->rows[j].verdict == CONFORM_FAIL;
		printf("conformance of %s: %d MUST%s failed\n", r->check.model, musts, musts == 1 ? "" : "s");
	}
	snprintf(path, sizeof(path), "%s/conformance.json", outdir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	conform_print_json_all(conf, k, f);
	return fclose(f) ? -errno : 0;
}

static int add(struct scenario *sc, int n, const char *tool, const char *topo, const char *a, const char *b, int rep)
{
	if (n >= RUNNER_MAX_SCENARIOS)
		return n;
	memset(&sc[n], 0, sizeof(sc[n]));
	snprintf(sc[n].tool, sizeof(sc[n].tool), "%s", tool);
	snprintf(sc[n].topology, sizeof(sc[n].topology), "%s", topo);
	snprintf(sc[n].a, sizeof(sc[n].a), "%s", a);
	snprintf(sc[n].b, sizeof(sc[n].b), "%s", b);
	sc[n].c[0] = '\0';
	sc[n].repeat = rep;
	sc[n].lifecycle[0] = '\0';
	return n + 1;
}

/* Pairs of models (unordered unless ordered) in a topology taking its
 * parameters A and B; one-parameter topologies take each model once. */
static int pairs(struct scenario *sc, int n, const char *tool, const char *topo, char names[][NAT_MODEL_NAME_MAX], int k,
		 bool ordered, int rep)
{
	char err[256];
	struct topo t;

	if (topo_load(topo, &t, err, sizeof(err)))
		return -1;
	if (t.n_params == 1) {
		for (int i = 0; i < k; i++)
			n = add(sc, n, tool, topo, strcmp(t.params[0], "B") ? names[i] : "", strcmp(t.params[0], "B") ? "" : names[i],
				rep);
		return n;
	}
	for (int i = 0; i < k; i++)
		for (int j = ordered ? 0 : i; j < k; j++)
			n = add(sc, n, tool, topo, names[i], names[j], rep);
	return n;
}

int cmd_run(int argc, char **argv)
{
	static struct scenario sc[RUNNER_MAX_SCENARIOS];
	static struct scenario_result res[RUNNER_MAX_SCENARIOS];
	static char names[64][NAT_MODEL_NAME_MAX];
	struct runner_opts o = { .tool = "ref", .jobs = 2, .timeout_s = 25, .progress = true };
	const char *models = NULL, *topology = NULL, *baseline = NULL, *lifecycle = NULL;
	const struct runner_tool *tool;
	char outdir[512] = "", path[600], why[256];
	bool ordered = false, conform = false;
	struct conform_report *reps = NULL;
	const struct conform_report *conf[64];
	int n_conf = 0;
	int repeat = 1, n = 0, k, bad = 0, ret;
	time_t started = time(NULL);
	double t0;
	double wall;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (cmd_is_help(arg)) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(arg, "--list-tools")) {
			for (int t = 0; runner_tools[t]; t++) {
				bool ok = runner_tools[t]->available(why, sizeof(why));
				printf("%-17s %s%s%s\n", runner_tools[t]->name, runner_tools[t]->what, ok ? "" : ": ", ok ? "" : why);
			}
			return 0;
		} else if (!strcmp(arg, "--list-scenarios")) {
			const struct lifecycle *l[32];
			int nl = runner_lifecycles(l, 32);
			for (int q = 0; q < nl; q++)
				printf("%-22s %s (%s %s %s)\n", l[q]->name, l[q]->what, l[q]->topology, l[q]->a, l[q]->b);
			return 0;
		} else if (val && !strcmp(arg, "--scenario")) {
			lifecycle = argv[++i];
		} else if (!strcmp(arg, "--ordered")) {
			ordered = true;
		} else if (!strcmp(arg, "--conform")) {
			conform = true;
		} else if (!strcmp(arg, "--keep-failed")) {
			o.keep_failed = true;
		} else if (val && !strcmp(arg, "--tool")) {
			o.tool = argv[++i];
		} else if (val && !strcmp(arg, "--models")) {
			models = argv[++i];
		} else if (val && !strcmp(arg, "--topology")) {
			topology = argv[++i];
		} else if (val && !strcmp(arg, "-j")) {
			o.jobs = atoi(argv[++i]);
		} else if (val && !strcmp(arg, "--repeat")) {
			repeat = atoi(argv[++i]);
		} else if (val && !strcmp(arg, "--timeout")) {
			o.timeout_s = atoi(argv[++i]);
		} else if (val && !strcmp(arg, "--output")) {
			snprintf(outdir, sizeof(outdir), "%s", argv[++i]);
		} else if (val && !strcmp(arg, "--baseline")) {
			baseline = argv[++i];
		} else {
			pl_err("run: unexpected \"%s\"\n%s", arg, usage);
			return EXIT_USAGE;
		}
	}
	if (o.jobs < 1 || o.jobs > 32 || repeat < 1 || repeat > 100 || o.timeout_s < 3 || o.timeout_s > 600) {
		pl_err("run: -j takes 1 to 32, --repeat 1 to 100, --timeout 3 to 600 seconds");
		return EXIT_USAGE;
	}
	if (!(tool = runner_tool_find(o.tool))) {
		pl_err("run: no tool \"%s\"; punchlab run --list-tools shows them", o.tool);
		return EXIT_USAGE;
	}
	if (!tool->available(why, sizeof(why))) {
		pl_err("run: tool %s is not available: %s", o.tool, why);
		return EXIT_FAIL;
	}
	if (models) {
		char buf[1024], *save = NULL;
		snprintf(buf, sizeof(buf), "%s", models);
		k = 0;
		for (char *m = strtok_r(buf, ",", &save); m && k < 64; m = strtok_r(NULL, ",", &save)) {
			struct nat_model nm;
			char err[512];
			bool twice = false;
			if (nat_model_load(m, &nm, err, sizeof(err))) {
				pl_err("run: %s", err);
				return EXIT_USAGE;
			}
			/* A model named twice is one model: its pairs run once. */
			for (int q = 0; q < k && !twice; q++)
				twice = !strcmp(names[q], m);
			if (twice) {
				pl_err("run: %s is named twice in --models; its pairs run once", m);
				continue;
			}
			snprintf(names[k++], NAT_MODEL_NAME_MAX, "%s", m);
		}
		if (k == 0) {
			pl_err("run: --models names no model; e.g. --models full-cone,symmetric (punchlab nat list shows them)");
			return EXIT_USAGE;
		}
	} else {
		k = nat_model_list(names, 64);
	}
	for (int rep = 0; rep < repeat; rep++) {
		int r = repeat > 1 ? rep + 1 : 0;
		if (lifecycle) {
			const struct lifecycle *l[32];
			int nl = runner_lifecycles(l, 32), before = n;
			for (int q = 0; q < nl; q++)
				if (!strcmp(lifecycle, "all") || !strcmp(lifecycle, l[q]->name)) {
					n = add(sc, n, o.tool, l[q]->topology, l[q]->a, l[q]->b, r);
					snprintf(sc[n - 1].lifecycle, sizeof(sc[n - 1].lifecycle), "%s", l[q]->name);
					snprintf(sc[n - 1].c, sizeof(sc[n - 1].c), "%s", l[q]->c);
				}
			if (n == before) {
				pl_err("run: no scenario \"%s\"; punchlab run --list-scenarios shows them", lifecycle);
				return EXIT_USAGE;
			}
		} else if (topology) {
			if ((n = pairs(sc, n, o.tool, topology, names, k, ordered, r)) < 0) {
				pl_err("run: no topology \"%s\"", topology);
				return EXIT_USAGE;
			}
		} else if (models) {
			n = pairs(sc, n, o.tool, "two-sites", names, k, ordered, r);
		} else {
			/* The default matrix: every pair across two sites, and the
			 * other shapes with models that show what they are about. */
			static char some[3][NAT_MODEL_NAME_MAX] = { "full-cone", "port-restricted-cone", "symmetric" };
			n = pairs(sc, n, o.tool, "two-sites", names, k, ordered, r);
			n = pairs(sc, n, o.tool, "same-lan", some, 3, false, r);
			n = pairs(sc, n, o.tool, "udp-blocked-site", some, 3, false, r);
			n = add(sc, n, o.tool, "same-carrier", "port-restricted-cone", "full-cone", r);
			n = add(sc, n, o.tool, "same-carrier", "symmetric", "symmetric", r);
			n = add(sc, n, o.tool, "double-nat", "full-cone", "port-restricted-cone", r);
			n = add(sc, n, o.tool, "double-nat", "symmetric", "full-cone", r);
		}
	}
	/* A baseline that cannot serve is said now, not after the run. */
	if (baseline) {
		char *text = NULL;
		size_t len;
		if ((ret = text_read_file(baseline, 64 << 20, &text, &len))) {
			pl_err("run: cannot read baseline %s: %s", baseline, strerror(-ret));
			return EXIT_USAGE;
		}
		ret = !strstr(text, "\"scenarios\":[");
		free(text);
		if (ret) {
			pl_err("run: %s is not a results.json of punchlab run (no \"scenarios\" list)", baseline);
			return EXIT_USAGE;
		}
	}
	if ((ret = cmd_need_root("run")))
		return ret;
	if (!outdir[0]) {
		char base[400], stamp[32];
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime(&started));
		if (paths_data_dir("results", base, sizeof(base)))
			snprintf(base, sizeof(base), "results");
		snprintf(outdir, sizeof(outdir), "%s/%s", base, stamp);
	}
	mkdir(outdir, 0755);
	snprintf(path, sizeof(path), "%s/scenarios", outdir);
	if (mkdir(path, 0755) && errno != EEXIST) {
		pl_err("run: cannot make %s: %s", path, strerror(errno));
		return EXIT_FAIL;
	}
	o.outdir = outdir;
	fprintf(stderr, "punchlab run: %d scenarios with %s, %d at a time, results in %s\n", n, o.tool, o.jobs, outdir);
	t0 = time_now_s();
	runner_all(sc, n, &o, res);
	wall = time_now_s() - t0;
	runner_print_matrix(stdout, res, n);
	if (conform) {
		n_conf = k; /* k <= 64: the model list's size */
		if (conform_models(names, k, o.jobs, outdir, &reps, conf))
			pl_err("run: conformance: %s", reps ? "cannot write conformance.json" : strerror(ENOMEM));
		if (!reps)
			n_conf = 0;
	}
	for (int i = 0; i < n; i++) {
		bool failed = !runner_as_expected(&res[i]);
		bad += failed;
		if (!failed) {
			/* Logs and packets are kept for failures only. */
			char dir[600];
			runner_scenario_dir(&o, &res[i].sc, dir, sizeof(dir));
			if (paths_remove_tree(dir))
				pl_err("run: cannot remove %s: %s", dir, strerror(errno));
		}
	}
	snprintf(path, sizeof(path), "%s/results.json", outdir);
	runner_write_json(path, res, n, wall, o.tool);
	snprintf(path, sizeof(path), "%s/junit.xml", outdir);
	runner_write_junit(path, res, n, wall);
	snprintf(path, sizeof(path), "%s/report.html", outdir);
	runner_write_html(path, res, n, wall, conf, n_conf);
	free(reps);
	printf("%d of %d scenarios as expected in %.0f s; %s/report.html\n", n - bad, n, wall, outdir);
	if (baseline) {
		int worse = runner_baseline_check(baseline, res, n, stdout);
		if (worse < 0) {
			pl_err("run: cannot read baseline %s: %s", baseline, strerror(-worse));
			return EXIT_FAIL;
		}
		printf("baseline %s: %d cell%s worse\n", baseline, worse, worse == 1 ? "" : "s");
		if (worse)
			return EXIT_MISMATCH;
	}
	return bad ? EXIT_MISMATCH : 0;
}
