#include "nftsyn.h"
#include "nft.h"
#include "../util/netns.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

struct syn_ctx {
	uint16_t port;
	bool on;
	char *err;
	size_t errlen;
};

static int syn_in_ns(void *arg)
{
	struct syn_ctx *x = arg;
	static char buf[8192];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, sizeof(buf));
	uint32_t seq = (uint32_t)time(NULL);
	int expected = 2, ret;

	nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	/* Create-then-delete empties any old table; then build anew. */
	nft_batch_put_table(b, &seq, NFPROTO_IPV4, NFTSYN_TABLE, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK);
	nft_batch_put_table(b, &seq, NFPROTO_IPV4, NFTSYN_TABLE, NFT_MSG_DELTABLE, NLM_F_ACK);
	if (x->on) {
		struct nftnl_rule *r = nftnl_rule_alloc();
		struct nlmsghdr *nlh;
		uint8_t tcp = IPPROTO_TCP, syn = 0x02;
		uint16_t port = htons(x->port);
		uint32_t mask;

		nft_batch_put_table(b, &seq, NFPROTO_IPV4, NFTSYN_TABLE, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK);
		nft_batch_put_chain(b, &seq, NFPROTO_IPV4, NFTSYN_TABLE, "input", NF_INET_LOCAL_IN, 0);
		/* meta l4proto tcp tcp dport PORT tcp flags & (syn|ack) == syn drop */
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFTSYN_TABLE);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "input");
		nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
		nft_emit_meta(r, NFT_META_L4PROTO, NFT_REG_1);
		nft_emit_cmp(r, NFT_REG_1, NFT_CMP_EQ, &tcp, 1);
		nft_emit_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
		nft_emit_cmp(r, NFT_REG_1, NFT_CMP_EQ, &port, 2);
		nft_emit_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1);
		memcpy(&mask, (const uint8_t[4]){ 0x12, 0, 0, 0 }, 4); /* syn|ack, the register's first byte */
		nft_emit_mask(r, mask);
		nft_emit_cmp(r, NFT_REG_1, NFT_CMP_EQ, &syn, 1);
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
	ret = nft_batch_talk(b, expected, "the SYN filter", x->err, x->errlen);
	mnl_nlmsg_batch_stop(b);
	return ret;
}

int nftsyn_drop(const char *netns, uint16_t port, bool on, char *err, size_t errlen)
{
	struct syn_ctx x = { port, on, err, errlen };

	return netns_call(netns, syn_in_ns, &x);
}
