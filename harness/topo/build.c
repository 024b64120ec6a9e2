#include "build.h"
#include "portmap.h"
#include "../impair/impair.h"
#include "../nat/plan.h"
#include "../nl/nft.h"
#include "../../lib/nl/rtnl.h"
#include "../../lib/util/log.h"
#include "../../lib/util/netns.h"
#include "../../lib/util/text.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TRY(expr, ...)                                                   \
	do {                                                             \
		int ret_ = (expr);                                       \
		if (ret_) {                                              \
			char what_[256];                                 \
			snprintf(what_, sizeof(what_), __VA_ARGS__);     \
			snprintf(err, errlen, "%s: %s", what_, strerror(-ret_)); \
			return ret_;                                     \
		}                                                        \
	} while (0)

int topo_ipv6_on(const char *ns, bool router, char *err, size_t errlen)
{
	/* IPv6 with the addresses the plan gives and nothing else: no
	 * duplicate-address detection to wait for (the lab's addresses are
	 * unique), no router advertisements taken or asked for, no addresses
	 * of its own making but link-local ones. */
	static const struct {
		const char *key, *value;
	} keys[] = { { "disable_ipv6", "0" }, { "accept_dad", "0" }, { "accept_ra", "0" }, { "autoconf", "0" },
		     { "router_solicitations", "0" },
		     /* a link taken down (fault link) keeps them, as IPv4's */
		     { "keep_addr_on_down", "1" } };

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		for (int which = 0; which < 2; which++) {
			char key[64];
			snprintf(key, sizeof(key), "net.ipv6.conf.%s.%s", which ? "default" : "all", keys[k].key);
			TRY(netns_sysctl(ns, key, keys[k].value), "%s: setting %s=%s", ns, key, keys[k].value);
		}
	if (router)
		TRY(netns_sysctl(ns, "net.ipv6.conf.all.forwarding", "1"), "%s: enabling IPv6 forwarding", ns);
	return 0;
}

/* Has every link here that is up, but lo, carrier and a link-local IPv6
 * address that is not tentative? The kernel gives a link one only once it
 * has carrier, and keeps it when the link goes down (keep_addr_on_down). */
static int ipv6_links_ready(void *p)
{
	struct rtnl_addr6 addrs[64];
	struct if_nameindex *ifs = if_nameindex();
	int n = rtnl_addr6_list(addrs, 64), fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool *ready = p;

	*ready = ifs && n >= 0 && fd >= 0;
	for (struct if_nameindex *i = ifs; *ready && i && i->if_index; i++) {
		struct ifreq q;
		bool has = false;

		if (!strcmp(i->if_name, "lo"))
			continue;
		memset(&q, 0, sizeof(q));
		snprintf(q.ifr_name, sizeof(q.ifr_name), "%s", i->if_name);
		if (ioctl(fd, SIOCGIFFLAGS, &q) || !(q.ifr_flags & IFF_UP))
			continue;
		for (int k = 0; k < n && !has; k++)
			has = addrs[k].ifindex == (int)i->if_index && addrs[k].scope == RT_SCOPE_LINK &&
			      !(addrs[k].flags & IFA_F_TENTATIVE);
		*ready = has && (q.ifr_flags & IFF_RUNNING);
	}
	if (ifs)
		if_freenameindex(ifs);
	if (fd >= 0)
		close(fd);
	return 0;
}

