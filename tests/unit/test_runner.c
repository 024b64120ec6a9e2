/* punchlab run's judgement without a lab: the path verdict on recorded
 * counter series, what "as expected" and "disagreement" mean, the
 * baseline comparison, the plan of scenarios, and reports that escape whatever a model file or a
 * tool calls itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "expect/topology.h"
#include "runner/capture.h"
#include "runner/runner.h"
#include "util/text.h"
#include "util/paths.h"

/* One window of a recorded series: were probes answered, and the tunnel
 * bytes the "direct" and "relay" counters saw in it. */
struct win {
	bool answered;
	uint64_t direct, relay;
};

/* Feed a series; returns the verdict after it. */
static struct verdict feed(const struct win *w, int n)
{
	struct verdict v;

	verdict_init(&v);
	for (int i = 0; i < n; i++)
		verdict_window(&v, w[i].answered, w[i].direct, w[i].relay, (i + 1) * VERDICT_WINDOW_MS / 1000.0);
	return v;
}

/* A pair as the reference mesh brings it up (ref, full-cone x
 * port-restricted-cone, windows of 250 ms): two probes of 500 bytes each
 * way per window; relayed, each crosses the relay counter twice (in and
 * out); the agents' own pings (~100 bytes) beside them. */
static const struct win relayed_then_direct[] = {
	{ false, 0, 180 },   { true, 0, 4200 },  { true, 96, 4100 },  { true, 2300, 2100 }, /* moving over */
	{ true, 2096, 96 },  { true, 2104, 0 },  { true, 2096, 0 },   { true, 2100, 100 },
};

static void a_pair_relayed_then_direct_is_direct_from_its_first_direct_window(void **state)
{
	struct verdict v = feed(relayed_then_direct, 4);

	(void)state;
	/* The fourth window already carried more direct than relayed bytes. */
	assert_int_equal(v.path, PATH_DIRECT);
	assert_true(v.time_to_direct_s > 0.99 && v.time_to_direct_s < 1.01);
	assert_false(verdict_steady(&v, PATH_DIRECT));
	v = feed(relayed_then_direct, 7);
	assert_true(verdict_steady(&v, PATH_DIRECT));
	assert_false(verdict_steady(&v, PATH_RELAY));
	assert_true(v.time_to_direct_s > 0.99 && v.time_to_direct_s < 1.01);
}

static void a_relayed_pair_settles_on_the_relay(void **state)
{
	static const struct win w[] = { { true, 0, 4100 }, { true, 0, 4200 }, { true, 80, 4000 }, { true, 0, 4100 } };
	struct verdict v = feed(w, 4);

	(void)state;
	assert_int_equal(v.path, PATH_RELAY);
	assert_true(verdict_steady(&v, PATH_RELAY));
	assert_true(v.time_to_direct_s < 0);
}

static void windows_without_answers_or_below_a_probes_worth_say_nothing(void **state)
{
	/* Bytes, but the prober heard nothing back: a tool's own traffic. */
	static const struct win silent[] = { { false, 9000, 0 }, { false, 0, 9000 }, { false, 9000, 9000 } };
	/* Answered, but only keepalives on either counter. */
	static const struct win chatter[] = { { true, 300, 0 }, { true, 0, 499 }, { true, 120, 200 } };
	struct verdict v = feed(silent, 3);

	(void)state;
	assert_int_equal(v.path, PATH_NONE);
	assert_true(v.time_to_direct_s < 0);
	v = feed(chatter, 3);
	assert_int_equal(v.path, PATH_NONE);
	/* And a window that says nothing leaves the path as it was. */
	verdict_init(&v);
	verdict_window(&v, true, 0, 4000, 0.25);
	assert_int_equal(verdict_window(&v, true, 100, 0, 0.5), PATH_NONE);
	assert_int_equal(v.path, PATH_RELAY);
	assert_int_equal(v.relay_windows, 1);
}

static void a_window_is_direct_only_when_most_of_its_bytes_went_direct(void **state)
{
	struct verdict v;

	(void)state;
	verdict_init(&v);
	assert_int_equal(verdict_window(&v, true, 600, 800, 0.25), PATH_RELAY);
	assert_int_equal(verdict_window(&v, true, 800, 800, 0.5), PATH_RELAY);
	assert_int_equal(verdict_window(&v, true, 801, 800, 0.75), PATH_DIRECT);
	assert_int_equal(verdict_window(&v, true, 500, 0, 1.0), PATH_DIRECT);
	assert_int_equal(verdict_window(&v, true, 499, 0, 1.25), PATH_NONE);
}

static void a_path_that_breaks_is_not_steady(void **state)
{
	static const struct win w[] = { { true, 2000, 0 }, { true, 2000, 0 }, { true, 2000, 0 }, { true, 0, 4000 },
					{ true, 2000, 0 }, { true, 2000, 0 }, { true, 2000, 0 } };
	struct verdict v = feed(w, 7);

	(void)state;
	assert_int_equal(v.path, PATH_DIRECT);
	assert_false(verdict_steady(&v, PATH_DIRECT));
	/* The first direct window is the time to direct, not the last run's. */
	assert_true(v.time_to_direct_s > 0.24 && v.time_to_direct_s < 0.26);
}

static void path_names_read_back(void **state)
{
	(void)state;
	for (int p = PATH_NONE; p <= PATH_RELAY; p++)
		assert_int_equal(path_parse(path_name((enum path)p)), p);
	assert_int_equal(path_parse("direct "), PATH_UNKNOWN);
	assert_int_equal(path_parse(""), PATH_UNKNOWN);
}

static struct scenario_result result(const char *a, const char *b, bool connected, enum path path, bool expected_direct)
{
	struct scenario_result r;

	memset(&r, 0, sizeof(r));
	snprintf(r.sc.tool, sizeof(r.sc.tool), "ref");
	snprintf(r.sc.topology, sizeof(r.sc.topology), "two-sites");
	snprintf(r.sc.a, sizeof(r.sc.a), "%s", a);
	snprintf(r.sc.b, sizeof(r.sc.b), "%s", b);
	r.ran = true;
	r.connected = connected;
	r.path = connected ? path : PATH_NONE;
	r.expected_direct = expected_direct;
	r.time_to_first_reply_s = connected ? 0.5 : -1;
	r.time_to_direct_s = path == PATH_DIRECT ? 0.75 : -1;
	r.time_to_direct_reg_s = -1;
	return r;
}

static void as_expected_means_connected_and_direct_where_expect_says_it_can_be(void **state)
{
	struct scenario_result r;

	(void)state;
	r = result("full-cone", "full-cone", true, PATH_DIRECT, true);
	assert_true(runner_as_expected(&r));
	r = result("full-cone", "symmetric", true, PATH_RELAY, true);
	assert_false(runner_as_expected(&r));      /* relayed where direct is possible */
	r = result("symmetric", "symmetric", true, PATH_RELAY, false);
	assert_true(runner_as_expected(&r));
	r = result("symmetric", "symmetric", false, PATH_NONE, false);
	assert_false(runner_as_expected(&r));      /* no connection is never as expected */
	r = result("full-cone", "full-cone", false, PATH_DIRECT, true);
	assert_false(runner_as_expected(&r));
	/* Three peers: every pair must answer. */
	r = result("symmetric", "full-cone", true, PATH_DIRECT, true);
	r.lc.pairs = 3;
	r.lc.pairs_connected = 2;
	assert_false(runner_as_expected(&r));
	r.lc.pairs_connected = 3;
	assert_true(runner_as_expected(&r));
}

static void a_tool_that_says_another_path_than_the_counters_disagrees(void **state)
{
	struct scenario_result r = result("full-cone", "full-cone", true, PATH_DIRECT, true);

	(void)state;
	assert_false(runner_disagrees(&r));        /* says nothing */
	r.tool_said_path = PATH_DIRECT;
	assert_false(runner_disagrees(&r));
	r.tool_said_path = PATH_RELAY;
	assert_true(runner_disagrees(&r));
	r = result("full-cone", "full-cone", false, PATH_NONE, true);
	r.tool_said_path = PATH_DIRECT;
	assert_false(runner_disagrees(&r));        /* nothing to disagree with */
}

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pl-runner-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	static const char *const files[] = { "results.json", "junit.xml", "report.html", "baseline.json", "out.txt", "bad.json" };
	char path[128];

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	return rmdir(dir);
}

