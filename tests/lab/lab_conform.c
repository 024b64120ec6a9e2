/* punchlab conform on real NATs: each requirement's verdict held against a
 * NAT that meets it and one that violates it. */
#include "lab.h"

#include "conform/conform.h"
#include "natcheck/natcheck.h"
#include "util/paths.h"

static enum conform_verdict judged(const char *model, const unsigned *points, int n_points, const char *id)
{
	static struct natcheck_result res;
	struct conform_row rows[CONFORM_MAX_ROWS];
	int n;

	natcheck_model_points(model, points, n_points, &res);
	if (res.error)
		fail_msg("%s: %s", model, res.detail);
	n = conform_judge(&res.measured, rows);
	for (int i = 0; i < n; i++)
		if (!strcmp(rows[i].id, id)) {
			print_message("%s %s: %d (%s)\n", model, id, rows[i].verdict, rows[i].evidence);
			return rows[i].verdict;
		}
	fail_msg("no %s", id);
	return CONFORM_NA;
}

static void req1_passes_on_a_cone_and_fails_on_fully_random(void **state)
{
	(void)state;
	assert_int_equal(judged("port-restricted-cone", NULL, 0, "RFC4787 REQ-1"), CONFORM_PASS);
	assert_int_equal(judged("symmetric", NULL, 0, "RFC4787 REQ-1"), CONFORM_FAIL);
}

static void req9_passes_on_the_carrier_nat_and_fails_without_hairpin(void **state)
{
	(void)state;
	assert_int_equal(judged("cgnat", NULL, 0, "RFC4787 REQ-9"), CONFORM_PASS);
	assert_int_equal(judged("full-cone", NULL, 0, "RFC4787 REQ-9"), CONFORM_FAIL);
}

static void req8_passes_on_address_dependent_filtering_only(void **state)
{
	(void)state;
	assert_int_equal(judged("restricted-cone", NULL, 0, "RFC4787 REQ-8"), CONFORM_PASS);
	assert_int_equal(judged("linux-masquerade", NULL, 0, "RFC4787 REQ-8"), CONFORM_FAIL);
}

static void req5_fails_on_a_short_udp_timeout(void **state)
{
	char dir[PATH_MAX], model[PATH_MAX + 32];
	static const unsigned at[] = { 25 };

	(void)state;
	/* The passing side needs two minutes: `punchlab conform MODEL --long`. */
	assert_int_equal(paths_data_dir("tests/data", dir, sizeof(dir)), 0);
	snprintf(model, sizeof(model), "%s/short-timeout.nat", dir);
	assert_int_equal(judged(model, at, 1, "RFC4787 REQ-5"), CONFORM_FAIL);
}

/* A person's own ruleset, loaded with nft -f into the bare router: plain
 * masquerade maps endpoint-independently, fully-random does not. */
static enum conform_verdict judged_ruleset(const char *text, const char *id)
{
	static struct natcheck_result res;
	struct conform_row rows[CONFORM_MAX_ROWS];
	char path[] = "/tmp/pl-ruleset-XXXXXX";
	int fd = mkstemp(path), n;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	natcheck_ruleset_points(path, NULL, 0, &res);
	unlink(path);
	if (res.error)
		fail_msg("%s", res.detail);
	n = conform_judge(&res.measured, rows);
	for (int i = 0; i < n; i++)
		if (!strcmp(rows[i].id, id))
			return rows[i].verdict;
	fail_msg("no %s", id);
	return CONFORM_NA;
}

static void a_users_ruleset_is_judged_as_loaded(void **state)
{
	(void)state;
	assert_int_equal(judged_ruleset("table ip home {\n chain post {\n  type nat hook postrouting priority srcnat;\n"
					"  oifname \"wan\" masquerade\n }\n}\n",
					"RFC4787 REQ-1"),
			 CONFORM_PASS);
	assert_int_equal(judged_ruleset("table ip home {\n chain post {\n  type nat hook postrouting priority srcnat;\n"
					"  oifname \"wan\" masquerade fully-random\n }\n}\n",
					"RFC4787 REQ-1"),
			 CONFORM_FAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(req1_passes_on_a_cone_and_fails_on_fully_random),
		cmocka_unit_test(req9_passes_on_the_carrier_nat_and_fails_without_hairpin),
		cmocka_unit_test(req8_passes_on_address_dependent_filtering_only),
		cmocka_unit_test(req5_fails_on_a_short_udp_timeout),
		cmocka_unit_test(a_users_ruleset_is_judged_as_loaded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
