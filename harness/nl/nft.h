/* Install a compiled NAT plan in a namespace: one nftables batch over
 * netlink, so the ruleset is in place whole or not at all. */
#ifndef PL_NL_NFT_H
#define PL_NL_NFT_H

#include "../nat/plan.h"

#include <stddef.h>
#include <stdint.h>

/* Replace table ip punchlab in namespace NETNS with the plan's, then set its
 * sysctls. err says what the kernel refused. */
int nft_plan_apply(const char *netns, const struct nat_plan *plan, char *err, size_t errlen);

struct nftnl_rule;
struct nftnl_expr;
struct mnl_nlmsg_batch;
/* A batch starts with nl_batch_start (lib/nl/nl.h), then nft_batch_open;
 * nft_batch_close ends it (nft_batch_close_talk: and sends it). */
void nft_batch_open(struct mnl_nlmsg_batch *b, uint32_t *seq);
void nft_batch_close(struct mnl_nlmsg_batch *b, uint32_t *seq);
/* Close b, send it (nft_batch_talk) and stop it. */
int nft_batch_close_talk(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *what, char *err, size_t errlen);
/* Append rule r (its table, chain and family set) to b, and free it;
 * -ENOSPC when the batch is full. */
int nft_batch_put_rule(struct mnl_nlmsg_batch *b, uint32_t *seq, int family, struct nftnl_rule *r);
/* Add a table message (NEWTABLE or DELTABLE) for table NAME to batch b. */
void nft_batch_put_table(struct mnl_nlmsg_batch *b, uint32_t *seq, int family, const char *name, uint16_t type,
			 uint16_t flags);
/* NEWTABLE, DELTABLE, NEWTABLE: table NAME anew, whatever was there. */
void nft_batch_put_fresh_table(struct mnl_nlmsg_batch *b, uint32_t *seq, int family, const char *name);
/* Send a batch in the current namespace and wait for the ack of each of
 * its messages; the first refusal is the answer (err names `what`). */
int nft_batch_talk(struct mnl_nlmsg_batch *b, const char *what, char *err, size_t errlen);
/* Add a base filter chain NAME (policy accept) on hook HOOKNUM at PRIO. */
void nft_batch_put_chain(struct mnl_nlmsg_batch *b, uint32_t *seq, int family, const char *table, const char *name,
			 uint32_t hooknum, int prio);
/* The same, bound to device DEV (netdev family: ingress, egress). */
void nft_batch_put_dev_chain(struct mnl_nlmsg_batch *b, uint32_t *seq, int family, const char *table, const char *name,
			     uint32_t hooknum, int prio, const char *dev);
/* A chain of any type ("filter", "nat") on a hook; type NULL: a regular
 * chain (no hook), reached by jumps. */
void nft_batch_put_typed_chain(struct mnl_nlmsg_batch *b, uint32_t *seq, int family, const char *table,
			       const char *name, const char *type, uint32_t hooknum, int prio, const char *dev);
/* Replace table TABLE (ip) in NETNS with one base filter chain CHAIN (HOOK,
 * PRIO, policy accept) holding one rule that build(r, arg) fills; build
 * NULL just removes the table. One batch; err names `what`. */
int nft_one_rule_table(const char *netns, const char *table, const char *chain, uint32_t hook, int prio,
		       void (*build)(struct nftnl_rule *r, void *arg), void *arg, const char *what, char *err,
		       size_t errlen);
/* The same in family FAMILY (NFPROTO_IPV4, NFPROTO_IPV6). */
int nft_one_rule_table_family(const char *netns, int family, const char *table, const char *chain, uint32_t hook,
			      int prio, void (*build)(struct nftnl_rule *r, void *arg), void *arg, const char *what,
			      char *err, size_t errlen);
/* Append a new expression NAME to rule r (NULL if out of memory). */
struct nftnl_expr *nft_expr_add(struct nftnl_rule *r, const char *name);
/* Expressions: compare register reg with data (op NFT_CMP_*); reg1 &=
 * mask (4 bytes); load meta KEY, or LEN bytes at OFF of header BASE
 * (NFT_PAYLOAD_*), into dreg; put data into dreg; end with a verdict (NF_DROP...). */
void nft_emit_cmp(struct nftnl_rule *r, uint32_t reg, int op, const void *data, uint32_t len);
void nft_emit_mask(struct nftnl_rule *r, uint32_t mask);
void nft_emit_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg);
void nft_emit_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg);
void nft_emit_imm(struct nftnl_rule *r, uint32_t dreg, const void *data, uint32_t len);
void nft_emit_verdict(struct nftnl_rule *r, uint32_t verdict);
/* End with a jump to chain CHAIN. */
void nft_emit_jump(struct nftnl_rule *r, const char *chain);

#endif
