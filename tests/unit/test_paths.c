/* Files and programs without a shell: a tree is removed whatever its names
 * hold (they once went into `rm -rf '%s'` through system(), as root), a
 * link inside it is removed and never followed, files are copied, and
 * programs are found on $PATH. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/paths.h"

static char base[64];

static int make_base(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/pl-paths-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void a_tree_with_hostile_names_is_removed_and_nothing_else(void **state)
{
	char dir[PATH_MAX], sub[PATH_MAX], path[PATH_MAX], outside[PATH_MAX], cwd[PATH_MAX], pwned[PATH_MAX + 8];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(base), 0);
	/* The name that ran a command through the old system("rm -rf '%s'"). */
	snprintf(dir, sizeof(dir), "%s/out';touch${IFS}pwned;'", base);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/scenario $(touch pwned) `touch pwned`", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/a.log", sub);
	write_file(path, "log\n");
	/* A link to a file outside the tree: the link goes, the file stays. */
	snprintf(outside, sizeof(outside), "%s/keep-me", base);
	write_file(outside, "precious\n");
	snprintf(path, sizeof(path), "%s/link", sub);
	assert_int_equal(symlink(outside, path), 0);
	snprintf(path, sizeof(path), "%s/dirlink", dir);
	assert_int_equal(symlink(base, path), 0);
	assert_int_equal(paths_remove_tree(dir), 0);
	assert_false(exists(dir));
	assert_true(exists(outside));
	snprintf(pwned, sizeof(pwned), "%s/pwned", base);
	assert_false(exists(pwned));
	assert_int_equal(chdir(cwd), 0);
	/* Gone already: fine. */
	assert_int_equal(paths_remove_tree(dir), 0);
	assert_int_equal(paths_remove_tree(base), 0);
	assert_false(exists(base));
}

static void a_file_is_copied_and_programs_are_found_on_the_path(void **state)
{
	char src[PATH_MAX], dst[PATH_MAX], buf[64];
	FILE *f;

	(void)state;
	snprintf(src, sizeof(src), "%s/src", base);
	snprintf(dst, sizeof(dst), "%s/dst", base);
	write_file(src, "host file\n");
	assert_int_equal(paths_copy_file(src, dst), 0);
	f = fopen(dst, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "host file\n");
	assert_int_equal(paths_copy_file("/nonexistent/x", dst), -ENOENT);
	assert_true(paths_have_program("sh"));
	assert_false(paths_have_program("no-such-program-here"));
	assert_false(paths_have_program("sh;touch x"));
	assert_false(paths_have_program(""));
	assert_int_equal(paths_remove_tree(base), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(a_tree_with_hostile_names_is_removed_and_nothing_else, make_base),
		cmocka_unit_test_setup(a_file_is_copied_and_programs_are_found_on_the_path, make_base),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
