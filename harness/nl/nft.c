#include "nft.h"
#include "../../lib/nl/nl.h"
#include "../../lib/util/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <net/if.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Register plan for one rule: keys from REG32_00, looked-up or computed
 * values from REG32_04, dynset data and NAT addresses from REG32_08. */
#define R_KEY NFT_REG32_00
#define R_VAL NFT_REG32_04
#define R_DATA NFT_REG32_08
#define R_ADDR NFT_REG32_12

struct nftnl_expr *nft_expr_add(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (e)
		nftnl_rule_add_expr(r, e);
	return e;
}

void nft_emit_cmp(struct nftnl_rule *r, uint32_t reg, int op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nft_expr_add(r, "cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, (uint32_t)op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

static void emit_key(struct nftnl_rule *r, const struct nat_key *k, uint32_t reg);
static void emit_set_ref(struct nftnl_expr *e, uint16_t name_attr, uint16_t id_attr, const struct nat_plan *p,
			 int set);

/* reg1 = reg1 & mask (the xor part is zero). */
void nft_emit_mask(struct nftnl_rule *r, uint32_t mask)
{
	struct nftnl_expr *e = nft_expr_add(r, "bitwise");
	uint32_t zero = 0;

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
}

/* lookup KEY (loaded at R_KEY) in set; dreg != 0 takes the map's value. */
static void emit_lookup(struct nftnl_rule *r, const struct nat_plan *p, const struct nat_stmt *s, uint32_t dreg)
{
	struct nftnl_expr *e;

	emit_key(r, &s->key, R_KEY);
	e = nft_expr_add(r, "lookup");
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, R_KEY);
	if (dreg)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, dreg);
	emit_set_ref(e, NFTNL_EXPR_LOOKUP_SET, NFTNL_EXPR_LOOKUP_SET_ID, p, s->set);
}

void nft_emit_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nft_expr_add(r, "meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
}

void nft_emit_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = nft_expr_add(r, "payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
}

static void emit_ct(struct nftnl_rule *r, uint32_t key, int dir, uint32_t dreg)
{
	struct nftnl_expr *e = nft_expr_add(r, "ct");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	if (dir >= 0)
		nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, (uint8_t)dir);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
}

void nft_emit_imm(struct nftnl_rule *r, uint32_t dreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nft_expr_add(r, "immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
}

void nft_emit_jump(struct nftnl_rule *r, const char *chain)
{
	struct nftnl_expr *e = nft_expr_add(r, "immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)NFT_JUMP);
	nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
}

void nft_emit_verdict(struct nftnl_rule *r, uint32_t verdict)
{
	struct nftnl_expr *e = nft_expr_add(r, "immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
}

static void emit_field(struct nftnl_rule *r, enum nat_field f, uint32_t dreg)
{
	switch (f) {
	case NF_UDP_SPORT: nft_emit_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, dreg); break;
	case NF_UDP_DPORT: nft_emit_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, dreg); break;
	case NF_IP_SADDR: nft_emit_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, dreg); break;
	case NF_IP_DADDR: nft_emit_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, dreg); break;
	case NF_CT_ORIG_SADDR: emit_ct(r, NFT_CT_SRC_IP, IP_CT_DIR_ORIGINAL, dreg); break;
	case NF_CT_ORIG_SPORT: emit_ct(r, NFT_CT_PROTO_SRC, IP_CT_DIR_ORIGINAL, dreg); break;
	}
}

/* A concatenation takes one 32-bit register per field, as nft lays it out. */
static void emit_key(struct nftnl_rule *r, const struct nat_key *k, uint32_t reg)
{
	for (int i = 0; i < k->n; i++)
		emit_field(r, k->f[i], reg + (uint32_t)i);
}

static uint32_t key_len(const struct nat_key *k)
{
	if (k->n == 1)
		return nat_field_len(k->f[0]);
	return 4u * (uint32_t)k->n;
}

static uint32_t key_type(const struct nat_key *k)
{
	uint32_t t = 0;

	for (int i = 0; i < k->n; i++)
		t = (t << 6) | nat_field_type(k->f[i]); /* nft's TYPE_BITS */
	return t;
}

static void emit_set_ref(struct nftnl_expr *e, uint16_t name_attr, uint16_t id_attr,
			 const struct nat_plan *p, int set)
{
	nftnl_expr_set_str(e, name_attr, p->sets[set].name);
	nftnl_expr_set_u32(e, id_attr, (uint32_t)set + 1);
}

