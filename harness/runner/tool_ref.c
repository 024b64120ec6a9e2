/* The `ref` adapter: the reference introducer and agents (ref/), started
 * from the binaries beside punchlab, configured with fresh keys. */
#include "runner.h"
#include "../../lib/util/text.h"
#include "../topo/build.h"
#include "../../lib/util/proc.h"
#include "../../lib/util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ref_state {
	char ifname[3][16];
	pid_t pids[4];             /* agents on a, b (and c), the introducer */
};

static bool ref_available(char *why, size_t len)
{
	char buf[PATH_MAX];

	if (tool_sibling("punchlab-agent", buf, sizeof(buf)) && tool_sibling("punchlab-introducer", buf, sizeof(buf)))
		return true;
	snprintf(why, len, "punchlab-agent and punchlab-introducer are not beside punchlab: run make");
	return false;
}

/* The harness knows the mesh only as programs: it runs them, as it runs
 * every other tool under test, and never links their code. */
static void ref_version(char *buf, size_t len)
{
	char agent[PATH_MAX], out[128];
	char *argv[] = { agent, "--version", NULL };

	if (!tool_sibling("punchlab-agent", agent, sizeof(agent)) || proc_capture(NULL, argv, false, out, sizeof(out)) != 0) {
		snprintf(buf, len, "punchlab ref mesh (unknown version)");
		return;
	}
	out[strcspn(out, "\n")] = '\0';
	snprintf(buf, len, "%s", out);
}

/* The agent's status, as JSON (`punchlab-agent status --json`). */
static int status(const char *ifname, char *buf, size_t len)
{
	char agent[PATH_MAX];
	char *argv[] = { agent, "status", "--json", "--interface", (char *)ifname, NULL };

	if (!tool_sibling("punchlab-agent", agent, sizeof(agent)))
		return -ENOENT;
	/* Its complaint while the agent is not up yet goes into buf, unread:
	 * polling says nothing on the terminal. */
	return proc_capture(NULL, argv, true, buf, len) == 0 ? 0 : -ENOTCONN;
}

/* The value of key in the first peer's object (or at top level). */
static bool field(const char *json, bool peer, const char *key, char *out, size_t len)
{
	return text_json_field(peer ? strstr(json, "\"peers\":[{") : json, key, out, len);
}

