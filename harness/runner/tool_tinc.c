/* The `tinc` adapter (tinc 1.0): a public node "hub" on the introducer
 * host that a and b connect to; tinc sends data directly where UDP gets
 * through and through the hub where it does not. */
#include "runner.h"
#include "../topo/build.h"
#include "../../lib/util/paths.h"
#include "../../lib/util/proc.h"
#include "../../lib/util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct tinc_state {
	pid_t pids[3];
};

static bool tinc_available(char *why, size_t len)
{
	return tool_install("tincd", "tinc", why, len);
}

static void tinc_version(char *buf, size_t len)
{
	/* "tinc version 1.0.36 (built ...)" */
	char *argv[] = { "tincd", "--version", NULL };

	tool_first_line(argv, "tinc", buf, len);
	if (strstr(buf, " ("))
		*strstr(buf, " (") = '\0';
}

static int tinc_start(struct tool_ctx *t, int timeout_ms, char *err, size_t errlen)
{
	struct tinc_state *s = calloc(1, sizeof(*s));
	static const char *const nodes[] = { "introducer", "a", "b" }, *const names[] = { "hub", "a", "b" };
	char dir[3][300], path[400], text[512], hub[20];
	uint32_t i0 = topo_net_addr(t->net, "introducer", 0);

	(void)timeout_ms;
	if (!s)
		return -ENOMEM;
	t->priv = s;
	inet_ntop(AF_INET, &i0, hub, sizeof(hub));
	for (int k = 0; k < 3; k++) {
		char *argv[] = { "tincd", "-c", dir[k], "-K2048", NULL };
		snprintf(dir[k], sizeof(dir[k]), "%s/tinc-%s", t->dir, names[k]);
		snprintf(path, sizeof(path), "%s/hosts", dir[k]);
		if (mkdir(dir[k], 0700) || mkdir(path, 0700)) {
			snprintf(err, errlen, "cannot make %s: %s", path, strerror(errno));
			return -errno;
		}
		snprintf(text, sizeof(text), "Name = %s\nInterface = t%s%c\nDeviceType = tun\nMode = router\nPort = 655\n"
					     "AddressFamily = ipv4\n%s",
			 names[k], t->inst->id, "hab"[k], k ? "ConnectTo = hub\n" : "");
		snprintf(path, sizeof(path), "%s/tinc.conf", dir[k]);
		tool_write_file(path, text);
		/* Only the hub is reachable at an address of its own. */
		snprintf(text, sizeof(text), "%s%s%sSubnet = 10.99.0.%d/32\nPort = 655\n", k ? "" : "Address = ", k ? "" : hub,
			 k ? "" : "\n", k + 1);
		snprintf(path, sizeof(path), "%s/hosts/%s", dir[k], names[k]);
		tool_write_file(path, text);
		snprintf(text, sizeof(text), "#!/bin/sh\nip addr add 10.99.0.%d/24 dev $INTERFACE\nip link set $INTERFACE up\n", k + 1);
		snprintf(path, sizeof(path), "%s/tinc-up", dir[k]);
		tool_write_file(path, text);
		chmod(path, 0755);
		/* Keys: tincd appends the public key to hosts/NAME (its progress
		 * dots go to the scenario's log, not the terminal). */
		snprintf(path, sizeof(path), "%s/keys.log", t->dir);
		int logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int kret = proc_run(NULL, argv, logfd, logfd);
		if (logfd >= 0)
			close(logfd);
		if (kret) {
			snprintf(err, errlen, "tincd -K failed for %s", names[k]);
			return -EIO;
		}
	}
	/* Every node knows every host file (with its key). */
	for (int k = 0; k < 3; k++)
		for (int j = 0; j < 3; j++)
			if (j != k) {
				char src[600], dst[600];
				snprintf(src, sizeof(src), "%s/hosts/%s", dir[j], names[j]);
				snprintf(dst, sizeof(dst), "%s/hosts/%s", dir[k], names[j]);
				if (paths_copy_file(src, dst)) {
					snprintf(err, errlen, "cannot copy tinc host files");
					return -EIO;
				}
			}
	for (int k = 0; k < 3; k++) {
		char pid[320], log[24];
		char *argv[] = { "tincd", "-c", dir[k], "-D", "-d2", pid, NULL };
		int ret;
		snprintf(pid, sizeof(pid), "--pidfile=%s/pid", dir[k]);
		snprintf(log, sizeof(log), "%s.log", names[k]);
		if ((ret = tool_spawn(t, nodes[k], argv, log, &s->pids[k]))) {
			snprintf(err, errlen, "cannot start tincd on %s: %s", nodes[k], strerror(-ret));
			return ret;
		}
		if (!k)
			time_sleep_ms(200);
	}
	t->addr_a = htonl(0x0a630002u); /* 10.99.0.2 */
	t->addr_b = htonl(0x0a630003u);
	return 0;
}

static void tinc_stop(struct tool_ctx *t)
{
	struct tinc_state *s = t->priv;

	if (s)
		tool_stop_all(t, s->pids, 3);
}

const struct runner_tool runner_tool_tinc = {
	.name = "tinc",
	.what = "tinc 1.0: a public hub node; direct UDP where it gets through, else through the hub",
	.available = tinc_available,
	.version = tinc_version,
	.start = tinc_start,
	.said_path = NULL,
	.stop = tinc_stop,
	.relay_program = "tincd",
};
