#include "natcheck.h"
#include "../stun/server.h"
#include "../../lib/nl/rtnl.h"
#include "../topo/build.h"
#include "../topo/instance.h"
#include "../topo/topo.h"
#include "../topo/cleanup.h"
#include "../../lib/util/log.h"
#include "../../lib/util/netns.h"
#include "../../lib/util/proc.h"
#include "../../lib/util/text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void add_detail(char *detail, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add_detail(char *detail, size_t len, const char *fmt, ...)
{
	size_t off = strlen(detail);
	va_list ap;

	if (off && off + 2 < len) {
		memcpy(detail + off, "; ", 3);
		off += 2;
	}
	va_start(ap, fmt);
	vsnprintf(detail + off, len - off, fmt, ap);
	va_end(ap);
}

bool natcheck_compare(const struct nat_model *d, const struct nat_measured *m, bool timeouts, char *detail,
		      size_t len)
{
	detail[0] = '\0';
	if (d->no_ipv4) {
		if (m->udp)
			add_detail(detail, len, "ipv4: declared none, but UDP got through over IPv4");
		return !detail[0];
	}
	if (d->udp_blocked) {
		if (m->udp)
			add_detail(detail, len, "udp: declared block, but UDP got through");
		return !detail[0];
	}
	if (!m->udp) {
		add_detail(detail, len, "udp: no answer over UDP");
		return false;
	}
	if (!d->translate) {
		if (m->translated)
			add_detail(detail, len, "nat: declared none, but the address was translated");
		if (m->filtering != NAT_ENDPOINT_INDEPENDENT)
			add_detail(detail, len, "filtering: a host without NAT should be reachable from anyone");
		return !detail[0];
	}
	if (!m->translated)
		add_detail(detail, len, "nat: declared napt, but the address was not translated");
	if (m->mapping != (int)d->mapping)
		add_detail(detail, len, "mapping: declared %s, measured %s", nat_dependence_name(d->mapping),
			   m->mapping < 0 ? "unknown" : nat_dependence_name((enum nat_dependence)m->mapping));
	if (m->filtering != (int)d->filtering)
		add_detail(detail, len, "filtering: declared %s, measured %s", nat_dependence_name(d->filtering),
			   m->filtering < 0 ? "unknown" : nat_dependence_name((enum nat_dependence)m->filtering));
	if (m->ports != (int)d->ports)
		add_detail(detail, len, "ports: declared %s, measured %s", nat_ports_name(d->ports),
			   m->ports < 0 ? "unknown" : nat_ports_name((enum nat_ports)m->ports));
	else if (d->ports == NAT_PORTS_SEQUENTIAL && m->port_step != 1)
		add_detail(detail, len, "ports: sequential with step %+d, expected +1", m->port_step);
	if (m->hairpin != (int)d->hairpin)
		add_detail(detail, len, "hairpin: declared %s, measured %s", d->hairpin ? "yes" : "no",
			   m->hairpin < 0 ? "unknown" : m->hairpin ? "yes" : "no");
	else if (d->hairpin && !m->hairpin_external)
		add_detail(detail, len, "hairpin: packets arrive from the internal address, not the mapping (RFC 4787 REQ-9)");
	/* Only an endpoint-independent mapping can show it; elsewhere n/a. */
	if (m->unsolicited != PROBE_UNKNOWN && m->unsolicited != (int)d->unsolicited)
		add_detail(detail, len, "unsolicited: declared %s, measured %s", nat_unsolicited_name(d->unsolicited),
			   nat_unsolicited_name((enum nat_unsolicited)m->unsolicited));
	if (timeouts) {
		int t = (int)d->udp_timeout;
		if (m->lifetime_alive >= t || m->lifetime_alive < 0 || (m->lifetime_dead >= 0 && m->lifetime_dead < t) ||
		    m->lifetime_dead < 0)
			add_detail(detail, len, "udp-timeout: declared %d s, mapping alive at %d s, gone at %d s", t,
				   m->lifetime_alive, m->lifetime_dead);
	}
	return !detail[0];
}