static char *slurp(const char *name)
{
	char path[128], *text = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(text_read_file(path, 1 << 22, &text, &len), 0);
	return text;
}

static struct run_info info(const char *tool)
{
	struct run_info i;
	char *argv[] = { "run", "--models", "full-cone,symmetric", "--output", "/tmp/it's here", NULL };

	runner_info_now(&i, tool, "1.0", 10, 5, argv);
	return i;
}

/* Baseline cells: the baseline is a results.json as runner_write_json
 * writes it, read back. Returns how many cells got worse, with the lines
 * in out. */
static int against_baseline(const struct scenario_result *base, int nb, const struct scenario_result *now, int nn,
			    char **out)
{
	struct run_info in = info("ref");
	struct run_set set;
	char path[128], err[256];
	FILE *f;
	int worse;

	snprintf(path, sizeof(path), "%s/baseline.json", dir);
	assert_int_equal(runner_write_json(path, &in, base, nb), 0);
	assert_int_equal(runner_read_results(path, &set, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	worse = runner_baseline_check(&set, now, nn, f);
	fclose(f);
	runner_free_results(&set);
	*out = slurp("out.txt");
	return worse;
}

static void the_baseline_names_each_cell_that_got_worse(void **state)
{
	struct scenario_result base[4], now[4];
	char *out;

	(void)state;
	base[0] = result("full-cone", "full-cone", true, PATH_DIRECT, true);
	base[1] = result("full-cone", "symmetric", true, PATH_DIRECT, true);
	base[2] = result("symmetric", "symmetric", true, PATH_RELAY, false);
	base[3] = result("open", "open", true, PATH_DIRECT, true);
	memcpy(now, base, sizeof(now));
	assert_int_equal(against_baseline(base, 4, now, 4, &out), 0);
	free(out);
	/* Direct to relay; connected to failed; a first reply slower than
	 * twice the baseline's plus a second (0.5 s then, 2.1 s now). */
	now[1] = result("full-cone", "symmetric", true, PATH_RELAY, true);
	now[2] = result("symmetric", "symmetric", false, PATH_NONE, false);
	now[3].time_to_first_reply_s = 2.1;
	assert_int_equal(against_baseline(base, 4, now, 4, &out), 3);
	assert_non_null(strstr(out, "full-cone symmetric: direct before, relay now"));
	assert_non_null(strstr(out, "symmetric symmetric: connected before, failed now"));
	assert_non_null(strstr(out, "open open: first reply after 2.10 s, was 0.50 s"));
	free(out);
	/* Within the margin: 1.9 s is not worse than 0.5 s. */
	now[1] = base[1];
	now[2] = base[2];
	now[3].time_to_first_reply_s = 1.9;
	assert_int_equal(against_baseline(base, 4, now, 4, &out), 0);
	free(out);
}

static void reports_escape_hostile_model_names_and_tool_versions(void **state)
{
	static const char *const evil = "<img src=x onerror=alert(1)>\"'&.nat";
	struct scenario_result r[2];
	struct run_info in;
	struct run_set set;
	char path[128], *json, *junit, *html;

	(void)state;
	r[0] = result(evil, "full-cone", true, PATH_DIRECT, true);
	r[1] = result("symmetric", evil, false, PATH_NONE, true);
	snprintf(r[1].sc.topology, sizeof(r[1].sc.topology), "<b>topo");
	snprintf(r[0].tool_version, sizeof(r[0].tool_version), "1.0 \"quoted\" <script>");
	snprintf(r[1].expected_reason, sizeof(r[1].expected_reason), "because </title><script>x()</script>");
	snprintf(r[1].error, sizeof(r[1].error), "error \"with\" quotes\nand a newline");
	snprintf(path, sizeof(path), "%s/results.json", dir);
	in = info("<script>tool");
	snprintf(in.command, sizeof(in.command), "punchlab run --models '<img src=y>'");
	assert_int_equal(runner_write_json(path, &in, r, 2), 0);
	snprintf(path, sizeof(path), "%s/junit.xml", dir);
	assert_int_equal(runner_write_junit(path, r, 2, 5), 0);
	snprintf(path, sizeof(path), "%s/report.html", dir);
	set.info = in;
	set.res = r;
	set.n = 2;
	assert_int_equal(runner_write_html(path, &set, 1, NULL, 0), 0);
	json = slurp("results.json");
	junit = slurp("junit.xml");
	html = slurp("report.html");
	/* No raw markup anywhere a browser or a CI page would render it. */
	assert_null(strstr(html, "<img"));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<b>topo"));
	assert_null(strstr(html, "<img src=y"));
	assert_non_null(strstr(html, "&lt;script&gt;tool"));
	assert_non_null(strstr(html, "&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;.nat"));
	assert_null(strstr(junit, "<img"));
	assert_non_null(strstr(junit, "&lt;img src=x"));
	/* JSON strings stay strings: quotes escaped, no raw newline. */
	assert_non_null(strstr(json, "\"a\":\"<img src=x onerror=alert(1)>\\\"'&.nat\""));
	assert_non_null(strstr(json, "\"tool_version\":\"1.0 \\\"quoted\\\" <script>\""));
	assert_non_null(strstr(json, "error \\\"with\\\" quotes"));
	assert_null(strstr(json, "quotes\nand"));
	free(json);
	free(junit);
	free(html);
}

/* A baseline shares cells with a plan either way round, never lifecycle
 * ones; none shared is none to compare. */
static void a_baseline_overlaps_a_plan_by_its_pairs(void **state)
{
	struct scenario_result b[3];
	struct run_set base = { .res = b, .n = 3 };
	struct scenario sc[2];

	(void)state;
	b[0] = result("full-cone", "symmetric", true, PATH_DIRECT, true);
	b[1] = result("open", "open", true, PATH_DIRECT, true);
	b[2] = result("symmetric", "symmetric", true, PATH_RELAY, false);
	snprintf(b[2].sc.lifecycle, sizeof(b[2].sc.lifecycle), "nat-reboot");
	memset(sc, 0, sizeof(sc));
	snprintf(sc[0].topology, sizeof(sc[0].topology), "two-sites");
	snprintf(sc[0].a, sizeof(sc[0].a), "symmetric");
	snprintf(sc[0].b, sizeof(sc[0].b), "full-cone");   /* the other way round */
	sc[1] = sc[0];
	snprintf(sc[1].a, sizeof(sc[1].a), "symmetric");
	snprintf(sc[1].b, sizeof(sc[1].b), "symmetric");   /* only a lifecycle cell of the baseline */
	assert_int_equal(runner_baseline_overlap(&base, sc, 2), 1);
	assert_int_equal(runner_baseline_overlap(&base, &sc[1], 1), 0);
	snprintf(sc[0].topology, sizeof(sc[0].topology), "same-carrier");
	assert_int_equal(runner_baseline_overlap(&base, sc, 1), 0);
}

/* results.json read back is what was written: names with quotes and
 * newlines, times that never came (null), a lifecycle, the header. */
static void results_read_back_as_written_with_null_for_never(void **state)
{
	struct scenario_result r[3];
	struct run_info in = info("ref");
	struct run_set set;
	char path[128], err[256], *json;

	(void)state;
	r[0] = result("full-cone", "a \"quoted\"\nname", true, PATH_DIRECT, true);
	r[1] = result("symmetric", "symmetric", false, PATH_NONE, false);
	r[2] = result("full-cone", "symmetric", true, PATH_RELAY, true);
	r[1].rtt_p50 = r[1].rtt_p90 = r[1].rtt_p99 = -1;
	snprintf(r[1].error, sizeof(r[1].error), "did not all join within 25 s");
	snprintf(r[2].sc.lifecycle, sizeof(r[2].sc.lifecycle), "nat-reboot");
	snprintf(r[2].sc.c, sizeof(r[2].sc.c), "cgnat");
	r[2].lc = (struct lifecycle_result){ .happened = true, .event_at_s = 2.5, .quiet_s = 25, .watch_s = 600,
					     .sent_after = 40, .lost_after = 3, .first_reply_s = 0.4, .relay_s = 0.5,
					     .direct_s = -1, .path_after = PATH_RELAY, .pairs = 3, .pairs_connected = 3,
					     .path_changes = 2, .n_changes = 2,
					     .changes = { { 0.5, PATH_RELAY }, { 1.75, PATH_DIRECT } } };
	snprintf(r[2].expected_technique, sizeof(r[2].expected_technique), "punching");
	r[0].n_portmaps = 1;
	r[0].portmaps[0] = (struct run_portmap){ "nat-b", NAT_PORTMAP_ALL, 1, NAT_PORTMAP_PCP };
	r[0].direct_bytes = 5000;
	r[0].direct_bytes_ipv6 = 3000;
	in.worse = 2;
	snprintf(in.baseline, sizeof(in.baseline), "old/results.json");
	snprintf(path, sizeof(path), "%s/results.json", dir);
	assert_int_equal(runner_write_json(path, &in, r, 3), 0);
	json = slurp("results.json");
	assert_non_null(strstr(json, "\"time_to_direct_s\":null"));
	assert_non_null(strstr(json, "\"rtt_ms\":{\"p50\":null,\"p90\":null,\"p99\":null}"));
	assert_null(strstr(json, "-1.0"));
	assert_non_null(strstr(json, "\"direct_bytes\":5000,\"relay_bytes\":0,\"direct_bytes_ipv4\":2000,\"direct_bytes_ipv6\":3000"));
	/* one scenario per line, as people grep it */
	assert_non_null(strstr(json, "\n{\"tool\":\"ref\",\"tool_version\":\"\",\"topology\":\"two-sites\",\"a\":\"symmetric\""));
	free(json);
	assert_int_equal(runner_read_results(path, &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 3);
	assert_string_equal(set.info.tool, "ref");
	assert_string_equal(set.info.command, "punchlab run --models full-cone,symmetric --output '/tmp/it'\\''s here'");
	assert_string_equal(set.info.baseline, "old/results.json");
	assert_int_equal(set.info.worse, 2);
	assert_string_equal(set.info.date, in.date);
	assert_string_equal(set.res[0].sc.b, "a \"quoted\"\nname");
	assert_true(set.res[0].connected && set.res[0].path == PATH_DIRECT && set.res[0].expected_direct);
	assert_true(set.res[0].time_to_direct_s > 0.74 && set.res[0].time_to_direct_s < 0.76);
	assert_false(set.res[1].connected);
	assert_true(set.res[1].time_to_first_reply_s < 0 && set.res[1].time_to_direct_s < 0 && set.res[1].rtt_p50 < 0);
	assert_string_equal(set.res[1].error, "did not all join within 25 s");
	assert_string_equal(set.res[2].sc.lifecycle, "nat-reboot");
	assert_string_equal(set.res[2].sc.c, "cgnat");
	assert_true(set.res[2].lc.happened && set.res[2].lc.lost_after == 3 && set.res[2].lc.direct_s < 0);
	assert_true(set.res[2].lc.path_after == PATH_RELAY && set.res[2].lc.pairs == 3);
	assert_true(set.res[2].lc.quiet_s == 25 && set.res[2].lc.watch_s == 600);
	assert_int_equal(set.res[2].lc.path_changes, 2);
	assert_int_equal(set.res[2].lc.n_changes, 2);
	assert_true(set.res[2].lc.changes[1].path == PATH_DIRECT && set.res[2].lc.changes[1].at_s > 1.7);
	assert_int_equal(set.res[0].n_portmaps, 1);
	assert_string_equal(set.res[0].portmaps[0].router, "nat-b");
	assert_true(set.res[0].portmaps[0].offers == NAT_PORTMAP_ALL && set.res[0].portmaps[0].by == NAT_PORTMAP_PCP);
	assert_int_equal(set.res[0].portmaps[0].granted, 1);
	assert_int_equal(set.res[1].n_portmaps, 0);
	assert_true(set.res[0].direct_bytes == 5000 && set.res[0].direct_bytes_ipv6 == 3000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(runner_as_expected(&set.res[i]), runner_as_expected(&r[i]));
	runner_free_results(&set);
}

/* Time to direct per technique, across repeats: p50, p90 and p99 in
 * results.json, from the start lines and (where the tool says) from the
 * registrations; lifecycle scenarios and pairs that never went direct
 * are left out. */
static void time_to_direct_is_summed_up_per_technique_across_repeats(void **state)
{
	struct scenario_result r[13];
	struct run_info in = { .tool = "ref" };
	struct ttd_summary t[4];
	struct run_set set;
	char path[128], err[256], *json;
	int nt;

	(void)state;
	for (int i = 0; i < 10; i++) {   /* punching: 0.01 .. 0.10 s, registered 5 ms before the later start line */
		r[i] = result("full-cone", "full-cone", true, PATH_DIRECT, true);
		r[i].sc.repeat = i + 1;
		snprintf(r[i].expected_technique, sizeof(r[i].expected_technique), "punching");
		r[i].time_to_direct_s = 0.01 * (i + 1);
		r[i].time_to_direct_reg_s = r[i].time_to_direct_s + 0.005;
	}
	r[10] = result("port-restricted-cone", "symmetric", true, PATH_DIRECT, true);
	snprintf(r[10].expected_technique, sizeof(r[10].expected_technique), "birthday");
	r[10].time_to_direct_s = 1.25;
	r[11] = result("symmetric", "symmetric", true, PATH_RELAY, false);
	r[12] = result("full-cone", "full-cone", true, PATH_DIRECT, true);
	snprintf(r[12].sc.lifecycle, sizeof(r[12].sc.lifecycle), "nat-reboot");
	snprintf(r[12].expected_technique, sizeof(r[12].expected_technique), "punching");
	r[12].time_to_direct_s = 9;
	nt = runner_ttd_summary(r, 13, t, 4);
	assert_int_equal(nt, 2);
	assert_string_equal(t[0].technique, "punching");
	assert_int_equal(t[0].n, 10);
	assert_int_equal(t[0].n_reg, 10);
	assert_true(t[0].p50 > 0.0499 && t[0].p50 < 0.0501);   /* nearest rank: the fifth of ten */
	assert_true(t[0].p99 > 0.098 && t[0].p99 <= 0.100);
	assert_true(t[0].reg_p50 > t[0].p50 + 0.004 && t[0].reg_p50 < t[0].p50 + 0.006);
	assert_string_equal(t[1].technique, "birthday");
	assert_true(t[1].n == 1 && t[1].n_reg == 0 && t[1].p50 == 1.25 && t[1].p99 == 1.25 && t[1].reg_p50 < 0);
	assert_int_equal(runner_ttd_summary(r, 13, t, 1), 1);   /* at most max */

	snprintf(path, sizeof(path), "%s/results.json", dir);
	assert_int_equal(runner_write_json(path, &in, r, 13), 0);
	json = slurp("results.json");
	assert_non_null(strstr(json, "\"time_to_direct_from_registration_s\":0.015"));
	assert_non_null(strstr(json, "\"time_to_direct\":[\n{\"technique\":\"punching\",\"n\":10,\"p50_s\":0.050,"));
	assert_non_null(strstr(json, "\"from_registration\":{\"n\":10,\"p50_s\":0.055,"));
	assert_non_null(strstr(json, "{\"technique\":\"birthday\",\"n\":1,\"p50_s\":1.250,\"p90_s\":1.250,\"p99_s\":1.250}]}"));
	free(json);
	assert_int_equal(runner_read_results(path, &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 13);
	assert_true(set.res[0].time_to_direct_reg_s > 0.0149 && set.res[0].time_to_direct_reg_s < 0.0151);
	assert_true(set.res[10].time_to_direct_reg_s < 0);
	runner_free_results(&set);
}

/* What is not a results.json is refused, saying what is wrong and where. */
static void a_results_file_that_is_not_one_is_refused_saying_why(void **state)
{
	static const struct {
		const char *text, *says;
	} bad[] = {
		{ "", "not JSON (it ends too soon" },
		{ "{\"scenarios\":[", "not JSON (it ends too soon" },
		{ "[1,2,3]", "no \"scenarios\" list" },
		{ "{\"header\":{}}", "no \"scenarios\" list" },
		{ "{\"scenarios\":{}}", "no \"scenarios\" list" },
		{ "{\"scenarios\":[1]}", "scenario 1 is not an object" },
		{ "{\"scenarios\":[{\"topology\":\"two-sites\",\"a\":\"x\",\"b\":\"y\",\"path\":\"direct\"}]}",
		  "scenario 1 has no \"outcome\" string" },
		{ "{\"scenarios\":[{\"topology\":7,\"a\":\"x\",\"b\":\"y\",\"outcome\":\"connected\",\"path\":\"direct\"}]}",
		  "scenario 1 has no \"topology\" string" },
		{ "{\"scenarios\":[]} {}", "more than one JSON value (something follows at byte 17)" },
		{ "{\"scenarios\":[]}\n\"x\"", "more than one JSON value" },
		{ "{\"scenarios\":[{\"topology\":\"t\",\"a\":\"x\",\"b\":\"y\",\"outcome\":\"connected\",\"path\":\"direct\","
		  "\"lifecycle\":{}}]}", "scenario 1: its \"lifecycle\" has no name" },
		{ "{\"scenarios\":[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]}", "not JSON (nesting too deep" },
		{ "{\"scenarios\":[{\"topology\":\"t\",\"a\":\"x\",\"b\":\"y\",\"outcome\":\"connected\",\"path\":\"direct\","
		  "\"port_mappings\":[{\"router\":\"nat-b\",\"offers\":\"ftp\",\"granted\":1,\"by\":\"pcp\"}]}]}",
		  "scenario 1: a port mapping is not {router, offers, granted, by}" },
	};
	struct run_set set;
	char err[256], path[128];
	FILE *f;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(runner_parse_results(bad[i].text, strlen(bad[i].text), &set, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].says))
			fail_msg("%s: said \"%s\", not \"%s\"", bad[i].text, err, bad[i].says);
		assert_null(set.res);
	}
	/* Too many scenarios for a run */
	snprintf(path, sizeof(path), "%s/bad.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\"scenarios\":[");
	for (int i = 0; i <= RUNNER_MAX_SCENARIOS; i++)
		fprintf(f, "%s{}", i ? "," : "");
	fprintf(f, "]}");
	fclose(f);
	assert_int_equal(runner_read_results(path, &set, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad.json: 513 scenarios: a run has at most 512"));
	/* A file that is not there is named */
	snprintf(path, sizeof(path), "%s/none.json", dir);
	assert_int_equal(runner_read_results(path, &set, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "none.json: No such file"));
	/* A hand-made baseline with no header serves */
	static const char hand[] = "{\"scenarios\":[{\"tool\":\"x\",\"topology\":\"t\",\"a\":\"a\",\"b\":\"b\","
				   "\"outcome\":\"connected\",\"path\":\"direct\",\"time_to_first_reply_s\":-1.000}]}";
	assert_int_equal(runner_parse_results(hand, strlen(hand), &set, err, sizeof(err)), 0);
	assert_string_equal(set.info.tool, "x");
	assert_true(set.res[0].time_to_first_reply_s < 0 && set.res[0].ran);
	runner_free_results(&set);
}

static int count_of(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

/* The page a person opens first: the headline, what ran, the technique in
 * every cell and the unexpected ones marked, every scenario in a table,
 * time to direct per technique, lifecycle timelines, and two runs side by
 * side. */
static void the_report_says_at_once_whether_the_run_went_as_expected(void **state)
{
	struct scenario_result a[4], b[3];
	struct run_set sets[2];
	char path[128], *html;

	(void)state;
	a[0] = result("full-cone", "full-cone", true, PATH_DIRECT, true);
	a[1] = result("full-cone", "symmetric", true, PATH_RELAY, true);   /* relayed, direct possible */
	a[2] = result("symmetric", "symmetric", true, PATH_RELAY, false);
	a[3] = result("full-cone", "symmetric", true, PATH_DIRECT, true);
	snprintf(a[0].expected_technique, sizeof(a[0].expected_technique), "open");
	snprintf(a[1].expected_technique, sizeof(a[1].expected_technique), "prediction");
	snprintf(a[2].expected_technique, sizeof(a[2].expected_technique), "none");
	snprintf(a[3].expected_technique, sizeof(a[3].expected_technique), "punching");
	snprintf(a[3].sc.lifecycle, sizeof(a[3].sc.lifecycle), "nat-reboot");
	a[3].lc = (struct lifecycle_result){ .happened = true, .event_at_s = 3, .quiet_s = 0, .watch_s = 12,
					     .sent_after = 50, .lost_after = 4, .first_reply_s = 0.6, .relay_s = 0.7,
					     .direct_s = 2.5, .path_after = PATH_DIRECT, .path_changes = 2, .n_changes = 2,
					     .changes = { { 0.7, PATH_RELAY }, { 2.5, PATH_DIRECT } } };
	sets[0].info = info("ref");
	sets[0].info.worse = 1;
	snprintf(sets[0].info.baseline, sizeof(sets[0].info.baseline), "results/reference/ref");
	sets[0].res = a;
	sets[0].n = 4;
	snprintf(path, sizeof(path), "%s/report.html", dir);
	assert_int_equal(runner_write_html(path, sets, 1, NULL, 0), 0);
	html = slurp("report.html");
	assert_non_null(strstr(html, "<p class=\"headline bad\" data-tool=\"ref\" data-as-expected=\"3\" data-scenarios=\"4\">"));
	assert_non_null(strstr(html, "1 of 4 scenarios <b>not as expected</b> (0 did not connect, 1 relayed where a direct "
				     "path is possible); 2 direct, 2 relayed, 0 failed"));
	assert_non_null(strstr(html, "1 cell worse than the baseline results/reference/ref"));
	assert_non_null(strstr(html, "<th>command</th><td class=\"command\">punchlab run --models full-cone,symmetric "
				     "--output &#39;/tmp/it&#39;\\&#39;&#39;s here&#39;</td>"));
	assert_non_null(strstr(html, "<th>date (UTC)</th><td>20"));
	/* cells: the technique on the second line; the unexpected one marked */
	assert_int_equal(count_of(html, "<g class=\"cell\""), 4);   /* full-cone/symmetric drawn both ways */
	assert_non_null(strstr(html, "data-as-expected=\"true\" data-technique=\"open\"><rect class=\"direct\""));
	assert_non_null(strstr(html, "data-path=\"relay\" data-as-expected=\"false\" data-technique=\"prediction\">"
				     "<rect class=\"relay unexpected\""));
	assert_non_null(strstr(html, ">&#10008; relay 0.50s</text><text class=\"small\""));
	assert_non_null(strstr(html, ">expected direct</text>"));
	/* every scenario in a visible table, the unexpected one saying why */
	assert_int_equal(count_of(html, "<tr class=\"scenario"), 4);
	assert_non_null(strstr(html, "<b>relayed where a direct path is possible, by a technique the tool did not use</b>"));
	/* time to direct per technique: a dot per direct pair, lifecycle ones aside */
	assert_int_equal(count_of(html, "<circle class=\"ttd\""), 1);
	assert_non_null(strstr(html, "data-technique=\"open\" data-tool=\"ref\" data-s=\"0.750\""));
	assert_non_null(strstr(html, "open: n=1, p50 0.750 s, p90 0.750 s, p99 0.750 s"));
	/* the lifecycle scenario as a timeline: settled, lost, relayed, direct */
	assert_int_equal(count_of(html, "<g class=\"timeline\" data-scenario=\"nat-reboot\""), 1);
	assert_non_null(strstr(html, "lost 4/50, reply 0.60s, direct, 2 path changes</text>"));
	assert_int_equal(count_of(html, "<line class=\"change "), 2);
	assert_null(strstr(html, "id=\"compare\""));
	free(html);
	/* Two runs: a column each, a row per pair either has. */
	b[0] = result("full-cone", "full-cone", true, PATH_RELAY, true);
	b[1] = result("symmetric", "symmetric", false, PATH_NONE, false);
	b[2] = result("open", "open", true, PATH_DIRECT, true);
	sets[1].info = info("nebula");
	sets[1].res = b;
	sets[1].n = 3;
	assert_int_equal(runner_write_html(path, sets, 2, NULL, 0), 0);
	html = slurp("report.html");
	assert_non_null(strstr(html, "<title>punchlab: ref, nebula</title>"));
	assert_int_equal(count_of(html, "<p class=\"headline"), 2);
	assert_non_null(strstr(html, "<b>nebula</b>: 2 of 3 scenarios <b>not as expected</b> (1 did not connect, 1 relayed"));
	assert_int_equal(count_of(html, "<tr class=\"row\""), 4);   /* 3 pairs of ref (no lifecycle) + open/open */
	assert_non_null(strstr(html, "<td class=\"relay unexpected\" data-tool=\"nebula\">&#10008; relay 0.50s</td>"));
	assert_non_null(strstr(html, "<td class=\"fail unexpected\" data-tool=\"nebula\">&#10008; FAIL</td>"));
	assert_non_null(strstr(html, "<td>not run</td>"));
	assert_non_null(strstr(html, "id=\"matrix-1\""));
	free(html);
}

/* A results file may say anything of its times: the page stays small.
 * (A lifecycle event "at" 1e7 s drew a tick every 10 s: 50 MB of page;
 * at 9e11 s it never ended.) */
static void a_page_from_absurd_times_stays_small(void **state)
{
	static const char text[] =
		"{\"scenarios\":[{\"topology\":\"two-sites\",\"a\":\"x\",\"b\":\"y\",\"outcome\":\"connected\","
		"\"path\":\"direct\",\"time_to_direct_s\":9e11,\"lifecycle\":{\"name\":\"nat-reboot\",\"happened\":true,"
		"\"event_at_s\":9e11,\"first_reply_s\":1e11,\"relay_s\":5e11,\"direct_s\":9.9e11}}]}";
	struct run_set set;
	char err[256], path[128], *html;

	(void)state;
	assert_int_equal(runner_parse_results(text, strlen(text), &set, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/report.html", dir);
	assert_int_equal(runner_write_html(path, &set, 1, NULL, 0), 0);
	runner_free_results(&set);
	html = slurp("report.html");
	assert_true(strlen(html) < 64 * 1024);
	assert_int_equal(count_of(html, "<g class=\"timeline\""), 1);
	free(html);
}

/* The plan of a matrix run, without a lab. */
static int count_in(const struct scenario *sc, int n, const char *topology)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += !strcmp(sc[i].topology, topology);
	return k;
}

static void the_default_plan_is_every_pair_across_two_sites_and_the_other_shapes(void **state)
{
	static struct scenario sc[RUNNER_MAX_SCENARIOS];
	static char names[RUNNER_MAX_MODELS][NAT_MODEL_NAME_MAX];
	struct plan p = { .tool = "ref", .repeat = 1 };
	char err[300] = "";
	int k, n, m, dual = 0, with_v6 = 0;

	(void)state;
	n = runner_plan(&p, sc, names, &k, err, sizeof(err));
	m = nat_model_list(names, RUNNER_MAX_MODELS);
	assert_int_equal(k, m);
	assert_true(m >= 10);
	/* Every pair of the IPv4-only models; the dual-stack ones (ipv6 =)
	 * and the IPv6-only site (ipv4 = none) in six scenarios of their
	 * own, each with at least one of them. */
	for (int i = 0; i < m; i++) {
		struct nat_model nm;
		assert_int_equal(nat_model_load(names[i], &nm, err, sizeof(err)), 0);
		dual += nm.ipv6 != NAT_IPV6_NONE;
	}
	assert_int_equal(dual, 4);
	m -= dual;
	for (int i = 0; i < n; i++)
		with_v6 += strstr(sc[i].a, "ipv6") || strstr(sc[i].b, "ipv6");
	assert_int_equal(with_v6, 6);
	assert_int_equal(count_in(sc, n, "two-sites"), m * (m + 1) / 2 + 6);
	assert_int_equal(count_in(sc, n, "same-lan"), 3);
	assert_int_equal(count_in(sc, n, "udp-blocked-site"), 3);
	assert_int_equal(count_in(sc, n, "same-carrier"), 2);
	assert_int_equal(count_in(sc, n, "double-nat"), 2);
	assert_int_equal(n, m * (m + 1) / 2 + 6 + 10);
	for (int i = 0; i < n; i++) {
		assert_string_equal(sc[i].tool, "ref");
		assert_int_equal(sc[i].repeat, 0);
		assert_string_equal(sc[i].lifecycle, "");
	}
	/* same-lan takes one model (B): a is empty. */
	for (int i = 0; i < n; i++)
		if (!strcmp(sc[i].topology, "same-lan"))
			assert_true(sc[i].a[0] == '\0' || sc[i].b[0] == '\0');
}

static void a_plan_runs_a_model_named_twice_once_and_repeats_with_numbers(void **state)
{
	static struct scenario sc[RUNNER_MAX_SCENARIOS];
	static char names[RUNNER_MAX_MODELS][NAT_MODEL_NAME_MAX];
	struct plan p = { .tool = "ref", .models = "full-cone,symmetric,full-cone", .repeat = 2 };
	char err[300] = "";
	int k, n;

	(void)state;
	n = runner_plan(&p, sc, names, &k, err, sizeof(err));
	assert_int_equal(k, 2);
	assert_int_equal(n, 2 * 3);   /* fc-fc, fc-sym, sym-sym, twice */
	assert_int_equal(sc[0].repeat, 1);
	assert_int_equal(sc[5].repeat, 2);
	assert_string_equal(sc[1].a, "full-cone");
	assert_string_equal(sc[1].b, "symmetric");
	p.ordered = true;
	p.repeat = 1;
	assert_int_equal(runner_plan(&p, sc, names, &k, err, sizeof(err)), 4);
}

static void a_plan_that_cannot_serve_says_why(void **state)
{
	static struct scenario sc[RUNNER_MAX_SCENARIOS];
	static char names[RUNNER_MAX_MODELS][NAT_MODEL_NAME_MAX];
	struct plan p = { .tool = "ref", .models = "", .repeat = 1 };
	char err[300] = "";
	int k;

	(void)state;
	assert_int_equal(runner_plan(&p, sc, names, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--models names no model"));
	p.models = ",";
	assert_int_equal(runner_plan(&p, sc, names, &k, err, sizeof(err)), -1);
	p.models = "full-cone,no-such-model";
	assert_int_equal(runner_plan(&p, sc, names, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no-such-model"));
	p.models = "full-cone";
	p.topology = "no-such-shape";
	assert_int_equal(runner_plan(&p, sc, names, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no topology \"no-such-shape\""));
	p.topology = NULL;
	p.lifecycle = "no-such-event";
	assert_int_equal(runner_plan(&p, sc, names, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no scenario \"no-such-event\""));
}

static void a_lifecycle_plan_names_its_own_pair_and_third_peer(void **state)
{
	static struct scenario sc[RUNNER_MAX_SCENARIOS];
	static char names[RUNNER_MAX_MODELS][NAT_MODEL_NAME_MAX];
	const struct lifecycle *l[32];
	struct plan p = { .tool = "ref", .lifecycle = "all", .repeat = 1 };
	char err[300] = "";
	int k, n, nl = runner_lifecycles(l, 32);

	(void)state;
	n = runner_plan(&p, sc, names, &k, err, sizeof(err));
	assert_int_equal(n, nl);
	for (int i = 0; i < n; i++) {
		assert_string_equal(sc[i].lifecycle, l[i]->name);
		assert_string_equal(sc[i].topology, l[i]->topology);
		assert_string_equal(sc[i].c, l[i]->c);
	}
	p.lifecycle = "three-peers";
	assert_int_equal(runner_plan(&p, sc, names, &k, err, sizeof(err)), 1);
	assert_string_equal(sc[0].topology, "three-sites");
	assert_string_not_equal(sc[0].c, "");
}

/* Issue 14: the lifecycle table cut model names to 19 characters. */
static void the_lifecycle_table_cuts_no_name(void **state)
{
	static struct scenario_result r[2];
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 2; i++) {
		snprintf(r[i].sc.topology, sizeof(r[i].sc.topology), "two-sites");
		snprintf(r[i].sc.lifecycle, sizeof(r[i].sc.lifecycle), i ? "mapping-expire" : "three-peers");
		snprintf(r[i].sc.a, sizeof(r[i].sc.a), "port-restricted-cone");
		snprintf(r[i].sc.b, sizeof(r[i].sc.b), "address-restricted-mapping");
		r[i].connected = true;
		r[i].path = PATH_DIRECT;
	}
	snprintf(r[0].sc.c, sizeof(r[0].sc.c), "symmetric-sequential");
	runner_print_matrix(f, r, 2);
	fclose(f);
	assert_non_null(strstr(text, "port-restricted-cone address-restricted-mapping symmetric-sequential "));
	assert_non_null(strstr(text, "port-restricted-cone address-restricted-mapping "));
	free(text);
}

/* A captured packet as pcap's "any" device gives it (Linux cooked
 * header, IPv4, UDP), with a WireGuard message of TYPE and LEN bytes whose
 * indices start with ID. Returns its length. */
static size_t wg_packet(uint8_t *p, uint8_t type, size_t len, uint8_t id)
{
	size_t ulen = 8 + len;

	memset(p, 0, 16 + 20 + ulen);
	p[14] = 0x08;                                  /* IPv4 */
	p[16] = 0x45;
	p[16 + 2] = (uint8_t)((20 + ulen) >> 8);
	p[16 + 3] = (uint8_t)(20 + ulen);
	p[16 + 9] = 17;
	p[36 + 4] = (uint8_t)(ulen >> 8);
	p[36 + 5] = (uint8_t)ulen;
	p[44] = type;
	p[48] = id;
	return 16 + 20 + ulen;
}

static void wireguard_handshakes_are_counted_once_each_however_often_seen(void **state)
{
	struct wg_seen seen = { 0 };
	uint8_t p[300];
	size_t n;

	(void)state;
	n = wg_packet(p, 1, 148, 7);
	capture_count_wg(&seen, 113, p, n);            /* DLT_LINUX_SLL */
	capture_count_wg(&seen, 113, p, n);            /* the same, out of the router's other side */
	assert_int_equal(seen.initiations, 1);
	n = wg_packet(p, 2, 92, 7);
	capture_count_wg(&seen, 113, p, n);
	capture_count_wg(&seen, 113, p, n);
	assert_int_equal(seen.responses, 1);
	n = wg_packet(p, 2, 92, 8);                    /* the next handshake */
	capture_count_wg(&seen, 113, p, n);
	assert_int_equal(seen.responses, 2);
	/* Not handshakes: data (type 4), a wrong length, a later fragment,
	 * TCP, a packet cut short, a header with reserved bytes set. */
	n = wg_packet(p, 4, 92, 9);
	capture_count_wg(&seen, 113, p, n);
	n = wg_packet(p, 2, 93, 10);
	capture_count_wg(&seen, 113, p, n);
	n = wg_packet(p, 2, 92, 11);
	p[16 + 7] = 1;
	capture_count_wg(&seen, 113, p, n);
	n = wg_packet(p, 2, 92, 12);
	p[16 + 9] = 6;
	capture_count_wg(&seen, 113, p, n);
	n = wg_packet(p, 2, 92, 13);
	for (size_t cut = 0; cut < 16 + 20 + 8 + 20; cut++)
		capture_count_wg(&seen, 113, p, cut);
	p[45] = 1;
	capture_count_wg(&seen, 113, p, n);
	capture_count_wg(&seen, 999, p, n);            /* a link type it does not know */
	capture_count_wg(NULL, 113, p, n);
	assert_int_equal(seen.initiations, 1);
	assert_int_equal(seen.responses, 2);
	/* Raw IP (no link header) counts too. */
	n = wg_packet(p, 2, 92, 14);
	capture_count_wg(&seen, 12, p + 16, n - 16);   /* DLT_RAW */
	assert_int_equal(seen.responses, 3);
	/* More handshakes than the memory of recent ones: each still once. */
	for (int i = 0; i < 3 * WG_SEEN_RING; i++) {
		n = wg_packet(p, 2, 92, 0);
		p[49] = (uint8_t)i;
		p[50] = (uint8_t)(i >> 8);
		capture_count_wg(&seen, 113, p, n);
		capture_count_wg(&seen, 113, p, n);
	}
	assert_int_equal(seen.responses, 3 + 3 * WG_SEEN_RING);
}

/* A pair that goes direct where `punchlab expect` says no direct path is
 * possible is no pass: our theory is wrong (or the lab), and every report
 * says so. */
static void direct_where_expect_says_impossible_is_flagged_everywhere(void **state)
{
	struct scenario_result r[2] = { result("symmetric", "symmetric", true, PATH_DIRECT, false),
					result("full-cone", "full-cone", true, PATH_DIRECT, true) };
	struct run_set set = { .res = r, .n = 2 };
	char path[128], *text, *line = NULL;
	size_t len = 0;
	FILE *mem;

	(void)state;
	snprintf(r[0].expected_technique, sizeof(r[0].expected_technique), "none");
	snprintf(r[1].expected_technique, sizeof(r[1].expected_technique), "punching");
	assert_true(runner_expect_wrong(&r[0]));
	assert_false(runner_as_expected(&r[0]));
	assert_false(runner_expect_wrong(&r[1]));
	assert_true(runner_as_expected(&r[1]));
	r[0].path = PATH_RELAY;
	assert_false(runner_expect_wrong(&r[0]));   /* relayed, as expect says */
	assert_true(runner_as_expected(&r[0]));
	r[0].path = PATH_DIRECT;
	set.info = info("ref");
	snprintf(path, sizeof(path), "%s/results.json", dir);
	assert_int_equal(runner_write_json(path, &set.info, r, 2), 0);
	text = slurp("results.json");
	assert_int_equal(strstr(text, "\"disagrees_with_expect\":true") != NULL, 1);
	assert_int_equal(strstr(strstr(text, "\"disagrees_with_expect\":true") + 1, "\"disagrees_with_expect\":true"), NULL);
	free(text);
	{
		struct run_set back;
		char err[256];
		assert_int_equal(runner_read_results(path, &back, err, sizeof(err)), 0);
		assert_true(runner_expect_wrong(&back.res[0]));
		assert_false(runner_expect_wrong(&back.res[1]));
		runner_free_results(&back);
	}
	snprintf(path, sizeof(path), "%s/junit.xml", dir);
	assert_int_equal(runner_write_junit(path, r, 2, 10), 0);
	text = slurp("junit.xml");
	assert_non_null(strstr(text, "failures=\"1\""));
	assert_non_null(strstr(text, "<failure message=\"direct, but punchlab expect says no direct path is possible: a disagreement with expect\""));
	free(text);
	snprintf(path, sizeof(path), "%s/report.html", dir);
	assert_int_equal(runner_write_html(path, &set, 1, NULL, 0), 0);
	text = slurp("report.html");
	assert_non_null(strstr(text, "1 direct where <code>punchlab expect</code> says no direct path is possible: the theory disagrees"));
	assert_non_null(strstr(text, "direct where `punchlab expect` says no direct path is possible: the theory disagrees"));
	free(text);
	assert_non_null(mem = open_memstream(&line, &len));
	runner_print_matrix(mem, r, 2);
	fclose(mem);
	assert_non_null(strstr(line, "two-sites symmetric symmetric: direct"));
	assert_non_null(strstr(line, "(expected relay): DISAGREES WITH EXPECT, which says no direct path is possible"));
	free(line);
}

/* A pair not direct where expect allows it: for want of a technique
 * beyond the introducer's endpoints (counted per technique), or for no
 * reason expect knows (named, pair by pair), in every report. */
static void not_direct_is_explained_or_named(void **state)
{
	struct scenario_result r[7] = {
		result("full-cone", "full-cone", true, PATH_DIRECT, true),
		result("symmetric-sequential", "symmetric-sequential", true, PATH_RELAY, true),
		result("linux-masquerade", "linux-masquerade", false, PATH_NONE, true),
		result("cgnat", "cgnat", true, PATH_RELAY, true),
		result("symmetric", "symmetric", true, PATH_RELAY, false),
		result("full-cone", "port-restricted-cone", true, PATH_RELAY, true),
		result("port-restricted-cone", "symmetric", true, PATH_RELAY, true),
	};
	const char *tech[7] = { "punching", "prediction", "punching-with-openers", "punching", "none", "punching",
				"birthday" };
	const enum short_of_direct want[7] = { SHORT_NOT, SHORT_TECHNIQUE, SHORT_TECHNIQUE, SHORT_UNKNOWN,
					       SHORT_NOT, SHORT_NOT, SHORT_TECHNIQUE };
	struct run_set set = { .res = r, .n = 7 };
	char path[128], *text, *line = NULL, *row;
	size_t len = 0;
	FILE *mem;

	(void)state;
	snprintf(r[5].sc.lifecycle, sizeof(r[5].sc.lifecycle), "nat-reboot");   /* judged by its own rules */
	for (int i = 0; i < 7; i++) {
		snprintf(r[i].expected_technique, sizeof(r[i].expected_technique), "%s", tech[i]);
		assert_int_equal(runner_short_of_direct(&r[i]), want[i]);
	}
	{
		/* A pair only a port mapping joins: the tool lacks it, unless the
		 * router did map a port for it (it used it, and still relayed). */
		struct scenario_result m = result("symmetric", "symmetric-upnp", true, PATH_RELAY, true);
		snprintf(m.expected_technique, sizeof(m.expected_technique), "port-mapping");
		m.n_portmaps = 1;
		m.portmaps[0] = (struct run_portmap){ "nat-b", NAT_PORTMAP_ALL, 0, 0 };
		assert_int_equal(runner_short_of_direct(&m), SHORT_TECHNIQUE);
		m.portmaps[0].granted = 1;
		m.portmaps[0].by = NAT_PORTMAP_UPNP;
		assert_int_equal(runner_short_of_direct(&m), SHORT_UNKNOWN);
	}
	{
		/* A pair IPv4 relays and IPv6 joins: relayed, the tool did not
		 * use IPv6 (counted as such, and read back). */
		struct scenario_result v = result("symmetric", "symmetric", true, PATH_RELAY, true);
		struct run_set back;
		char p6[160], err[256], t6[1][RUNNER_TECHNIQUE_LEN];
		int c6[1];
		snprintf(v.expected_technique, sizeof(v.expected_technique), "punching");
		v.expected_ipv6_only = true;
		assert_int_equal(runner_short_of_direct(&v), SHORT_TECHNIQUE);
		assert_string_equal(runner_short_need(&v), "IPv6");
		assert_int_equal(runner_short_techniques(&v, 1, t6, c6, 1), 1);
		assert_string_equal(t6[0], "IPv6");
		snprintf(p6, sizeof(p6), "%s/v6.json", dir);
		assert_int_equal(runner_write_json(p6, &set.info, &v, 1), 0);
		assert_int_equal(runner_read_results(p6, &back, err, sizeof(err)), 0);
		assert_true(back.res[0].expected_ipv6_only);
		runner_free_results(&back);
		unlink(p6);
	}
	r[6].ran = false;   /* not set up: nothing to explain */
	assert_int_equal(runner_short_of_direct(&r[6]), SHORT_NOT);
	set.info = info("ice");
	set.info.tcp = true;   /* and the header says what the tool's traffic rode */
	snprintf(path, sizeof(path), "%s/results.json", dir);
	assert_int_equal(runner_write_json(path, &set.info, r, 7), 0);
	{
		struct run_set back;
		char err[256];
		assert_int_equal(runner_read_results(path, &back, err, sizeof(err)), 0);
		assert_true(back.info.tcp);
		runner_free_results(&back);
	}
	text = slurp("results.json");
	assert_non_null(strstr(text, "\"transport\":\"tcp\""));
	assert_non_null(row = strstr(text, "\"b\":\"symmetric-sequential\""));
	assert_non_null(strstr(row, "\"not_direct_because\":\"technique\""));
	assert_non_null(row = strstr(text, "\"b\":\"cgnat\""));
	assert_non_null(strstr(row, "\"not_direct_because\":\"unknown\""));
	assert_non_null(row = strstr(text, "\"b\":\"full-cone\""));
	assert_int_equal(strncmp(strstr(row, "\"not_direct_because\":"), "\"not_direct_because\":\"\"", 23), 0);
	free(text);
	snprintf(path, sizeof(path), "%s/junit.xml", dir);
	assert_int_equal(runner_write_junit(path, r, 7, 10), 0);
	text = slurp("junit.xml");
	assert_non_null(strstr(text, "relayed, but a direct path is possible (prediction: a technique the tool did not use)"));
	assert_non_null(strstr(text, "relayed, but a direct path is possible (punching: for no reason expect knows)"));
	free(text);
	snprintf(path, sizeof(path), "%s/report.html", dir);
	assert_int_equal(runner_write_html(path, &set, 1, NULL, 0), 0);
	text = slurp("report.html");
	assert_non_null(strstr(text, "not direct where expect allows: 2 for want of a technique, <span class=\"short-unknown\" "
				     "data-count=\"1\">1 for no reason expect knows</span>"));
	assert_non_null(strstr(text, "<h3>Not direct where expect allows it (3)</h3>"));
	assert_non_null(row = strstr(text, "data-technique=\"prediction\">"));
	assert_non_null(strstr(row, "<td class=\"num\">1</td><td>symmetric-sequential &#215; symmetric-sequential</td>"));
	assert_non_null(strstr(text, "data-technique=\"punching-with-openers\">"));
	assert_non_null(row = strstr(text, "<tr class=\"short-unknown unexpected\""));
	assert_non_null(strstr(row, "<td class=\"num\">1</td><td>two-sites cgnat &#215; cgnat (punching)</td>"));
	free(text);
	assert_non_null(mem = open_memstream(&line, &len));
	runner_print_matrix(mem, r, 7);
	fclose(mem);
	assert_non_null(strstr(line, "not direct where expect says it can be: 3 pairs; 2 need a technique the tool did not use "
				     "(prediction 1, punching-with-openers 1); 1 for no reason expect knows: two-sites cgnat "
				     "cgnat (punching)\n"));
	free(line);
}

/* Every committed reference run agrees with `punchlab expect`: no pair
 * went direct where it says none can (fix expect when one does); and each
 * was judged by today's theory: its expected path and technique are what
 * expect says now (a change to expect re-runs them, so that their reports
 * explain what stayed relayed by the theory they are read with). */
static void every_reference_result_agrees_with_expect_as_it_is_now(void **state)
{
	char ref[PATH_MAX], path[PATH_MAX + 300], err[PATH_MAX + 300];
	static struct topo_net net;
	struct dirent *e;
	DIR *d;
	int files = 0, cells = 0, stale = 0;

	(void)state;
	assert_int_equal(paths_data_dir("results/reference", ref, sizeof(ref)), 0);
	assert_non_null(d = opendir(ref));
	while ((e = readdir(d))) {
		struct run_set set;
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/results.json", ref, e->d_name);
		if (stat(path, &st))
			continue;
		assert_int_equal(runner_read_results(path, &set, err, sizeof(err)), 0);
		for (int i = 0; i < set.n; i++) {
			const struct scenario_result *r = &set.res[i];
			struct expect_result ex;
			if (runner_expect_wrong(r))
				print_error("%s: %s %s %s went direct where punchlab expect says it cannot\n", path,
					    r->sc.topology, r->sc.a, r->sc.b);
			assert_false(runner_expect_wrong(r));
			if (!r->ran || !r->expected_technique[0])
				continue;
			cells++;
			if (runner_resolve(&r->sc, &net, NULL, 0, err, sizeof(err)))
				fail_msg("%s: %s %s %s: %s", path, r->sc.topology, r->sc.a, r->sc.b, err);
			/* as the runner asks: either family's direct path will do */
			assert_int_equal(expect_topology_both(&net, "a", "b", set.info.tcp, &ex, NULL, NULL), 0);
			if (ex.direct != r->expected_direct || strcmp(expect_technique_name(ex.technique), r->expected_technique)) {
				print_error("%s: %s %s %s says %s (%s); expect now says %s (%s)\n", path, r->sc.topology,
					    r->sc.a, r->sc.b, r->expected_direct ? "direct" : "relay", r->expected_technique,
					    ex.direct ? "direct" : "relay", expect_technique_name(ex.technique));
				stale++;
			}
		}
		runner_free_results(&set);
		files++;
	}
	closedir(d);
	assert_true(files >= 4);
	assert_true(cells >= 4 * 65);   /* expect's answer is in every cell */
	assert_int_equal(stale, 0);
}

/* The file at dir/name with its "date" (the second it was written) cut
 * out. */
static char *undated(const char *name)
{
	char *text = slurp(name), *d = strstr(text, ",\"date\":");

	if (d) {
		char *end = d + strlen(",\"date\":");
		end += strspn(end, "0123456789");
		memmove(d, end, strlen(end) + 1);
	}
	return text;
}

/* A plan split in shards: every scenario in exactly one, the same split
 * every time; the shards merged are, byte for byte (the second each file
 * was written set aside), what the single run wrote. */
static void shards_merged_are_the_single_run(void **state)
{
	static const char *const models[7][2] = { { "full-cone", "full-cone" },   { "full-cone", "symmetric" },
						  { "symmetric", "symmetric" },   { "cgnat", "full-cone" },
						  { "cgnat", "symmetric" },       { "open", "open" },
						  { "udp-blocked", "full-cone" } };
	struct scenario sc[7];
	struct scenario_result whole[7], part[3][3];
	struct run_set shard[3], merged, keep;
	struct run_info in = info("ref");
	char path[160], err[512], *a, *b;
	int count[3] = { 0 }, i, n;
	static const char *const files[] = { "results.json", "junit.xml", "report.html" };

	(void)state;
	assert_true(runner_shard_parse("2/3", &i, &n));
	assert_int_equal(i, 2);
	assert_int_equal(n, 3);
	assert_false(runner_shard_parse("0/3", &i, &n));
	assert_false(runner_shard_parse("4/3", &i, &n));
	assert_false(runner_shard_parse("1/", &i, &n));
	assert_false(runner_shard_parse("1/3x", &i, &n));
	assert_false(runner_shard_parse("1/257", &i, &n));
	for (int k = 0; k < 7; k++) {
		memset(&sc[k], 0, sizeof(sc[k]));
		snprintf(sc[k].a, sizeof(sc[k].a), "%s", models[k][0]);
		whole[k] = result(models[k][0], models[k][1], k != 2 && k != 6, k % 3 ? PATH_RELAY : PATH_DIRECT, k % 2);
		whole[k].time_to_first_reply_s = 0.1 * k;
		whole[k].wall_s = 1.5 + k;
		snprintf(whole[k].expected_technique, sizeof(whole[k].expected_technique), "%s", k % 2 ? "punching" : "none");
	}
	snprintf(whole[2].error, sizeof(whole[2].error), "no reply through the tunnel");
	/* shard 2 of 3: the 2nd, 5th: every third from the second */
	{
		struct scenario part_sc[7];
		memcpy(part_sc, sc, sizeof(sc));
		assert_int_equal(runner_shard(part_sc, 7, 2, 3), 2);
		assert_string_equal(part_sc[0].a, "full-cone");
		assert_string_equal(part_sc[1].a, "cgnat");
	}
	for (int k = 0; k < 7; k++)
		part[k % 3][count[k % 3]++] = whole[k];
	in.wall_s = 42;
	snprintf(in.command, sizeof(in.command), "punchlab run --tool ref --output /x/whole");
	snprintf(path, sizeof(path), "%s/results.json", dir);
	assert_int_equal(runner_write_json(path, &in, whole, 7), 0);
	snprintf(path, sizeof(path), "%s/junit.xml", dir);
	assert_int_equal(runner_write_junit(path, whole, 7, in.wall_s), 0);
	snprintf(path, sizeof(path), "%s/report.html", dir);
	assert_int_equal(runner_write_html(path, &(struct run_set){ .info = in, .res = whole, .n = 7 }, 1, NULL, 0), 0);
	for (int k = 0; k < 3; k++)
		for (size_t f = 0; f < 3; f++) {
			snprintf(path, sizeof(path), "%s/%s", dir, files[f]);
			snprintf(err, sizeof(err), "%s/whole-%s", dir, files[f]);
			if (k == 0)
				assert_int_equal(rename(path, err), 0);
		}
	/* each shard as its run writes it, read back in another order */
	for (int k = 2; k >= 0; k--) {
		struct run_info si = in;
		si.shard = k + 1;
		si.shards = 3;
		si.wall_s = k == 1 ? 42 : 20 + k;
		snprintf(si.command, sizeof(si.command), "punchlab run --tool ref --shard %d/3 --output /x/shard%d", k + 1, k + 1);
		snprintf(path, sizeof(path), "%s/shard%d.json", dir, k + 1);
		assert_int_equal(runner_write_json(path, &si, part[k], count[k]), 0);
		assert_int_equal(runner_read_results(path, &shard[2 - k], err, sizeof(err)), 0);
		assert_int_equal(shard[2 - k].info.shard, k + 1);
	}
	assert_int_equal(runner_merge(shard, 3, "/x/whole", &merged, err, sizeof(err)), 0);
	assert_string_equal(merged.info.command, "punchlab run --tool ref --output /x/whole");
	snprintf(path, sizeof(path), "%s/results.json", dir);
	assert_int_equal(runner_write_json(path, &merged.info, merged.res, merged.n), 0);
	snprintf(path, sizeof(path), "%s/junit.xml", dir);
	assert_int_equal(runner_write_junit(path, merged.res, merged.n, merged.info.wall_s), 0);
	snprintf(path, sizeof(path), "%s/report.html", dir);
	assert_int_equal(runner_write_html(path, &merged, 1, NULL, 0), 0);
	for (size_t f = 0; f < 3; f++) {
		snprintf(path, sizeof(path), "whole-%s", files[f]);
		a = undated(path);
		b = undated(files[f]);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	runner_free_results(&merged);
	/* a shard missing, or twice, or of another split, is refused */
	assert_int_equal(runner_merge(shard, 2, "/x", &merged, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "shard 1/3 is missing: give all 3"));
	/* another plan (other models), split the same way */
	snprintf(err, sizeof(err), "%s", shard[1].info.command);
	snprintf(shard[1].info.command, sizeof(shard[1].info.command), "punchlab run --tool ref --models full-cone --shard 2/3 --output /y");
	assert_int_equal(runner_merge(shard, 3, "/x", &merged, err + 200, sizeof(err) - 200), -EINVAL);
	assert_non_null(strstr(err + 200, "not one plan"));
	snprintf(shard[1].info.command, sizeof(shard[1].info.command), "%.200s", err);
	/* the same tool over another transport: not one plan either */
	shard[1].info.tcp = true;
	assert_int_equal(runner_merge(shard, 3, "/x", &merged, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not one plan"));
	shard[1].info.tcp = false;
	keep = shard[1];
	shard[1] = shard[0];
	assert_int_equal(runner_merge(shard, 3, "/x", &merged, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "shard 3/3 given twice"));
	shard[1].info.shards = 0;
	assert_int_equal(runner_merge(&shard[1], 1, "/x", &merged, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is a whole run, not a shard"));
	runner_free_results(&shard[0]);
	runner_free_results(&shard[2]);
	runner_free_results(&keep);
	for (int k = 1; k <= 3; k++) {
		snprintf(path, sizeof(path), "%s/shard%d.json", dir, k);
		unlink(path);
	}
	for (size_t f = 0; f < 3; f++) {
		snprintf(path, sizeof(path), "%s/whole-%s", dir, files[f]);
		unlink(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_pair_relayed_then_direct_is_direct_from_its_first_direct_window),
		cmocka_unit_test(a_relayed_pair_settles_on_the_relay),
		cmocka_unit_test(windows_without_answers_or_below_a_probes_worth_say_nothing),
		cmocka_unit_test(a_window_is_direct_only_when_most_of_its_bytes_went_direct),
		cmocka_unit_test(a_path_that_breaks_is_not_steady),
		cmocka_unit_test(path_names_read_back),
		cmocka_unit_test(wireguard_handshakes_are_counted_once_each_however_often_seen),
		cmocka_unit_test(as_expected_means_connected_and_direct_where_expect_says_it_can_be),
		cmocka_unit_test(a_tool_that_says_another_path_than_the_counters_disagrees),
		cmocka_unit_test(the_default_plan_is_every_pair_across_two_sites_and_the_other_shapes),
		cmocka_unit_test(a_plan_runs_a_model_named_twice_once_and_repeats_with_numbers),
		cmocka_unit_test(a_plan_that_cannot_serve_says_why),
		cmocka_unit_test(a_lifecycle_plan_names_its_own_pair_and_third_peer),
		cmocka_unit_test(the_lifecycle_table_cuts_no_name),
		cmocka_unit_test_setup_teardown(the_baseline_names_each_cell_that_got_worse, make_dir, remove_dir),
		cmocka_unit_test(a_baseline_overlaps_a_plan_by_its_pairs),
		cmocka_unit_test_setup_teardown(reports_escape_hostile_model_names_and_tool_versions, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(results_read_back_as_written_with_null_for_never, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(a_results_file_that_is_not_one_is_refused_saying_why, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(the_report_says_at_once_whether_the_run_went_as_expected, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(a_page_from_absurd_times_stays_small, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(direct_where_expect_says_impossible_is_flagged_everywhere, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(not_direct_is_explained_or_named, make_dir, remove_dir),
		cmocka_unit_test(every_reference_result_agrees_with_expect_as_it_is_now),
		cmocka_unit_test_setup_teardown(shards_merged_are_the_single_run, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(time_to_direct_is_summed_up_per_technique_across_repeats, make_dir, remove_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
