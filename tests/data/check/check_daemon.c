/* Test equipment for ci/check.sh: a test that passes while a program it
 * started (itself, as a "daemon") reads freed memory: the sanitizer's
 * report, not the test's verdict, must decide. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char self[4096];
static char *volatile kept;   /* the compiler cannot see what it holds */

static void a_daemon_with_a_bug_behind_a_passing_test(void **state)
{
	pid_t pid = fork();

	(void)state;
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(self, self, "daemon", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0); /* its exit status is not looked at */
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_daemon_with_a_bug_behind_a_passing_test),
	};
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = '\0';
	if (argc > 1 && !strcmp(argv[1], "daemon")) {
		kept = malloc(16);
		free(kept);
		return kept[3];
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
