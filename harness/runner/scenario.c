/* One scenario, in steps: set up (the topology in a lab instance of its
 * own, the counters where the two sites meet and where the relay sits,
 * packet captures, the prober), start the tool, watch the tunnel window by
 * window until the verdict is settled (with a lifecycle event on the way,
 * if the scenario has one), sum up, tear down. */
#include "runner.h"
#include "../nl/nftportmap.h"
#include "capture.h"
#include "meter.h"
#include "prober.h"
#include "../expect/topology.h"
#include "../fault/fault.h"
#include "../impair/impair.h"
#include "../topo/build.h"
#include "../topo/cleanup.h"
#include "../../lib/util/timeutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Everything one scenario holds while it runs. */
struct step {
	const struct scenario *sc;
	const struct runner_opts *o;
	const char *dir;
	struct scenario_result *res;
	const struct lifecycle *lc;
	struct topo_net net;
	struct instance inst;
	struct meter meter;
	struct tool_ctx tc;
	struct prober probe;
	struct capture *cap[2];
	struct wg_seen seen;           /* WireGuard handshakes in the captures */
	int handshakes0;               /* responses seen before the lifecycle event */
	struct verdict verdict;
	bool inst_up, tool_up;
	uint64_t d0, r0;               /* counters at the last window's end */
	uint64_t dsum0, rsum0;         /* and when the tool was up */
	uint64_t carry_d, carry_r;     /* counted before the counters were placed again (a host roamed) */
	uint64_t d6_0, carry_d6;       /* the same for direct bytes over IPv6 */
	double deadline, next_probe, next_window, said_check;
	bool said_settled;
	double resume_at;              /* after a lifecycle event: probing again from */
	bool left_direct;              /* after it: the path left direct */
	bool asleep;                   /* LC_SLEEP: a's processes are stopped */
	enum path last_path;           /* after it: the last window's path that said one */
	/* Time to direct to the packet: the direct and relay packets counted
	 * (meter_read_packets) when each probe went out, by its number. */
	struct { uint32_t seq; uint64_t direct, relay; } at_send[256];
	bool per_packet;               /* the meter passes on each packet (else: windows alone) */
	double direct_reply_at;        /* the first reply that came the direct way, from t0 (-1: none yet) */
};

/* The tunnel's bytes between a and b where they meet, and at the relay;
 * direct6 (NULL: not read, as in each window): of the direct ones, those
 * over IPv6. */
static void read_counters(const struct step *s, uint64_t *direct, uint64_t *relay, uint64_t *direct6)
{
	if (meter_read(&s->meter, "a", "b", direct, relay))
		*direct = *relay = 0;
	if (direct6 && meter_read6(&s->meter, "a", "b", direct6))
		*direct6 = 0;
}

/* The topology with the scenario's models (in the topology's order of
 * parameters, A first, then B), the lifecycle's impaired link, and what
 * `punchlab expect` says of the pair. */
static int resolve(struct step *s, char *params, size_t plen)
{
	struct scenario_result *res = s->res;
	struct expect_result ex, v4;
	int ret;

	if ((ret = runner_resolve(s->sc, &s->net, params, plen, res->error, sizeof(res->error))))
		return ret;
	if (s->lc && s->lc->link_node[0]) {
		int k = topo_find_node(&s->net.topo, s->lc->link_node);
		if (k < 0 || impair_parse(s->lc->link_spec, &s->net.topo.nodes[k].impair, res->error, sizeof(res->error)))
			return -EINVAL;
	}
	if (expect_topology_both(&s->net, "a", "b", s->o->tcp, &ex, &v4, NULL) == 0) {
		res->expected_direct = ex.direct;
		res->expected_ipv6_only = ex.direct && !v4.direct;
		snprintf(res->expected_technique, sizeof(res->expected_technique), "%s", expect_technique_name(ex.technique));
		snprintf(res->expected_reason, sizeof(res->expected_reason), "%s", ex.why);
	}
	return 0;
}

