/* What adapters share: their files, keys and processes. */
#include "runner.h"
#include "../../ref/mesh/proto.h"
#include "../topo/build.h"
#include "../util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
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

	randombytes_buf(priv, sizeof(priv));
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
	mesh_key_format(priv, b64);
	snprintf(line, sizeof(line), "%s\n", b64);
	mesh_key_public(p, priv);
	mesh_key_format(p, pub);
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(b64, sizeof(b64));
	return tool_write_file(path, line);
}

int tool_spawn(struct tool_ctx *t, const char *node, char *const argv[], const char *log, pid_t *pid)
{
	char path[300], ns[64];
	int fd, ret;

	if (topo_node_netns(t->run, node, ns, sizeof(ns)))
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/%s", t->dir, log);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return -errno;
	ret = proc_spawn(ns, argv, fd, fd, pid);
	close(fd);
	if (!ret)
		run_note_pid((struct run *)t->run, *pid);
	return ret;
}

