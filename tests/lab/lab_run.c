/* punchlab run, end to end: a small matrix with the reference mesh, its
 * verdicts against `punchlab expect`, its reports, and --baseline. */
/* limit: 300 s */
#include "lab.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include "runner/runner.h"
#include "util/paths.h"

static char out[160];

/* The page DIR/PAGE as headless Chromium renders it (its DOM, freed by the
 * caller). */
static char *rendered(const char *dir, const char *page)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd),
		 "chromium --headless --no-sandbox --disable-gpu --dump-dom file://%s/%s > %s/dom.html 2>/dev/null", dir, page,
		 dir);
	assert_int_equal(system(cmd), 0);
	return lab_slurp(dir, "dom.html");
}

static void small_matrix_matches_expect_and_reports_every_scenario(void **state)
{
	char args[256], log[8192], *json, *junit, *html;

	(void)state;
	snprintf(out, sizeof(out), "/tmp/pl-run-XXXXXX");
	assert_non_null(mkdtemp(out));
	snprintf(args, sizeof(args), "--models symmetric,restricted-cone,port-restricted-cone -j 2 --conform --output %s", out);
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run %s 2>&1", args), 0);
	assert_non_null(strstr(log, "6 of 6 scenarios as expected"));
	/* Not a terminal: a progress line as each scenario ends, no \r. */
	assert_null(strchr(log, '\r'));
	assert_non_null(strstr(log, "\n1/6 scenarios, "));
	assert_non_null(strstr(log, "\n6/6 scenarios, 6 as expected, 0 not; "));
	assert_null(strstr(log, "about 0 s left"));
	/* --conform: each model judged, a line each, conformance.json */
	assert_int_equal(lab_count(log, "conformance of "), 3);
	assert_non_null(strstr(log, "conformance of symmetric: "));
	json = lab_slurp(out, "conformance.json");
	assert_int_equal(lab_count(json, "{\"subject\":"), 3);
	assert_int_equal(lab_count(json, "\"id\":\"RFC4787 REQ-1\",\"what\":\"endpoint-independent mapping\",\"level\":\"MUST\",\"verdict\":\"fail\""), 1);
	free(json);
	json = lab_slurp(out, "results.json");
	assert_int_equal(lab_count(json, "\n{\"tool\":\"ref\",\"tool_version\""), 6);   /* a line each */
	assert_int_equal(lab_count(json, "\"outcome\":\"connected\""), 6);
	/* symmetric x symmetric is the one relayed pair; the rest go direct. */
	assert_int_equal(lab_count(json, "\"path\":\"relay\",\"expected_path\":\"relay\""), 1);
	assert_int_equal(lab_count(json, "\"path\":\"direct\",\"expected_path\":\"direct\""), 5);
	assert_int_equal(lab_count(json, "\"disagreement\":true"), 0);
	junit = lab_slurp(out, "junit.xml");
	assert_int_equal(lab_count(junit, "<testcase "), 6);
	assert_int_equal(lab_count(junit, "<failure"), 0);
	html = lab_slurp(out, "report.html");
	/* One cell per scenario, both halves of the symmetric matrix drawn. */
	assert_true(lab_count(html, "class=\"cell\" data-topology=\"two-sites\"") >= 6);
	assert_int_equal(lab_count(html, "<g class=\"cell\" data-topology=\"two-sites\" data-a=\"symmetric\" data-b=\"symmetric\" "
				     "data-path=\"relay\""), 1);
	/* The headline, and what ran: the command as given. */
	assert_non_null(strstr(html, "<p class=\"headline ok\" data-tool=\"ref\" data-as-expected=\"6\" data-scenarios=\"6\">"));
	assert_non_null(strstr(html, "all 6 scenarios as expected; 5 direct, 1 relayed, 0 failed"));
	assert_non_null(strstr(html, "<td class=\"command\">punchlab run --models symmetric,restricted-cone,port-restricted-cone "
				     "-j 2 --conform --output /tmp/pl-run-"));
	free(junit);
	free(html);
	/* Rendered by a real browser: one cell per scenario, as results.json says. */
	{
		char cmd[512], line[4096], *dom;
		FILE *f;
		dom = rendered(out, "report.html");
		assert_non_null(strstr(dom, "<svg class=\"matrix\" id=\"matrix\""));
		/* the conformance section: a verdict per requirement and model */
		assert_non_null(strstr(dom, "<table id=\"conformance\">"));
		assert_int_equal(lab_count(dom, " data-id=\"RFC"), 3 * 38);   /* 41 rows, 3 of them UPnP IGD's */
		assert_int_equal(lab_count(dom, " data-id=\"IGD"), 3 * 3);
		assert_int_equal(lab_count(dom, "data-id=\"RFC4787 REQ-1\" data-subject=\"symmetric\""), 1);
		snprintf(cmd, sizeof(cmd), "%s/results.json", out);
		f = fopen(cmd, "r");
		assert_non_null(f);
		for (int cells = 0; fgets(line, sizeof(line), f);) {
			char want[200], a[40] = "", b[40] = "", path[16] = "";
			const char *p;
			if (!(p = strstr(line, "\"a\":\"")) || sscanf(p, "\"a\":\"%39[^\"]\",\"b\":\"%39[^\"]\"", a, b) != 2)
				continue;
			p = strstr(line, "\"path\":\"");
			assert_non_null(p);
			sscanf(p, "\"path\":\"%15[^\"]\"", path);
			snprintf(want, sizeof(want), "data-a=\"%s\" data-b=\"%s\" data-path=\"%s\"", a, b, path);
			assert_non_null(strstr(dom, want));
			cells++;
			if (cells == 6)
				break;
		}
		fclose(f);
		free(dom);
		/* This run beside the reference one, drawn by punchlab report. */
		assert_int_equal(lab_punchlab_run(line, sizeof(line), "report -o %s/side.html %s results/reference/ref 2>&1", out, out), 0);
		assert_non_null(strstr(line, "side.html: 2 runs, 100 scenarios"));
		dom = rendered(out, "side.html");
		assert_non_null(strstr(dom, "<table id=\"compare\">"));
		assert_int_equal(lab_count(dom, "<p class=\"headline ok\" data-tool=\"ref\""), 2);
		assert_int_equal(lab_count(dom, "<tr class=\"row\""), 94);   /* the reference's 94 scenarios; this run's 6 among them */
		assert_non_null(strstr(dom, "<svg class=\"matrix\" id=\"matrix-1\""));
		free(dom);
	}
	free(json);
}

