/* punchlab run: the traversal matrix. */
#include "cmd.h"
#include "../../lib/nat/model.h"
#include "../runner/runner.h"
#include "../../lib/util/timeutil.h"
#include "../../lib/util/log.h"
#include "../../lib/util/text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
	"usage: punchlab run [--tool NAME] [--tool-dir DIR]... [--models A,B,...] [--topology T] [--ordered]\n"
	"                    [-j N] [--repeat N] [--timeout S] [--output DIR]\n"
	"                    [--keep-failed] [--conform] [--baseline FILE] [--shard I/N]\n"
	"       punchlab run --list-tools [--tool-dir DIR]... [--json]\n"
	"       punchlab run --list-scenarios [--json]\n"
	"       punchlab run --scenario NAME|all [--tool NAME] [--duration S]\n"
	"\n"
	"Drive a NAT-traversal tool (default: ref, the reference mesh) through every\n"
	"unordered pair of NAT models in two-sites, plus same-lan, same-carrier,\n"
	"double-nat and udp-blocked-site; or through the pairs of --models in\n"
	"--topology. Each scenario gets its own namespaces; the harness probes through\n"
	"the tunnel and reads nftables counters on the routers to decide whether the\n"
	"pair connected, directly or through the relay, and how fast.\n"
	"  --tool NAME     the tool under test: a folder NAME/ with an executable adapter\n"
	"                  (docs/adapters.md), looked for in each --tool-dir, then in\n"
	"                  each folder of $PUNCHLAB_TOOL_PATH (colon-separated), then in\n"
	"                  punchlab's tools/ (ref, wireguard-static, nebula, tinc)\n"
	"  -j N            scenarios at once (default 2)\n"
	"  --timeout S     give up on a scenario after S seconds (default 25)\n"
	"  --output DIR    where results go (default results/<date-time>/): results.json,\n"
	"                  junit.xml, report.html, and each failed scenario's logs\n"
	"  --keep-failed   leave a failed scenario's network up to look at\n"
	"  --conform       also judge each model's RFC conformance (punchlab conform):\n"
	"                  conformance.json and a section of report.html\n"
	"  --baseline F    exit 1 when a cell got worse than in that results.json\n"
	"  --shard I/N     only the Ith of N parts of the plan (every Nth scenario from\n"
	"                  the Ith), e.g. one CI runner's; punchlab merge joins the parts\n"
	"  --scenario S    a lifecycle scenario (a fault, silence, a dead introducer,\n"
	"                  a lossy link, a peer asleep or roaming, hours of traffic) on a pair\n"
	"                  that is up: how the tunnel recovers, and every path change after it\n"
	"  --duration S    how long steady runs (default 600), idle-long stays silent\n"
	"                  (default 300) or sleep-wake sleeps (default 180), 10 to 86400 s\n"
	"Exit 1 when a pair did not connect, or was relayed where `punchlab expect`\n"
	"says a direct path is possible.\n";

/* --list-tools: each tool found, where, its version or why it cannot run. */
static int list_tools(const struct adapter_path *tp, bool json)
{
	static struct adapter ads[ADAPTER_MAX];
	int n = adapter_list(tp, ads, ADAPTER_MAX);
	char why[512], version[128];

	if (json)
		putchar('[');
	for (int t = 0; t < n; t++) {
		bool ok = adapter_available(&ads[t], why, sizeof(why)), tcp = false;
		version[0] = '\0';
		if (ok) {
			adapter_version(&ads[t], version, sizeof(version));
			if (adapter_transport(&ads[t], &tcp, why, sizeof(why)))
				ok = false;
		}
		if (json) {
			printf("%s{\"name\":", t ? "," : "");
			text_json_put(stdout, ads[t].name);
			printf(",\"dir\":");
			text_json_put(stdout, ads[t].dir);
			printf(",\"version\":");
			text_json_put(stdout, version);
			printf(",\"transport\":\"%s\",\"available\":%s,\"why_not\":", tcp ? "tcp" : "udp",
			       ok ? "true" : "false");
			text_json_put(stdout, ok ? "" : why);
			putchar('}');
		} else {
			printf("%-17s %s%s%s  (%s)\n", ads[t].name, ok ? (version[0] ? version : "(no version)") : "unavailable: ",
			       ok ? "" : why, ok && tcp ? ", over TCP" : "", ads[t].dir);
		}
	}
	if (json)
		printf("]\n");
	else if (!n)
		printf("no tools found: no tools/ beside punchlab, and no --tool-dir or PUNCHLAB_TOOL_PATH\n");
	return 0;
}

