/* The test runner (ci/check.sh) on binaries made to mislead it
 * (tests/data/check/): green only when every declared test ran and
 * passed, in time, with no sanitizer report from anything it started. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/proc.h"
#include "util/text.h"

#define FIXTURES "build/asan/tests/check/"

static char logdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(logdir, sizeof(logdir), "/tmp/pl-check-XXXXXX");
	if (!mkdtemp(logdir) || access("ci/check.sh", X_OK) || access(FIXTURES "check_pass", X_OK)) {
		fprintf(stderr, "run from the project's top directory after make (needs ci/check.sh and %s)\n", FIXTURES);
		return -1;
	}
	setenv("CHECK_LOGDIR", logdir, 1);
	return 0;
}

static int teardown(void **state)
{
	char *argv[] = { "rm", "-rf", logdir, NULL };

	(void)state;
	return proc_run(NULL, argv, -1, -1) == 0 ? 0 : -1;
}

/* Run `ci/check.sh UNIT "" 1`; its output in out, its exit code returned. */
static int check(const char *unit, char *out, size_t len)
{
	char path[96], *text = NULL;
	char *argv[] = { "ci/check.sh", (char *)unit, "", "1", NULL };
	size_t n;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/out", logdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	rc = proc_run(NULL, argv, fd, fd);
	close(fd);
	assert_int_equal(text_read_file(path, 1 << 20, &text, &n), 0);
	snprintf(out, len, "%s", text);
	free(text);
	print_message("%s", out);
	return rc;
}

static void passing_tests_pass(void **state)
{
	char out[8192];

	(void)state;
	assert_int_equal(check(FIXTURES "check_pass", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\n2 passed, 0 failed"));
}

static void a_binary_that_runs_no_test_fails(void **state)
{
	char out[8192];

	(void)state;
	assert_int_not_equal(check("/bin/true", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "ran no test"));
	assert_non_null(strstr(out, "\n0 passed, 1 failed"));
}

static void a_binary_that_exits_early_counts_every_test_it_skipped(void **state)
{
	char out[8192];

	(void)state;
	assert_int_not_equal(check(FIXTURES "check_exit", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "ran 0 of the 3 tests it declares (exit 0)"));
	assert_non_null(strstr(out, "\n0 passed, 3 failed"));
}

static void a_failed_group_setup_counts_every_test_in_the_group(void **state)
{
	char out[8192];

	(void)state;
	assert_int_not_equal(check(FIXTURES "check_setup", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\n0 passed, 3 failed"));
}

static void a_hung_binary_is_stopped_at_its_declared_limit_and_named(void **state)
{
	char out[8192];

	(void)state;
	assert_int_not_equal(check(FIXTURES "check_hang " FIXTURES "check_pass", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "HUNG " FIXTURES "check_hang"));
	assert_non_null(strstr(out, "stopped after its limit of 2 s, in never_finishes"));
	/* One passed before it hung, two did not finish; the next binary ran. */
	assert_non_null(strstr(out, "PASS " FIXTURES "check_pass"));
	assert_non_null(strstr(out, "\n2 passed, 3 failed"));
}

static void a_sanitizer_report_from_a_started_program_fails_a_passing_test(void **state)
{
	char out[16384];

	(void)state;
	assert_int_not_equal(check(FIXTURES "check_daemon", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "a sanitizer report from asan."));
	assert_non_null(strstr(out, "heap-use-after-free"));
	assert_non_null(strstr(out, "\n0 passed, 1 failed"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(passing_tests_pass),
		cmocka_unit_test(a_binary_that_runs_no_test_fails),
		cmocka_unit_test(a_binary_that_exits_early_counts_every_test_it_skipped),
		cmocka_unit_test(a_failed_group_setup_counts_every_test_in_the_group),
		cmocka_unit_test(a_hung_binary_is_stopped_at_its_declared_limit_and_named),
		cmocka_unit_test(a_sanitizer_report_from_a_started_program_fails_a_passing_test),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
