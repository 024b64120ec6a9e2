/* Test equipment for ci/check.sh: a binary that declares three tests and
 * exits 0 in the first. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

static void leaves(void **state)
{
	(void)state;
	exit(0);
}

static void never_runs(void **state)
{
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(leaves),
		cmocka_unit_test(never_runs),
		cmocka_unit_test(never_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
