/* Mapping lifetimes: nat-check --timeouts measures them, for a model kept
 * by conntrack alone and for ones kept in nftables maps too (20 s models
 * from tests/data, so this takes half a minute, not minutes). */
#include "lab.h"

#include "natcheck/natcheck.h"
#include "util/paths.h"

static struct natcheck_result results[3];
static const char *const models[] = {
	"short-timeout", "short-timeout-symmetric", "short-timeout-cone",
};

static int measure(void **state)
{
	char dir[PATH_MAX], paths[3][PATH_MAX + 32], *argv[3];

	(void)state;
	if (paths_data_dir("tests/data", dir, sizeof(dir)))
		return -1;
	for (int i = 0; i < 3; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/%s.nat", dir, models[i]);
		argv[i] = paths[i];
	}
	natcheck_all(argv, 3, 3, true, results);
	return 0;
}

static void lifetime_is_measured_as_declared(void **state)
{
	const struct natcheck_result *r = *state;

	if (r->error)
		fail_msg("%s: %s", r->model, r->detail);
	if (!r->match)
		fail_msg("%s: %s", r->model, r->detail);
	assert_int_equal(r->declared.udp_timeout, 20);
	assert_true(r->measured.lifetime_alive >= 0 && r->measured.lifetime_alive < 20);
	assert_true(r->measured.lifetime_dead >= 20);
}

static void a_wrong_declared_timeout_is_caught(void **state)
{
	const struct natcheck_result *r = &results[0];
	struct nat_model d = r->declared;
	char detail[320];

	(void)state;
	assert_false(r->error);
	d.udp_timeout = 60;
	assert_false(natcheck_compare(&d, &r->measured, true, detail, sizeof(detail)));
	assert_non_null(strstr(detail, "udp-timeout: declared 60 s"));
	d.udp_timeout = 5;
	assert_false(natcheck_compare(&d, &r->measured, true, detail, sizeof(detail)));
}

int main(void)
{
	struct CMUnitTest tests[4];
	static char names[3][96];

	for (int i = 0; i < 3; i++) {
		snprintf(names[i], sizeof(names[i]), "mapping_lifetime_of_%s_is_20s", models[i]);
		tests[i] = (struct CMUnitTest){ names[i], lifetime_is_measured_as_declared, NULL, NULL, &results[i] };
	}
	tests[3] = (struct CMUnitTest){ "a_wrong_declared_timeout_is_caught", a_wrong_declared_timeout_is_caught, NULL, NULL, NULL };
	return _cmocka_run_group_tests("lab_timeouts", tests, 4, measure, NULL);
}
