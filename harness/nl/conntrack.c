#include "conntrack.h"
#include "../../lib/nl/nl.h"
#include "../../lib/util/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* family AF_UNSPEC: every family (a dump of all, a flush of all). */
static struct nlmsghdr *ct_request(char *buf, uint16_t msg, uint16_t flags, uint32_t seq, uint8_t family)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

struct flush_arg {
	int proto;          /* 0: everything */
	int deleted;
	int ret;
};

/* The entries a dump found, kept as their CTA_TUPLE_ORIG attributes and
 * their address family. */
struct tuples {
	size_t n, cap;
	char **attr;
	uint8_t *family;
};

static int tuple_proto(const struct nlattr *orig)
{
	const struct nlattr *a, *b;

	mnl_attr_for_each_nested(a, orig)
		if (mnl_attr_get_type(a) == CTA_TUPLE_PROTO)
			mnl_attr_for_each_nested(b, a)
				if (mnl_attr_get_type(b) == CTA_PROTO_NUM)
					return mnl_attr_get_u8(b);
	return -1;
}

static int collect_cb(const struct nlmsghdr *nlh, void *data)
{
	struct tuples *t = data;
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != CTA_TUPLE_ORIG)
			continue;
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 64;
			char **n = realloc(t->attr, cap * sizeof(*n));
			uint8_t *fam;
			if (!n)
				return MNL_CB_ERROR;
			t->attr = n;
			if (!(fam = realloc(t->family, cap)))
				return MNL_CB_ERROR;
			t->family = fam;
			t->cap = cap;
		}
		t->family[t->n] = nfg->nfgen_family;
		t->attr[t->n] = malloc(a->nla_len);
		if (!t->attr[t->n])
			return MNL_CB_ERROR;
		memcpy(t->attr[t->n++], a, a->nla_len);
	}
	return MNL_CB_OK;
}

static int flush_in_ns(void *p)
{
	struct flush_arg *f = p;
	struct nl_sock nl;
	char buf[8192];
	uint32_t seq = (uint32_t)time(NULL);
	struct tuples t = { 0 };
	int ret = 0;

	if ((ret = nl_open(&nl, NETLINK_NETFILTER)))
		return ret;
	if (!f->proto) {
		/* No tuple: the kernel flushes the whole table (IPv4 and IPv6). */
		ret = nl_talk(&nl, ct_request(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, seq, AF_UNSPEC), NULL, NULL);
		goto out;
	}
	if ((ret = nl_talk(&nl, ct_request(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, seq++, AF_UNSPEC), collect_cb, &t)))
		goto out;
	for (size_t i = 0; i < t.n; i++) {
		const struct nlattr *orig = (const struct nlattr *)t.attr[i];
		struct nlmsghdr *nlh;

		if (tuple_proto(orig) != f->proto)
			continue;
		nlh = ct_request(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, seq++, t.family[i]);
		memcpy((char *)nlh + nlh->nlmsg_len, orig, orig->nla_len);
		nlh->nlmsg_len += MNL_ALIGN(orig->nla_len);
		/* An entry that timed out meanwhile is fine (ENOENT). */
		if (nl_talk(&nl, nlh, NULL, NULL) == 0)
			f->deleted++;
	}
out:
	for (size_t i = 0; i < t.n; i++)
		free(t.attr[i]);
	free(t.attr);
	free(t.family);
	nl_close(&nl);
	return ret;
}

int conntrack_flush(const char *netns)
{
	struct flush_arg f = { 0, 0, 0 };

	return netns_call(netns, flush_in_ns, &f);
}

int conntrack_flush_proto(const char *netns, int proto, int *deleted)
{
	struct flush_arg f = { proto, 0, 0 };
	int ret = netns_call(netns, flush_in_ns, &f);

	*deleted = f.deleted;
	return ret;
}