static void emit_nat(struct nftnl_rule *r, int type, uint32_t reg_addr, uint32_t reg_pmin,
		     uint32_t reg_pmax, uint32_t flags)
{
	struct nftnl_expr *e = nft_expr_add(r, "nat");

	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, (uint32_t)type);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, reg_addr);
	if (reg_pmin) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, reg_pmin);
		flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
	}
	if (reg_pmax)
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX, reg_pmax);
	if (flags)
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, flags);
}

/* snat|dnat ip6 prefix to addr6/plen: the range is the prefix's first
 * and last address, and conntrack maps each address across (netmap). */
static void emit_nat_prefix6(struct nftnl_rule *r, int type, const uint8_t prefix[16], uint8_t plen)
{
	struct nftnl_expr *e;
	uint8_t lo[16], hi[16];

	for (int i = 0; i < 16; i++) {
		int bits = (int)plen - 8 * i;
		uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
		lo[i] = prefix[i] & mask;
		hi[i] = (uint8_t)(lo[i] | (uint8_t)~mask);
	}
	nft_emit_imm(r, R_ADDR, lo, 16);
	nft_emit_imm(r, R_DATA, hi, 16);
	e = nft_expr_add(r, "nat");
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, (uint32_t)type);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV6);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, R_ADDR);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, R_DATA);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_NETMAP);
}

static void emit_stmt(struct nftnl_rule *r, const struct nat_plan *p, const struct nat_stmt *s)
{
	struct nftnl_expr *e;
	uint32_t v;

	switch (s->kind) {
	case NS_IIF:
	case NS_IIF_NOT:
	case NS_OIF:
	case NS_OIF_NOT: {
		char name[IFNAMSIZ] = { 0 };
		bool in = s->kind == NS_IIF || s->kind == NS_IIF_NOT;
		bool neg = s->kind == NS_IIF_NOT || s->kind == NS_OIF_NOT;

		snprintf(name, sizeof(name), "%s", s->ifname);
		nft_emit_meta(r, in ? NFT_META_IIFNAME : NFT_META_OIFNAME, NFT_REG_1);
		nft_emit_cmp(r, NFT_REG_1, neg ? NFT_CMP_NEQ : NFT_CMP_EQ, name, sizeof(name));
		break;
	}
	case NS_UDP: {
		uint8_t proto = IPPROTO_UDP;
		nft_emit_meta(r, NFT_META_L4PROTO, NFT_REG_1);
		nft_emit_cmp(r, NFT_REG_1, NFT_CMP_EQ, &proto, 1);
		break;
	}
	case NS_SADDR:
	case NS_DADDR:
	case NS_CT_ORIG_SADDR:
		if (s->kind == NS_CT_ORIG_SADDR)
			emit_ct(r, NFT_CT_SRC_IP, IP_CT_DIR_ORIGINAL, NFT_REG_1);
		else
			nft_emit_payload(r, NFT_PAYLOAD_NETWORK_HEADER, s->kind == NS_SADDR ? 12 : 16, 4, NFT_REG_1);
		if (s->plen < 32)
			nft_emit_mask(r, s->plen ? htonl(0xffffffffu << (32 - s->plen)) : 0);
		nft_emit_cmp(r, NFT_REG_1, NFT_CMP_EQ, &s->addr, 4);
		break;
	case NS_CT_ORIG_DADDR:
		emit_ct(r, NFT_CT_DST_IP, IP_CT_DIR_ORIGINAL, NFT_REG_1);
		nft_emit_cmp(r, NFT_REG_1, NFT_CMP_EQ, &s->addr, 4);
		break;
	case NS_CT_NEW: {
		uint32_t zero = 0;
		emit_ct(r, NFT_CT_STATE, -1, NFT_REG_1);
		nft_emit_mask(r, NF_CT_STATE_BIT(IP_CT_NEW));
		nft_emit_cmp(r, NFT_REG_1, NFT_CMP_NEQ, &zero, 4);
		break;
	}
	case NS_LOOKUP:
		emit_lookup(r, p, s, 0);
		break;
	case NS_DYNSET_UPDATE:
		emit_key(r, &s->key, R_KEY);
		emit_key(r, &s->data, R_DATA);
		e = nft_expr_add(r, "dynset");
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, R_KEY);
		if (s->data.n)
			nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_DATA, R_DATA);
		emit_set_ref(e, NFTNL_EXPR_DYNSET_SET_NAME, NFTNL_EXPR_DYNSET_SET_ID, p, s->set);
		break;
	case NS_COUNTER:
		nft_expr_add(r, "counter");
		break;
	case NS_DROP:
		nft_emit_verdict(r, NF_DROP);
		break;
	case NS_MASQUERADE:
		e = nft_expr_add(r, "masq");
		if (s->flags)
			nftnl_expr_set_u32(e, NFTNL_EXPR_MASQ_FLAGS, s->flags);
		break;
	case NS_SNAT:
		nft_emit_imm(r, R_ADDR, &s->addr, 4);
		if (s->port_min) {
			uint16_t lo = htons(s->port_min), hi = htons(s->port_max);
			nft_emit_imm(r, R_VAL, &lo, 2);
			nft_emit_imm(r, R_VAL + 1, &hi, 2);
			emit_nat(r, NFT_NAT_SNAT, R_ADDR, R_VAL, R_VAL + 1, s->flags);
		} else {
			emit_nat(r, NFT_NAT_SNAT, R_ADDR, 0, 0, s->flags);
		}
		break;
	case NS_SNAT_MAP:
		emit_lookup(r, p, s, R_VAL);
		nft_emit_imm(r, R_ADDR, &s->addr, 4);
		emit_nat(r, NFT_NAT_SNAT, R_ADDR, R_VAL, 0, 0);
		break;
	case NS_SNAT_NUMGEN:
		e = nft_expr_add(r, "numgen");
		nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, R_VAL);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, NFT_NG_INCREMENTAL);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, s->modulus);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NG_OFFSET, s->port_min);
		/* nat-recipes.md: numgen's result is in host byte order; the NAT
		 * expression reads a port in network byte order. */
		e = nft_expr_add(r, "byteorder");
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, R_VAL);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, R_VAL);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 2);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 2);
		v = s->addr;
		nft_emit_imm(r, R_ADDR, &v, 4);
		emit_nat(r, NFT_NAT_SNAT, R_ADDR, R_VAL, 0, 0);
		break;
	case NS_DNAT_MAP:
		emit_lookup(r, p, s, R_VAL);
		/* The map's value is address . port: two consecutive registers. */
		emit_nat(r, NFT_NAT_DNAT, R_VAL, R_VAL + 1, 0, 0);
		break;
	case NS_SADDR6:
	case NS_DADDR6:
		nft_emit_payload(r, NFT_PAYLOAD_NETWORK_HEADER, s->kind == NS_SADDR6 ? 8 : 24, s->plen / 8u, NFT_REG_1);
		nft_emit_cmp(r, NFT_REG_1, NFT_CMP_EQ, s->addr6, s->plen / 8u);
		break;
	case NS_CT_REPLY: {
		uint32_t zero = 0;
		emit_ct(r, NFT_CT_STATE, -1, NFT_REG_1);
		nft_emit_mask(r, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
		nft_emit_cmp(r, NFT_REG_1, NFT_CMP_NEQ, &zero, 4);
		break;
	}
	case NS_ACCEPT:
		nft_emit_verdict(r, NF_ACCEPT);
		break;
	case NS_SNAT_PREFIX6:
	case NS_DNAT_PREFIX6:
		emit_nat_prefix6(r, s->kind == NS_SNAT_PREFIX6 ? NFT_NAT_SNAT : NFT_NAT_DNAT, s->addr6, s->plen);
		break;
	}
}

