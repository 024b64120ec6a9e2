#include "nftcount.h"
#include "nft.h"
#include "../../lib/nl/nl.h"
#include "../../lib/util/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/if_ether.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHAIN "count"


static void match_meta(struct nftnl_rule *r, uint32_t key, int op, const void *data, uint32_t len)
{
	struct nftnl_expr *m = nft_expr_add(r, "meta"), *c;

	nftnl_expr_set_u32(m, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(m, NFTNL_EXPR_META_DREG, NFT_REG_1);
	c = nft_expr_add(r, "cmp");
	nftnl_expr_set_u32(c, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(c, NFTNL_EXPR_CMP_OP, (uint32_t)op);
	nftnl_expr_set(c, NFTNL_EXPR_CMP_DATA, data, len);
}

/* After the counter: packets of log_min_len bytes or more (IP, as the
 * kernel sees them) to log group log_group, one message each, under the
 * rule's name. */
static void put_log(struct nftnl_rule *r, const struct nftcount_rule *cr)
{
	struct nftnl_expr *e = nft_expr_add(r, "meta");
	uint32_t min = htonl(cr->log_min_len);

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_LEN);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	e = nft_expr_add(r, "byteorder");
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 4);
	e = nft_expr_add(r, "cmp");
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_GTE);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, &min, sizeof(min));
	e = nft_expr_add(r, "log");
	nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, cr->log_group);
	nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_QTHRESHOLD, 1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, cr->name);
}

struct install_ctx {
	int family;
	const struct nftcount_rule *rules;
	int n;
	char *err;
	size_t errlen;
};

static int install_in_ns(void *arg)
{
	struct install_ctx *x = arg;
	static char buf[64 * 1024];
	struct mnl_nlmsg_batch *b = nl_batch_start(buf, sizeof(buf));
	uint32_t seq = (uint32_t)time(NULL);
	int ret = 0;

	nft_batch_open(b, &seq);
	nft_batch_put_fresh_table(b, &seq, x->family, NFTCOUNT_TABLE);
	/* NF_BR_FORWARD is NF_INET_FORWARD's number. */
	nft_batch_put_chain(b, &seq, x->family, NFTCOUNT_TABLE, CHAIN, NF_INET_FORWARD,
			    x->family == NFPROTO_BRIDGE ? 0 : -300);
	/* Each rule twice: every family under its name, and IPv6 alone under
	 * NAME/6 (the IPv4 share is the difference). */
	for (int i = 0; i < 2 * x->n && !ret; i++) {
		const struct nftcount_rule *cr = &x->rules[i / 2];
		struct nftnl_rule *r = nftnl_rule_alloc();
		char ifname[IFNAMSIZ], name[80];
		uint8_t icmp = IPPROTO_ICMP, icmp6 = IPPROTO_ICMPV6;
		uint16_t ip6 = htons(ETH_P_IPV6);

		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFTCOUNT_TABLE);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, CHAIN);
		nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t)x->family);
		if (cr->iif) {
			memset(ifname, 0, sizeof(ifname));
			snprintf(ifname, sizeof(ifname), "%s", cr->iif);
			match_meta(r, NFT_META_IIFNAME, NFT_CMP_EQ, ifname, sizeof(ifname));
		}
		if (cr->oif) {
			memset(ifname, 0, sizeof(ifname));
			snprintf(ifname, sizeof(ifname), "%s", cr->oif);
			match_meta(r, NFT_META_OIFNAME, NFT_CMP_EQ, ifname, sizeof(ifname));
		}
		if (i % 2)
			match_meta(r, NFT_META_PROTOCOL, NFT_CMP_EQ, &ip6, 2);
		match_meta(r, NFT_META_L4PROTO, NFT_CMP_NEQ, &icmp, 1);
		match_meta(r, NFT_META_L4PROTO, NFT_CMP_NEQ, &icmp6, 1);
		nft_expr_add(r, "counter");
		if (cr->log_group && i % 2 == 0)
			put_log(r, cr);
		snprintf(name, sizeof(name), "%s%s", cr->name, i % 2 ? "/6" : "");
		nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, name, (uint32_t)strlen(name) + 1);
		ret = nft_batch_put_rule(b, &seq, x->family, r);
	}
	if (ret) {
		snprintf(x->err, x->errlen, "too many counters for one batch");
		mnl_nlmsg_batch_stop(b);
		return ret;
	}
	return nft_batch_close_talk(b, &seq, "the counters", x->err, x->errlen);
}

int nftcount_install(const char *netns, int bridge, const struct nftcount_rule *rules, int n, char *err, size_t errlen)
{
	struct install_ctx x = { bridge ? NFPROTO_BRIDGE : NFPROTO_INET, rules, n, err, errlen };

	if (n > NFTCOUNT_MAX_RULES) {
		snprintf(err, errlen, "at most %d counting rules", NFTCOUNT_MAX_RULES);
		return -EINVAL;
	}
	return netns_call(netns, install_in_ns, &x);
}

struct read_ctx {
	int family;
	const char *name;
	uint64_t packets, bytes;
	int found;
};

static int counter_of(struct nftnl_expr *e, void *arg)
{
	struct read_ctx *x = arg;

	if (!strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter")) {
		x->packets += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		x->bytes += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
	}
	return MNL_CB_OK;
}

static int rule_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct read_ctx *x = arg;
	struct nftnl_rule *r = nftnl_rule_alloc();
	const char *ud;
	uint32_t len = 0;

	if (r && nftnl_rule_nlmsg_parse(nlh, r) == 0 && nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
		ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
		if (ud && len > 0 && ud[len - 1] == '\0' && !strcmp(ud, x->name)) {
			x->found++;
			nftnl_expr_foreach(r, counter_of, x);
		}
	}
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

static int read_in_ns(void *arg)
{
	struct read_ctx *x = arg;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int ret;

	if (!r)
		return -ENOMEM;
	nlh = nftnl_rule_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, (uint16_t)x->family, NLM_F_DUMP, (uint32_t)time(NULL));
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFTCOUNT_TABLE);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	ret = nl_talk_once(NETLINK_NETFILTER, nlh, rule_cb, x);
	return ret;
}

int nftcount_read(const char *netns, int bridge, const char *name, uint64_t *packets, uint64_t *bytes)
{
	struct read_ctx x = { bridge ? NFPROTO_BRIDGE : NFPROTO_INET, name, 0, 0, 0 };
	int ret = netns_call(netns, read_in_ns, &x);

	if (ret)
		return ret;
	if (!x.found)
		return -ENOENT;
	*packets = x.packets;
	*bytes = x.bytes;
	return 0;
}
