#include "nftportmap.h"
#include "nft.h"
#include "../../lib/nat/model.h"
#include "../../lib/nl/nl.h"
#include "../../lib/util/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#define NATPMP_PORT 5351

/* Which version byte to drop on port 5351 (-1: none): NAT-PMP is 0, PCP 2. */
static int dropped_version(unsigned portmap)
{
	bool natpmp = portmap & NAT_PORTMAP_NATPMP, pcp = portmap & NAT_PORTMAP_PCP;

	return natpmp && !pcp ? 2 : pcp && !natpmp ? 0 : -1;
}

static struct nftnl_rule *rule_in(const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, PORTMAP_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	return r;
}

struct apply_ctx {
	unsigned portmap;
	char *err;
	size_t errlen;
};

static int apply_in_ns(void *arg)
{
	struct apply_ctx *a = arg;
	static char buf[32768];
	struct mnl_nlmsg_batch *b = nl_batch_start(buf, sizeof(buf));
	uint32_t seq = (uint32_t)time(NULL);
	static const struct {
		const char *name, *type, *jump;
		uint32_t hook;
		int prio;
	} chains[] = {
		{ "forward", "filter", PORTMAP_FORWARD_CHAIN, NF_INET_FORWARD, 0 },
		{ "prerouting", "nat", PORTMAP_NAT_CHAIN, NF_INET_PRE_ROUTING, PORTMAP_PREROUTING_PRIORITY },
		{ "postrouting", "nat", PORTMAP_POSTROUTING_CHAIN, NF_INET_POST_ROUTING, 110 },
	};
	int version = dropped_version(a->portmap);

	nft_batch_open(b, &seq);
	nft_batch_put_fresh_table(b, &seq, NFPROTO_INET, PORTMAP_TABLE);
	for (size_t i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
		struct nftnl_rule *r;
		nft_batch_put_typed_chain(b, &seq, NFPROTO_INET, PORTMAP_TABLE, chains[i].jump, NULL, 0, 0, NULL);
		nft_batch_put_typed_chain(b, &seq, NFPROTO_INET, PORTMAP_TABLE, chains[i].name, chains[i].type,
					  chains[i].hook, chains[i].prio, NULL);
		r = rule_in(chains[i].name);
		nft_emit_jump(r, chains[i].jump);
		nft_batch_put_rule(b, &seq, NFPROTO_INET, r);
	}
	if (version >= 0) {
		/* udp dport 5351 @th,64,8 VERSION drop */
		struct nftnl_rule *r;
		uint8_t proto = IPPROTO_UDP, v = (uint8_t)version;
		uint16_t port = htons(NATPMP_PORT);

		nft_batch_put_typed_chain(b, &seq, NFPROTO_INET, PORTMAP_TABLE, "input", "filter", NF_INET_LOCAL_IN, -10,
					  NULL);
		r = rule_in("input");
		nft_emit_meta(r, NFT_META_L4PROTO, NFT_REG_1);
		nft_emit_cmp(r, NFT_REG_1, NFT_CMP_EQ, &proto, 1);
		nft_emit_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
		nft_emit_cmp(r, NFT_REG_1, NFT_CMP_EQ, &port, 2);
		nft_emit_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 8, 1, NFT_REG_1);
		nft_emit_cmp(r, NFT_REG_1, NFT_CMP_EQ, &v, 1);
		nft_emit_verdict(r, NF_DROP);
		nft_batch_put_rule(b, &seq, NFPROTO_INET, r);
	}
	return nft_batch_close_talk(b, &seq, "the port-mapping table", a->err, a->errlen);
}

int nft_portmap_apply(const char *netns, unsigned portmap, char *err, size_t errlen)
{
	struct apply_ctx a = { portmap, err, errlen };

	return netns_call(netns, apply_in_ns, &a);
}

void nft_portmap_print(unsigned portmap, FILE *out)
{
	int version = dropped_version(portmap);

	fprintf(out, "# portmap: miniupnpd answers on the LAN side and writes the mappings it grants\n"
		     "# into this table's chains (it makes none itself)\n"
		     "table inet %s {\n"
		     "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\tjump %s\n\t}\n"
		     "\tchain %s {\n\t}\n"
		     "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat - 10; policy accept;\n"
		     "\t\t# before the model's own DNAT: a mapped port wins\n\t\tjump %s\n\t}\n"
		     "\tchain %s {\n\t}\n"
		     "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat + 10; policy accept;\n\t\tjump %s\n\t}\n"
		     "\tchain %s {\n\t}\n",
		PORTMAP_TABLE, PORTMAP_FORWARD_CHAIN, PORTMAP_FORWARD_CHAIN, PORTMAP_NAT_CHAIN, PORTMAP_NAT_CHAIN,
		PORTMAP_POSTROUTING_CHAIN, PORTMAP_POSTROUTING_CHAIN);
	if (version >= 0)
		fprintf(out, "\tchain input {\n\t\ttype filter hook input priority filter - 10; policy accept;\n"
			     "\t\t# one daemon answers NAT-PMP and PCP on one port: %s is not offered\n"
			     "\t\tudp dport %d @th,64,8 %d drop\n\t}\n",
			version == 2 ? "PCP" : "NAT-PMP", NATPMP_PORT, version);
	fprintf(out, "}\n");
}

/* Which protocol made a mapping, by the label miniupnpd keeps in its
 * rule's user data (raw bytes, not nft's comment TLV): "PCP MAP <nonce>",
 * "NAT-PMP <port> <proto>", else the UPnP client's description. */
static unsigned label_protocol(const char *label, uint32_t len)
{
	if (label && len >= 4 && !memcmp(label, "PCP ", 4))
		return NAT_PORTMAP_PCP;
	if (label && len >= 8 && !memcmp(label, "NAT-PMP ", 8))
		return NAT_PORTMAP_NATPMP;
	return NAT_PORTMAP_UPNP;
}

static int count_rule(const struct nlmsghdr *nlh, void *arg)
{
	struct nft_portmap_granted *g = arg;
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (r && nftnl_rule_nlmsg_parse(nlh, r) == 0 && nftnl_rule_is_set(r, NFTNL_RULE_CHAIN) &&
	    !strcmp(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), PORTMAP_NAT_CHAIN)) {
		uint32_t len = 0;
		const char *label =
			nftnl_rule_is_set(r, NFTNL_RULE_USERDATA) ? nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len) : NULL;
		g->count++;
		g->protocols |= label_protocol(label, len);
	}
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

static int count_in_ns(void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r)
		return -ENOMEM;
	nlh = nftnl_rule_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, (uint32_t)time(NULL));
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, PORTMAP_TABLE);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return nl_talk_once(NETLINK_NETFILTER, nlh, count_rule, arg);
}

int nft_portmap_granted(const char *netns, struct nft_portmap_granted *g)
{
	memset(g, 0, sizeof(*g));
	return netns_call(netns, count_in_ns, g);
}

int nft_portmap_count(const char *netns)
{
	struct nft_portmap_granted g;
	int ret = nft_portmap_granted(netns, &g);

	return ret ? ret : g.count;
}