/* The lab instance up, its counters, captures and the prober's ends. */
static int set_up(struct step *s)
{
	struct scenario_result *res = s->res;
	char params[1000] = "";
	int ret;

	if ((ret = resolve(s, params, sizeof(params))))
		return ret;
	if ((ret = instance_create(&s->inst, s->sc->topology, params))) {
		snprintf(res->error, sizeof(res->error), "cannot create a lab instance: %s", strerror(-ret));
		return ret;
	}
	s->inst_up = true;
	cleanup_watch_instance(s->inst.id);
	if ((ret = topo_build(&s->net, &s->inst, res->error, sizeof(res->error))))
		return ret;
	/* Each probe's packets where they cross, if the kernel logs them;
	 * else time to direct is known to a window. */
	s->per_packet = meter_install(&s->meter, &s->net, &s->inst, (const char *const[]){ "a", "b" }, 2, PROBER_WIRE_MIN,
				      res->error, sizeof(res->error)) == 0;
	if (!s->per_packet) {
		meter_close(&s->meter);
		res->error[0] = '\0';
		if ((ret = meter_install(&s->meter, &s->net, &s->inst, (const char *const[]){ "a", "b" }, 2, 0, res->error,
					 sizeof(res->error))))
			return ret;
	}
	mkdir(s->dir, 0755);
	/* Packets where the relay sits and where the sites meet: kept with
	 * the logs when the scenario fails. */
	for (int i = 0; i < 2; i++) {
		char file[600], cerr[200];
		const char *where = i ? s->meter.pairs[0].ns : s->meter.relay_ns;
		if (i && !strcmp(s->meter.pairs[0].ns, s->meter.relay_ns))
			break;
		snprintf(file, sizeof(file), "%s/%s.pcap", s->dir, where);
		if (!(s->cap[i] = capture_start(where, file, &s->seen, cerr, sizeof(cerr))))
			snprintf(res->error, sizeof(res->error), "(no capture: %s) ", cerr);
	}
	return prober_open(&s->probe, &s->inst, res->error, sizeof(res->error));
}

static int start_tool(struct step *s)
{
	int ret;

	s->tc.ad = s->o->adapter;
	s->tc.inst = &s->inst;
	s->tc.net = &s->net;
	if ((size_t)snprintf(s->tc.dir, sizeof(s->tc.dir), "%s", s->dir) >= sizeof(s->tc.dir)) {
		snprintf(s->res->error, sizeof(s->res->error), "the scenario's folder's name is too long (--output)");
		return -ENAMETOOLONG;
	}
	s->tool_up = true;
	if ((ret = tool_start(&s->tc, s->o->timeout_s * 1000, s->res->error, sizeof(s->res->error))))
		return ret;
	s->res->ran = true;
	/* Time counts from the later of a's and b's start lines. */
	s->next_probe = s->next_window = time_now_s();
	s->probe.t0 = tool_started_at(&s->tc);
	s->deadline = s->probe.t0 + s->o->timeout_s;
	read_counters(s, &s->dsum0, &s->rsum0, &s->d6_0);
	s->d0 = s->dsum0;
	s->r0 = s->rsum0;
	return 0;
}

/* Both captures: what has arrived written, handshakes counted. */
static void poll_captures(struct step *s)
{
	capture_poll(s->cap[0]);
	capture_poll(s->cap[1]);
}

/* Packet by packet no more (the first direct reply came, or the kernel
 * lost some): the routers stop logging, windows alone from here. */
static void per_packet_done(struct step *s)
{
	meter_close(&s->meter);
	s->per_packet = false;
}

/* A host moved to another segment (fault roam): where a and b meet, and
 * so where their direct bytes are counted, moved with it. What was
 * counted so far is carried over. */
static void meter_follow_roam(struct step *s)
{
	uint64_t d, r, d6;

	topo_net_apply_roams(&s->net, &s->inst);
	read_counters(s, &d, &r, &d6);
	s->carry_d += d - s->dsum0;
	s->carry_r += r - s->rsum0;
	if (d6 >= s->d6_0)
		s->carry_d6 += d6 - s->d6_0;
	/* Placed again from zero (or, if that failed, reading zero): no
	 * window may take a difference across the two. Packet by packet no
	 * more: the counts start again. */
	per_packet_done(s);
	meter_install(&s->meter, &s->net, &s->inst, (const char *const[]){ "a", "b" }, 2, 0, s->res->error,
		      sizeof(s->res->error));
	s->dsum0 = s->rsum0 = s->d0 = s->r0 = s->d6_0 = 0;
}

/* The scenario's event, once the pair has settled (or at once, if early):
 * from then on the tunnel is watched for the lifecycle's after_s. */
