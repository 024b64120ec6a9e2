/* One scenario: build the topology in a run of its own, count the tunnel's
 * bytes on the routers where the two sites meet and where the relay sits,
 * start the tool, probe through the tunnel, and stop as soon as the
 * verdict is settled. */
#include "runner.h"
#include "capture.h"
#include "../expect/topology.h"
#include "../fault/fault.h"
#include "../impair/impair.h"
#include "meter.h"
#include "../../lib/util/paths.h"
#include "../topo/build.h"
#include "../topo/cleanup.h"
#include "../../lib/util/netns.h"
#include "../../lib/util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROBE_PORT 7777
#define PROBE_EVERY_MS 100
#define PROBE_BYTES VERDICT_MIN_BYTES   /* big enough that probes outweigh the tools' own chatter */
#define WINDOW_MS VERDICT_WINDOW_MS
#define MAX_SAMPLES 2048


/* The tunnel's bytes between a and b where they meet, and at the relay. */
static void read_counters(const struct meter *m, uint64_t *direct, uint64_t *relay)
{
	if (meter_read(m, "a", "b", direct, relay))
		*direct = *relay = 0;
}

struct sock_arg {
	uint16_t port;
	int fd;
};

static int open_sock(void *p)
{
	struct sock_arg *s = p;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(s->port) };

	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return -errno;
	return bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static double percentile(double *v, int n, double p)
{
	int k;

	if (n == 0)
		return -1;
	k = (int)ceil(p / 100.0 * n) - 1;
	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

struct probe_state {
	int fd_a, fd_b;
	uint32_t seq;
	double t0;
	double samples[MAX_SAMPLES];
	double sample_at[MAX_SAMPLES];
	int n_samples;
	double first_reply;
	double last_reply;
	uint32_t from_seq;          /* replies to probes from this one on count below */
	int answered_from;
	double first_from;          /* when the first of them came back (-1: none yet) */
};

struct probe_msg {
	uint32_t seq;
	double sent;
	uint8_t pad[PROBE_BYTES];
};

static void probe_send(struct probe_state *p, uint32_t to)
{
	struct probe_msg m;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = to, .sin_port = htons(PROBE_PORT) };

	memset(&m, 0, sizeof(m));
	m.seq = ++p->seq;
	m.sent = time_now_s();
	sendto(p->fd_a, &m, sizeof(m), 0, (struct sockaddr *)&sa, sizeof(sa));
}

/* The echo side (b) answers; the probing side (a) records each RTT. */
static void probe_poll(struct probe_state *p, int wait_ms)
{
	struct pollfd pf[2] = { { p->fd_a, POLLIN, 0 }, { p->fd_b, POLLIN, 0 } };
	struct probe_msg m;
	struct sockaddr_in from;
	socklen_t sl;
	ssize_t n;

	if (poll(pf, 2, wait_ms) <= 0)
		return;
	for (int k = 0; k < 64; k++) {
		sl = sizeof(from);
		n = recvfrom(p->fd_b, &m, sizeof(m), 0, (struct sockaddr *)&from, &sl);
		if (n <= 0)
			break;
		sendto(p->fd_b, &m, (size_t)n, 0, (struct sockaddr *)&from, sl);
	}
	for (int k = 0; k < 64; k++) {
		double t;
		n = recv(p->fd_a, &m, sizeof(m), 0);
		if (n < (ssize_t)sizeof(m.seq) + (ssize_t)sizeof(m.sent))
			break;
		t = time_now_s();
		if (p->first_reply < 0)
			p->first_reply = t - p->t0;
		if (p->from_seq && m.seq >= p->from_seq) {
			p->answered_from++;
			if (p->first_from < 0)
				p->first_from = t;
		}
		p->last_reply = t;
		if (p->n_samples < MAX_SAMPLES) {
			p->sample_at[p->n_samples] = t - p->t0;
			p->samples[p->n_samples++] = (t - m.sent) * 1000.0;
		}
	}
}

/* With a third peer: does each pair answer through the tunnel? Ten probes
 * from `from` to `to` (port PROBE_PORT, answered by the echo socket in
 * to's namespace); connected when eight come back. */
