/* A tool under test in one scenario: its adapter's verbs run on the lab's
 * hosts, in their namespaces, with the scenario in the environment. */
#include "runner.h"
#include "prober.h"
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

enum { ENV_BIN, ENV_TOOL, ENV_RUN, ENV_HOST, ENV_ROLE, ENV_INDEX, ENV_DIR, ENV_RELAY, ENV_RELAY6, ENV_PEERS, ENV_PORTS,
       ENV_PROBE, ENV_TIMEOUT, ENV_N };

static const char *role_of(const struct tool_ctx *t, int h)
{
	return t->hosts[h].relay ? "relay" : "peer";
}

/* The environment of a verb on host h. */
struct env {
	char s[ENV_N][PATH_MAX + 32];
	char *p[ENV_N + 1];
};

static void env_for(const struct tool_ctx *t, int h, int timeout_ms, struct env *e)
{
	char bin[PATH_MAX], relay[64] = "", relay6[INET6_ADDRSTRLEN] = "", peers[64] = "";
	uint8_t a6[16];

	paths_program_dir(bin, sizeof(bin));
	for (int w = 0; w < 2; w++) {
		uint32_t a = topo_net_addr(t->net, "introducer", w);
		char ip[20];
		if (a && inet_ntop(AF_INET, &a, ip, sizeof(ip)))
			snprintf(relay + strlen(relay), sizeof(relay) - strlen(relay), "%s%s", relay[0] ? " " : "", ip);
	}
	/* A dual-stack lab: the relay host's IPv6 address too ("" none). */
	if (t->net->ipv6 && topo_net_addr6(t->net, "introducer", a6) && !inet_ntop(AF_INET6, a6, relay6, sizeof(relay6)))
		relay6[0] = '\0';
	for (int k = 0; k < t->n_hosts; k++)
		if (!t->hosts[k].relay)
			snprintf(peers + strlen(peers), sizeof(peers) - strlen(peers), "%s%s", peers[0] ? " " : "", t->hosts[k].name);
	snprintf(e->s[ENV_BIN], sizeof(e->s[0]), "PUNCHLAB_BIN=%s", bin);
	snprintf(e->s[ENV_TOOL], sizeof(e->s[0]), "PUNCHLAB_TOOL_DIR=%s", t->ad->dir);
	snprintf(e->s[ENV_RUN], sizeof(e->s[0]), "PUNCHLAB_RUN_ID=%s", t->inst->id);
	snprintf(e->s[ENV_HOST], sizeof(e->s[0]), "PUNCHLAB_HOST=%s", t->hosts[h].name);
	snprintf(e->s[ENV_ROLE], sizeof(e->s[0]), "PUNCHLAB_ROLE=%s", role_of(t, h));
	/* 0 the relay, 1.. the peers in order: a, b, c. */
	snprintf(e->s[ENV_INDEX], sizeof(e->s[0]), "PUNCHLAB_INDEX=%d", t->hosts[h].relay ? 0 : h + (t->hosts[0].relay ? 0 : 1));
	snprintf(e->s[ENV_DIR], sizeof(e->s[0]), "PUNCHLAB_DIR=%s", t->dir);
	snprintf(e->s[ENV_RELAY], sizeof(e->s[0]), "PUNCHLAB_RELAY=%s", relay);
	snprintf(e->s[ENV_RELAY6], sizeof(e->s[0]), "PUNCHLAB_RELAY6=%s", relay6);
	snprintf(e->s[ENV_PEERS], sizeof(e->s[0]), "PUNCHLAB_PEERS=%s", peers);
	snprintf(e->s[ENV_PORTS], sizeof(e->s[0]), "PUNCHLAB_PORTS=%s", ADAPTER_PORTS);
	snprintf(e->s[ENV_PROBE], sizeof(e->s[0]), "PUNCHLAB_PROBE=udp %d", PROBER_PORT);
	snprintf(e->s[ENV_TIMEOUT], sizeof(e->s[0]), "PUNCHLAB_TIMEOUT=%d", (timeout_ms + 999) / 1000);
	for (int i = 0; i < ENV_N; i++)
		e->p[i] = e->s[i];
	e->p[ENV_N] = NULL;
}