static void lifecycle_event(struct step *s, double now)
{
	struct lifecycle_result *lr = &s->res->lc;
	char ferr[256] = "";
	int quiet_s = s->lc->quiet_s, after_s = s->lc->after_s;

	if (s->o->duration_s && s->lc->duration == LC_DUR_WATCH)
		after_s = s->o->duration_s;
	else if (s->o->duration_s && s->lc->duration == LC_DUR_SILENCE)
		quiet_s = s->o->duration_s;
	lr->happened = true;
	lr->event_at_s = now - s->probe.t0;
	lr->quiet_s = quiet_s;
	lr->watch_s = after_s;
	s->resume_at = now + quiet_s;
	s->last_path = s->res->path;
	lr->relay_s = lr->direct_s = -1;
	lr->first_reply_s = -1;
	s->left_direct = s->res->path != PATH_DIRECT;
	if (s->lc->kind == LC_FAULT)
		fault_apply(&s->inst, s->lc->fault_kind, s->lc->fault_target, s->lc->fault_arg[0] ? s->lc->fault_arg : NULL,
			    ferr, sizeof(ferr));
	else if (s->lc->kind == LC_KILL_RELAY)   /* the relay host crashes: whatever the tool runs there */
		fault_apply(&s->inst, "kill", "introducer", NULL, ferr, sizeof(ferr));
	else if (s->lc->kind == LC_SLEEP)
		s->asleep = fault_apply(&s->inst, "sleep", "a", NULL, ferr, sizeof(ferr)) == 0;
	if (ferr[0])
		snprintf(s->res->error, sizeof(s->res->error), "%s", ferr);
	else if (s->lc->kind == LC_FAULT && !strcmp(s->lc->fault_kind, "roam"))
		meter_follow_roam(s);
	if (s->lc->probe_ip_bytes && prober_set_size(&s->probe, s->lc->probe_ip_bytes) && !ferr[0])
		snprintf(s->res->error, sizeof(s->res->error), "cannot send probes of %d bytes", s->lc->probe_ip_bytes);
	prober_mark(&s->probe);
	poll_captures(s);
	s->handshakes0 = s->seen.responses;
	s->deadline = s->resume_at + after_s;
}

/* One window ends: its path, what the tool says, whether the verdict is
 * settled; after an event, when the path left and came back. Returns
 * settled. */
static bool window(struct step *s, double now)
{
	struct scenario_result *res = s->res;
	struct lifecycle_result *lr = &res->lc;
	bool answered = s->probe.last_reply > now - 2.0 * VERDICT_WINDOW_MS / 1000.0, settled;
	uint64_t d1, r1;

	read_counters(s, &d1, &r1, NULL);
	verdict_window(&s->verdict, answered, d1 - s->d0, r1 - s->r0, now - s->probe.t0);
	s->d0 = d1;
	s->r0 = r1;
	res->path = s->verdict.path;
	/* The first reply that came the direct way, once the windows agree
	 * the path went direct. */
	res->time_to_direct_s = s->verdict.time_to_direct_s;
	if (res->time_to_direct_s >= 0 && s->direct_reply_at >= 0 && s->direct_reply_at < res->time_to_direct_s)
		res->time_to_direct_s = s->direct_reply_at;
	if (!s->asleep && now >= s->said_check) {   /* a sleeping tool answers nothing */
		tool_said_path(&s->tc, &res->tool_said_path, &s->said_settled);
		s->said_check = now + 0.5;
	}
	settled = verdict_steady(&s->verdict, PATH_DIRECT) ||
		  (verdict_steady(&s->verdict, PATH_RELAY) && s->said_settled && res->tool_said_path == PATH_RELAY);
	if (lr->happened && now >= s->resume_at) {
		/* After the event: the first relayed window, and the path
		 * coming back. */
		bool direct_now = res->path == PATH_DIRECT && s->verdict.direct_windows > 0;
		if (s->verdict.relay_windows > 0 && lr->relay_s < 0)
			lr->relay_s = now - s->resume_at;
		/* every change of path, as the routers saw it */
		if (res->path != PATH_NONE && res->path != s->last_path) {
			if (s->last_path != PATH_NONE && lr->path_changes++ < LC_MAX_CHANGES)
				lr->changes[lr->n_changes++] = (struct lc_change){ now - s->resume_at, res->path };
			s->last_path = res->path;
		}
		if (!direct_now)
			s->left_direct = true;
		else if (s->left_direct && lr->direct_s < 0)
			lr->direct_s = now - s->resume_at;
	}
	if (s->lc && !lr->happened && (settled || s->lc->early)) {
		lifecycle_event(s, now);
		return false;
	}
	return settled && !lr->happened;   /* after an event: watch for the whole of after_s */
}

/* LC_SLEEP's end: a's processes go on where they stopped. */
static void wake(struct step *s)
{
	char ferr[256] = "";

	if (fault_apply(&s->inst, "wake", "a", NULL, ferr, sizeof(ferr)))
		snprintf(s->res->error, sizeof(s->res->error), "%s", ferr);
	s->asleep = false;
}