static void baseline_flags_a_cell_that_got_worse(void **state)
{
	char args[512], log[8192], base[200], cmd[512];
	FILE *f;

	(void)state;
	/* A baseline in which symmetric x symmetric went direct: today's relay
	 * is worse than that. */
	snprintf(base, sizeof(base), "%s/baseline.json", out);
	f = fopen(base, "w");
	assert_non_null(f);
	fprintf(f, "{\"header\":{},\n\"scenarios\":[\n{\"tool\":\"ref\",\"topology\":\"two-sites\",\"a\":\"symmetric\","
		   "\"b\":\"symmetric\",\"outcome\":\"connected\",\"path\":\"direct\",\"time_to_first_reply_s\":0.1}\n]}\n");
	fclose(f);
	snprintf(args, sizeof(args), "--models symmetric --output %s/again --baseline %s", out, base);
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run %s 2>&1", args), 1);
	assert_non_null(strstr(log, "worse: two-sites symmetric symmetric: direct before, relay now"));
	/* Against its own results, nothing is worse. */
	snprintf(args, sizeof(args), "--models symmetric --output %s/third --baseline %s/again/results.json", out, out);
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run %s 2>&1", args), 0);
	assert_non_null(strstr(log, "0 cells worse (of 1 compared)"));
	/* A baseline with no cell of this run compares nothing: refused before
	 * the run, not "0 cells worse" after it. */
	snprintf(args, sizeof(args), "--models full-cone --output %s/fourth --baseline %s", out, base);
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run %s 2>&1", args), 2);
	assert_non_null(strstr(log, "has no cell this run has (it holds 1 scenario of ref): nothing would be compared"));
	assert_null(strstr(log, "scenarios with"));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", out);
	assert_int_equal(system(cmd), 0);
}

/* Every third-party adapter on the pair that every tool should manage:
 * two full cones, which must end up direct (ice and hyperdht: libraries
 * that make no tunnel, the datagrams carried from a UDP endpoint; both
 * say their path, and say direct). */
static void third_party_tools_connect_two_full_cones_directly(void **state)
{
	static const char *const tools[] = { "wireguard-static", "nebula", "tinc", "n2n", "ice", "hyperdht" };
	char args[256], log[8192], dir[64], *json;

	(void)state;
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		snprintf(dir, sizeof(dir), "/tmp/pl-run-XXXXXX");
		assert_non_null(mkdtemp(dir));
		snprintf(args, sizeof(args), "--tool %s --models full-cone --output %s", tools[i], dir);
		assert_int_equal(lab_punchlab_run(log, sizeof(log), "run %s 2>&1", args), 0);
		json = lab_slurp(dir, "results.json");
		assert_int_equal(lab_count(json, "\"outcome\":\"connected\",\"path\":\"direct\""), 1);
		if (!strcmp(tools[i], "ice") || !strcmp(tools[i], "hyperdht"))
			assert_non_null(strstr(json, "\"tool_said_path\":\"direct\""));
		free(json);
		snprintf(args, sizeof(args), "rm -rf %s", dir);
		assert_int_equal(system(args), 0);
	}
}

