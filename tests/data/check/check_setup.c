/* Test equipment for ci/check.sh: a group whose set-up fails, so none of
 * its three tests runs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

static int setup(void **state)
{
	(void)state;
	return -1;
}

static void never_runs(void **state)
{
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(never_runs),
		cmocka_unit_test(never_runs),
		cmocka_unit_test(never_runs),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
