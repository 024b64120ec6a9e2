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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/runner.h"
#include "util/text.h"

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
	static const char *const files[] = { "results.json", "junit.xml", "report.html", "baseline.json", "out.txt" };
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

/* Baseline cells: the baseline is a results.json as runner_write_json
 * writes it. Returns how many cells got worse, with the lines in out. */
static int against_baseline(const struct scenario_result *base, int nb, const struct scenario_result *now, int nn,
			    char **out)
{
	char path[128];
	FILE *f;
	int worse;

	snprintf(path, sizeof(path), "%s/baseline.json", dir);
	assert_int_equal(runner_write_json(path, base, nb, 10, "ref"), 0);
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	snprintf(path, sizeof(path), "%s/baseline.json", dir);
	worse = runner_baseline_check(path, now, nn, f);
	fclose(f);
	*out = slurp("out.txt");
	return worse;
}

static void the_baseline_names_each_cell_that_got_worse(void **state)
{
	struct scenario_result base[4], now[4];
	char *out, path[128];

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
	snprintf(path, sizeof(path), "%s/no-such-file.json", dir);
	assert_int_equal(runner_baseline_check(path, now, 4, stdout), -ENOENT);
}

static void reports_escape_hostile_model_names_and_tool_versions(void **state)
{
	static const char *const evil = "<img src=x onerror=alert(1)>\"'&.nat";
	struct scenario_result r[2];
	char path[128], *json, *junit, *html;

	(void)state;
	r[0] = result(evil, "full-cone", true, PATH_DIRECT, true);
	r[1] = result("symmetric", evil, false, PATH_NONE, true);
	snprintf(r[1].sc.topology, sizeof(r[1].sc.topology), "<b>topo");
	snprintf(r[0].tool_version, sizeof(r[0].tool_version), "1.0 \"quoted\" <script>");
	snprintf(r[1].expected_reason, sizeof(r[1].expected_reason), "because </title><script>x()</script>");
	snprintf(r[1].error, sizeof(r[1].error), "error \"with\" quotes\nand a newline");
	snprintf(path, sizeof(path), "%s/results.json", dir);
	assert_int_equal(runner_write_json(path, r, 2, 5, "ref"), 0);
	snprintf(path, sizeof(path), "%s/junit.xml", dir);
	assert_int_equal(runner_write_junit(path, r, 2, 5), 0);
	snprintf(path, sizeof(path), "%s/report.html", dir);
	assert_int_equal(runner_write_html(path, r, 2, 5, NULL, 0), 0);
	json = slurp("results.json");
	junit = slurp("junit.xml");
	html = slurp("report.html");
	/* No raw markup anywhere a browser or a CI page would render it. */
	assert_null(strstr(html, "<img"));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<b>"));
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
	int k, n, m;

	(void)state;
	n = runner_plan(&p, sc, names, &k, err, sizeof(err));
	m = nat_model_list(names, RUNNER_MAX_MODELS);
	assert_int_equal(k, m);
	assert_true(m >= 10);
	assert_int_equal(count_in(sc, n, "two-sites"), m * (m + 1) / 2);
	assert_int_equal(count_in(sc, n, "same-lan"), 3);
	assert_int_equal(count_in(sc, n, "udp-blocked-site"), 3);
	assert_int_equal(count_in(sc, n, "same-carrier"), 2);
	assert_int_equal(count_in(sc, n, "double-nat"), 2);
	assert_int_equal(n, m * (m + 1) / 2 + 10);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_pair_relayed_then_direct_is_direct_from_its_first_direct_window),
		cmocka_unit_test(a_relayed_pair_settles_on_the_relay),
		cmocka_unit_test(windows_without_answers_or_below_a_probes_worth_say_nothing),
		cmocka_unit_test(a_window_is_direct_only_when_most_of_its_bytes_went_direct),
		cmocka_unit_test(a_path_that_breaks_is_not_steady),
		cmocka_unit_test(path_names_read_back),
		cmocka_unit_test(as_expected_means_connected_and_direct_where_expect_says_it_can_be),
		cmocka_unit_test(a_tool_that_says_another_path_than_the_counters_disagrees),
		cmocka_unit_test(the_default_plan_is_every_pair_across_two_sites_and_the_other_shapes),
		cmocka_unit_test(a_plan_runs_a_model_named_twice_once_and_repeats_with_numbers),
		cmocka_unit_test(a_plan_that_cannot_serve_says_why),
		cmocka_unit_test(a_lifecycle_plan_names_its_own_pair_and_third_peer),
		cmocka_unit_test(the_lifecycle_table_cuts_no_name),
		cmocka_unit_test_setup_teardown(the_baseline_names_each_cell_that_got_worse, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(reports_escape_hostile_model_names_and_tool_versions, make_dir, remove_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
