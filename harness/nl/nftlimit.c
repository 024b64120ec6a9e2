#include "nftlimit.h"
#include "nft.h"
#include "../util/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct limit_ctx {
	long max_flows;
	char *err;
	size_t errlen;
};


/* KIND (meta or ct) KEY compared with data; ct state masked to "new". */
static void load(struct nftnl_rule *r, const char *kind, uint32_t key, const void *data, uint32_t len, int op)
{
	if (!strcmp(kind, "ct")) {
		struct nftnl_expr *e = nft_expr_add(r, "ct");
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
		nft_emit_mask(r, NF_CT_STATE_BIT(IP_CT_NEW));
	} else {
		nft_emit_meta(r, key, NFT_REG_1);
	}
	nft_emit_cmp(r, NFT_REG_1, op, data, len);
}

static int limit_in_ns(void *arg)
{
	struct limit_ctx *x = arg;
	static char buf[16384];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, sizeof(buf));
	uint32_t seq = (uint32_t)time(NULL);
	int expected = 2, ret;

	nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	nft_batch_put_table(b, &seq, NFPROTO_IPV4, NFTLIMIT_TABLE, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK);
	nft_batch_put_table(b, &seq, NFPROTO_IPV4, NFTLIMIT_TABLE, NFT_MSG_DELTABLE, NLM_F_ACK);
	if (x->max_flows >= 0) {
		struct nftnl_rule *r = nftnl_rule_alloc();
		struct nlmsghdr *nlh;
		char ifname[IFNAMSIZ] = "wan";
		uint8_t udp = IPPROTO_UDP;
		uint32_t zero = 0;

		nft_batch_put_table(b, &seq, NFPROTO_IPV4, NFTLIMIT_TABLE, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK);
		nft_batch_put_chain(b, &seq, NFPROTO_IPV4, NFTLIMIT_TABLE, "forward", NF_INET_FORWARD, -150);
		/* oifname "wan" meta l4proto udp ct state new [ct count over N] drop */
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFTLIMIT_TABLE);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "forward");
		nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
		load(r, "meta", NFT_META_OIFNAME, ifname, sizeof(ifname), NFT_CMP_EQ);
		load(r, "meta", NFT_META_L4PROTO, &udp, 1, NFT_CMP_EQ);
		load(r, "ct", NFT_CT_STATE, &zero, 4, NFT_CMP_NEQ);
		if (x->max_flows > 0) {
			struct nftnl_expr *cl = nft_expr_add(r, "connlimit");
			nftnl_expr_set_u32(cl, NFTNL_EXPR_CONNLIMIT_COUNT, (uint32_t)x->max_flows);
			nftnl_expr_set_u32(cl, NFTNL_EXPR_CONNLIMIT_FLAGS, NFT_CONNLIMIT_F_INV); /* "over" */
		}
		nft_emit_verdict(r, NF_DROP);
		nlh = nftnl_rule_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_NEWRULE, NFPROTO_IPV4,
						 NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK, seq++);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nftnl_rule_free(r);
		mnl_nlmsg_batch_next(b);
		expected += 3;
	}
	nftnl_batch_end(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	ret = nft_batch_talk(b, expected, "the port limit", x->err, x->errlen);
	mnl_nlmsg_batch_stop(b);
	return ret;
}

int nftlimit_new_flows(const char *netns, long max_flows, char *err, size_t errlen)
{
	struct limit_ctx x = { max_flows, err, errlen };

	return netns_call(netns, limit_in_ns, &x);
}