struct apply_ctx {
	const struct nat_plan *plan;
	char *err;
	size_t errlen;
};

/* Create, delete, create: any earlier table of that name goes, whole, in
 * the same batch that builds the new one. */
void nft_batch_put_fresh_table(struct mnl_nlmsg_batch *b, uint32_t *seq, int family, const char *name)
{
	nft_batch_put_table(b, seq, family, name, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK);
	nft_batch_put_table(b, seq, family, name, NFT_MSG_DELTABLE, NLM_F_ACK);
	nft_batch_put_table(b, seq, family, name, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK);
}

void nft_batch_put_table(struct mnl_nlmsg_batch *b, uint32_t *seq, int family, const char *name, uint16_t type,
			 uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	nlh = nftnl_table_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), type, (uint16_t)family, flags, (*seq)++);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	mnl_nlmsg_batch_next(b);
}

void nft_batch_put_chain(struct mnl_nlmsg_batch *b, uint32_t *seq, int family, const char *table, const char *name,
			 uint32_t hooknum, int prio)
{
	nft_batch_put_dev_chain(b, seq, family, table, name, hooknum, prio, NULL);
}

void nft_batch_put_dev_chain(struct mnl_nlmsg_batch *b, uint32_t *seq, int family, const char *table, const char *name,
			     uint32_t hooknum, int prio, const char *dev)
{
	nft_batch_put_typed_chain(b, seq, family, table, name, "filter", hooknum, prio, dev);
}