/* DIR/HOST.SUFFIX */
static void host_file(const struct tool_ctx *t, int h, const char *suffix, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.%s", t->dir, t->hosts[h].name, suffix);
}

static int open_log(const struct tool_ctx *t, int h)
{
	char path[300];

	host_file(t, h, "log", path, sizeof(path));
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

/* The last line the adapter wrote to its log, for an error message. */
static void last_log_line(const struct tool_ctx *t, int h, char *buf, size_t len)
{
	char path[300], text[4096], *p;
	int fd;
	ssize_t n;
	off_t size;

	buf[0] = '\0';
	host_file(t, h, "log", path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof(text) - 1 ? size - (off_t)sizeof(text) + 1 : 0, SEEK_SET);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return;
	text[n] = '\0';
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		text[--n] = '\0';
	p = strrchr(text, '\n');
	p = p ? p + 1 : text;
	if (strlen(p) > 160)
		p[160] = '\0';
	adapter_one_line(p, buf, len);
}

static int spawn_start(struct tool_ctx *t, int h, int timeout_ms)
{
	struct env *e = calloc(1, sizeof(*e));
	char ns[64], out[300];
	char *argv[] = { (char *)t->ad->program, "start", (char *)role_of(t, h), NULL };
	int ofd, efd, ret;

	if (!e)
		return -ENOMEM;
	if (topo_node_netns(t->inst, t->hosts[h].name, ns, sizeof(ns))) {
		free(e);
		return -ENOENT;
	}
	env_for(t, h, timeout_ms, e);
	host_file(t, h, "out", out, sizeof(out));
	ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	efd = open_log(t, h);
	ret = ofd < 0 || efd < 0 ? -errno : proc_spawn_env(ns, argv, e->p, ofd, efd, &t->hosts[h].pid);
	if (ofd >= 0)
		close(ofd);
	if (efd >= 0)
		close(efd);
	if (!ret)
		instance_note_pid((struct instance *)t->inst, t->hosts[h].pid);
	free(e);
	return ret;
}

/* Host h's start line, once it has written one: 1, and line set; 0 not
 * yet; -1 it exited without one (err says how). */
static int start_line(struct tool_ctx *t, int h, char *line, size_t len, char *err, size_t errlen)
{
	char path[300], last[200];
	int fd, code = 0;
	ssize_t n;
	bool exited = false;

	if (!t->hosts[h].exited && proc_wait_timeout(t->hosts[h].pid, 0, &code) == 0)
		exited = t->hosts[h].exited = true;
	host_file(t, h, "out", path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, line, len - 1);
		close(fd);
		line[n > 0 ? n : 0] = '\0';
		if (strchr(line, '\n') || (exited && code == 0 && line[0])) {
			line[strcspn(line, "\r\n")] = '\0';
			return 1;
		}
	}
	if (!exited)
		return 0;
	last_log_line(t, h, last, sizeof(last));
	if (code)
		snprintf(err, errlen, "tool %s: `adapter start %s` on %s failed (exit %d)%s%s (see %s/%s.log)", t->ad->name,
			 role_of(t, h), t->hosts[h].name, code, last[0] ? ": " : "", last, t->dir,
			 t->hosts[h].name);
	else
		snprintf(err, errlen, "tool %s: `adapter start %s` on %s exited without printing its line%s%s (see %s/%s.log)",
			 t->ad->name, role_of(t, h), t->hosts[h].name, last[0] ? ": " : "", last, t->dir,
			 t->hosts[h].name);
	return -1;
}