static bool pair_answers(int from, int echo, uint32_t to)
{
	struct probe_msg m;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = to, .sin_port = htons(PROBE_PORT) }, src;
	int got = 0;

	memset(&m, 0, sizeof(m));
	for (int i = 0; i < 10; i++) {
		struct pollfd pf[2] = { { from, POLLIN, 0 }, { echo, POLLIN, 0 } };
		double until = time_now_s() + 0.1;
		sendto(from, &m, sizeof(m), 0, (struct sockaddr *)&sa, sizeof(sa));
		while (time_now_s() < until) {
			socklen_t sl = sizeof(src);
			if (poll(pf, 2, 20) <= 0)
				continue;
			ssize_t n = recvfrom(echo, &m, sizeof(m), MSG_DONTWAIT, (struct sockaddr *)&src, &sl);
			if (n > 0)
				sendto(echo, &m, (size_t)n, 0, (struct sockaddr *)&src, sl);
			while (recv(from, &m, sizeof(m), MSG_DONTWAIT) > 0)
				got++;
		}
	}
	return got >= 8;
}

static int pairs_with_c(const struct run *r, const struct tool_ctx *tc, int fd_a, int *connected)
{
	struct sock_arg b = { 0, -1 }, c = { PROBE_PORT, -1 };
	char ns[64];
	int pairs = 0;

	*connected = 0;
	if (topo_node_netns(r, "b", ns, sizeof(ns)) || netns_call(ns, open_sock, &b) ||
	    topo_node_netns(r, "c", ns, sizeof(ns)) || netns_call(ns, open_sock, &c))
		goto out;
	pairs = 2;
	*connected += pair_answers(fd_a, c.fd, tc->addr_c);
	*connected += pair_answers(b.fd, c.fd, tc->addr_c);
out:
	if (b.fd >= 0)
		close(b.fd);
	if (c.fd >= 0)
		close(c.fd);
	return pairs;
}

void runner_scenario(const struct scenario *sc, const struct runner_opts *o, const char *scenario_dir,
		     struct scenario_result *res)
{
	const struct runner_tool *tool = runner_tool_find(sc->tool);
	const struct lifecycle *lc = sc->lifecycle[0] ? runner_lifecycle_find(sc->lifecycle) : NULL;
	struct lifecycle_result *lr = &res->lc;
	double resume_at = 0;
	bool left_direct = false;
	struct topo_net *net = calloc(1, sizeof(*net));
	struct topo t;
	struct run r;
	struct meter c;
	struct tool_ctx tc;
	struct expect_result ex;
	struct probe_state *p = calloc(1, sizeof(*p));
	char params[1000] = "", pa[300], pb[300], pc[300], *assigns[3], ns[64];
	int n_assigns = 0, ret;
	struct verdict verdict;
	uint64_t d0 = 0, r0 = 0, d1, r1, dsum0 = 0, rsum0 = 0;
	double start = time_now_s(), deadline, next_probe, next_window, said_check = 0;
	bool run_up = false, tool_up = false, settled = false, said_settled = false;
	struct sock_arg sa_a = { 0, -1 }, sa_b = { PROBE_PORT, -1 };
	struct capture *cap[2] = { NULL, NULL };

