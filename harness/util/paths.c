#include "paths.h"

#include <errno.h>
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
