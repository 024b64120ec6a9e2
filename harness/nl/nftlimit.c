#include "nftlimit.h"
#include "nft.h"

#include <arpa/inet.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <string.h>

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

/* oifname "wan" meta l4proto udp ct state new [ct count over N] drop */
static void limit_rule(struct nftnl_rule *r, void *arg)
{
	long max_flows = *(const long *)arg;
	char ifname[IFNAMSIZ] = "wan";
	uint8_t udp = IPPROTO_UDP;
	uint32_t zero = 0;

	load(r, "meta", NFT_META_OIFNAME, ifname, sizeof(ifname), NFT_CMP_EQ);
	load(r, "meta", NFT_META_L4PROTO, &udp, 1, NFT_CMP_EQ);
	load(r, "ct", NFT_CT_STATE, &zero, 4, NFT_CMP_NEQ);
	if (max_flows > 0) {
		struct nftnl_expr *cl = nft_expr_add(r, "connlimit");
		nftnl_expr_set_u32(cl, NFTNL_EXPR_CONNLIMIT_COUNT, (uint32_t)max_flows);
		nftnl_expr_set_u32(cl, NFTNL_EXPR_CONNLIMIT_FLAGS, NFT_CONNLIMIT_F_INV); /* "over" */
	}
	nft_emit_verdict(r, NF_DROP);
}

int nftlimit_new_flows(const char *netns, long max_flows, long max_flows6, char *err, size_t errlen)
{
	int ret = nft_one_rule_table(netns, NFTLIMIT_TABLE, "forward", NF_INET_FORWARD, -150,
				     max_flows >= 0 ? limit_rule : NULL, &max_flows, "the port limit", err, errlen);

	/* IPv6's own ports (NAT66), limited apart: a space of their own. */
	if (!ret)
		ret = nft_one_rule_table_family(netns, NFPROTO_IPV6, NFTLIMIT_TABLE, "forward", NF_INET_FORWARD, -150,
						max_flows6 >= 0 ? limit_rule : NULL, &max_flows6, "the IPv6 port limit",
						err, errlen);
	return ret;
}
