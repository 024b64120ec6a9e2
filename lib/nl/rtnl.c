#include "rtnl.h"
#include "nl.h"
#include "../util/netns.h"

#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct rtnl_req {
	char buf[8192];
	struct nlmsghdr *nlh;
};

static struct nlmsghdr *req_start(struct rtnl_req *r, uint16_t type, uint16_t flags)
{
	memset(r->buf, 0, sizeof(struct nlmsghdr) + 64);
	r->nlh = mnl_nlmsg_put_header(r->buf);
	r->nlh->nlmsg_type = type;
	r->nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	r->nlh->nlmsg_seq = (uint32_t)time(NULL);
	return r->nlh;
}

/* Send the request on a socket of the current namespace, wait for its ack. */
static int req_talk(struct rtnl_req *r)
{
	return nl_talk_once(NETLINK_ROUTE, r->nlh, NULL, NULL);
}

struct veth_arg {
	const char *name_a, *name_b;
	int fd_a, fd_b;
};

static int veth_do(void *p)
{
	struct veth_arg *a = p;
	struct rtnl_req r;
	struct ifinfomsg *ifm, *peer_ifm;
	struct nlattr *linkinfo, *data, *peer;

	req_start(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifm = mnl_nlmsg_put_extra_header(r.nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(r.nlh, IFLA_IFNAME, a->name_a);
	mnl_attr_put_u32(r.nlh, IFLA_NET_NS_FD, (uint32_t)a->fd_a);
	linkinfo = mnl_attr_nest_start(r.nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(r.nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(r.nlh, IFLA_INFO_DATA);
	peer = mnl_attr_nest_start(r.nlh, VETH_INFO_PEER);
	/* The peer's attributes follow its own ifinfomsg. */
	peer_ifm = (struct ifinfomsg *)((char *)r.nlh + r.nlh->nlmsg_len);
	memset(peer_ifm, 0, sizeof(*peer_ifm));
	r.nlh->nlmsg_len += (uint32_t)MNL_ALIGN(sizeof(*peer_ifm));
	mnl_attr_put_strz(r.nlh, IFLA_IFNAME, a->name_b);
	mnl_attr_put_u32(r.nlh, IFLA_NET_NS_FD, (uint32_t)a->fd_b);
	mnl_attr_nest_end(r.nlh, peer);
	mnl_attr_nest_end(r.nlh, data);
	mnl_attr_nest_end(r.nlh, linkinfo);
	return req_talk(&r);
}

int rtnl_veth_create(const char *ns_a, const char *name_a, const char *ns_b, const char *name_b)
{
	struct veth_arg a = { name_a, name_b, -1, -1 };
	int ret;

	a.fd_a = netns_open(ns_a);
	if (a.fd_a < 0)
		return a.fd_a;
	a.fd_b = netns_open(ns_b);
	if (a.fd_b < 0) {
		close(a.fd_a);
		return a.fd_b;
	}
	/* Made from namespace A; both ends land where IFLA_NET_NS_FD says. */
	ret = netns_call(ns_a, veth_do, &a);
	close(a.fd_a);
	close(a.fd_b);
	return ret;
}

static int bridge_do(void *p)
{
	struct rtnl_req r;
	struct ifinfomsg *ifm;
	struct nlattr *linkinfo;

	req_start(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifm = mnl_nlmsg_put_extra_header(r.nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(r.nlh, IFLA_IFNAME, p);
	linkinfo = mnl_attr_nest_start(r.nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(r.nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(r.nlh, linkinfo);
	return req_talk(&r);
}

int rtnl_bridge_create(const char *ns, const char *name)
{
	return netns_call(ns, bridge_do, (void *)name);
}

struct link_arg {
	const char *ifname, *master;
	int up; /* 1 up, 0 down, -1 leave */
	unsigned mtu;           /* 0: leave */
	const char *rename;     /* NULL: leave */
};

static int link_do(void *p)
{
	struct link_arg *a = p;
	struct rtnl_req r;
	struct ifinfomsg *ifm;
	unsigned idx = if_nametoindex(a->ifname);

	if (!idx)
		return -ENODEV;
	req_start(&r, RTM_NEWLINK, 0);
	ifm = mnl_nlmsg_put_extra_header(r.nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)idx;
	if (a->up >= 0) {
		ifm->ifi_change = IFF_UP;
		ifm->ifi_flags = a->up ? IFF_UP : 0;
	}
	if (a->master) {
		unsigned m = if_nametoindex(a->master);
		if (!m)
			return -ENODEV;
		mnl_attr_put_u32(r.nlh, IFLA_MASTER, m);
	}
	if (a->mtu)
		mnl_attr_put_u32(r.nlh, IFLA_MTU, a->mtu);
	if (a->rename)
		mnl_attr_put_strz(r.nlh, IFLA_IFNAME, a->rename);
	return req_talk(&r);
}

int rtnl_link_set_master(const char *ns, const char *ifname, const char *master)
{
	struct link_arg a = { ifname, master, -1, 0, NULL };

	return netns_call(ns, link_do, &a);
}

int rtnl_link_set_mtu(const char *ns, const char *ifname, unsigned mtu)
{
	struct link_arg a = { ifname, NULL, -1, mtu, NULL };

	return netns_call(ns, link_do, &a);
}

int rtnl_link_rename(const char *ns, const char *ifname, const char *name)
{
	struct link_arg a = { ifname, NULL, -1, 0, name };

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	return netns_call(ns, link_do, &a);
}

int rtnl_link_up(const char *ns, const char *ifname)
{
	struct link_arg a = { ifname, NULL, 1, 0, NULL };

	return netns_call(ns, link_do, &a);
}

int rtnl_link_down(const char *ns, const char *ifname)
{
	struct link_arg a = { ifname, NULL, 0, 0, NULL };

	return netns_call(ns, link_do, &a);
}

static int link_delete_do(void *p)
{
	struct rtnl_req r;
	struct ifinfomsg *ifm;
	unsigned idx = if_nametoindex(p);

	if (!idx)
		return -ENODEV;
	req_start(&r, RTM_DELLINK, 0);
	ifm = mnl_nlmsg_put_extra_header(r.nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)idx;
	return req_talk(&r);
}

int rtnl_link_delete(const char *ns, const char *ifname)
{
	return netns_call(ns, link_delete_do, (void *)ifname);
}

struct addr_arg {
	const char *ifname;
	uint32_t addr;
	uint8_t plen;
	bool del;
	const uint8_t *addr6;   /* IPv6 instead of addr */
};

static int addr_do(void *p)
{
	struct addr_arg *a = p;
	struct rtnl_req r;
	struct ifaddrmsg *ifa;
	unsigned idx = if_nametoindex(a->ifname);

	if (!idx)
		return -ENODEV;
	req_start(&r, a->del ? RTM_DELADDR : RTM_NEWADDR, a->del ? 0 : NLM_F_CREATE | NLM_F_EXCL);
	ifa = mnl_nlmsg_put_extra_header(r.nlh, sizeof(*ifa));
	ifa->ifa_family = a->addr6 ? AF_INET6 : AF_INET;
	ifa->ifa_prefixlen = a->plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = idx;
	if (a->addr6) {
		ifa->ifa_flags = IFA_F_NODAD; /* ours alone: no duplicate detection delay */
		mnl_attr_put(r.nlh, IFA_LOCAL, 16, a->addr6);
		mnl_attr_put(r.nlh, IFA_ADDRESS, 16, a->addr6);
	} else {
		mnl_attr_put_u32(r.nlh, IFA_LOCAL, a->addr);
		mnl_attr_put_u32(r.nlh, IFA_ADDRESS, a->addr);
	}
	return req_talk(&r);
}

int rtnl_addr_add(const char *ns, const char *ifname, uint32_t addr, uint8_t plen)
{
	struct addr_arg a = { ifname, addr, plen, false, NULL };

	return netns_call(ns, addr_do, &a);
}

int rtnl_addr_del(const char *ns, const char *ifname, uint32_t addr, uint8_t plen)
{
	struct addr_arg a = { ifname, addr, plen, true, NULL };

	return netns_call(ns, addr_do, &a);
}

int rtnl_addr6_add(const char *ns, const char *ifname, const uint8_t addr[16], uint8_t plen)
{
	struct addr_arg a = { ifname, 0, plen, false, addr };

	return netns_call(ns, addr_do, &a);
}

struct route_arg {
	uint32_t dst, gw;
	uint8_t plen;
	const uint8_t *dst6, *gw6;   /* IPv6 instead of dst and gw */
};

static int route_do(void *p)
{
	struct route_arg *a = p;
	struct rtnl_req r;
	struct rtmsg *rtm;

	req_start(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	rtm = mnl_nlmsg_put_extra_header(r.nlh, sizeof(*rtm));
	rtm->rtm_family = a->gw6 ? AF_INET6 : AF_INET;
	rtm->rtm_dst_len = a->plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	if (a->gw6) {
		if (a->plen)
			mnl_attr_put(r.nlh, RTA_DST, 16, a->dst6);
		mnl_attr_put(r.nlh, RTA_GATEWAY, 16, a->gw6);
	} else {
		if (a->plen)
			mnl_attr_put_u32(r.nlh, RTA_DST, a->dst);
		mnl_attr_put_u32(r.nlh, RTA_GATEWAY, a->gw);
	}
	return req_talk(&r);
}

int rtnl_route_add(const char *ns, uint32_t dst, uint8_t plen, uint32_t gw)
{
	struct route_arg a = { dst, gw, plen, NULL, NULL };

	return netns_call(ns, route_do, &a);
}

int rtnl_route6_add(const char *ns, const uint8_t dst[16], uint8_t plen, const uint8_t gw[16])
{
	struct route_arg a = { 0, 0, plen, dst, gw };

	return netns_call(ns, route_do, &a);
}

struct route_got {
	uint32_t gw, src;
	int oif;
};

static int route_attr(const struct nlattr *attr, void *data)
{
	struct route_got *g = data;

	if (mnl_attr_type_valid(attr, RTA_MAX) < 0)
		return MNL_CB_OK;
	switch (mnl_attr_get_type(attr)) {
	case RTA_GATEWAY:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			g->gw = mnl_attr_get_u32(attr);
		break;
	case RTA_PREFSRC:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			g->src = mnl_attr_get_u32(attr);
		break;
	case RTA_OIF:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			g->oif = (int)mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

static int route_got_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	return mnl_attr_parse(nlh, sizeof(struct rtmsg), route_attr, data);
}

int rtnl_route_get(uint32_t dst, uint32_t *gw, uint32_t *src, int *oif)
{
	struct rtnl_req r;
	struct rtmsg *rtm;
	struct route_got g = { 0, 0, 0 };
	int ret;

	req_start(&r, RTM_GETROUTE, 0);
	rtm = mnl_nlmsg_put_extra_header(r.nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 32;
	mnl_attr_put_u32(r.nlh, RTA_DST, dst);
	if ((ret = nl_talk_once(NETLINK_ROUTE, r.nlh, route_got_cb, &g)))
		return ret;
	if (!g.oif)
		return -ENETUNREACH;
	*gw = g.gw;
	*src = g.src;
	*oif = g.oif;
	return 0;
}

struct addr6_dump {
	struct rtnl_addr6 *out;
	int max, n;
};

static int addr6_attr(const struct nlattr *attr, void *data)
{
	struct rtnl_addr6 *a = data;

	if (mnl_attr_type_valid(attr, IFA_MAX) < 0)
		return MNL_CB_OK;
	/* IFA_LOCAL, where there is one, is ours (on a point-to-point link
	 * IFA_ADDRESS is the other end's) */
	if ((mnl_attr_get_type(attr) == IFA_LOCAL || (mnl_attr_get_type(attr) == IFA_ADDRESS && !a->has_local)) &&
	    mnl_attr_get_payload_len(attr) == 16) {
		memcpy(a->addr, mnl_attr_get_payload(attr), 16);
		a->has_local |= mnl_attr_get_type(attr) == IFA_LOCAL;
	}
	else if (mnl_attr_get_type(attr) == IFA_FLAGS && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
		a->flags = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int addr6_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr6_dump *d = data;
	const struct ifaddrmsg *ifa;
	struct rtnl_addr6 a;

	if (nlh->nlmsg_type != RTM_NEWADDR || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)) || d->n >= d->max)
		return MNL_CB_OK;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET6)
		return MNL_CB_OK;
	memset(&a, 0, sizeof(a));
	a.plen = ifa->ifa_prefixlen;
	a.scope = ifa->ifa_scope;
	a.flags = ifa->ifa_flags;
	a.ifindex = (int)ifa->ifa_index;
	if (mnl_attr_parse(nlh, sizeof(*ifa), addr6_attr, &a) < 0)
		return MNL_CB_OK;
	d->out[d->n++] = a;
	return MNL_CB_OK;
}

int rtnl_addr6_list(struct rtnl_addr6 *out, int max)
{
	struct rtnl_req r;
	struct ifaddrmsg *ifa;
	struct addr6_dump d = { out, max, 0 };
	int ret;

	req_start(&r, RTM_GETADDR, NLM_F_DUMP);
	r.nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;   /* a dump ends with its DONE, no ack */
	ifa = mnl_nlmsg_put_extra_header(r.nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;
	if ((ret = nl_talk_once(NETLINK_ROUTE, r.nlh, addr6_cb, &d)))
		return ret;
	return d.n;
}