	memset(res, 0, sizeof(*res));
	memset(&tc, 0, sizeof(tc));
	res->sc = *sc;
	res->time_to_first_reply_s = res->time_to_direct_s = -1;
	res->rtt_p50 = res->rtt_p90 = res->rtt_p99 = -1;
	res->path = PATH_NONE;
	verdict_init(&verdict);
	if (!net || !p || !tool) {
		snprintf(res->error, sizeof(res->error), "%s", !tool ? "unknown tool" : "out of memory");
		goto out;
	}
	p->fd_a = p->fd_b = -1;
	p->first_reply = -1;
	tool->version(res->tool_version, sizeof(res->tool_version));
	/* The topology's parameters, in its order: A first, then B. */
	if ((ret = topo_load(sc->topology, &t, res->error, sizeof(res->error))))
		goto out;
	for (int i = 0; i < t.n_params && n_assigns < 3; i++) {
		const char *model = !strcmp(t.params[i], "C")                                     ? sc->c
				    : !strcmp(t.params[i], "B") || (t.n_params == 1 && !sc->a[0]) ? sc->b
												     : sc->a;
		char *buf = n_assigns == 2 ? pc : n_assigns ? pb : pa, data[256];
		if (model[0] == '@' && paths_data_dir("tests/data", data, sizeof(data)) == 0)
			snprintf(buf, 300, "%s=%s/%s", t.params[i], data, model + 1);
		else
			snprintf(buf, 300, "%s=%s", t.params[i], model);
		assigns[n_assigns++] = buf;
		snprintf(params + strlen(params), sizeof(params) - strlen(params), "%s%s", i ? " " : "", buf);
	}
	if ((ret = topo_resolve(&t, n_assigns, assigns, net, res->error, sizeof(res->error))))
		goto out;
	if (lc && lc->link_node[0]) {
		int k = topo_find_node(&net->topo, lc->link_node);
		if (k < 0 || impair_parse(lc->link_spec, &net->topo.nodes[k].impair, res->error, sizeof(res->error))) {
			ret = -EINVAL;
			goto out;
		}
	}
	if (expect_topology(net, "a", "b", &ex) == 0) {
		res->expected_direct = ex.direct;
		snprintf(res->expected_technique, sizeof(res->expected_technique), "%s", expect_technique_name(ex.technique));
		snprintf(res->expected_reason, sizeof(res->expected_reason), "%s", ex.why);
	}
	if ((ret = run_create(&r, sc->topology, params))) {
		snprintf(res->error, sizeof(res->error), "cannot create a run: %s", strerror(-ret));
		goto out;
	}
	run_up = true;
	cleanup_watch_run(r.id);
	if ((ret = topo_build(net, &r, res->error, sizeof(res->error))) ||
	    (ret = meter_install(&c, net, &r, (const char *const[]){ "a", "b" }, 2, res->error, sizeof(res->error))))
		goto out;
	mkdir(scenario_dir, 0755);
	/* Packets where the relay sits and where the sites meet: kept with
	 * the logs when the scenario fails. */
	for (int i = 0; i < 2; i++) {
		char file[300], cerr[200];
		const char *where = i ? c.pairs[0].ns : c.relay_ns;
		if (i && !strcmp(c.pairs[0].ns, c.relay_ns))
			break;
		snprintf(file, sizeof(file), "%s/%s.pcap", scenario_dir, where);
		if (!(cap[i] = capture_start(where, file, cerr, sizeof(cerr))))
			snprintf(res->error, sizeof(res->error), "(no capture: %s) ", cerr);
	}
	/* The prober's two ends, inside a's and b's namespaces. */
	topo_node_netns(&r, "a", ns, sizeof(ns));
	if ((ret = netns_call(ns, open_sock, &sa_a)))
		goto sockfail;
	topo_node_netns(&r, "b", ns, sizeof(ns));
	if ((ret = netns_call(ns, open_sock, &sa_b)))
		goto sockfail;
	p->fd_a = sa_a.fd;
	p->fd_b = sa_b.fd;
	tc.run = &r;
	tc.net = net;
	snprintf(tc.dir, sizeof(tc.dir), "%s", scenario_dir);
	tool_up = true;
	if ((ret = tool->start(&tc, o->timeout_s * 1000, res->error, sizeof(res->error))))
		goto out;
	res->ran = true;
	p->t0 = time_now_s();
	deadline = p->t0 + o->timeout_s;
	next_probe = next_window = p->t0;
	read_counters(&c, &dsum0, &rsum0);
	d0 = dsum0;
	r0 = rsum0;
	while (!settled && time_now_s() < deadline) {
		double tn = time_now_s();
		if (tn >= next_probe) {
			if (!lr->happened || tn >= resume_at) {
				probe_send(p, tc.addr_b);
				res->probes_sent++;
				if (lr->happened)
					lr->sent_after++;
			}
			next_probe += PROBE_EVERY_MS / 1000.0;
		}
		if (tn >= next_window) {
			bool answered = p->last_reply > tn - 2.0 * WINDOW_MS / 1000.0;
			uint64_t dd, rd;
			read_counters(&c, &d1, &r1);
			dd = d1 - d0;
			rd = r1 - r0;
			d0 = d1;
			r0 = r1;
			verdict_window(&verdict, answered, dd, rd, tn - p->t0);
			res->path = verdict.path;
			res->time_to_direct_s = verdict.time_to_direct_s;
			if (tool->said_path && tn >= said_check) {
				tool->said_path(&tc, &res->tool_said_path, &said_settled);
				said_check = tn + 0.5;
			}
			settled = verdict_steady(&verdict, PATH_DIRECT) ||
				  (verdict_steady(&verdict, PATH_RELAY) && said_settled && res->tool_said_path == PATH_RELAY);
			if (lr->happened)
				settled = false; /* watch for the whole of after_s */
			if (lr->happened && tn >= resume_at) {
				/* After the event: the first relayed window, and the
				 * path coming back. */
				bool direct_now = res->path == PATH_DIRECT && verdict.direct_windows > 0;
				if (verdict.relay_windows > 0 && lr->relay_s < 0)
					lr->relay_s = tn - resume_at;
				if (!direct_now)
					left_direct = true;
				else if (left_direct && lr->direct_s < 0)
					lr->direct_s = tn - resume_at;
			}
			if (lc && !lr->happened && (settled || lc->early)) {
				char ferr[256] = "";
				lr->happened = true;
				lr->event_at_s = tn - p->t0;
				resume_at = tn + lc->quiet_s;
				lr->relay_s = lr->direct_s = -1;
				lr->first_reply_s = -1;
				left_direct = res->path != PATH_DIRECT;
				if (lc->kind == LC_FAULT)
					fault_apply(&r, lc->fault_kind, lc->fault_target, lc->fault_arg[0] ? lc->fault_arg : NULL, ferr,
						    sizeof(ferr));
				else if (lc->kind == LC_KILL_RELAY && tool->relay_program)
					fault_apply(&r, "kill", "introducer", tool->relay_program, ferr, sizeof(ferr));
				if (ferr[0])
					snprintf(res->error, sizeof(res->error), "%s", ferr);
				p->from_seq = p->seq + 1;
				p->first_from = -1;
				deadline = resume_at + lc->after_s;
				settled = false;
			}
			next_window = tn + WINDOW_MS / 1000.0;
		}
		probe_poll(p, 10);
		capture_poll(cap[0]);
		capture_poll(cap[1]);
	}
	probe_poll(p, 200);
	read_counters(&c, &d1, &r1);
	res->direct_bytes = d1 - dsum0;
	res->relay_bytes = r1 - rsum0;
	if (tool->said_path)
		tool->said_path(&tc, &res->tool_said_path, &said_settled);
	res->time_to_first_reply_s = p->first_reply;

