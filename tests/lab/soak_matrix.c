/* make soak: what make check has no time for. The full traversal matrix
 * of the reference mesh (94 scenarios), held against the committed
 * reference results: no cell may be worse; and every lifecycle scenario,
 * each of which the tunnel must come through (three peers included: every
 * pair answers). Each run's report is drawn
 * from its results as punchlab report draws it. */
/* limit: 1500 s */
#include "lab.h"

#include "runner/runner.h"

static void the_default_matrix_is_as_expected_and_no_worse_than_the_reference(void **state)
{
	static char log[1 << 16];
	char dir[64], *json;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pl-soak-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(lab_punchlab_run(log, sizeof(log),
					  "run --timeout 25 --output %s --baseline results/reference/ref/results.json 2>&1", dir),
			 0);
	assert_non_null(strstr(log, "94 of 94 scenarios as expected"));
	assert_non_null(strstr(log, "baseline results/reference/ref/results.json: 0 cells worse (of 94 compared)"));
	json = lab_slurp(dir, "results.json");
	assert_int_equal(lab_count(json, "\"as_expected\":true"), 94);
	assert_non_null(strstr(json, "\"worse_than_baseline\":0"));
	free(json);
	json = lab_slurp(dir, "report.html");
	assert_non_null(strstr(json, "all 94 scenarios as expected"));
	free(json);
	assert_int_equal(lab_shell(NULL, 0, "rm -rf %s", dir), 0);
}

static void the_tunnel_comes_through_every_lifecycle_scenario(void **state)
{
	static char log[1 << 16];
	char dir[64], *json;
	const struct lifecycle *l[32];
	int n;

	(void)state;
	n = runner_lifecycles(l, 32);
	assert_true(n > 0);
	snprintf(dir, sizeof(dir), "/tmp/pl-soak-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run --scenario all --output %s 2>&1", dir), 0);
	assert_non_null(strstr(log, "scenarios as expected"));
	json = lab_slurp(dir, "results.json");
	assert_int_equal(lab_count(json, "\"happened\":true"), n);
	assert_int_equal(lab_count(json, "\"as_expected\":true"), n);
	free(json);
	json = lab_slurp(dir, "report.html");
	assert_int_equal(lab_count(json, "<g class=\"timeline\""), n);
	free(json);
	/* three peers: the reference adapter starts a third agent, and every pair answers */
	assert_non_null(strstr(log, "3 of 3 pairs answer"));
	json = lab_slurp(dir, "results.json");
	assert_non_null(strstr(json, "\"pairs\":3,\"pairs_connected\":3"));
	free(json);
	assert_int_equal(lab_shell(NULL, 0, "rm -rf %s", dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_default_matrix_is_as_expected_and_no_worse_than_the_reference),
		cmocka_unit_test(the_tunnel_comes_through_every_lifecycle_scenario),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