/* Start hosts from..to-1 at once and wait for each one's line. */
static int start_hosts(struct tool_ctx *t, int from, int to, double until, int timeout_s, char *err, size_t errlen)
{
	bool done[TOOL_MAX_HOSTS] = { false };
	int left = to - from, ret;

	for (int h = from; h < to; h++)
		if ((ret = spawn_start(t, h, (int)((until - time_now_s()) * 1000)))) {
			snprintf(err, errlen, "tool %s: cannot run %s on %s: %s", t->ad->name, t->ad->program, t->hosts[h].name,
				 strerror(-ret));
			return ret;
		}
	while (left > 0) {
		for (int h = from; h < to; h++) {
			char line[ADAPTER_LINE], why[300];
			uint32_t addr = 0;
			uint16_t port = 0;
			int got;
			if (done[h])
				continue;
			if ((got = start_line(t, h, line, sizeof(line), err, errlen)) < 0)
				return -EIO;
			if (!got)
				continue;
			{
				char clean[ADAPTER_LINE];
				adapter_one_line(line, clean, sizeof(clean));   /* into messages: no control characters */
				snprintf(line, sizeof(line), "%s", clean);
			}
			if (adapter_parse_line(line, t->hosts[h].relay, &addr, &port, why, sizeof(why))) {
				snprintf(err, errlen, "tool %s: `adapter start %s` on %s %s", t->ad->name, role_of(t, h),
					 t->hosts[h].name, why);
				return -EINVAL;
			}
			if (!strcmp(t->hosts[h].name, "a")) {
				t->addr_a = addr;
				t->port_a = port;
			} else if (!strcmp(t->hosts[h].name, "b")) {
				t->addr_b = addr;
				t->port_b = port;
			} else if (!strcmp(t->hosts[h].name, "c")) {
				t->addr_c = addr;
				t->port_c = port;
			}
			t->hosts[h].line_at = time_now_s();
			done[h] = true;
			left--;
		}
		if (left && time_now_s() >= until) {
			for (int h = from; h < to; h++)
				if (!done[h]) {
					char last[200];
					last_log_line(t, h, last, sizeof(last));
					snprintf(err, errlen,
						 "tool %s: `adapter start %s` on %s printed no line within the %d s timeout%s%s (see %s/%s.log)",
						 t->ad->name, role_of(t, h), t->hosts[h].name, timeout_s,
						 last[0] ? ": " : "", last, t->dir,
						 t->hosts[h].name);
					break;
				}
			return -ETIMEDOUT;
		}
		if (left)
			time_sleep_ms(TOOL_LINE_POLL_MS);
	}
	return 0;
}

double tool_started_at(const struct tool_ctx *t)
{
	double at = 0;

	for (int h = 0; h < t->n_hosts; h++)
		if ((!strcmp(t->hosts[h].name, "a") || !strcmp(t->hosts[h].name, "b")) && t->hosts[h].line_at > at)
			at = t->hosts[h].line_at;
	return at;
}

int tool_start(struct tool_ctx *t, int timeout_ms, char *err, size_t errlen)
{
	static const char *const peers[] = { "a", "b", "c" };
	double until = time_now_s() + timeout_ms / 1000.0;
	int first_peer = 0, ret;

	t->n_hosts = 0;
	if (topo_find_node(&t->net->topo, "introducer") >= 0) {
		snprintf(t->hosts[0].name, sizeof(t->hosts[0].name), "introducer");
		t->hosts[0].relay = true;
		t->n_hosts = first_peer = 1;
	}
	for (int k = 0; k < 3; k++)
		if (topo_find_node(&t->net->topo, peers[k]) >= 0) {
			snprintf(t->hosts[t->n_hosts].name, sizeof(t->hosts[0].name), "%s", peers[k]);
			t->hosts[t->n_hosts++].relay = false;
		}
	if (first_peer && (ret = start_hosts(t, 0, 1, until, timeout_ms / 1000, err, errlen)))
		return ret;
	if ((ret = start_hosts(t, first_peer, t->n_hosts, until, timeout_ms / 1000, err, errlen)))
		return ret;
	/* one kind of tool: every peer a tunnel address, or every peer an endpoint */
	if (!!t->port_a != !!t->port_b) {
		snprintf(err, errlen, "tool %s: a said \"%s\" and b \"%s\": every peer's start line is a tunnel address, or every one a "
			 "udp endpoint", t->ad->name, t->port_a ? "udp" : "tunnel", t->port_b ? "udp" : "tunnel");
		return -EINVAL;
	}
	return 0;
}