void nft_batch_put_typed_chain(struct mnl_nlmsg_batch *b, uint32_t *seq, int family, const char *table,
			       const char *name, const char *type, uint32_t hooknum, int prio, const char *dev)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, name);
	if (type) {
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, type);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, hooknum);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, prio);
		if (dev)
			nftnl_chain_set_str(ch, NFTNL_CHAIN_DEV, dev);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nlh = nftnl_chain_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_NEWCHAIN, (uint16_t)family,
					  NLM_F_CREATE | NLM_F_ACK, (*seq)++);
	nftnl_chain_nlmsg_build_payload(nlh, ch);
	nftnl_chain_free(ch);
	mnl_nlmsg_batch_next(b);
}

static int build_batch(const struct nat_plan *p, struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	struct nlmsghdr *nlh;
	const uint16_t family = p->ipv6 ? NFPROTO_IPV6 : NFPROTO_IPV4;

	nft_batch_open(b, seq);
	/* Create-then-delete-then-create: replaces any earlier table whole. */
	nft_batch_put_fresh_table(b, seq, family, NAT_TABLE);

	for (int c = 0; c < NC_COUNT; c++) {
		struct nftnl_chain *ch = nftnl_chain_alloc();

		nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, NAT_TABLE);
		nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, nat_chain_name(c));
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, nat_chain_type(c));
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, (uint32_t)nat_chain_hook(c));
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, nat_chain_priority(c));
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		nlh = nftnl_chain_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_NEWCHAIN,
						  family, NLM_F_CREATE | NLM_F_ACK, (*seq)++);
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		nftnl_chain_free(ch);
		mnl_nlmsg_batch_next(b);
	}
	for (int i = 0; i < p->n_sets; i++) {
		const struct nat_set *s = &p->sets[i];
		struct nftnl_set *set = nftnl_set_alloc();
		uint32_t flags = NFT_SET_TIMEOUT | NFT_SET_EVAL;

		nftnl_set_set_str(set, NFTNL_SET_TABLE, NAT_TABLE);
		nftnl_set_set_str(set, NFTNL_SET_NAME, s->name);
		nftnl_set_set_u32(set, NFTNL_SET_FAMILY, family);
		nftnl_set_set_u32(set, NFTNL_SET_ID, (uint32_t)i + 1);
		nftnl_set_set_u32(set, NFTNL_SET_KEY_TYPE, key_type(&s->key));
		nftnl_set_set_u32(set, NFTNL_SET_KEY_LEN, key_len(&s->key));
		if (s->data.n) {
			flags |= NFT_SET_MAP;
			nftnl_set_set_u32(set, NFTNL_SET_DATA_TYPE, key_type(&s->data));
			nftnl_set_set_u32(set, NFTNL_SET_DATA_LEN, key_len(&s->data));
		}
		nftnl_set_set_u32(set, NFTNL_SET_FLAGS, flags);
		nftnl_set_set_u64(set, NFTNL_SET_TIMEOUT, (uint64_t)s->timeout_s * 1000u);
		nftnl_set_set_u32(set, NFTNL_SET_DESC_SIZE, 65536);
		nlh = nftnl_set_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_NEWSET, family,
						NLM_F_CREATE | NLM_F_ACK, (*seq)++);
		nftnl_set_nlmsg_build_payload(nlh, set);
		nftnl_set_free(set);
		mnl_nlmsg_batch_next(b);
	}
	for (int i = 0; i < p->n_rules; i++) {
		const struct nat_rule *pr = &p->rules[i];
		struct nftnl_rule *r = nftnl_rule_alloc();

		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NAT_TABLE);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, nat_chain_name(pr->chain));
		nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
		for (int j = 0; j < pr->n; j++)
			emit_stmt(r, p, &pr->s[j]);
		if (nft_batch_put_rule(b, seq, family, r))
			return -ENOSPC;
	}
	nft_batch_close(b, seq);
	return 0;
}

void nft_batch_open(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), (*seq)++);
	mnl_nlmsg_batch_next(b);
}

void nft_batch_close(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	nftnl_batch_end(mnl_nlmsg_batch_current(b), (*seq)++);
	mnl_nlmsg_batch_next(b);
}

int nft_batch_close_talk(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *what, char *err, size_t errlen)
{
	int ret;

	nft_batch_close(b, seq);
	ret = nft_batch_talk(b, what, err, errlen);
	mnl_nlmsg_batch_stop(b);
	return ret;
}

