#include "fault.h"
#include "../nat/plan.h"
#include "../nl/conntrack.h"
#include "../nl/nft.h"
#include "../nl/nftlimit.h"
#include "../nl/nftmtu.h"
#include "../../lib/nl/rtnl.h"
#include "../topo/build.h"
#include "../topo/topo.h"
#include "../../lib/util/log.h"
#include "../../lib/util/netns.h"
#include "../../lib/util/proc.h"
#include "../../lib/util/text.h"

#include <dirent.h>
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The run's topology as it was brought up. */
static int run_net(const struct instance *r, struct topo_net *net, char *err, size_t errlen)
{
	char params[sizeof(r->params)], *assigns[8], *save = NULL;
	struct topo t;
	int n = 0;

	snprintf(params, sizeof(params), "%s", r->params);
	for (char *w = strtok_r(params, " ", &save); w && n < 8; w = strtok_r(NULL, " ", &save))
		assigns[n++] = w;
	if (topo_load(r->topology, &t, err, errlen) || topo_resolve(&t, n, assigns, net, err, errlen))
		return -EINVAL;
	/* Routers renumbered by an earlier fault keep their new address. */
	for (int i = 0; i < r->n_renumbered; i++) {
		int k = topo_find_node(&net->topo, r->renumbered[i]);
		if (k < 0)
			continue;
		for (int f = 0; f < net->nodes[k].n_ifaces; f++)
			if (!net->nodes[k].ifaces[f].bridge && net->nodes[k].ifaces[f].addrs[0] == net->nodes[k].public_addr)
				net->nodes[k].ifaces[f].addrs[0] = r->renumbered_addr[i];
		net->nodes[k].public_addr = r->renumbered_addr[i];
	}
	/* Hosts an earlier fault moved (roam) are where it put them. */
	topo_net_apply_roams(net, r);
	return 0;
}

/* The router's routes as the topology lays them out (the kernel drops
 * those via an address or a link that went away); those still there stay. */
