/* Topology + parameters -> interfaces, addresses and routes. */
#include "topo.h"
#include "../../lib/util/text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

static int bind_params(const struct topo *t, int n, char *const assigns[], struct topo_net *net,
		       char *err, size_t errlen)
{
	bool bound[TOPO_MAX_PARAMS] = { false };

	for (int i = 0; i < n; i++) {
		const char *eq = strchr(assigns[i], '='), *model = eq ? eq + 1 : assigns[i];
		int p = -1;

		if (eq) {
			for (int j = 0; j < t->n_params; j++)
				if (strlen(t->params[j]) == (size_t)(eq - assigns[i]) &&
				    strncmp(t->params[j], assigns[i], (size_t)(eq - assigns[i])) == 0)
					p = j;
		} else {
			/* A bare model binds the next parameter, in the file's order
			 * (`topo up two-sites symmetric full-cone`, as expect takes). */
			for (int j = 0; j < t->n_params && p < 0; j++)
				if (!bound[j])
					p = j;
		}
		if (p < 0 || !model[0] || strlen(model) >= TOPO_MODEL_REF_MAX) {
			char takes[80];
			return text_fail(err, errlen, NULL, 0, "topology %s: \"%s\" does not bind a parameter; it takes %s", t->name,
				    assigns[i], topo_params_text(t, takes, sizeof(takes)));
		}
		snprintf(net->models[p], TOPO_MODEL_REF_MAX, "%s", model);
		bound[p] = true;
	}
	for (int j = 0; j < t->n_params; j++)
		if (!bound[j])
			return text_fail(err, errlen, NULL, 0, "topology %s needs %s=MODEL (e.g. %s=full-cone)", t->name,
				    t->params[j], t->params[j]);
	return 0;
}

static bool translates(const struct topo_net_node *n)
{
	return n->has_model && n->model.translate;
}

static uint32_t host_addr(uint32_t prefix, uint32_t i)
{
	return htonl(ntohl(prefix) + i);
}

static int lay_out_segment(const struct topo *t, struct topo_net *net, int s, char *err, size_t errlen)
{
	const struct topo_segment *seg = &t->segments[s];
	const uint32_t prefix = net->seg_prefix[s];
	const uint8_t plen = net->seg_plen[s];
	const uint32_t size = 1u << (32 - plen);
	uint32_t next = 2;
	struct topo_net_node *gw = &net->nodes[seg->gateway];
	struct topo_iface *gif = &gw->ifaces[gw->n_ifaces++];

	snprintf(gif->ifname, sizeof(gif->ifname), "%s", seg->name);
	gif->segment = s;
	gif->bridge = true;
	gif->plen = plen;
	gif->addrs[gif->n_addrs++] = host_addr(prefix, 1);

	for (int i = 0; i < t->n_nodes; i++) {
		const struct topo_node *tn = &t->nodes[i];
		struct topo_net_node *nn = &net->nodes[i];
		struct topo_iface *ifc;

		if (tn->segment != s)
			continue;
		ifc = &nn->ifaces[nn->n_ifaces++];
		snprintf(ifc->ifname, sizeof(ifc->ifname), "%s", tn->router ? "wan" : "eth0");
		ifc->segment = s;
		ifc->plen = plen;
		if (tn->n_addrs) {
			for (int a = 0; a < tn->n_addrs; a++) {
				if ((tn->addrs[a] & text_mask(plen)) != prefix)
					return text_fail(err, errlen, NULL, 0, "topology %s: address of %s is outside segment %s as built "
						    "(its gateway's model changes the segment's prefix)", t->name, tn->name, seg->name);
				ifc->addrs[ifc->n_addrs++] = tn->addrs[a];
			}
		} else {
			/* Next address not given to anyone explicitly. */
			for (;; next++) {
				bool taken = false;
				if (next >= size - 1)
					return text_fail(err, errlen, NULL, 0, "topology %s: segment %s is full", t->name, seg->name);
				for (int j = 0; j < t->n_nodes; j++)
					for (int a = 0; a < t->nodes[j].n_addrs; a++)
						taken |= t->nodes[j].segment == s && t->nodes[j].addrs[a] == host_addr(prefix, next);
				if (!taken)
					break;
			}
			ifc->addrs[ifc->n_addrs++] = host_addr(prefix, next++);
		}
		if (tn->router)
			nn->public_addr = ifc->addrs[0];
		/* Default route via the segment's gateway. */
		nn->routes[nn->n_routes++] = (struct topo_route){ 0, host_addr(prefix, 1), 0 };
	}
	return 0;
}