static int count_of(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

static int ref_start(struct tool_ctx *t, int timeout_ms, char *err, size_t errlen)
{
	struct ref_state *s = calloc(1, sizeof(*s));
	char intro[PATH_MAX], agent[PATH_MAX], path[300], conf[1024], pub[4][45], ip[3][20], a0[20], a1[20];
	static const char *const hosts[] = { "a", "b", "c" };
	const int nh = topo_find_node(&t->net->topo, "c") >= 0 ? 3 : 2;
	uint32_t i0 = topo_net_addr(t->net, "introducer", 0), i1 = topo_net_addr(t->net, "introducer", 1);
	int ret;

	if (!s)
		return -ENOMEM;
	t->priv = s;
	if (sodium_init() < 0 || !tool_sibling("punchlab-introducer", intro, sizeof(intro)) ||
	    !tool_sibling("punchlab-agent", agent, sizeof(agent))) {
		snprintf(err, errlen, "punchlab-introducer or punchlab-agent missing beside punchlab");
		return -ENOENT;
	}
	inet_ntop(AF_INET, &i0, a0, sizeof(a0));
	inet_ntop(AF_INET, &i1, a1, sizeof(a1));
	/* Keys: the peers', then the introducer's (pub[3]). */
	for (int k = 0; k < 4; k++) {
		if (k < 3 && k >= nh)
			continue;
		snprintf(path, sizeof(path), "%s/%s.key", t->dir, k == 3 ? "introducer" : hosts[k]);
		if ((ret = tool_keypair(path, pub[k]))) {
			snprintf(err, errlen, "cannot write %s: %s", path, strerror(-ret));
			return ret;
		}
	}
	snprintf(conf, sizeof(conf), "private-key-file = %s/introducer.key\nlisten = %s %s\n", t->dir, a0, a1);
	for (int k = 0; k < nh; k++)
		snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf), "allow = %s %s\n", pub[k], hosts[k]);
	snprintf(path, sizeof(path), "%s/introducer.conf", t->dir);
	tool_write_file(path, conf);
	{
		char *argv[] = { intro, "--config", path, NULL };
		if ((ret = tool_spawn(t, "introducer", argv, "introducer.log", &s->pids[3]))) {
			snprintf(err, errlen, "cannot start punchlab-introducer: %s", strerror(-ret));
			return ret;
		}
	}
	time_sleep_ms(100);
	for (int k = 0; k < nh; k++) {
		char cpath[300], log[16];
		char *argv[] = { agent, "up", "--config", cpath, "-v", NULL };
		snprintf(s->ifname[k], sizeof(s->ifname[k]), "p%s%s", t->inst->id, hosts[k]);
		snprintf(conf, sizeof(conf),
			 "private-key-file = %s/%s.key\nintroducer = %s %s\nintroducer-key = %s\ninterface = %s\nname = %s\n",
			 t->dir, hosts[k], a0, a1, pub[3], s->ifname[k], hosts[k]);
		snprintf(cpath, sizeof(cpath), "%s/%s.conf", t->dir, hosts[k]);
		tool_write_file(cpath, conf);
		snprintf(log, sizeof(log), "%s.log", hosts[k]);
		if ((ret = tool_spawn(t, hosts[k], argv, log, &s->pids[k]))) {
			snprintf(err, errlen, "cannot start punchlab-agent on %s: %s", hosts[k], strerror(-ret));
			return ret;
		}
	}
	/* All know each other: each lists every other peer. */
	for (int waited = 0; waited < timeout_ms; waited += 100) {
		char buf[8192];
		bool ok = true;
		for (int k = 0; k < nh && ok; k++)
			ok = status(s->ifname[k], buf, sizeof(buf)) == 0 && field(buf, false, "mesh_ipv4", ip[k], sizeof(ip[k])) &&
			     ip[k][0] && count_of(buf, "\"public_key\":") == nh;
		if (ok) {
			inet_pton(AF_INET, ip[0], &t->addr_a);
			inet_pton(AF_INET, ip[1], &t->addr_b);
			if (nh == 3)
				inet_pton(AF_INET, ip[2], &t->addr_c);
			return 0;
		}
		time_sleep_ms(100);
	}
	snprintf(err, errlen, "the agents did not all join the mesh within %d s (see %s/*.log)", timeout_ms / 1000, t->dir);
	return -ETIMEDOUT;
}

static int ref_said_path(struct tool_ctx *t, enum path *path, bool *settled)
{
	struct ref_state *s = t->priv;
	char buf[8192], said[16], expected[16], why[200];

	*settled = false;
	if (status(s->ifname[0], buf, sizeof(buf)) || !field(buf, true, "path", said, sizeof(said)))
		return -ENOTCONN;
	*path = path_parse(said);
	field(buf, true, "expected", expected, sizeof(expected));
	field(buf, true, "why", why, sizeof(why));
	/* Settled: direct, or relayed with nothing more to try (measured
	 * impossible, or a round that ended without a path). */
	*settled = *path == PATH_DIRECT || !strcmp(expected, "relay") || strstr(why, "failed");
	return 0;
}

static void ref_stop(struct tool_ctx *t)
{
	struct ref_state *s = t->priv;

	if (s)
		tool_stop_all(t, s->pids, 4);
}

const struct runner_tool runner_tool_ref = {
	.name = "ref",
	.what = "the reference introducer and agent (ref/)",
	.available = ref_available,
	.version = ref_version,
	.start = ref_start,
	.said_path = ref_said_path,
	.stop = ref_stop,
	.relay_program = "punchlab-introducer",
};
