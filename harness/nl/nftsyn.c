#include "nftsyn.h"
#include "nft.h"

#include <arpa/inet.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>
#include <string.h>

/* meta l4proto tcp tcp dport PORT tcp flags & (syn|ack) == syn drop */
static void syn_rule(struct nftnl_rule *r, void *arg)
{
	uint16_t port = htons(*(const uint16_t *)arg);
	uint8_t tcp = IPPROTO_TCP, syn = 0x02;
	uint32_t mask;

	nft_emit_meta(r, NFT_META_L4PROTO, NFT_REG_1);
	nft_emit_cmp(r, NFT_REG_1, NFT_CMP_EQ, &tcp, 1);
	nft_emit_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nft_emit_cmp(r, NFT_REG_1, NFT_CMP_EQ, &port, 2);
	nft_emit_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1);
	memcpy(&mask, (const uint8_t[4]){ 0x12, 0, 0, 0 }, 4); /* syn|ack, the register's first byte */
	nft_emit_mask(r, mask);
	nft_emit_cmp(r, NFT_REG_1, NFT_CMP_EQ, &syn, 1);
	nft_emit_verdict(r, NF_DROP);
}

int nftsyn_drop(const char *netns, uint16_t port, bool on, char *err, size_t errlen)
{
	return nft_one_rule_table(netns, NFTSYN_TABLE, "input", NF_INET_LOCAL_IN, 0, on ? syn_rule : NULL, &port,
				  "the SYN filter", err, errlen);
}