/* `adapter VERB ARG` on host h, in its namespace, with its environment,
 * its standard error to the host's log, for at most timeout_ms: its exit
 * code (or a negative errno), its output in out. */
static int run_verb(const struct tool_ctx *t, int h, const char *verb, const char *arg, int timeout_ms, char *out,
		    size_t outlen)
{
	struct env *e = calloc(1, sizeof(*e));
	char ns[64];
	char *argv[] = { (char *)t->ad->program, (char *)verb, (char *)arg, NULL };
	int efd, code;

	out[0] = '\0';
	if (!e)
		return -ENOMEM;
	if (topo_node_netns(t->inst, t->hosts[h].name, ns, sizeof(ns))) {
		free(e);
		return -ENOENT;
	}
	env_for(t, h, timeout_ms, e);
	efd = open_log(t, h);
	code = proc_capture_for(ns, argv, e->p, efd, out, outlen, timeout_ms);
	if (efd >= 0)
		close(efd);
	free(e);
	return code;
}

int tool_registered_at(struct tool_ctx *t, double *at)
{
	double later = 0;
	int asked = 0;

	for (int h = 0; h < t->n_hosts; h++) {
		char out[64], *end;
		double v;
		int code;
		if (strcmp(t->hosts[h].name, "a") && strcmp(t->hosts[h].name, "b"))
			continue;
		if ((code = run_verb(t, h, "registered", role_of(t, h), ADAPTER_PATH_MS, out, sizeof(out))) == 2)
			return -ENOTSUP;   /* a verb it does not know */
		v = strtod(out, &end);
		if (code != 0 || end == out || (*end && !strchr("\r\n", *end)) || !(v > 0))
			return -EIO;
		later = v > later ? v : later;
		asked++;
	}
	if (asked < 2)
		return -ENOENT;
	*at = later;
	return 0;
}

int tool_said_path(struct tool_ctx *t, enum path *path, bool *settled)
{
	char out[256];
	int h = -1, efd, code;

	*settled = false;
	if (t->no_path)
		return -ENOTSUP;
	for (int k = 0; k < t->n_hosts; k++)
		if (!strcmp(t->hosts[k].name, "a"))
			h = k;
	if (h < 0)
		return -ENOENT;
	if ((code = run_verb(t, h, "path", "b", ADAPTER_PATH_MS, out, sizeof(out))) == -ENOENT || code == -ENOMEM)
		return code;
	if (code == 2 || code == -ETIMEDOUT) {
		/* a verb it does not know, or one that hangs (and would stall
		 * the probes): it is not asked again */
		t->no_path = true;
		return -ENOTSUP;
	}
	out[strcspn(out, "\r\n")] = '\0';
	if (code != 0 || adapter_parse_path(out, path, settled)) {
		if (code == 0 && (efd = open_log(t, h)) >= 0) {
			char clean[256];
			adapter_one_line(out, clean, sizeof(clean));
			dprintf(efd, "punchlab: `adapter path b` said \"%s\": not direct, relay or unknown (and settled)\n", clean);
			close(efd);
		}
		return -EIO;
	}
	return 0;
}

void tool_stop(struct tool_ctx *t)
{
	for (int h = t->n_hosts - 1; h >= 0; h--) {
		char out[256];

		if (!t->hosts[h].pid)
			continue;
		run_verb(t, h, "stop", role_of(t, h), ADAPTER_VERB_MS, out, sizeof(out));
		if (!t->hosts[h].exited)
			proc_stop(t->hosts[h].pid, 1000);
		t->hosts[h].pid = 0;
	}
}
