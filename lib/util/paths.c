#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PL_DATADIR
#define PL_DATADIR "/usr/local/share/punchlab"
#endif

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

void paths_program_dir(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	exe[n > 0 ? n : 0] = '\0';
	if ((slash = strrchr(exe, '/')))
		*slash = '\0';
	snprintf(buf, len, "%s", exe);
}

int paths_data_dir(const char *sub, char *buf, size_t len)
{
	const char *home = getenv("PUNCHLAB_HOME");
	char exe[PATH_MAX];
	ssize_t n;

	if (home && *home) {
		snprintf(buf, len, "%s/%s", home, sub);
		return is_dir(buf) ? 0 : -ENOENT;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		/* build/punchlab, build/asan/punchlab, tests' binaries: walk up. */
		for (int up = 0; up < 4; up++) {
			char *slash = strrchr(exe, '/');
			if (!slash)
				break;
			*slash = '\0';
			snprintf(buf, len, "%s/%s", exe, sub);
			if (is_dir(buf))
				return 0;
		}
	}
	snprintf(buf, len, "%s/%s", PL_DATADIR, sub);
	return is_dir(buf) ? 0 : -ENOENT;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path) && errno != ENOENT ? -1 : 0;
}

int paths_remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	/* Depth first, never following a link out of the tree. */
	return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) ? -errno : 0;
}

int paths_copy_file(const char *src, const char *dst)
{
	char buf[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), out, ret = 0;
	ssize_t n;

	if (in < 0)
		return -errno;
	if ((out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		ret = -errno;
		close(in);
		return ret;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			ret = -EIO;
			break;
		}
	if (n < 0)
		ret = -errno;
	close(in);
	if (close(out) && !ret)
		ret = -errno;
	return ret;
}

bool paths_have_program(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (!prog[0])
		return false;
	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0;
	for (const char *p = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"; *p;) {
		size_t n = strcspn(p, ":");
		struct stat st;
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? p : ".", prog);
		if (!stat(buf, &st) && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

const char *paths_no_data_dir(const char *sub, char *buf, size_t len)
{
	snprintf(buf, len, "no %s folder found (beside the program, in $PUNCHLAB_HOME, or where make install puts it)", sub);
	return buf;
}