/* Probes go fast until one came back the direct way (before any event),
 * for at most PROBER_FAST_S. */
static bool fast(const struct step *s, double now)
{
	return s->per_packet && !s->res->lc.happened && now - s->probe.t0 < PROBER_FAST_S;
}

/* One probe, through the tunnel to b's echo or into the tool on a, and
 * what the per-packet counts were as it left. */
static void send_probe(struct step *s)
{
	uint64_t d = 0, r = 0;
	uint32_t seq;

	if (s->per_packet && meter_read_packets(&s->meter, &d, &r) == -ENOBUFS)
		per_packet_done(s);   /* counts lost */
	if (s->tc.port_a)
		seq = prober_send(&s->probe, s->tc.addr_a, s->tc.port_a);
	else
		seq = prober_send(&s->probe, s->tc.addr_b, PROBER_PORT);
	s->at_send[seq % 256].seq = seq;
	s->at_send[seq % 256].direct = d;
	s->at_send[seq % 256].relay = r;
	s->res->probes_sent++;
	if (s->res->lc.happened)
		s->res->lc.sent_after++;
}

/* The replies the prober just read: the first whose probe and echo both
 * crossed the direct counter, and nothing of their size crossed the
 * relay's in between, is when the path went direct. */
static void stamp_replies(struct step *s)
{
	uint64_t d, r;

	if (!s->per_packet || !s->probe.n_got)
		return;
	if (meter_read_packets(&s->meter, &d, &r) == -ENOBUFS) {
		per_packet_done(s);
		return;
	}
	for (int i = 0; i < s->probe.n_got; i++) {
		const struct prober_reply *g = &s->probe.got[i];
		if (s->at_send[g->seq % 256].seq != g->seq || g->at < s->probe.t0)
			continue;
		if (d - s->at_send[g->seq % 256].direct >= 2 && r == s->at_send[g->seq % 256].relay) {
			s->direct_reply_at = g->at - s->probe.t0;
			per_packet_done(s);   /* no probe's packets need logging after this */
			return;
		}
	}
}

/* Probe every PROBER_EVERY_MS (not while a lifecycle's silence lasts),
 * judge every window, until settled or the deadline. */
static void watch(struct step *s)
{
	struct lifecycle_result *lr = &s->res->lc;
	bool settled = false;
	int wait_ms;

	while (!settled && time_now_s() < s->deadline) {
		double now = time_now_s();
		if (s->asleep && now >= s->resume_at)
			wake(s);
		if (now >= s->next_probe) {
			if (!lr->happened || now >= s->resume_at)
				send_probe(s);
			s->next_probe += (fast(s, now) ? PROBER_FAST_MS : PROBER_EVERY_MS) / 1000.0;
			if (s->next_probe < now)   /* behind (a slow verb): no burst to catch up */
				s->next_probe = now;
		}
		if (now >= s->next_window) {
			settled = window(s, now);
			s->next_window = now + VERDICT_WINDOW_MS / 1000.0;
		}
		wait_ms = (int)((s->next_probe - time_now_s()) * 1000.0 + 0.999);
		prober_poll(&s->probe, wait_ms < 0 ? 0 : wait_ms > 10 ? 10 : wait_ms);
		stamp_replies(s);
		poll_captures(s);
	}
}

/* What each router that maps ports on request holds now, while the tool
 * still runs (it may remove its mappings when it stops). */
static void read_portmaps(struct step *s)
{
	struct scenario_result *res = s->res;

	res->n_portmaps = 0;
	for (int i = 0; i < s->net.topo.n_nodes && res->n_portmaps < RUN_MAX_PORTMAPS; i++) {
		const struct topo_net_node *n = &s->net.nodes[i];
		struct run_portmap *pm = &res->portmaps[res->n_portmaps];
		struct nft_portmap_granted g;
		char ns[64];
		if (!n->router || !n->has_model || !n->model.portmap)
			continue;
		instance_netns_name(s->inst.id, n->name, ns, sizeof(ns));
		if (nft_portmap_granted(ns, &g))
			continue;
		snprintf(pm->router, sizeof(pm->router), "%s", n->name);
		pm->offers = n->model.portmap;
		pm->granted = g.count;
		pm->by = g.protocols;
		res->n_portmaps++;
	}
}

/* The last replies, bytes, what the tool says, the third peer's pairs and
 * the RTT on the path it settled on. */
