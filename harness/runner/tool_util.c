/* What adapters share: their files, keys and processes. */
#include "runner.h"
#include "../../lib/util/key.h"
#include "../topo/build.h"
#include "../../lib/util/paths.h"
#include "../../lib/util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *tool_sibling(const char *name, char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')))
		*slash = '\0';
	snprintf(buf, len, "%s/%s", self, name);
	return access(buf, X_OK) == 0 ? buf : NULL;
}

int tool_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

/* A key pair as `wg genkey` makes it; the private key goes to path. */
int tool_keypair(const char *path, char pub[45])
{
	uint8_t priv[32], p[32];
	char b64[45], line[50];

	key_generate(priv);
	key_format(priv, b64);
	snprintf(line, sizeof(line), "%s\n", b64);
	key_public(p, priv);
	key_format(p, pub);
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(b64, sizeof(b64));
	return tool_write_file(path, line);
}

int tool_spawn(struct tool_ctx *t, const char *node, char *const argv[], const char *log, pid_t *pid)
{
	char path[300], ns[64];
	int fd, ret;

	if (topo_node_netns(t->inst, node, ns, sizeof(ns)))
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/%s", t->dir, log);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return -errno;
	ret = proc_spawn(ns, argv, fd, fd, pid);
	close(fd);
	if (!ret)
		instance_note_command((struct instance *)t->inst, *pid, argv);
	return ret;
}


bool tool_have(const char *prog)
{
	return paths_have_program(prog);
}

/* A missing Debian package is installed (as root), never silently skipped.
 * No shell: apt-get runs with argv, its output to /dev/null. */
bool tool_install(const char *prog, const char *package, char *why, size_t len)
{
	char *argv[] = { "apt-get", "install", "-y", "-qq", "--no-install-recommends", (char *)package, NULL };

	if (tool_have(prog))
		return true;
	if (geteuid() == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		setenv("DEBIAN_FRONTEND", "noninteractive", 1);
		if (proc_run(NULL, argv, null, null) == 0 && tool_have(prog)) {
			close(null);
			return true;
		}
		if (null >= 0)
			close(null);
	}
	snprintf(why, len, "%s is not installed and could not be: apt-get install %s", prog, package);
	return false;
}

void tool_first_line(char *const argv[], const char *fallback, char *buf, size_t len)
{
	char out[1024];

	snprintf(buf, len, "%s", fallback);
	if (proc_capture(NULL, argv, true, out, sizeof(out)) != 0)
		return;
	out[strcspn(out, "\n")] = '\0';
	if (out[0])
		snprintf(buf, len, "%s", out);
}

void tool_stop_all(struct tool_ctx *t, pid_t *pids, int n)
{
	for (int k = 0; k < n; k++)
		if (pids[k] > 0)
			proc_stop(pids[k], 1000);
	free(t->priv);
	t->priv = NULL;
}