/* Segment s's /64: 2001:db8:0:N:: (global) or fd00:0:0:N:: (inside a
 * translating IPv6 router), N = s + 1. */
static void prefix6(uint8_t out[16], bool inside, int s)
{
	static const uint8_t global[4] = { 0x20, 0x01, 0x0d, 0xb8 };

	memset(out, 0, 16);
	if (inside)
		out[0] = 0xfd;
	else
		memcpy(out, global, 4);
	out[6] = (uint8_t)((s + 1) >> 8);
	out[7] = (uint8_t)(s + 1);
}

/* The IPv6 address on prefix of the node that is number index on the
 * segment's IPv4 prefix (.10 is ::a). */
static void host6(uint8_t out[16], const uint8_t prefix[16], uint32_t index)
{
	uint32_t be = htonl(index);

	memcpy(out, prefix, 8);
	memset(out + 8, 0, 8);
	memcpy(out + 12, &be, 4);
}

void topo_net_host6(const struct topo_net *net, int seg, uint32_t addr, uint8_t out[16])
{
	uint32_t host = net->seg_plen[seg] >= 32 ? 0 : ntohl(addr) & (0xffffffffu >> net->seg_plen[seg]);

	host6(out, net->seg_prefix6[seg], host);
}

static enum nat_ipv6 node_ipv6(const struct topo_net_node *n)
{
	return n->has_model ? n->model.ipv6 : NAT_IPV6_FIREWALL;   /* a plain router routes IPv6 as IPv4 */
}

/* Dual-stack where a model asks for IPv6: a segment has IPv6 when its
 * gateway does and so does every router above it. */
static void lay_out_ipv6(const struct topo *t, struct topo_net *net)
{
	for (int i = 0; i < t->n_nodes; i++)
		net->ipv6 |= net->nodes[i].has_model && net->nodes[i].model.ipv6 != NAT_IPV6_NONE;
	if (!net->ipv6)
		return;
	for (int round = 0; round < t->n_segments; round++)
		for (int s = 0; s < t->n_segments; s++) {
			int g = t->segments[s].gateway, up = t->nodes[g].segment;
			net->seg_v6[s] = node_ipv6(&net->nodes[g]) != NAT_IPV6_NONE && (up < 0 || net->seg_v6[up]);
		}
	for (int s = 0; s < t->n_segments; s++) {
		enum nat_ipv6 v = node_ipv6(&net->nodes[t->segments[s].gateway]);
		if (!net->seg_v6[s])
			continue;
		prefix6(net->seg_prefix6[s], v == NAT_IPV6_NPTV6 || v == NAT_IPV6_NAT66, s);
		if (v == NAT_IPV6_NPTV6)
			prefix6(net->seg_outside6[s], false, s);
	}
	for (int i = 0; i < t->n_nodes; i++) {
		struct topo_net_node *nn = &net->nodes[i];
		for (int f = 0; f < nn->n_ifaces; f++) {
			struct topo_iface *ifc = &nn->ifaces[f];
			int s = ifc->segment;
			if (!net->seg_v6[s])
				continue;
			nn->ipv6 = true;
			for (int k = 0; k < ifc->n_addrs; k++)
				topo_net_host6(net, s, ifc->addrs[k], ifc->addrs6[ifc->n_addrs6++]);
			if (ifc->bridge)
				continue;
			if (nn->router)
				memcpy(nn->public_addr6, ifc->addrs6[0], 16);
			struct topo_route6 *r = &nn->routes6[nn->n_routes6++];
			memset(r, 0, sizeof(*r));
			host6(r->gw, net->seg_prefix6[s], 1);
		}
	}
	/* A segment seen from above (its own prefix, or nptv6's outside one)
	 * is routed by every router up the chain, up to and including the
	 * first nat66 one (which hides it); an nptv6 router translates only
	 * its own segments, so what is nested below it is routed past it. */
	for (int s = 0; s < t->n_segments; s++) {
		int child = t->segments[s].gateway;
		enum nat_ipv6 v = node_ipv6(&net->nodes[child]);
		const uint8_t *seen = v == NAT_IPV6_NPTV6 ? net->seg_outside6[s] : net->seg_prefix6[s];

		if (!net->seg_v6[s] || v == NAT_IPV6_NAT66)
			continue;
		while (t->nodes[child].segment >= 0) {
			int parent = t->segments[t->nodes[child].segment].gateway;
			struct topo_net_node *pn = &net->nodes[parent];
			enum nat_ipv6 pv = node_ipv6(pn);

			if (pn->n_routes6 < TOPO_MAX_ROUTES) {
				struct topo_route6 *r = &pn->routes6[pn->n_routes6++];
				memcpy(r->dst, seen, 16);
				memcpy(r->gw, net->nodes[child].public_addr6, 16);
				r->plen = 64;
			}
			if (pv == NAT_IPV6_NAT66)
				break;
			child = parent;
		}
	}
}