static void sum_up(struct step *s)
{
	struct scenario_result *res = s->res;
	struct lifecycle_result *lr = &res->lc;
	struct prober *p = &s->probe;
	uint64_t d1, r1, d6;

	prober_poll(p, 200);
	read_portmaps(s);
	read_counters(s, &d1, &r1, &d6);
	res->direct_bytes = d1 - s->dsum0 + s->carry_d;
	res->relay_bytes = r1 - s->rsum0 + s->carry_r;
	if (d6 >= s->d6_0)
		res->direct_bytes_ipv6 = d6 - s->d6_0 + s->carry_d6;
	tool_said_path(&s->tc, &res->tool_said_path, &s->said_settled);
	res->time_to_first_reply_s = p->first_reply;
	if (lr->happened) {
		lr->lost_after = lr->sent_after - p->answered_from;
		lr->first_reply_s = p->first_from < 0 ? -1 : p->first_from - s->resume_at;
		if (!s->left_direct && res->path == PATH_DIRECT)
			lr->direct_s = 0;
		lr->path_after = res->path;
		poll_captures(s);
		lr->handshakes = s->seen.responses - s->handshakes0;
	}
	res->probes_answered = p->n_samples;
	res->connected = p->n_samples > 0 && p->last_reply > time_now_s() - 1.5;
	if (topo_find_node(&s->net.topo, "c") >= 0) {
		/* a-b is the probed pair; a-c and b-c are checked now. */
		int more = 0, ok = 0;
		/* a tool without a tunnel carries a's datagrams to b only */
		bool c_reached = s->tc.addr_c && !s->tc.port_c && !s->tc.port_a;
		if (c_reached)
			more = prober_pairs_with_c(p, &s->inst, s->tc.addr_c, &ok);
		lr->pairs = 1 + (c_reached ? more : 2);
		lr->pairs_connected = ok + res->connected;
	}
	if (!res->connected)
		res->path = PATH_NONE;
	/* After the direct path came, if it did. */
	prober_rtt(p, res->time_to_direct_s, &res->rtt_p50, &res->rtt_p90, &res->rtt_p99);
	/* and from the tool's own start, where it can say */
	double reg;
	if (res->time_to_direct_s >= 0 && tool_registered_at(&s->tc, &reg) == 0 && reg <= p->t0 + res->time_to_direct_s)
		res->time_to_direct_reg_s = p->t0 + res->time_to_direct_s - reg;
}

/* Everything down, unless a failed scenario is to be kept. */
static void tear_down(struct step *s)
{
	if (s->asleep)
		wake(s);   /* a run cut short: nothing left stopped */
	prober_close(&s->probe);
	capture_stop(s->cap[0]);
	capture_stop(s->cap[1]);
	if (!s->inst_up)
		return;
	if (!runner_as_expected(s->res) && s->o->keep_failed && instance_detach(&s->inst) == 0) {
		snprintf(s->res->kept_run, sizeof(s->res->kept_run), "%s", s->inst.id);
	} else {
		if (s->tool_up)
			tool_stop(&s->tc);
		instance_destroy(s->inst.id);
	}
	cleanup_forget_instance(s->inst.id);
}

void runner_scenario(const struct scenario *sc, const struct runner_opts *o, const char *scenario_dir,
		     struct scenario_result *res)
{
	struct step *s = calloc(1, sizeof(*s));
	double start = time_now_s();

	memset(res, 0, sizeof(*res));
	res->sc = *sc;
	res->time_to_first_reply_s = res->time_to_direct_s = res->time_to_direct_reg_s = -1;
	res->rtt_p50 = res->rtt_p90 = res->rtt_p99 = -1;
	res->path = PATH_NONE;
	if (!s) {
		snprintf(res->error, sizeof(res->error), "out of memory");
		return;
	}
	s->sc = sc;
	s->o = o;
	s->dir = scenario_dir;
	s->res = res;
	s->lc = sc->lifecycle[0] ? runner_lifecycle_find(sc->lifecycle) : NULL;
	s->probe.fd_a = s->probe.fd_b = -1;
	s->direct_reply_at = -1;
	verdict_init(&s->verdict);
	snprintf(res->tool_version, sizeof(res->tool_version), "%s", o->tool_version);
	if (!o->adapter) {
		snprintf(res->error, sizeof(res->error), "unknown tool %s", sc->tool);
	} else if (set_up(s) == 0 && start_tool(s) == 0) {
		watch(s);
		sum_up(s);
	}
	tear_down(s);
	meter_close(&s->meter);
	res->wall_s = time_now_s() - start;
	free(s);
}