bool natcheck_compare_ipv6(const struct nat_model *d, const struct nat_measured *m, char *detail, size_t len)
{
	const enum nat_ipv6 kind = d->ipv6;
	struct nat_model v6;
	size_t before = strlen(detail);

	if (!nat_model_ipv6_view(d, &v6))
		return true;
	if (d->udp_blocked) {
		if (m->udp)
			add_detail(detail, len, "ipv6: declared udp = block, but UDP got through");
		return strlen(detail) == before;
	}
	if (!m->udp) {
		add_detail(detail, len, "ipv6: no answer over IPv6");
		return false;
	}
	if (kind == NAT_IPV6_FIREWALL && m->translated)
		add_detail(detail, len, "ipv6: declared firewall, but the address was translated");
	if (kind != NAT_IPV6_FIREWALL && !m->translated)
		add_detail(detail, len, "ipv6: declared %s, but the address was not translated", nat_ipv6_name(kind));
	if (kind == NAT_IPV6_NPTV6 && (memcmp(m->local.addr6 + 8, m->mapped.addr6 + 8, 8) || m->local.port != m->mapped.port))
		add_detail(detail, len, "ipv6: declared nptv6, but the host part or the port changed");
	if (m->mapping != (int)v6.mapping)
		add_detail(detail, len, "ipv6 mapping: declared %s, measured %s", nat_dependence_name(v6.mapping),
			   m->mapping < 0 ? "unknown" : nat_dependence_name((enum nat_dependence)m->mapping));
	if (m->filtering != (int)v6.filtering)
		add_detail(detail, len, "ipv6 filtering: declared %s, measured %s", nat_dependence_name(v6.filtering),
			   m->filtering < 0 ? "unknown" : nat_dependence_name((enum nat_dependence)m->filtering));
	if (m->unsolicited != PROBE_UNKNOWN && m->unsolicited != (int)v6.unsolicited)
		add_detail(detail, len, "ipv6 unsolicited: declared %s, measured %s", nat_unsolicited_name(v6.unsolicited),
			   nat_unsolicited_name((enum nat_unsolicited)m->unsolicited));
	return strlen(detail) == before;
}

bool natcheck_compare_portmap(unsigned declared, const struct pmap_measured *m, char *detail, size_t len)
{
	char d[32], g[32];

	if (declared == m->offered)
		return true;
	add_detail(detail, len, "portmap: declared %s, granted by %s", nat_portmap_name(declared, d, sizeof(d)),
		   nat_portmap_name(m->offered, g, sizeof(g)));
	return false;
}

/* The client asks its router for a mapping by each protocol. */
#define PORTMAP_PROBE_PORT 45000   /* the client's ports asked for (45000-45002) */
struct portmap_arg {
	uint32_t gateway, host;
	const char *ifname;
	struct pmap_measured *out;
};

static int portmap_in(void *p)
{
	struct portmap_arg *a = p;

	pmap_measure(a->gateway, a->host, a->ifname, PORTMAP_PROBE_PORT, a->out);
	return 0;
}

struct probe_arg {
	struct stun_probe_cfg cfg;
	int out_fd;
};

static int probe_main(void *p)
{
	struct probe_arg *a = p;
	struct nat_measured m;
	int ret = stun_probe_run(&a->cfg, &m);

	if (ret == 0 && write(a->out_fd, &m, sizeof(m)) != (ssize_t)sizeof(m))
		ret = -EIO;
	return ret;
}

/* Fork into the client's namespace, probe, bring the result back. */
static int probe_in(const char *netns, const struct stun_probe_cfg *cfg, struct nat_measured *m)
{
	struct probe_arg a = { *cfg, -1 };
	int fds[2], ret, code;
	ssize_t got;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	a.out_fd = fds[1];
	ret = proc_fork_call(netns, probe_main, &a, &pid);
	close(fds[1]);
	if (ret) {
		close(fds[0]);
		return ret;
	}
	got = read(fds[0], m, sizeof(*m));
	close(fds[0]);
	proc_wait(pid, &code);
	return got == (ssize_t)sizeof(*m) && code == 0 ? 0 : -EIO;
}

/* Give the router's interface OLD the name NEW (down, renamed, up) and put
 * back the routes going down took with it. */