int topo_ipv6_wait(const char *ns, int timeout_ms, char *err, size_t errlen)
{
	for (int waited = 0;; waited += 10) {
		bool ready = false;
		int ret = netns_call(ns, ipv6_links_ready, &ready);

		if (ret) {
			snprintf(err, errlen, "%s: listing its IPv6 addresses: %s", ns, strerror(-ret));
			return ret;
		}
		if (ready)
			return 0;
		if (waited >= timeout_ms) {
			snprintf(err, errlen, "%s: a link had no carrier (no link-local IPv6 address) after %d ms", ns,
				 timeout_ms);
			return -ETIMEDOUT;
		}
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
}

static int make_node(const struct topo_net_node *n, struct instance *r, const char *ns, char *err,
		     size_t errlen)
{
	int v6;

	TRY(instance_note_netns(r, ns), "recording namespace %s", ns);
	TRY(netns_create(ns), "creating namespace %s", ns);
	if (!n->ipv6) {
		/* IPv6 off before any link exists: no router solicitations, no
		 * DAD, no traffic of its own in the lab. */
		TRY(netns_sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1"), "%s: disabling IPv6", ns);
		TRY(netns_sysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1"), "%s: disabling IPv6", ns);
	} else if ((v6 = topo_ipv6_on(ns, n->router, err, errlen))) {
		return v6;
	}
	if (n->router)
		TRY(netns_sysctl(ns, "net.ipv4.ip_forward", "1"), "%s: enabling forwarding", ns);
	/* Where br_netfilter is loaded, bridged frames would go through the
	 * IP hooks too: the router's NAT would see LAN-internal traffic and a
	 * hairpinned packet would be bridged back out its own port and lost.
	 * Our bridges are plain switches. (Absent module: nothing to do.) */
	for (size_t i = 0; i < 3; i++) {
		static const char *const keys[] = { "net.bridge.bridge-nf-call-iptables",
			"net.bridge.bridge-nf-call-ip6tables", "net.bridge.bridge-nf-call-arptables" };
		int ret = netns_sysctl(ns, keys[i], "0");
		if (ret && ret != -ENOENT)
			TRY(ret, "%s: setting %s=0", ns, keys[i]);
	}
	TRY(rtnl_link_up(ns, "lo"), "%s: setting lo up", ns);
	return 0;
}

void topo_net_apply_roams(struct topo_net *net, const struct instance *r)
{
	for (int i = 0; i < r->n_roamed; i++) {
		int k = topo_find_node(&net->topo, r->roamed[i]), s = topo_find_segment(&net->topo, r->roamed_to[i]);
		if (k < 0 || s < 0 || net->nodes[k].n_ifaces != 1)
			continue;
		net->topo.nodes[k].segment = s;
		net->nodes[k].ifaces[0].segment = s;
		net->nodes[k].ifaces[0].addrs[0] = r->roamed_addr[i];
		net->nodes[k].ifaces[0].plen = net->topo.segments[s].plen;
		net->nodes[k].ifaces[0].n_addrs6 = net->seg_v6[s];
		if (net->seg_v6[s]) {
			topo_net_host6(net, s, r->roamed_addr[i], net->nodes[k].ifaces[0].addrs6[0]);
			net->nodes[k].ipv6 = true;
		}
	}
}

int topo_node_netns(const struct instance *r, const char *node, char *buf, size_t len)
{
	char want[64];

	instance_netns_name(r->id, node, want, sizeof(want));
	for (int i = 0; i < r->n_netns; i++)
		if (strcmp(r->netns[i], want) == 0) {
			snprintf(buf, len, "%s", want);
			return 0;
		}
	return -ENOENT;
}

void topo_nat_context(const struct topo_net *net, int router, struct nat_context *ctx)
{
	const struct topo *t = &net->topo;

	memset(ctx, 0, sizeof(*ctx));
	ctx->public_addr = net->nodes[router].public_addr;
	for (int s = 0; s < t->n_segments && ctx->n_prefixes6 < 4; s++)
		if (t->segments[s].gateway == router && net->seg_v6[s]) {
			memcpy(ctx->inside6[ctx->n_prefixes6], net->seg_prefix6[s], 16);
			memcpy(ctx->outside6[ctx->n_prefixes6++], net->seg_outside6[s], 16);
		}
	/* Subscribers: everyone on the segments this router is the gateway of. */
	for (int i = 0; i < t->n_nodes; i++) {
		int s = t->nodes[i].segment;
		if (s < 0 || t->segments[s].gateway != router)
			continue;
		for (int f = 0; f < net->nodes[i].n_ifaces; f++) {
			const struct topo_iface *ifc = &net->nodes[i].ifaces[f];
			if (ifc->bridge || ifc->segment != s)
				continue;
			for (int a = 0; a < ifc->n_addrs && ctx->n_subscribers < NAT_MAX_SUBSCRIBERS; a++)
				ctx->subscribers[ctx->n_subscribers++] = ifc->addrs[a];
		}
	}
}

int topo_nat_install(const struct topo_net *net, int router, const char *ns, char *err, size_t errlen)
{
	const struct topo_net_node *n = &net->nodes[router];
	struct nat_context ctx;
	struct nat_plan *plan = calloc(1, sizeof(*plan));
	int ret;

	if (!plan)
		return -ENOMEM;
	topo_nat_context(net, router, &ctx);
	ret = nat_plan_compile(&n->model, &ctx, plan, err, errlen);
	if (ret == 0 && plan->n_rules > 0)
		ret = nft_plan_apply(ns, plan, err, errlen);
	if (ret == 0 && n->ipv6 && (ret = nat_plan_compile6(&n->model, &ctx, plan, err, errlen)) == 0 && plan->n_rules > 0)
		ret = nft_plan_apply(ns, plan, err, errlen);
	free(plan);
	return ret;
}

int topo_build(const struct topo_net *net, struct instance *r, char *err, size_t errlen)
{
	const struct topo *t = &net->topo;
	char ns[TOPO_MAX_NODES][40], a[46];

	for (int i = 0; i < t->n_nodes; i++) {
		int ret;
		instance_netns_name(r->id, t->nodes[i].name, ns[i], sizeof(ns[i]));
		if ((ret = make_node(&net->nodes[i], r, ns[i], err, errlen)))
			return ret;
	}
	/* Bridges first: each segment is a bridge in its gateway. */
	for (int i = 0; i < t->n_nodes; i++) {
		const struct topo_net_node *n = &net->nodes[i];
		for (int f = 0; f < n->n_ifaces; f++) {
			const struct topo_iface *ifc = &n->ifaces[f];
			if (!ifc->bridge)
				continue;
			TRY(rtnl_bridge_create(ns[i], ifc->ifname), "%s: creating bridge %s", ns[i], ifc->ifname);
			for (int k = 0; k < ifc->n_addrs; k++)
				TRY(rtnl_addr_add(ns[i], ifc->ifname, ifc->addrs[k], ifc->plen), "%s: adding %s to %s",
				    ns[i], text_ipv4(ifc->addrs[k], a), ifc->ifname);
			for (int k = ifc->n_addrs6 - 1; k >= 0; k--)
				TRY(rtnl_addr6_add(ns[i], ifc->ifname, ifc->addrs6[k], 64), "%s: adding %s to %s", ns[i],
				    text_ipv6(ifc->addrs6[k], a), ifc->ifname);
			TRY(rtnl_link_up(ns[i], ifc->ifname), "%s: setting %s up", ns[i], ifc->ifname);
		}
	}
	/* Each attachment: a veth from the node to a port on the gateway's bridge. */
	for (int i = 0; i < t->n_nodes; i++) {
		const struct topo_net_node *n = &net->nodes[i];
		for (int f = 0; f < n->n_ifaces; f++) {
			const struct topo_iface *ifc = &n->ifaces[f];
			int gw;
			char port[16];

			if (ifc->bridge)
				continue;
			gw = t->segments[ifc->segment].gateway;
			snprintf(port, sizeof(port), "p-%s", n->name);
			if (t->nodes[i].impair.on) {
				/* An impaired link: node - in [forwarder] out - bridge. */
				const struct impair *im = &t->nodes[i].impair;
				char imp[64];
				int pid;

				snprintf(imp, sizeof(imp), "pl-%s-imp-%s", r->id, n->name);
				TRY(instance_note_netns(r, imp), "recording namespace %s", imp);
				TRY(netns_create(imp), "creating namespace %s", imp);
				TRY(netns_sysctl(imp, "net.ipv6.conf.all.disable_ipv6", "1"), "%s: disabling IPv6", imp);
				TRY(netns_sysctl(imp, "net.ipv6.conf.default.disable_ipv6", "1"), "%s: disabling IPv6", imp);
				TRY(rtnl_veth_create(ns[i], ifc->ifname, imp, "in"), "linking %s to its impairment", n->name);
				TRY(rtnl_veth_create(imp, "out", ns[gw], port), "linking %s's impairment to segment %s",
				    n->name, t->segments[ifc->segment].name);
				TRY(impair_prepare_iface(ns[i], ifc->ifname, im->mtu), "%s: preparing %s", ns[i], ifc->ifname);
				TRY(impair_prepare_iface(imp, "in", im->mtu), "%s: preparing in", imp);
				TRY(impair_prepare_iface(imp, "out", im->mtu), "%s: preparing out", imp);
				TRY(impair_prepare_iface(ns[gw], port, im->mtu), "%s: preparing %s", ns[gw], port);
				TRY(rtnl_link_up(imp, "in"), "%s: setting in up", imp);
				TRY(rtnl_link_up(imp, "out"), "%s: setting out up", imp);
				TRY(impair_start(imp, im, &pid), "%s: starting the impairment forwarder", imp);
				TRY(instance_note_forwarder(r, n->name, pid), "recording pid %d", pid);
			} else {
				TRY(rtnl_veth_create(ns[i], ifc->ifname, ns[gw], port), "linking %s to segment %s",
				    n->name, t->segments[ifc->segment].name);
			}
			TRY(rtnl_link_set_master(ns[gw], port, t->segments[ifc->segment].name),
			    "%s: adding %s to bridge %s", ns[gw], port, t->segments[ifc->segment].name);
			TRY(rtnl_link_up(ns[gw], port), "%s: setting %s up", ns[gw], port);
			for (int k = 0; k < ifc->n_addrs; k++)
				TRY(rtnl_addr_add(ns[i], ifc->ifname, ifc->addrs[k], ifc->plen), "%s: adding %s",
				    ns[i], text_ipv4(ifc->addrs[k], a));
			/* Last first: Linux puts a new IPv6 address ahead of the
			 * others of its scope and picks the first as the source
			 * of what an unbound socket sends, as IPv4 picks the
			 * primary one; the first address must be that. */
			for (int k = ifc->n_addrs6 - 1; k >= 0; k--)
				TRY(rtnl_addr6_add(ns[i], ifc->ifname, ifc->addrs6[k], 64), "%s: adding %s", ns[i],
				    text_ipv6(ifc->addrs6[k], a));
			TRY(rtnl_link_up(ns[i], ifc->ifname), "%s: setting %s up", ns[i], ifc->ifname);
		}
	}
	for (int i = 0; i < t->n_nodes; i++) {
		const struct topo_net_node *n = &net->nodes[i];
		for (int k = 0; k < n->n_routes; k++)
			TRY(rtnl_route_add(ns[i], n->routes[k].dst, n->routes[k].plen, n->routes[k].gw),
			    "%s: adding a route via %s", ns[i], text_ipv4(n->routes[k].gw, a));
		for (int k = 0; k < n->n_routes6; k++)
			TRY(rtnl_route6_add(ns[i], n->routes6[k].dst, n->routes6[k].plen, n->routes6[k].gw),
			    "%s: adding a route via %s", ns[i], text_ipv6(n->routes6[k].gw, a));
	}
	for (int i = 0; i < t->n_nodes; i++) {
		const struct topo_net_node *n = &net->nodes[i];
		int ret;

		if (!n->has_model)
			continue;
		if ((ret = topo_nat_install(net, i, ns[i], err, errlen)))
			return ret;
		pl_info("%s: NAT model %s installed", n->name, n->model.name);
		if (n->model.translate && n->model.portmap && (ret = portmap_start(net, i, r, ns[i], err, errlen)))
			return ret;
	}
	/* Neighbour discovery works on a link only once it has carrier,
	 * which the kernel may bring up to a second after the link (IPv4's
	 * ARP does not wait): what a test sends over IPv6 at once was lost. */
	for (int i = 0; i < t->n_nodes; i++) {
		int ret;
		if (net->nodes[i].ipv6 && (ret = topo_ipv6_wait(ns[i], IPV6_READY_MS, err, errlen)))
			return ret;
	}
	return 0;
}