/* libp2p (js-libp2p 2.10 on Node 20, DCUtR over TCP) connects two full
 * cones through its circuit relay and says so; DCUtR's punch then fails
 * in js-libp2p (tools/libp2p/README.md), so the pair is relayed where
 * expect, judging it as TCP meets the NATs, says it could be direct: the
 * run exits 1 and the reports say it is for no reason expect knows. */
static void libp2p_is_relayed_over_tcp_for_no_reason_expect_knows(void **state)
{
	char args[256], log[8192], dir[64], *json;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pl-run-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(args, sizeof(args), "--tool libp2p --models full-cone --output %s", dir);
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run %s 2>&1", args), 1);
	assert_non_null(strstr(log, "1 for no reason expect knows: two-sites full-cone full-cone (punching)"));
	json = lab_slurp(dir, "results.json");
	assert_non_null(strstr(json, "\"transport\":\"tcp\""));
	assert_int_equal(lab_count(json, "\"outcome\":\"connected\",\"path\":\"relay\""), 1);
	assert_non_null(strstr(json, "\"tool_said_path\":\"relay\""));
	assert_non_null(strstr(json, "\"not_direct_because\":\"unknown\""));
	assert_non_null(strstr(json, "over TCP (every model masquerades TCP)"));
	free(json);
	snprintf(args, sizeof(args), "rm -rf %s", dir);
	assert_int_equal(system(args), 0);
}

/* A deliberately broken tool, to show that the runner's verdict can be
 * red: a tool folder of its own (--tool-dir) whose adapter is the shipped
 * ref adapter with a rule put first into each peer's namespace: "relay"
 * lets UDP out of the tunnel only to the introducer's port, so no direct
 * path can form; "never" drops everything sent into the tunnel. */
static void broken_tool(const char *dir, const char *kind)
{
	char tools[PATH_MAX], path[PATH_MAX + 64];
	FILE *f;

	assert_int_equal(paths_data_dir("tools", tools, sizeof(tools)), 0);
	snprintf(path, sizeof(path), "%s/broken", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/broken/adapter", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n# lab_run's broken ref (%s)\n"
		   "if [ \"$1\" = start ] && [ \"$2\" = peer ]; then nft -f - <<EOF\n"
		   "table inet plbroken {\n chain out {\n  type filter hook output priority 0; policy accept;\n  %s\n }\n}\n"
		   "EOF\nfi\nexec %s/ref/adapter \"$@\"\n",
		kind, !strcmp(kind, "relay") ? "ip daddr != 100.100.0.0/16 udp dport != 3478 drop" : "ip daddr 100.100.0.0/16 drop", tools);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0755), 0);
}

/* Run the broken tool of this kind on two full cones (direct is
 * possible): exit 1, and the cell is red in the summary, results.json,
 * junit.xml and report.html. */
static void broken_tool_is_red_everywhere(const char *kind)
{
	char dir[64], args[256], log[8192], cmd[PATH_MAX + 128], *text;
	const bool relay = !strcmp(kind, "relay");

	snprintf(dir, sizeof(dir), "/tmp/pl-broken-XXXXXX");
	assert_non_null(mkdtemp(dir));
	broken_tool(dir, kind);
	snprintf(args, sizeof(args), "--tool-dir %s --tool broken --models full-cone --timeout 10 --output %s/out", dir, dir);
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run %s 2>&1", args), 1);
	assert_non_null(strstr(log, "0 of 1 scenarios as expected"));
	assert_non_null(strstr(log, relay ? "two-sites full-cone full-cone: relay" : "two-sites full-cone full-cone: FAIL"));
	snprintf(args, sizeof(args), "%s/out", dir);
	text = lab_slurp(args, "results.json");
	assert_non_null(strstr(text, relay ? "\"outcome\":\"connected\",\"path\":\"relay\",\"expected_path\":\"direct\""
					   : "\"outcome\":\"failed\""));
	assert_int_equal(lab_count(text, "\"as_expected\":false"), 1);
	free(text);
	text = lab_slurp(args, "junit.xml");
	assert_non_null(strstr(text, "failures=\"1\""));
	assert_int_equal(lab_count(text, "<failure message=\""), 1);
	if (relay)
		assert_non_null(strstr(text, "relayed, but a direct path is possible"));
	free(text);
	text = lab_slurp(args, "report.html");
	assert_non_null(strstr(text, relay ? "data-path=\"relay\" data-as-expected=\"false\" data-technique=\"punching\"><rect class=\"relay unexpected\""
					   : "data-path=\"fail\" data-as-expected=\"false\" data-technique=\"punching\"><rect class=\"fail unexpected\""));
	assert_non_null(strstr(text, "<p class=\"headline bad\""));
	free(text);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void a_tool_that_relays_where_direct_is_possible_is_red_in_every_report(void **state)
{
	(void)state;
	broken_tool_is_red_everywhere("relay");
}

static void a_tool_that_never_connects_is_red_in_every_report(void **state)
{
	(void)state;
	broken_tool_is_red_everywhere("never");
}

/* Bad input is refused before anything runs, and said clearly: no
 * models at all, a baseline that is missing or not a results.json; a model
 * named twice runs its pairs once (it ran three copies of one pair into
 * one directory, one failing every time). */
static void bad_input_is_refused_before_the_run_and_a_model_named_twice_runs_once(void **state)
{
	char dir[64], log[8192], path[128], *json;
	FILE *f;

	(void)state;
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run --models '' 2>&1"), 2);
	assert_non_null(strstr(log, "--models names no model"));
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run --models full-cone --baseline /nonexistent/results.json 2>&1"),
			 2);
	assert_non_null(strstr(log, "run: --baseline: cannot read /nonexistent/results.json: No such file or directory"));
	snprintf(dir, sizeof(dir), "/tmp/pl-run-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/not-results.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"hello\": 1}\n", f);
	fclose(f);
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run --models full-cone --baseline %s 2>&1", path), 2);
	assert_non_null(strstr(log, "not-results.json: not a results.json of punchlab run (no \"scenarios\" list)"));
	assert_null(strstr(log, "scenarios with"));
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run --models full-cone,full-cone --output %s/out 2>&1", dir), 0);
	assert_non_null(strstr(log, "full-cone is named twice in --models; its pairs run once"));
	snprintf(path, sizeof(path), "%s/out", dir);
	json = lab_slurp(path, "results.json");
	assert_int_equal(lab_count(json, "\n{\"tool\":\"ref\""), 1);   /* one scenario line */
	free(json);
	assert_int_equal(lab_shell(NULL, 0, "rm -rf %s", dir), 0);
}