/* An IPv6-only site (its gateway's model says ipv4 = none): its hosts, and
 * the gateway's side of it, keep the IPv6 addresses laid out from their
 * IPv4 ones and lose IPv4 altogether, routes included. */
static int lay_out_no_ipv4(const struct topo *t, struct topo_net *net, char *err, size_t errlen)
{
	for (int s = 0; s < t->n_segments; s++)
		if (net->seg_no4[s] && !net->seg_v6[s])
			return text_fail(err, errlen, NULL, 0,
				    "topology %s: segment %s is IPv6-only (ipv4 = none), but a router above it carries no IPv6",
				    t->name, t->segments[s].name);
	for (int i = 0; i < t->n_nodes; i++) {
		struct topo_net_node *nn = &net->nodes[i];
		int left = 0;

		for (int f = 0; f < nn->n_ifaces; f++) {
			struct topo_iface *ifc = &nn->ifaces[f];
			if (!net->seg_no4[ifc->segment]) {
				left += ifc->n_addrs;
				continue;
			}
			if (nn->router && !ifc->bridge)
				return text_fail(err, errlen, NULL, 0,
					    "topology %s: router %s sits on IPv6-only segment %s (ipv4 = none); only hosts can",
					    t->name, nn->name, t->segments[ifc->segment].name);
			ifc->n_addrs = 0;
			memset(ifc->addrs, 0, sizeof(ifc->addrs));
		}
		if (!nn->router && !left) {
			nn->no_ipv4 = true;
			nn->n_routes = 0;
		}
	}
	return 0;
}

int topo_resolve(const struct topo *t, int n, char *const assigns[], struct topo_net *net, char *err,
		 size_t errlen)
{
	int ret;

	memset(net, 0, sizeof(*net));
	net->topo = *t;
	if ((ret = bind_params(t, n, assigns, net, err, errlen)))
		return ret;
	for (int i = 0; i < t->n_nodes; i++) {
		const struct topo_node *tn = &t->nodes[i];
		struct topo_net_node *nn = &net->nodes[i];

		snprintf(nn->name, sizeof(nn->name), "%s", tn->name);
		nn->router = tn->router;
		if (tn->nat[0]) {
			const char *model = tn->nat;
			char merr[512];
			if (model[0] == '$') {
				for (int p = 0; p < t->n_params; p++)
					if (strcmp(t->params[p], model + 1) == 0)
						model = net->models[p];
			}
			if ((ret = nat_model_load(model, &nn->model, merr, sizeof(merr))))
				return text_fail(err, errlen, NULL, 0, "%s", merr);
			nn->has_model = true;
		}
	}
	/* Effective prefixes: a non-translating gateway puts its segment on
	 * public addresses; a carrier NAT's segment takes its inside prefix. */
	for (int s = 0; s < t->n_segments; s++) {
		const struct topo_segment *seg = &t->segments[s];
		const struct topo_net_node *gw = &net->nodes[seg->gateway];

		net->seg_prefix[s] = seg->prefix;
		net->seg_plen[s] = seg->plen;
		if (gw->has_model && !gw->model.translate && !gw->model.no_ipv4) {
			if (!seg->has_public)
				return text_fail(err, errlen, NULL, 0,
					    "topology %s: segment %s needs \"public PREFIX\" when %s's model (%s) does not translate",
					    t->name, seg->name, gw->name, gw->model.name);
			net->seg_prefix[s] = seg->public_prefix;
			net->seg_plen[s] = seg->public_plen;
		} else if (gw->has_model && gw->model.has_inside &&
			   (seg->plen < gw->model.inside_len ||
			    (seg->prefix & text_mask(gw->model.inside_len)) != gw->model.inside_addr)) {
			net->seg_prefix[s] = gw->model.inside_addr;
			net->seg_plen[s] = gw->model.inside_len < 8 ? 8 : gw->model.inside_len;
		}
	}
	for (int s = 0; s < t->n_segments; s++)
		if ((ret = lay_out_segment(t, net, s, err, errlen)))
			return ret;
	for (int s = 0; s < t->n_segments; s++) {
		const struct topo_net_node *g = &net->nodes[t->segments[s].gateway];
		net->seg_no4[s] = g->has_model && g->model.no_ipv4;
	}
	/* A segment behind a router that does not translate is reachable from
	 * above: each router up the chain routes it, up to and including the
	 * first one that translates (beyond it, the NAT hides it). */
	for (int s = 0; s < t->n_segments; s++) {
		int child = t->segments[s].gateway;

		if (translates(&net->nodes[child]) || net->seg_no4[s])
			continue;
		while (t->nodes[child].segment >= 0) {
			int up_seg = t->nodes[child].segment;
			int parent = t->segments[up_seg].gateway;
			struct topo_net_node *pn = &net->nodes[parent];

			if (pn->n_routes < TOPO_MAX_ROUTES)
				pn->routes[pn->n_routes++] = (struct topo_route){
					net->seg_prefix[s], net->nodes[child].public_addr, net->seg_plen[s] };
			if (translates(pn))
				break;
			child = parent;
		}
	}
	lay_out_ipv6(t, net);
	return lay_out_no_ipv4(t, net, err, errlen);
}