/* --list-scenarios, as a table or JSON. */
static int list_scenarios(bool json)
{
	if (json)
		putchar('[');
	{
		const struct lifecycle *l[32];
		int nl = runner_lifecycles(l, 32);
		for (int q = 0; q < nl; q++) {
			if (!json) {
				printf("%-22s %s (%s %s %s%s%s)\n", l[q]->name, l[q]->what, l[q]->topology, l[q]->a, l[q]->b,
				       l[q]->c[0] ? " " : "", l[q]->c);
				continue;
			}
			printf("%s{\"name\":", q ? "," : "");
			text_json_put(stdout, l[q]->name);
			printf(",\"what\":");
			text_json_put(stdout, l[q]->what);
			printf(",\"topology\":");
			text_json_put(stdout, l[q]->topology);
			printf(",\"models\":[");
			text_json_put(stdout, l[q]->a);
			putchar(',');
			text_json_put(stdout, l[q]->b);
			if (l[q]->c[0]) {
				putchar(',');
				text_json_put(stdout, l[q]->c);
			}
			printf("]}");
		}
	}
	if (json)
		printf("]\n");
	return 0;
}

int cmd_run(int argc, char **argv)
{
	static struct scenario sc[RUNNER_MAX_SCENARIOS];
	static struct scenario_result res[RUNNER_MAX_SCENARIOS];
	static char names[RUNNER_MAX_MODELS][NAT_MODEL_NAME_MAX];
	struct runner_opts o = { .tool = "ref", .jobs = 2, .timeout_s = 25, .progress = true };
	struct plan plan = { .repeat = 1 };
	const char *baseline = NULL;
	struct run_set base = { 0 }, set = { .res = res };
	static struct adapter tool;
	struct adapter_path tp = { .n = 0 };
	char outdir[512] = "", why[512], err[PATH_MAX + 700], *said = NULL;
	bool conform = false, json = false;
	int list = 0;
	struct conform_report *reps = NULL;
	const struct conform_report *conf[RUNNER_MAX_MODELS];
	int n_conf = 0, n, k, bad = 0, compared = 0, shard = 0, shards = 0, planned;
	time_t started = time(NULL);
	double t0, wall;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (cmd_is_help(arg)) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(arg, "--list-tools")) {
			list = 1;
		} else if (!strcmp(arg, "--list-scenarios")) {
			list = 2;
		} else if (!strcmp(arg, "--json")) {
			json = true;
		} else if (val && !strcmp(arg, "--scenario")) {
			plan.lifecycle = argv[++i];
		} else if (!strcmp(arg, "--ordered")) {
			plan.ordered = true;
		} else if (!strcmp(arg, "--conform")) {
			conform = true;
		} else if (!strcmp(arg, "--keep-failed")) {
			o.keep_failed = true;
		} else if (val && !strcmp(arg, "--tool")) {
			o.tool = argv[++i];
		} else if (val && !strcmp(arg, "--tool-dir")) {
			if (adapter_path_add(&tp, argv[++i])) {
				pl_err("run: at most %d --tool-dir", ADAPTER_MAX_DIRS);
				return EXIT_USAGE;
			}
		} else if (val && !strcmp(arg, "--models")) {
			plan.models = argv[++i];
		} else if (val && !strcmp(arg, "--topology")) {
			plan.topology = argv[++i];
		} else if (val && !strcmp(arg, "-j")) {
			o.jobs = atoi(argv[++i]);
		} else if (val && !strcmp(arg, "--repeat")) {
			plan.repeat = atoi(argv[++i]);
		} else if (val && !strcmp(arg, "--timeout")) {
			o.timeout_s = atoi(argv[++i]);
		} else if (val && !strcmp(arg, "--duration")) {
			unsigned long d;
			if (!text_parse_uint(argv[++i], 10, 86400, &d)) {
				pl_err("run: --duration takes 10 to 86400 seconds, not \"%s\"", argv[i]);
				return EXIT_USAGE;
			}
			o.duration_s = (int)d;
		} else if (val && !strcmp(arg, "--output")) {
			snprintf(outdir, sizeof(outdir), "%s", argv[++i]);
		} else if (val && !strcmp(arg, "--baseline")) {
			baseline = argv[++i];
		} else if (val && !strcmp(arg, "--shard")) {
			if (!runner_shard_parse(argv[++i], &shard, &shards)) {
				pl_err("run: --shard takes I/N, 1 <= I <= N <= 256 (e.g. 2/4), not \"%s\"", argv[i]);
				return EXIT_USAGE;
			}
		} else {
			pl_err("run: unexpected \"%s\"\n%s", arg, usage);
			return EXIT_USAGE;
		}
	}
	if (list)
		return list == 1 ? list_tools(&tp, json) : list_scenarios(json);
	if (json) {
		pl_err("run: --json goes with --list-tools or --list-scenarios (a run writes results.json)");
		return EXIT_USAGE;
	}
	if (o.jobs < 1 || o.jobs > 32 || plan.repeat < 1 || plan.repeat > 100 || o.timeout_s < 3 || o.timeout_s > 600) {
		pl_err("run: -j takes 1 to 32, --repeat 1 to 100, --timeout 3 to 600 seconds");
		return EXIT_USAGE;
	}
	if (o.duration_s) {
		const struct lifecycle *l = plan.lifecycle ? runner_lifecycle_find(plan.lifecycle) : NULL;
		if (!plan.lifecycle || (strcmp(plan.lifecycle, "all") && (!l || l->duration == LC_DUR_NONE))) {
			pl_err("run: --duration goes with --scenario steady, idle-long, sleep-wake or all (it sets how long they last)");
			return EXIT_USAGE;
		}
	}
	if (adapter_find(&tp, o.tool, &tool, err, sizeof(err))) {
		pl_err("run: %s", err);
		return EXIT_USAGE;
	}
	if (!adapter_available(&tool, why, sizeof(why))) {
		pl_err("run: tool %s is not available: %s", o.tool, why);
		return EXIT_FAIL;
	}
	o.adapter = &tool;
	adapter_version(&tool, o.tool_version, sizeof(o.tool_version));
	if (adapter_transport(&tool, &o.tcp, err, sizeof(err))) {
		pl_err("run: tool %s: %s", o.tool, err);
		return EXIT_FAIL;
	}
	plan.tool = o.tool;
	/* Everything that cannot serve is said now, not after the run. */
	if ((n = runner_plan(&plan, sc, names, &k, err, sizeof(err))) < 0) {
		pl_err("run: %s", err);
		return EXIT_USAGE;
	}
	planned = n;
	if (shards)
		n = runner_shard(sc, n, shard, shards);
	if (baseline && runner_read_results(baseline, &base, err, sizeof(err))) {
		pl_err("run: --baseline: %s", err);
		return EXIT_USAGE;
	}
	if (baseline && !(compared = runner_baseline_overlap(&base, sc, n))) {
		pl_err("run: --baseline %s has no cell this run has (it holds %d scenario%s of %s): nothing would be compared",
		       baseline, base.n, base.n == 1 ? "" : "s", base.info.tool[0] ? base.info.tool : "no named tool");
		runner_free_results(&base);
		return EXIT_USAGE;
	}
	if ((bad = cmd_need_root("run")) || runner_make_outdir(outdir, sizeof(outdir), started, err, sizeof(err))) {
		if (!bad)
			pl_err("run: %s", err);
		runner_free_results(&base);
		return bad ? bad : EXIT_FAIL;
	}
	o.outdir = outdir;
	if (shards)
		fprintf(stderr, "punchlab run: shard %d/%d: %d of the plan's %d scenarios\n", shard, shards, n, planned);
	fprintf(stderr, "punchlab run: %d scenario%s with %s, %d at a time, results in %s\n", n, n == 1 ? "" : "s", o.tool,
		o.jobs, outdir);
	t0 = time_now_s();
	runner_all(sc, n, &o, res);
	wall = time_now_s() - t0;
	runner_print_matrix(stdout, res, n);
	if (conform) {
		n_conf = k;
		if (runner_conform(names, k, o.jobs, outdir, &reps, conf))
			pl_err("run: conformance: %s", reps ? "cannot write conformance.json" : strerror(ENOMEM));
		if (!reps)
			n_conf = 0;
	}
	for (int i = 0; i < n; i++)
		bad += !runner_as_expected(&res[i]);
	runner_info_now(&set.info, o.tool, o.tool_version, wall, argc, argv);
	set.info.tcp = o.tcp;
	set.info.shard = shard;
	set.info.shards = shards;
	set.n = n;
	if (baseline) {
		/* Compared now, said after the summary: the count goes into the reports. */
		size_t len = 0;
		FILE *mem = open_memstream(&said, &len);
		set.info.worse = runner_baseline_check(&base, res, n, mem ? mem : stdout);
		if (mem)
			fclose(mem);
		snprintf(set.info.baseline, sizeof(set.info.baseline), "%s", baseline);
		runner_free_results(&base);
	}
	if (runner_write_results(&o, &set, conf, n_conf, err, sizeof(err)))
		pl_err("run: %s", err);
	free(reps);
	printf("%d of %d scenarios as expected in %.0f s; %s/report.html\n", n - bad, n, wall, outdir);
	if (baseline) {
		fputs(said ? said : "", stdout);
		free(said);
		printf("baseline %s: %d cell%s worse (of %d compared)\n", baseline, set.info.worse, set.info.worse == 1 ? "" : "s",
		       compared);
		if (set.info.worse)
			return EXIT_MISMATCH;
	}
	return bad ? EXIT_MISMATCH : 0;
}