static int restore_routes(const struct topo_net *net, int router, const char *ns, char *err, size_t errlen)
{
	for (int i = 0; i < net->nodes[router].n_routes; i++) {
		const struct topo_route *rt = &net->nodes[router].routes[i];
		int ret = rtnl_route_add(ns, rt->dst, rt->plen, rt->gw);
		if (ret && ret != -EEXIST) {
			snprintf(err, errlen, "%s: restoring a route: %s", ns, strerror(-ret));
			return ret;
		}
	}
	for (int i = 0; i < net->nodes[router].n_routes6; i++) {
		const struct topo_route6 *rt = &net->nodes[router].routes6[i];
		int ret = rtnl_route6_add(ns, rt->dst, rt->plen, rt->gw);
		if (ret && ret != -EEXIST) {
			snprintf(err, errlen, "%s: restoring an IPv6 route: %s", ns, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* A carrier renumbering the router: a free address on its uplink segment
 * (from the top of the prefix down), moved onto wan in place of the old. */
static int renumber(struct instance *r, struct topo_net *net, int router, const char *ns, char *err, size_t errlen)
{
	int s = net->topo.nodes[router].segment;
	uint32_t prefix = ntohl(net->seg_prefix[s]), size = 1u << (32 - net->seg_plen[s]), fresh = 0;
	uint32_t old = net->nodes[router].public_addr;
	uint8_t plen = net->seg_plen[s];
	int ret;

	for (uint32_t host = size - 2; host >= 2 && !fresh; host--) {
		uint32_t cand = htonl(prefix + host);
		bool taken = false;
		for (int i = 0; i < net->topo.n_nodes && !taken; i++)
			for (int f = 0; f < net->nodes[i].n_ifaces; f++)
				for (int k = 0; k < net->nodes[i].ifaces[f].n_addrs; k++)
					taken |= net->nodes[i].ifaces[f].addrs[k] == cand;
		if (!taken)
			fresh = cand;
	}
	if (!fresh) {
		snprintf(err, errlen, "no free address left on %s's uplink segment", net->topo.nodes[router].name);
		return -ENOSPC;
	}
	/* The new address first, then the old one goes; promoting keeps the
	 * new one (and the routes) when the primary is removed. */
	if ((ret = netns_sysctl(ns, "net.ipv4.conf.wan.promote_secondaries", "1")) ||
	    (ret = rtnl_addr_add(ns, "wan", fresh, plen)) || (ret = rtnl_addr_del(ns, "wan", old, plen))) {
		snprintf(err, errlen, "%s: moving wan to its new address: %s", ns, strerror(-ret));
		return ret;
	}
	if ((ret = restore_routes(net, router, ns, err, errlen)))
		return ret;
	net->nodes[router].public_addr = fresh;
	return instance_note_renumber(r, net->topo.nodes[router].name, fresh);
}

/* Processes named PROGRAM (their comm) inside namespace NS. */
static int find_program(const char *ns, const char *program, pid_t *pids, int max)
{
	const char *names[] = { ns };
	int all[1024], n = netns_pids(names, 1, all, 1024), found = 0;

	for (int i = 0; i < n && found < max; i++) {
		char path[64], comm[64] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/comm", all[i]);
		if ((f = fopen(path, "r"))) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		/* comm holds at most 15 characters of the name. */
		if (comm[0] && strncmp(comm, program, 15) == 0)
			pids[found++] = all[i];
	}
	return found;
}

/* restart's child: the recorded command, from its folder, as its user. */
static int exec_recorded(void *arg)
{
	struct instance_command *c = arg;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	if (chdir(c->cwd) || (getuid() == 0 && c->uid != 0 && setgroups(0, NULL)) || setgid(c->gid) || setuid(c->uid))
		return 1;
	execvp(c->argv[0], c->argv);
	return 1;
}

/* kill: the program dies (SIGKILL, as a crash); restart: it stops and is
 * started again as the instance started it: the command line, user and
 * folder recorded then (instance_note_command), never what the process
 * says of itself now (it may have rewritten its argv, and may run as
 * someone else). Only what the instance started can be restarted. */
static int fault_process_with(struct instance *r, struct instance_command *cmd, const char *kind, const char *host,
			      const char *program, char *err, size_t errlen)
{
	char ns[64];
	pid_t pids[16], pid;
	int n, rec = -1;

	if (!program && strcmp(kind, "kill")) {
		snprintf(err, errlen, "%s takes HOST PROGRAM: punchlab fault %s %s PROGRAM", kind, kind, host);
		return -EINVAL;
	}
	if (topo_node_netns(r, host, ns, sizeof(ns))) {
		snprintf(err, errlen, "run %s has no host \"%s\"", r->id, host);
		return -EINVAL;
	}
	if (!program) {
		/* kill HOST: everything on it dies, as the host crashed. */
		const char *names[] = { ns };
		int all[1024];
		if ((n = netns_pids(names, 1, all, 1024)) <= 0) {
			snprintf(err, errlen, "nothing runs on %s: nothing to kill", host);
			return -ESRCH;
		}
		for (int i = 0; i < n; i++)
			kill(all[i], SIGKILL);
		return 0;
	}
	n = find_program(ns, program, pids, 16);
	if (n == 0) {
		snprintf(err, errlen, "no %s runs on %s", program, host);
		return -ESRCH;
	}
	if (!strcmp(kind, "restart")) {
		for (int i = 0; i < n && rec < 0; i++)
			if (instance_command(r, pids[i], cmd) == 0)
				rec = i;
		if (rec < 0) {
			snprintf(err, errlen,
				 "%s on %s was not started by run %s (punchlab topo exec or punchlab run): it cannot be "
				 "restarted, only killed",
				 program, host, r->id);
			return -EPERM;
		}
	}
	for (int i = 0; i < n; i++) {
		if (!strcmp(kind, "kill"))
			kill(pids[i], SIGKILL); /* a crash: no chance to clean up */
		else if (i == rec)
			proc_stop(pids[i], 1000);
	}
	if (strcmp(kind, "restart"))
		return 0;
	if (proc_fork_call(ns, exec_recorded, cmd, &pid)) {
		snprintf(err, errlen, "cannot start %s again on %s", program, host);
		return -EIO;
	}
	instance_note_started(r, pid, cmd->argv, cmd->uid, cmd->gid, cmd->cwd);
	return 0;
}

/* The recorded command line is large: on the heap, never shared. */
static int fault_process(struct instance *r, const char *kind, const char *host, const char *program, char *err,
			 size_t errlen)
{
	struct instance_command *cmd = calloc(1, sizeof(*cmd));
	int ret;

	if (!cmd) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = fault_process_with(r, cmd, kind, host, program, err, errlen);
	free(cmd);
	return ret;
}

#define PORTS_DEFAULT (65535 - 1024 + 1)   /* 1024-65535: a masquerade's ports (IPv4's, or NAT66's) */

/* The flows a NAT whose capacity ports n are taken may still map; -1 (no
 * limit) when n is 0, giving them back. */
static long ports_left(unsigned long n, unsigned long capacity)
{
	return n == 0 ? -1 : n >= capacity ? 0 : (long)(capacity - n);
}

/* port-exhaust: N of the NAT's external ports taken, so only the rest can
 * be mapped; once they are, new UDP flows out are dropped, as on a full
 * carrier NAT. Linux allocates ports per destination, so taking ports with
 * real flows would not do it: a connection limit on new flows does.
 * N = 0 gives them back. */
static int port_exhaust(const struct topo_net *net, int router, const char *ns, const char *arg, char *err,
			size_t errlen)
{
	const struct nat_model *m = &net->nodes[router].model;
	unsigned long n, capacity;
	int ret;

	if (!net->nodes[router].has_model || !m->translate) {
		snprintf(err, errlen, "%s does no NAT: no ports to exhaust", net->nodes[router].name);
		return -EINVAL;
	}
	if (!arg || !text_parse_uint(arg, 0, 65535, &n)) {
		snprintf(err, errlen,
			 "port-exhaust takes a number of ports, 0 to 65535: punchlab fault port-exhaust %s N (0 gives them back)",
			 net->nodes[router].name);
		return -EINVAL;
	}
	capacity = m->port_block ? m->port_block
		   : m->port_max   ? (unsigned long)m->port_max - m->port_min + 1
				   : PORTS_DEFAULT;
	/* A NAT66 router's IPv6 ports run out too, from their own space
	 * (1024-65535, as its masquerade allocates them); a firewall or
	 * NPTv6 has none. */
	ret = nftlimit_new_flows(ns, ports_left(n, capacity), m->ipv6 == NAT_IPV6_NAT66 ? ports_left(n, PORTS_DEFAULT) : -1,
				 err, errlen);
	if (ret && !err[0])
		snprintf(err, errlen, "%s: %s", ns, strerror(-ret));
	return ret;
}

/* sleep: every process on HOST stops (SIGSTOP), as a laptop's lid
 * closes; wake: they go on (SIGCONT). The network stays as it was. */
static int fault_sleep(struct instance *r, const char *kind, const char *host, const char *arg, char *err,
		       size_t errlen)
{
	char ns[64];
	const char *names[] = { ns };
	int pids[1024], n;

	if (arg) {
		snprintf(err, errlen, "%s takes HOST only: punchlab fault %s %s", kind, kind, host);
		return -EINVAL;
	}
	if (topo_node_netns(r, host, ns, sizeof(ns))) {
		snprintf(err, errlen, "run %s has no host \"%s\"", r->id, host);
		return -EINVAL;
	}
	if ((n = netns_pids(names, 1, pids, 1024)) <= 0) {
		snprintf(err, errlen, "nothing runs on %s: nothing to %s", host, kind);
		return -ESRCH;
	}
	for (int i = 0; i < n; i++)
		kill(pids[i], !strcmp(kind, "sleep") ? SIGSTOP : SIGCONT);
	return 0;
}

/* roam: HOST leaves its segment for SEGMENT (another site's LAN), as a
 * laptop moves from one Wi-Fi to another: its link is cut, a new one
 * joins the new segment's bridge, with an address there (the host's own
 * place in its old prefix, moved into the new one: .200 up if that is
 * taken) and a default route via the new gateway. Its processes and
 * their sockets stay; the run's topology still names the old segment. */
static int fault_roam(struct instance *r, struct topo_net *net, const char *host, const char *segment, char *err,
		      size_t errlen)
{
	const struct topo *t = &net->topo;
	char ns[64], gw_ns[64], port[16], a[16];
	int h = topo_find_node(t, host), seg = segment ? topo_find_segment(t, segment) : -1, gw, ret;
	const struct topo_iface *ifc;
	uint32_t mask, addr, gw_addr = 0;

	if (!segment) {
		snprintf(err, errlen, "roam takes HOST SEGMENT: punchlab fault roam %s site-b", host);
		return -EINVAL;
	}
	if (h < 0 || net->nodes[h].router || net->nodes[h].n_ifaces != 1 || topo_node_netns(r, host, ns, sizeof(ns))) {
		snprintf(err, errlen, "run %s has no host \"%s\" on one segment", r->id, host);
		return -EINVAL;
	}
	if (seg < 0 || t->segments[seg].plen > 30) {
		size_t off = (size_t)snprintf(err, errlen, "run %s has no segment \"%s\" to roam to; its segments:", r->id,
					      segment ? segment : "");
		for (int i = 0; i < t->n_segments && off < errlen; i++)
			off += (size_t)snprintf(err + off, errlen - off, " %s", t->segments[i].name);
		return -EINVAL;
	}
	ifc = &net->nodes[h].ifaces[0];
	if (t->nodes[h].impair.on) {
		snprintf(err, errlen, "%s has an impaired link: roam moves plain links only", host);
		return -EINVAL;
	}
	if (ifc->segment == seg) {
		snprintf(err, errlen, "%s is on %s already", host, segment);
		return -EINVAL;
	}
	gw = t->segments[seg].gateway;
	for (int f = 0; f < net->nodes[gw].n_ifaces; f++)
		if (net->nodes[gw].ifaces[f].bridge && net->nodes[gw].ifaces[f].segment == seg)
			gw_addr = net->nodes[gw].ifaces[f].addrs[0];
	if (!gw_addr || topo_node_netns(r, t->nodes[gw].name, gw_ns, sizeof(gw_ns))) {
		snprintf(err, errlen, "segment %s has no gateway to route through", segment);
		return -EINVAL;
	}
	/* The host's place in its old prefix, in the new one (unless that is
	 * the gateway's or another node's: then .200 and up). */
	mask = htonl(t->segments[seg].plen ? ~0u << (32 - t->segments[seg].plen) : 0);
	addr = (t->segments[seg].prefix & mask) | (ifc->addrs[0] & ~mask);
	for (int tries = 0;; tries++) {
		bool taken = addr == gw_addr || !(addr & ~mask) || (addr & ~mask) == ~mask;   /* nor network, nor broadcast */
		for (int i = 0; i < t->n_nodes && !taken; i++)
			for (int f = 0; f < net->nodes[i].n_ifaces; f++)
				for (int k = 0; k < net->nodes[i].ifaces[f].n_addrs; k++)
					taken |= net->nodes[i].ifaces[f].addrs[k] == addr;
		if (!taken)
			break;
		if (tries == 50) {
			snprintf(err, errlen, "segment %s has no free address for %s", segment, host);
			return -ENOSPC;
		}
		addr = (t->segments[seg].prefix & mask) | (htonl(200u + (unsigned)tries) & ~mask);
	}
	snprintf(port, sizeof(port), "p-%s", host);
	if ((ret = rtnl_link_delete(ns, ifc->ifname)) ||
	    (ret = rtnl_veth_create(ns, ifc->ifname, gw_ns, port)) ||
	    (ret = rtnl_link_set_master(gw_ns, port, t->segments[seg].name)) || (ret = rtnl_link_up(gw_ns, port)) ||
	    (ret = rtnl_addr_add(ns, ifc->ifname, addr, t->segments[seg].plen)) || (ret = rtnl_link_up(ns, ifc->ifname)) ||
	    (ret = rtnl_route_add(ns, 0, 0, gw_addr))) {
		snprintf(err, errlen, "moving %s to %s: %s", host, segment, strerror(-ret));
		return ret;
	}
	if (net->seg_v6[seg]) {
		/* A dual-stack segment: its IPv6 address and route too (IPv6
		 * turned on where the host had none). */
		uint8_t addr6[16], gw6[16];
		char a6[46];
		topo_net_host6(net, seg, addr, addr6);
		topo_net_host6(net, seg, gw_addr, gw6);
		if ((ret = topo_ipv6_on(ns, false, err, errlen)))
			return ret;
		if ((ret = rtnl_addr6_add(ns, ifc->ifname, addr6, 64)) || (ret = rtnl_route6_add(ns, gw6, 0, gw6))) {
			snprintf(err, errlen, "moving %s to %s: its IPv6 address %s: %s", host, segment, text_ipv6(addr6, a6),
				 strerror(-ret));
			return ret;
		}
		if ((ret = topo_ipv6_wait(ns, IPV6_READY_MS, err, errlen)))
			return ret;
	}
	pl_info("%s roamed to %s as %s", host, segment, text_ipv4(addr, a));
	return instance_note_roam(r, host, segment, addr);
}

int fault_apply(struct instance *r, const char *kind, const char *target, const char *arg, char *err, size_t errlen)
{
	struct topo_net *net = calloc(1, sizeof(*net));
	char ns[64];
	int router, ret = 0, deleted = 0;

	if (!net)
		return -ENOMEM;
	if (!strcmp(kind, "kill") || !strcmp(kind, "restart")) {
		ret = fault_process(r, kind, target, arg, err, errlen);
		goto out;
	}
	if (!strcmp(kind, "sleep") || !strcmp(kind, "wake")) {
		ret = fault_sleep(r, kind, target, arg, err, errlen);
		goto out;
	}
	if ((ret = run_net(r, net, err, errlen)))
		goto out;
	if (!strcmp(kind, "roam")) {
		ret = fault_roam(r, net, target, arg, err, errlen);
		goto out;
	}
	router = topo_find_node(&net->topo, target);
	if (router < 0 || !net->nodes[router].router || topo_node_netns(r, target, ns, sizeof(ns))) {
		size_t off = (size_t)snprintf(err, errlen, "run %s has no router \"%s\"; its routers:", r->id, target);
		for (int i = 0; i < net->topo.n_nodes && off < errlen; i++)
			if (net->nodes[i].router)
				off += (size_t)snprintf(err + off, errlen - off, " %s", net->topo.nodes[i].name);
		ret = -EINVAL;
		goto out;
	}
	if (!strcmp(kind, "link")) {
		if (!arg || (strcmp(arg, "down") && strcmp(arg, "up"))) {
			snprintf(err, errlen, "link takes down or up: punchlab fault link %s down", target);
			ret = -EINVAL;
		} else if (net->topo.nodes[router].segment < 0) {
			snprintf(err, errlen, "%s has no uplink to cut", target);
			ret = -EINVAL;
		} else {
			ret = !strcmp(arg, "down") ? rtnl_link_down(ns, "wan") : rtnl_link_up(ns, "wan");
			if (ret)
				snprintf(err, errlen, "%s: setting wan %s: %s", ns, arg, strerror(-ret));
			else if (!strcmp(arg, "up")) /* its default route went down with it */
				ret = restore_routes(net, router, ns, err, errlen);
		}
		goto out;
	}
	if (!strcmp(kind, "port-exhaust")) {
		ret = port_exhaust(net, router, ns, arg, err, errlen);
		goto out;
	}
	if (!strcmp(kind, "mtu-blackhole")) {
		unsigned long bytes = 1280;
		if (arg && !text_parse_uint(arg, 0, 9000, &bytes)) {
			snprintf(err, errlen, "mtu-blackhole takes a size in bytes, 576 to 9000 (default 1280; 0 ends it): "
					      "punchlab fault mtu-blackhole %s 1280", target);
			ret = -EINVAL;
		} else {
			ret = nftmtu_blackhole(ns, (int)bytes, err, errlen);
		}
		goto out;
	}
	if (strcmp(kind, "nat-reboot") && strcmp(kind, "mapping-expire")) {
		snprintf(err, errlen,
			 "unknown fault \"%s\"; expected nat-reboot, mapping-expire, port-exhaust, mtu-blackhole, link, kill, restart, sleep, wake or roam", kind);
		ret = -EINVAL;
		goto out;
	}
	if (!net->nodes[router].has_model || !net->nodes[router].model.translate) {
		snprintf(err, errlen, "%s does no NAT: nothing to %s", target, kind);
		ret = -EINVAL;
		goto out;
	}
	if (arg && (strcmp(kind, "nat-reboot") || strcmp(arg, "renumber"))) {
		snprintf(err, errlen, "%s takes no \"%s\" (nat-reboot ROUTER [renumber])", kind, arg);
		ret = -EINVAL;
		goto out;
	}
	if (arg && (ret = renumber(r, net, router, ns, err, errlen)))
		goto out;
	/* A reboot forgets every flow; an idle timeout only the UDP ones. Both
	 * empty the model's maps (they only ever hold UDP mappings). */
	if (!strcmp(kind, "nat-reboot"))
		ret = conntrack_flush(ns);
	else
		ret = conntrack_flush_proto(ns, IPPROTO_UDP, &deleted);
	if (ret) {
		snprintf(err, errlen, "%s: flushing conntrack: %s", ns, strerror(-ret));
		goto out;
	}
	ret = topo_nat_install(net, router, ns, err, errlen);   /* its dynamic maps and sets start empty */
out:
	free(net);
	return ret;
}