static int rename_iface(const char *ns, const struct topo_net_node *node, const char *old, const char *new_name,
			char *detail, size_t len)
{
	int ret;

	if ((ret = rtnl_link_down(ns, old)) || (ret = rtnl_link_rename(ns, old, new_name)) ||
	    (ret = rtnl_link_up(ns, new_name))) {
		snprintf(detail, len, "cannot rename the router's %s to %s: %s", old, new_name, strerror(-ret));
		return ret;
	}
	for (int i = 0; i < node->n_routes; i++) {
		ret = rtnl_route_add(ns, node->routes[i].dst, node->routes[i].plen, node->routes[i].gw);
		if (ret && ret != -EEXIST) {
			snprintf(detail, len, "cannot restore the router's routes after renaming %s: %s", old, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* A person's own router set-up on the bare router: their ruleset loaded
 * as they would load it, or their command (a script that returns, or a
 * NAT program that keeps running until the check is over). */
static int router_setup(struct instance *r, const struct natcheck_opts *o, pid_t *daemon, char *detail, size_t len)
{
	char ns[64];
	int devnull, ret = 0, code = 0;

	instance_netns_name(r->id, "nat", ns, sizeof(ns));
	if (o->ruleset) {
		char *argv[] = { "nft", "-f", (char *)o->ruleset, NULL };

		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		ret = proc_run(ns, argv, devnull, -1);
		if (devnull >= 0)
			close(devnull);
		if (ret) {
			snprintf(detail, len, "nft -f %s failed in the router (its errors are above)", o->ruleset);
			return -EINVAL;
		}
	}
	if (o->router_cmd) {
		char *argv[] = { "sh", "-c", (char *)o->router_cmd, NULL };
		pid_t pid;

		if ((ret = proc_spawn(ns, argv, -1, -1, &pid))) {
			snprintf(detail, len, "cannot start sh -c '%s' in the router: %s", o->router_cmd, strerror(-ret));
			return ret;
		}
		instance_note_pid(r, pid);
		ret = proc_wait_timeout(pid, 3000, &code);
		if (ret == -ETIMEDOUT) {
			*daemon = pid; /* a NAT program: it runs until the end */
			return 0;
		}
		if (ret || code) {
			snprintf(detail, len, "the router command '%s' exited with status %d (its errors are above)",
				 o->router_cmd, code);
			return -EINVAL;
		}
	}
	return 0;
}

uint32_t natcheck_gateway(const struct topo_net *net)
{
	const struct topo_net_node *router = &net->nodes[topo_find_node(&net->topo, "nat")];

	for (int f = 0; f < router->n_ifaces; f++)
		if (router->ifaces[f].bridge)
			return router->ifaces[f].addrs[0];
	return 0;
}

void natcheck_run(const char *model, const struct natcheck_opts *o, struct natcheck_result *res)
{
	struct topo t;
	struct topo_net *net = calloc(1, sizeof(*net));
	char assign[TOPO_MODEL_REF_MAX + 4], *assigns[1] = { assign }, ns[64];
	struct stun_probe_cfg cfg = { .port = 3478, .timeout_ms = 250, .tries = 3 };
	bool custom = o->ruleset || o->router_cmd, timeouts = false;
	const char *wan = o->iface_wan ? o->iface_wan : "wan";
	struct instance r;
	pid_t server = -1, daemon = -1;
	int ret, router;

	if (custom && !model)
		model = "open"; /* the bare router, theirs to set up */
	memset(res, 0, sizeof(*res));
	snprintf(res->model, sizeof(res->model), "%s", model);
	snprintf(assign, sizeof(assign), "M=%s", model);
	if (!net) {
		res->error = -ENOMEM;
		return;
	}
	if ((ret = topo_load("nat-probe", &t, res->detail, sizeof(res->detail))) ||
	    (ret = topo_resolve(&t, 1, assigns, net, res->detail, sizeof(res->detail)))) {
		res->error = ret;
		free(net);
		return;
	}
	router = topo_find_node(&t, "nat");
	res->declared = net->nodes[router].model;
	snprintf(res->model, sizeof(res->model), "%s", res->declared.name);
	if ((ret = instance_create(&r, "nat-probe", assign))) {
		res->error = ret;
		snprintf(res->detail, sizeof(res->detail), "cannot create a run: %s", strerror(-ret));
		free(net);
		return;
	}
	cleanup_watch_instance(r.id);
	if ((ret = topo_build(net, &r, res->detail, sizeof(res->detail))))
		goto out;
	instance_netns_name(r.id, "nat", ns, sizeof(ns));
	if ((o->iface_wan && (ret = rename_iface(ns, &net->nodes[router], "wan", o->iface_wan, res->detail,
						 sizeof(res->detail)))) ||
	    (o->iface_lan && (ret = rename_iface(ns, &net->nodes[router], "site", o->iface_lan, res->detail,
						 sizeof(res->detail)))))
		goto out;
	if (custom) {
		if ((ret = router_setup(&r, o, &daemon, res->detail, sizeof(res->detail))))
			goto out;
		if (strcmp(model, "open"))
			snprintf(res->model, sizeof(res->model), "%s + %s", model, o->ruleset ? o->ruleset : o->router_cmd);
		else
			snprintf(res->model, sizeof(res->model), "%s", o->ruleset ? o->ruleset : o->router_cmd);
	}
	instance_netns_name(r.id, "stun", ns, sizeof(ns));
	{
		/* IPv4, and IPv6 where the model has it: the stun host's two
		 * addresses of each family. */
		struct stun_server_cfg sc = { topo_net_addr(net, "stun", 0), topo_net_addr(net, "stun", 1), 3478, 3479, -1,
					      false, false, { 0 }, { 0 } };
		const struct topo_iface *si = &net->nodes[topo_find_node(&t, "stun")].ifaces[0];
		if (si->n_addrs6 >= 2) {
			sc.has6 = true;
			memcpy(sc.primary6, si->addrs6[0], 16);
			memcpy(sc.alternate6, si->addrs6[1], 16);
		}
		if ((ret = stun_server_spawn_cfg(ns, &sc, -1, &server))) {
			snprintf(res->detail, sizeof(res->detail), "the STUN server did not start in %s", ns);
			goto out;
		}
		memcpy(cfg.server6, sc.primary6, 16);
	}
	instance_note_pid(&r, server);
	cfg.server = topo_net_addr(net, "stun", 0);
	for (int i = 0; i < o->n_points && cfg.n_points < PROBE_MAX_POINTS; i++)
		cfg.points[cfg.n_points++] = o->points[i];
	timeouts = o->n_points < 0; /* natcheck_model: around the declared timeout */
	if (timeouts) {
		unsigned tmo = res->declared.udp_timeout;
		/* Alive at three quarters of it (a probe late by seconds on a
		 * loaded machine still finds a mapping that lives as declared),
		 * gone 10 s after it. */
		cfg.n_points = 0;
		cfg.points[cfg.n_points++] = tmo * 3 / 4;
		cfg.points[cfg.n_points++] = tmo + 10;
	}
	res->timeouts = timeouts;
	instance_netns_name(r.id, "client", ns, sizeof(ns));
	if ((ret = probe_in(ns, &cfg, &res->measured))) {
		snprintf(res->detail, sizeof(res->detail), "the probe failed in %s", ns);
		goto out;
	}
	res->match = natcheck_compare(&res->declared, &res->measured, timeouts, res->detail, sizeof(res->detail));
	if (res->declared.ipv6) {
		struct stun_probe_cfg c6 = cfg;
		c6.v6 = true;
		c6.n_points = 0;   /* the lifetime is conntrack's, shared with IPv4 */
		if ((ret = probe_in(ns, &c6, &res->measured6))) {
			snprintf(res->detail, sizeof(res->detail), "the IPv6 probe failed in %s", ns);
			goto out;
		}
		res->match &= natcheck_compare_ipv6(&res->declared, &res->measured6, res->detail, sizeof(res->detail));
	}
	{
		int client = topo_find_node(&t, "client");
		struct portmap_arg pa = { 0, topo_net_addr(net, "client", 0), net->nodes[client].ifaces[0].ifname,
					  &res->portmap };
		pa.gateway = natcheck_gateway(net);
		/* Port mapping is IPv4's: a site without IPv4 is not asked. */
		if (pa.host && pa.gateway && (ret = netns_call(ns, portmap_in, &pa))) {
			snprintf(res->detail, sizeof(res->detail), "asking the router for a port mapping failed in %s", ns);
			goto out;
		}
		res->match &= natcheck_compare_portmap(res->declared.translate ? res->declared.portmap : 0, &res->portmap,
						       res->detail, sizeof(res->detail));
	}
	if (o->extra && (ret = o->extra(r.id, net, wan, o->ctx)))
		snprintf(res->detail, sizeof(res->detail), "the tests with the lab up failed: %s", strerror(-ret));
out:
	res->error = ret;
	if (server > 0)
		proc_stop(server, 1000);
	if (daemon > 0)
		proc_stop(daemon, 1000);
	instance_destroy(r.id);
	cleanup_forget_instance(r.id);
	free(net);
}

void natcheck_model(const char *model, bool timeouts, struct natcheck_result *res)
{
	struct natcheck_opts o = { .n_points = timeouts ? -1 : 0 };

	natcheck_run(model, &o, res);
}

struct all_ctx {
	char *const *models;
	bool timeouts;
};

static void check_one(int i, void *out, void *ctx)
{
	struct all_ctx *a = ctx;

	natcheck_model(a->models[i], a->timeouts, out);
}

void natcheck_all(char *const models[], int n, int jobs, bool timeouts, struct natcheck_result *res)
{
	struct all_ctx a = { models, timeouts };
	bool failed[64];

	if (n > 64)
		n = 64;
	proc_pool(n, jobs, sizeof(*res), res, failed, check_one, NULL, &a);
	for (int i = 0; i < n; i++)
		if (failed[i]) {
			snprintf(res[i].model, sizeof(res[i].model), "%s", models[i]);
			res[i].error = -EIO;
			snprintf(res[i].detail, sizeof(res[i].detail), "the worker checking %s died", models[i]);
		}
}

static const char *short_dep(int v)
{
	static const char *const s[] = { "EI", "AD", "APD" };

	return v < 0 ? "-" : s[v];
}

static void row(const char *model, const char *what, const char *nat, const char *udp, const char *mapping,
		const char *filtering, const char *ports, const char *hairpin, const char *unsol, const char *life,
		const char *result, FILE *out, bool timeouts)
{
	fprintf(out, "%-27s %-8s %-4s %-5s %-7s %-9s %-12s %-7s %-19s", model, what, nat, udp, mapping, filtering,
		ports, hairpin, unsol);
	if (timeouts)
		fprintf(out, " %-10s", life);
	fprintf(out, " %s\n", result);
}

void natcheck_print(const struct natcheck_result *res, int n, bool timeouts, FILE *out)
{
	int bad = 0;

	row("MODEL", "", "NAT", "UDP", "MAP", "FILTER", "PORTS", "HAIRPIN", "UNSOLICITED", "LIFETIME", "RESULT", out,
	    timeouts);
	for (int i = 0; i < n; i++) {
		const struct natcheck_result *r = &res[i];
		const struct nat_model *d = &r->declared;
		const struct nat_measured *m = &r->measured;
		char ports[32], life[24];
		bool napt = d->translate && !d->udp_blocked;

		if (r->error) {
			row(r->model, "", "", "", "", "", "", "", "", "", "ERROR", out, timeouts);
			fprintf(out, "    %s\n", r->detail);
			bad++;
			continue;
		}
		snprintf(life, sizeof(life), "%us", d->udp_timeout);
		row(r->model, "declared", d->no_ipv4 ? "-" : d->translate ? "napt" : "none",
		    d->no_ipv4 ? "no-v4" : d->udp_blocked ? "block" : "allow", napt ? short_dep((int)d->mapping) : "-",
		    napt ? short_dep((int)d->filtering) : (d->translate || d->no_ipv4 ? "-" : "EI"),
		    napt ? nat_ports_name(d->ports) : "-", napt ? (d->hairpin ? "yes" : "no") : "-",
		    napt ? nat_unsolicited_name(d->unsolicited) : "-", napt ? life : "-", "", out, timeouts);
		if (m->ports == NAT_PORTS_SEQUENTIAL)
			snprintf(ports, sizeof(ports), "sequential%+d", m->port_step);
		else
			snprintf(ports, sizeof(ports), "%s", m->ports < 0 ? "-" : nat_ports_name((enum nat_ports)m->ports));
		if (m->lifetime_dead >= 0 || m->lifetime_alive >= 0)
			snprintf(life, sizeof(life), "%d-%ds", m->lifetime_alive, m->lifetime_dead);
		else
			snprintf(life, sizeof(life), "-");
		row("", "measured", !m->udp ? "-" : m->translated ? "napt" : "none", m->udp ? "allow" : "block",
		    short_dep(m->mapping), short_dep(m->filtering), ports,
		    m->hairpin < 0 ? "-" : m->hairpin ? "yes" : "no",
		    m->unsolicited < 0 ? "n/a" : nat_unsolicited_name((enum nat_unsolicited)m->unsolicited), life,
		    r->match ? "match" : "MISMATCH", out, timeouts);
		if (d->ipv6) {
			const struct nat_measured *m6 = &r->measured6;
			fprintf(out, "    ipv6 declared %s, measured %s, mapping %s, filtering %s, unsolicited %s\n",
				nat_ipv6_name(d->ipv6), !m6->udp ? "no answer" : m6->translated ? "translated" : "not translated",
				short_dep(m6->mapping), short_dep(m6->filtering),
				m6->unsolicited < 0 ? "n/a" : nat_unsolicited_name((enum nat_unsolicited)m6->unsolicited));
		}
		if (d->portmap || r->portmap.offered) {
			char dp[32], gp[32];
			fprintf(out, "    portmap declared %s, granted by %s", nat_portmap_name(d->portmap, dp, sizeof(dp)),
				nat_portmap_name(r->portmap.offered, gp, sizeof(gp)));
			if (r->portmap.offered)
				fprintf(out, " (UDP port %u for %u s)", r->portmap.ext_port, r->portmap.lifetime);
			fputc('\n', out);
		}
		if (!r->match) {
			fprintf(out, "    %s\n", r->detail);
			bad++;
		}
	}
	fprintf(out, "\nEI endpoint-independent, AD address-dependent, APD address-and-port-dependent; "
		     "n/a: only an endpoint-independent mapping behind a filter can show it\n");
	fprintf(out, "%d of %d models match their declarations\n", n - bad, n);
}

void natcheck_print_json(const struct natcheck_result *res, int n, FILE *out)
{
	fprintf(out, "[");
	for (int i = 0; i < n; i++) {
		const struct natcheck_result *r = &res[i];
		const struct nat_model *d = &r->declared;

		fprintf(out, "%s\n  {\"model\":", i ? "," : "");
		text_json_put(out, r->model);
		fprintf(out, ",\"declared\":{\"nat\":\"%s\",\"udp\":\"%s\"", d->translate ? "napt" : "none",
			d->udp_blocked ? "block" : "allow");
		if (d->no_ipv4)
			fprintf(out, ",\"ipv4\":\"none\"");
		if (d->translate)
			fprintf(out, ",\"mapping\":\"%s\",\"filtering\":\"%s\",\"ports\":\"%s\",\"hairpin\":%s,"
				     "\"udp_timeout\":%u,\"unsolicited\":\"%s\"",
				nat_dependence_name(d->mapping), nat_dependence_name(d->filtering), nat_ports_name(d->ports),
				d->hairpin ? "true" : "false", d->udp_timeout, nat_unsolicited_name(d->unsolicited));
		fprintf(out, "},\"measured\":");
		if (r->error)
			fprintf(out, "null");
		else
			stun_probe_print_json(&r->measured, out);
		{
			char dp[32], gp[32];
			fprintf(out, ",\"portmap\":{\"declared\":\"%s\",\"granted_by\":\"%s\",\"external_port\":%u,"
				     "\"lifetime_s\":%u}",
				nat_portmap_name(d->portmap, dp, sizeof(dp)),
				r->error ? "" : nat_portmap_name(r->portmap.offered, gp, sizeof(gp)), r->portmap.ext_port,
				r->portmap.lifetime);
		}
		if (d->ipv6 && !r->error) {
			fprintf(out, ",\"ipv6\":{\"declared\":\"%s\",\"measured\":", nat_ipv6_name(d->ipv6));
			stun_probe_print_json(&r->measured6, out);
			fprintf(out, "}");
		}
		fprintf(out, ",\"match\":%s,\"detail\":", !r->error && r->match ? "true" : "false");
		text_json_put(out, r->detail);
		fprintf(out, "}");
	}
	fprintf(out, "\n]\n");
}