int nft_batch_put_rule(struct mnl_nlmsg_batch *b, uint32_t *seq, int family, struct nftnl_rule *r)
{
	struct nlmsghdr *nlh = nftnl_rule_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_NEWRULE, (uint16_t)family,
							   NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK, (*seq)++);

	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return mnl_nlmsg_batch_next(b) ? 0 : -ENOSPC;
}

int nft_batch_talk(struct mnl_nlmsg_batch *b, const char *what, char *err, size_t errlen)
{
	struct nl_sock nl;
	uint16_t refused = 0;
	int ret = nl_open(&nl, NETLINK_NETFILTER);

	if (ret) {
		snprintf(err, errlen, "cannot open an nftables netlink socket: %s", strerror(-ret));
		return ret;
	}
	if ((ret = nl_batch_talk(&nl, b, &refused)))
		snprintf(err, errlen, "the kernel refused %s: %s", what, strerror(-ret));
	nl_close(&nl);
	return ret;
}

static int apply_in_ns(void *arg)
{
	struct apply_ctx *a = arg;
	size_t bufsz = 256 * 1024;
	char *buf = malloc(bufsz), what[64];
	struct mnl_nlmsg_batch *b;
	uint32_t seq = (uint32_t)time(NULL);
	int ret;

	if (!buf)
		return -ENOMEM;
	b = nl_batch_start(buf, bufsz);
	if ((ret = build_batch(a->plan, b, &seq))) {
		snprintf(a->err, a->errlen, "nftables batch too large");
	} else {
		snprintf(what, sizeof(what), "the %sruleset for model %s", a->plan->ipv6 ? "IPv6 " : "", a->plan->model);
		ret = nft_batch_talk(b, what, a->err, a->errlen);
	}
	mnl_nlmsg_batch_stop(b);
	free(buf);
	return ret;
}

int nft_plan_apply(const char *netns, const struct nat_plan *plan, char *err, size_t errlen)
{
	struct apply_ctx a = { plan, err, errlen };
	int ret;

	ret = netns_call(netns, apply_in_ns, &a);
	if (ret)
		return ret;
	for (int i = 0; i < plan->n_sysctls; i++) {
		ret = netns_sysctl(netns, plan->sysctls[i].path, plan->sysctls[i].value);
		if (ret) {
			snprintf(err, errlen, "namespace %s: cannot set %s=%s: %s", netns, plan->sysctls[i].path,
				 plan->sysctls[i].value, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

struct one_rule_ctx {
	int family;
	const char *table, *chain, *what;
	uint32_t hook;
	int prio;
	void (*build)(struct nftnl_rule *r, void *arg);
	void *arg;
	char *err;
	size_t errlen;
};

static int one_rule_in_ns(void *p)
{
	struct one_rule_ctx *x = p;
	static char buf[16384];
	struct mnl_nlmsg_batch *b = nl_batch_start(buf, sizeof(buf));
	uint32_t seq = (uint32_t)time(NULL);

	nft_batch_open(b, &seq);
	/* Create-then-delete empties any old table; then build anew. */
	nft_batch_put_table(b, &seq, x->family, x->table, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK);
	nft_batch_put_table(b, &seq, x->family, x->table, NFT_MSG_DELTABLE, NLM_F_ACK);
	if (x->build) {
		struct nftnl_rule *r = nftnl_rule_alloc();

		nft_batch_put_table(b, &seq, x->family, x->table, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK);
		nft_batch_put_chain(b, &seq, x->family, x->table, x->chain, x->hook, x->prio);
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, x->table);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, x->chain);
		nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, x->family);
		x->build(r, x->arg);
		nft_batch_put_rule(b, &seq, x->family, r);
	}
	return nft_batch_close_talk(b, &seq, x->what, x->err, x->errlen);
}

int nft_one_rule_table_family(const char *netns, int family, const char *table, const char *chain, uint32_t hook,
			      int prio, void (*build)(struct nftnl_rule *r, void *arg), void *arg, const char *what,
			      char *err, size_t errlen)
{
	struct one_rule_ctx x = { family, table, chain, what, hook, prio, build, arg, err, errlen };

	return netns_call(netns, one_rule_in_ns, &x);
}

int nft_one_rule_table(const char *netns, const char *table, const char *chain, uint32_t hook, int prio,
		       void (*build)(struct nftnl_rule *r, void *arg), void *arg, const char *what, char *err,
		       size_t errlen)
{
	return nft_one_rule_table_family(netns, NFPROTO_IPV4, table, chain, hook, prio, build, arg, what, err, errlen);
}
