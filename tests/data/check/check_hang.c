/* Test equipment for ci/check.sh: a binary that hangs past its limit. */
/* limit: 2 s */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <unistd.h>

static void finishes(void **state)
{
	(void)state;
}

static void never_finishes(void **state)
{
	(void)state;
	sleep(60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(finishes),
		cmocka_unit_test(never_finishes),
		cmocka_unit_test(finishes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
