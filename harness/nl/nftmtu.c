#include "nftmtu.h"
#include "nft.h"
#include "../../lib/nl/nl.h"
#include "../../lib/util/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/if_ether.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct mtu_ctx {
	int max_bytes;
	char *err;
	size_t errlen;
};

/* meta protocol PROTO, the 16-bit length at OFF of the network header
 * greater than LIMIT: drop. */
static void put_drop(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *chain, uint16_t proto, uint32_t off,
		     uint16_t limit)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	uint16_t p = htons(proto), l = htons(limit);

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFTMTU_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_NETDEV);
	nft_emit_meta(r, NFT_META_PROTOCOL, NFT_REG_1);
	nft_emit_cmp(r, NFT_REG_1, NFT_CMP_EQ, &p, 2);
	nft_emit_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, 2, NFT_REG_1);
	nft_emit_cmp(r, NFT_REG_1, NFT_CMP_GT, &l, 2);   /* big-endian bytes compare as numbers */
	nft_emit_verdict(r, NF_DROP);
	nft_batch_put_rule(b, seq, NFPROTO_NETDEV, r);
}

static int mtu_in_ns(void *arg)
{
	struct mtu_ctx *x = arg;
	static char buf[65536];
	struct mnl_nlmsg_batch *b = nl_batch_start(buf, sizeof(buf));
	struct if_nameindex *ifs = if_nameindex(), *i;
	uint32_t seq = (uint32_t)time(NULL);
	int chains = 0;

	if (!ifs) {
		snprintf(x->err, x->errlen, "cannot list the interfaces: %s", strerror(errno));
		return -errno;
	}
	nft_batch_open(b, &seq);
	nft_batch_put_table(b, &seq, NFPROTO_NETDEV, NFTMTU_TABLE, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK);
	nft_batch_put_table(b, &seq, NFPROTO_NETDEV, NFTMTU_TABLE, NFT_MSG_DELTABLE, NLM_F_ACK);
	if (x->max_bytes > 0) {
		nft_batch_put_table(b, &seq, NFPROTO_NETDEV, NFTMTU_TABLE, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK);
		for (i = ifs; i->if_index && chains < 64; i++) {
			char name[32];
			if (!strcmp(i->if_name, "lo"))
				continue;
			snprintf(name, sizeof(name), "in%u", i->if_index);
			nft_batch_put_dev_chain(b, &seq, NFPROTO_NETDEV, NFTMTU_TABLE, name, NF_NETDEV_INGRESS, -500, i->if_name);
			put_drop(b, &seq, name, ETH_P_IP, 2, (uint16_t)x->max_bytes);         /* total length */
			put_drop(b, &seq, name, ETH_P_IPV6, 4, (uint16_t)(x->max_bytes - 40)); /* payload length */
			chains++;
		}
	}
	if_freenameindex(ifs);
	return nft_batch_close_talk(b, &seq, "the MTU black hole", x->err, x->errlen);
}

int nftmtu_blackhole(const char *netns, int max_bytes, char *err, size_t errlen)
{
	struct mtu_ctx x = { max_bytes, err, errlen };

	if (max_bytes && (max_bytes < 576 || max_bytes > 9000)) {
		snprintf(err, errlen, "an MTU of %d bytes: expected 576 to 9000", max_bytes);
		return -EINVAL;
	}
	return netns_call(netns, mtu_in_ns, &x);
}