bool topo_net_addr6(const struct topo_net *net, const char *name, uint8_t out[16])
{
	int i = topo_find_node(&net->topo, name);

	if (i < 0)
		return false;
	for (int f = 0; f < net->nodes[i].n_ifaces; f++) {
		const struct topo_iface *ifc = &net->nodes[i].ifaces[f];
		if (!ifc->bridge && ifc->n_addrs6) {
			memcpy(out, ifc->addrs6[0], 16);
			return true;
		}
	}
	return false;
}

uint32_t topo_net_addr(const struct topo_net *net, const char *name, int which)
{
	int i = topo_find_node(&net->topo, name);

	if (i < 0)
		return 0;
	for (int f = 0; f < net->nodes[i].n_ifaces; f++) {
		const struct topo_iface *ifc = &net->nodes[i].ifaces[f];
		if (!ifc->bridge && which < ifc->n_addrs)
			return ifc->addrs[which];
	}
	if (net->nodes[i].n_ifaces && which < net->nodes[i].ifaces[0].n_addrs)
		return net->nodes[i].ifaces[0].addrs[which];
	return 0;
}

void topo_net_print(const struct topo_net *net, FILE *out)
{
	char a[46], b[46];

	for (int i = 0; i < net->topo.n_nodes; i++) {
		const struct topo_net_node *n = &net->nodes[i];

		fprintf(out, "%-12s %-6s", n->name, n->router ? "router" : "host");
		if (n->has_model)
			fprintf(out, " nat %s", n->model.name);
		fputc('\n', out);
		for (int f = 0; f < n->n_ifaces; f++) {
			const struct topo_iface *ifc = &n->ifaces[f];
			fprintf(out, "    %-12s %-8s", ifc->ifname, net->topo.segments[ifc->segment].name);
			for (int k = 0; k < ifc->n_addrs; k++)
				fprintf(out, " %s/%u", text_ipv4(ifc->addrs[k], a), ifc->plen);
			for (int k = 0; k < ifc->n_addrs6; k++)
				fprintf(out, " %s/64", text_ipv6(ifc->addrs6[k], a));
			fputc('\n', out);
		}
		for (int r = 0; r < n->n_routes; r++) {
			const struct topo_route *rt = &n->routes[r];
			if (rt->plen)
				fprintf(out, "    route %s/%u via %s\n", text_ipv4(rt->dst, a), rt->plen, text_ipv4(rt->gw, b));
			else
				fprintf(out, "    route default via %s\n", text_ipv4(rt->gw, b));
		}
		for (int r = 0; r < n->n_routes6; r++) {
			const struct topo_route6 *rt = &n->routes6[r];
			if (rt->plen)
				fprintf(out, "    route %s/%u via %s\n", text_ipv6(rt->dst, a), rt->plen, text_ipv6(rt->gw, b));
			else
				fprintf(out, "    route default via %s\n", text_ipv6(rt->gw, b));
		}
	}
}