/* The plan split in two shards (as two CI runners would run it), merged:
 * the same scenarios in the same order with the same verdicts as the run
 * without --shard, and the merged files say so. */
static void shards_merged_give_the_single_runs_verdicts(void **state)
{
	char dir[64], log[8192], path[128], err[256];
	struct run_set whole, merged;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pl-shard-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run --models full-cone,symmetric --output %s/whole 2>&1", dir), 0);
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run --models full-cone,symmetric --shard 2/2 --output %s/s2 2>&1", dir),
			 0);
	assert_non_null(strstr(log, "shard 2/2: 1 of the plan's 3 scenarios"));
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run --models full-cone,symmetric --shard 1/2 --output %s/s1 2>&1", dir),
			 0);
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "merge --output %s/merged %s/s2 %s/s1 2>&1", dir, dir, dir), 0);
	assert_non_null(strstr(log, "2 shards merged: 3 of 3 scenarios as expected"));
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "merge --output %s/m %s/s2 2>&1", dir, dir), 2);
	assert_non_null(strstr(log, "shard 1/2 is missing: give all 2"));
	snprintf(path, sizeof(path), "%s/whole/results.json", dir);
	assert_int_equal(runner_read_results(path, &whole, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/merged/results.json", dir);
	assert_int_equal(runner_read_results(path, &merged, err, sizeof(err)), 0);
	assert_int_equal(merged.n, 3);
	assert_int_equal(whole.n, 3);
	assert_int_equal(merged.info.shards, 0);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(merged.res[i].sc.a, whole.res[i].sc.a);
		assert_string_equal(merged.res[i].sc.b, whole.res[i].sc.b);
		assert_int_equal(merged.res[i].connected, whole.res[i].connected);
		assert_int_equal(merged.res[i].path, whole.res[i].path);
		assert_int_equal(merged.res[i].expected_direct, whole.res[i].expected_direct);
	}
	assert_non_null(strstr(merged.info.command, "run --models full-cone,symmetric --output "));
	assert_null(strstr(merged.info.command, "--shard"));
	runner_free_results(&whole);
	runner_free_results(&merged);
	snprintf(path, sizeof(path), "%s/merged", dir);
	free(lab_slurp(path, "junit.xml"));
	free(lab_slurp(path, "report.html"));
	assert_int_equal(paths_remove_tree(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(small_matrix_matches_expect_and_reports_every_scenario),
		cmocka_unit_test(baseline_flags_a_cell_that_got_worse),
		cmocka_unit_test(third_party_tools_connect_two_full_cones_directly),
		cmocka_unit_test(libp2p_is_relayed_over_tcp_for_no_reason_expect_knows),
		cmocka_unit_test(a_tool_that_relays_where_direct_is_possible_is_red_in_every_report),
		cmocka_unit_test(a_tool_that_never_connects_is_red_in_every_report),
		cmocka_unit_test(bad_input_is_refused_before_the_run_and_a_model_named_twice_runs_once),
		cmocka_unit_test(shards_merged_give_the_single_runs_verdicts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
