/* The `nebula` adapter: a lighthouse (also a relay) on the introducer host,
 * a and b with punchy and relays on, certificates from a fresh CA. */
#include "runner.h"
#include "../topo/build.h"
#include "../../lib/util/proc.h"
#include "../../lib/util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NEBULA_PORT 4242

struct nebula_state {
	pid_t pids[3];
};

static bool nebula_available(char *why, size_t len)
{
	return tool_install("nebula", "nebula", why, len) && tool_install("nebula-cert", "nebula", why, len);
}

static void nebula_version(char *buf, size_t len)
{
	char line[64];
	char *argv[] = { "nebula", "-version", NULL };

	tool_first_line(argv, "?", line, sizeof(line));
	snprintf(buf, len, "nebula %s", strncmp(line, "Version: ", 9) ? line : line + 9);
}

static int cert(struct tool_ctx *t, const char *name, const char *ip)
{
	char crt[300], key[300], ca_crt[300], ca_key[300];
	char *argv[] = { "nebula-cert", "sign", "-ca-crt", ca_crt, "-ca-key", ca_key, "-name", (char *)name, "-ip",
			 (char *)ip, "-out-crt", crt, "-out-key", key, NULL };

	snprintf(ca_crt, sizeof(ca_crt), "%s/ca.crt", t->dir);
	snprintf(ca_key, sizeof(ca_key), "%s/ca.key", t->dir);
	snprintf(crt, sizeof(crt), "%s/%s.crt", t->dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", t->dir, name);
	return proc_run(NULL, argv, -1, -1);
}

static int nebula_start(struct tool_ctx *t, int timeout_ms, char *err, size_t errlen)
{
	struct nebula_state *s = calloc(1, sizeof(*s));
	static const char *const nodes[] = { "introducer", "a", "b" }, *const names[] = { "lighthouse", "a", "b" };
	char ca_crt[300], ca_key[300], conf[2048], path[300], lh[20];
	char *ca[] = { "nebula-cert", "ca", "-name", "lab", "-out-crt", ca_crt, "-out-key", ca_key, NULL };
	uint32_t i0 = topo_net_addr(t->net, "introducer", 0);

	(void)timeout_ms;
	if (!s)
		return -ENOMEM;
	t->priv = s;
	inet_ntop(AF_INET, &i0, lh, sizeof(lh));
	snprintf(ca_crt, sizeof(ca_crt), "%s/ca.crt", t->dir);
	snprintf(ca_key, sizeof(ca_key), "%s/ca.key", t->dir);
	if (proc_run(NULL, ca, -1, -1)) {
		snprintf(err, errlen, "nebula-cert ca failed");
		return -EIO;
	}
	for (int k = 0; k < 3; k++) {
		char ip[24], log[24];
		char *argv[] = { "nebula", "-config", path, NULL };
		int ret;
		snprintf(ip, sizeof(ip), "10.88.0.%d/24", k + 1);
		if (cert(t, names[k], ip)) {
			snprintf(err, errlen, "nebula-cert sign %s failed", names[k]);
			return -EIO;
		}
		snprintf(conf, sizeof(conf),
			 "pki:\n  ca: %s/ca.crt\n  cert: %s/%s.crt\n  key: %s/%s.key\n"
			 "static_host_map:\n  \"10.88.0.1\": [\"%s:%d\"]\n"
			 "lighthouse:\n  am_lighthouse: %s\n  interval: 1\n%s"
			 "listen:\n  host: 0.0.0.0\n  port: %d\n"
			 "punchy:\n  punch: true\n  respond: true\n"
			 "relay:\n  am_relay: %s\n  use_relays: true\n%s"
			 "handshakes:\n  try_interval: 100ms\n"
			 "tun:\n  disabled: %s\n  dev: n%s%c\n"
			 "logging:\n  level: info\n"
			 "firewall:\n  outbound:\n    - port: any\n      proto: any\n      host: any\n"
			 "  inbound:\n    - port: any\n      proto: any\n      host: any\n",
			 t->dir, t->dir, names[k], t->dir, names[k], lh, NEBULA_PORT, k ? "false" : "true",
			 k ? "  hosts:\n    - \"10.88.0.1\"\n" : "", k ? 0 : NEBULA_PORT, k ? "false" : "true",
			 k ? "  relays:\n    - 10.88.0.1\n" : "", k ? "false" : "true", t->inst->id, "lab"[k]);
		snprintf(path, sizeof(path), "%s/%s.yml", t->dir, names[k]);
		tool_write_file(path, conf);
		snprintf(log, sizeof(log), "%s.log", names[k]);
		if ((ret = tool_spawn(t, nodes[k], argv, log, &s->pids[k]))) {
			snprintf(err, errlen, "cannot start nebula on %s: %s", nodes[k], strerror(-ret));
			return ret;
		}
		if (!k)
			time_sleep_ms(200);
	}
	t->addr_a = htonl(0x0a580002u); /* 10.88.0.2 */
	t->addr_b = htonl(0x0a580003u);
	return 0;
}

static void nebula_stop(struct tool_ctx *t)
{
	struct nebula_state *s = t->priv;

	if (s)
		tool_stop_all(t, s->pids, 3);
}

const struct runner_tool runner_tool_nebula = {
	.name = "nebula",
	.what = "Nebula: a lighthouse that also relays, punchy on both hosts",
	.available = nebula_available,
	.version = nebula_version,
	.start = nebula_start,
	.said_path = NULL,
	.stop = nebula_stop,
	.relay_program = "nebula",
};