	if (lr->happened) {
		lr->lost_after = lr->sent_after - p->answered_from;
		lr->first_reply_s = p->first_from < 0 ? -1 : p->first_from - resume_at;
		if (!left_direct && res->path == PATH_DIRECT)
			lr->direct_s = 0;
		lr->path_after = res->path;
	}
	res->probes_answered = p->n_samples;
	res->connected = p->n_samples > 0 && p->last_reply > time_now_s() - 1.5;
	if (topo_find_node(&net->topo, "c") >= 0) {
		/* a-b is the probed pair; a-c and b-c are checked now. */
		int more = 0, ok = 0;
		if (tc.addr_c)
			more = pairs_with_c(&r, &tc, p->fd_a, &ok);
		lr->pairs = 1 + (tc.addr_c ? more : 2);
		lr->pairs_connected = ok + res->connected;
	}
	if (!res->connected)
		res->path = PATH_NONE;
	{
		/* RTT on the path it settled on: after the direct path came, if it did. */
		double v[MAX_SAMPLES];
		int n = 0;
		for (int i = 0; i < p->n_samples; i++)
			if (res->time_to_direct_s < 0 || p->sample_at[i] >= res->time_to_direct_s)
				v[n++] = p->samples[i];
		qsort(v, (size_t)n, sizeof(double), cmp_double);
		res->rtt_p50 = percentile(v, n, 50);
		res->rtt_p90 = percentile(v, n, 90);
		res->rtt_p99 = percentile(v, n, 99);
	}
	goto out;
sockfail:
	snprintf(res->error, sizeof(res->error), "cannot open the prober's sockets in %s: %s", ns, strerror(-ret));
out:
	if (p && p->fd_a >= 0)
		close(p->fd_a);
	else if (sa_a.fd >= 0)
		close(sa_a.fd);
	if (p && p->fd_b >= 0)
		close(p->fd_b);
	else if (sa_b.fd >= 0)
		close(sa_b.fd);
	capture_stop(cap[0]);
	capture_stop(cap[1]);
	if (run_up) {
		bool failed = !runner_as_expected(res);
		if (failed && o->keep_failed && run_detach(&r) == 0) {
			snprintf(res->kept_run, sizeof(res->kept_run), "%s", r.id);
		} else {
			if (tool_up)
				tool->stop(&tc);
			run_destroy(r.id);
		}
		cleanup_forget_run(r.id);
	}
	res->wall_s = time_now_s() - start;
	free(net);
	free(p);
}
