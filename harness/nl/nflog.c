#include "nflog.h"
#include "../../lib/nl/nl.h"
#include "../../lib/util/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct nflog {
	struct nl_sock s;
};

static int open_in_ns(void *arg)
{
	return nl_open(arg, NETLINK_NETFILTER);
}

/* One config message for group: its attribute (type, bytes). */
static int config(struct nflog *l, uint16_t group, uint16_t type, const void *data, size_t len)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = type;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(group);
	mnl_attr_put(nlh, type, len, data);
	return nl_talk(&l->s, nlh, NULL, NULL);
}

struct nflog *nflog_open(const char *netns, uint16_t group, char *err, size_t errlen)
{
	struct nflog *l = calloc(1, sizeof(*l));
	struct nfulnl_msg_config_cmd bind = { NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode mode = { .copy_range = 0, .copy_mode = NFULNL_COPY_META };
	uint32_t one = htonl(1), timeout = htonl(1);
	int rcvbuf = 1 << 20, ret;

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!group) {
		snprintf(err, errlen, "log group 0 is not one to bind");
		free(l);
		return NULL;
	}
	if ((ret = netns_call(netns, open_in_ns, &l->s))) {
		snprintf(err, errlen, "cannot open a netfilter socket in %s: %s", netns, strerror(-ret));
		free(l);
		return NULL;
	}
	/* Every packet its own message, sent as it passes (no queue to
	 * fill, no timer to wait for). */
	if ((ret = config(l, group, NFULA_CFG_CMD, &bind, sizeof(bind))) ||
	    (ret = config(l, group, NFULA_CFG_MODE, &mode, sizeof(mode))) ||
	    (ret = config(l, group, NFULA_CFG_QTHRESH, &one, sizeof(one))) ||
	    (ret = config(l, group, NFULA_CFG_TIMEOUT, &timeout, sizeof(timeout)))) {
		snprintf(err, errlen, "cannot bind log group %u in %s: %s%s", group, netns, strerror(-ret),
			 ret == -EBUSY ? " (another listener has it)" : "");
		nflog_close(l);
		return NULL;
	}
	setsockopt(mnl_socket_get_fd(l->s.mnl), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return l;
}

void nflog_close(struct nflog *l)
{
	if (!l)
		return;
	nl_close(&l->s);   /* the kernel unbinds the group with the socket */
	free(l);
}

struct parse_ctx {
	nflog_cb cb;
	void *arg;
	int packets;
};

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type == NFULA_PREFIX) {
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
			return MNL_CB_ERROR;
		tb[type] = a;
	}
	return MNL_CB_OK;
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct parse_ctx *x = data;
	const struct nlattr *tb[NFULA_MAX + 1] = { NULL };

	if (nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET))
		return MNL_CB_OK;
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct nfgenmsg) ||
	    mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb) != MNL_CB_OK)
		return MNL_CB_ERROR;
	x->packets++;
	x->cb(tb[NFULA_PREFIX] ? mnl_attr_get_str(tb[NFULA_PREFIX]) : "", x->arg);
	return MNL_CB_OK;
}

int nflog_parse(const void *buf, size_t len, nflog_cb cb, void *arg)
{
	struct parse_ctx x = { cb, arg, 0 };
	const char *at = buf;

	/* Each message whole inside what was read: libmnl's own walk takes a
	 * length past 2^31 for a negative one. */
	while (len >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)at;
		size_t step;
		if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len)
			return -EBADMSG;
		if (msg_cb(nlh, &x) != MNL_CB_OK)
			return -EBADMSG;
		step = NLMSG_ALIGN(nlh->nlmsg_len);
		if (step >= len)
			break;
		at += step;
		len -= step;
	}
	return x.packets;
}

int nflog_drain(struct nflog *l, nflog_cb cb, void *arg)
{
	static char buf[1 << 16];
	int fd = mnl_socket_get_fd(l->s.mnl), total = 0, lost = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		int got;
		if (n < 0 && errno == ENOBUFS) {   /* some dropped: go on with the rest */
			lost = 1;
			continue;
		}
		if (n <= 0)
			break;
		if ((got = nflog_parse(buf, (size_t)n, cb, arg)) > 0)
			total += got;
	}
	return lost ? -ENOBUFS : total;
}
