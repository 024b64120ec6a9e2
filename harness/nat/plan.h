/* A NAT model compiled for one router: nftables sets, rules and sysctls as
 * plain structs. The same plan is printed as nft text (nat show) and applied
 * over netlink (nl/nft.c). */
#ifndef PL_NAT_PLAN_H
#define PL_NAT_PLAN_H

#include "../../lib/nat/model.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define NAT_TABLE "punchlab"
#define NAT_WAN "wan"          /* every router's outside interface */
#define NAT_MAX_SUBSCRIBERS 64

/* Fields a rule can read from a packet or its conntrack entry. */
enum nat_field {
	NF_UDP_SPORT, NF_UDP_DPORT, NF_IP_SADDR, NF_IP_DADDR,
	NF_CT_ORIG_SADDR, NF_CT_ORIG_SPORT,
};

#define NAT_KEY_MAX 3
struct nat_key {
	int n;
	enum nat_field f[NAT_KEY_MAX];
};

enum nat_chain { NC_PREROUTING, NC_POSTROUTING, NC_TRACK, NC_INPUT, NC_FORWARD, NC_COUNT };

struct nat_set {
	char name[24];
	struct nat_key key;
	struct nat_key data;        /* n == 0: a set, not a map */
	unsigned timeout_s;
};

enum nat_stmt_kind {
	NS_IIF, NS_IIF_NOT, NS_OIF, NS_OIF_NOT, /* ifname */
	NS_UDP,                                 /* meta l4proto udp */
	NS_SADDR, NS_DADDR,                     /* addr/plen */
	NS_CT_ORIG_SADDR,                       /* addr/plen, before NAT */
	NS_CT_ORIG_DADDR,                       /* addr */
	NS_CT_NEW,                              /* ct state new */
	NS_LOOKUP,                              /* key in set */
	NS_DYNSET_UPDATE,                       /* update @set { key [: data] } */
	NS_COUNTER, NS_DROP,
	NS_MASQUERADE,                          /* flags */
	NS_SNAT,                                /* addr [:port_min-port_max] flags */
	NS_SNAT_MAP,                            /* addr : key map @set */
	NS_SNAT_NUMGEN,                         /* addr : numgen inc mod n offset port_min, hton */
	NS_DNAT_MAP,                            /* to key map @set (address . port) */
	/* IPv6 (a plan with ipv6 set) */
	NS_SADDR6, NS_DADDR6,                   /* addr6/plen (plen a multiple of 8) */
	NS_CT_REPLY,                            /* ct state established,related */
	NS_ACCEPT,
	NS_SNAT_PREFIX6, NS_DNAT_PREFIX6,       /* snat|dnat ip6 prefix to addr6/plen (conntrack's netmap) */
};

#define NAT_FLAG_PERSISTENT 0x08   /* NF_NAT_RANGE_PERSISTENT */
#define NAT_FLAG_FULLY_RANDOM 0x10 /* NF_NAT_RANGE_PROTO_RANDOM_FULLY */

struct nat_stmt {
	enum nat_stmt_kind kind;
	const char *ifname;
	uint32_t addr;              /* network byte order */
	uint8_t plen;
	int set;                    /* index in plan->sets */
	struct nat_key key, data;
	uint16_t port_min, port_max;
	uint32_t modulus;
	uint32_t flags;
	uint8_t addr6[16];
};

#define NAT_RULE_MAX_STMTS 8
struct nat_rule {
	enum nat_chain chain;
	int n;
	struct nat_stmt s[NAT_RULE_MAX_STMTS];
	char why[96];               /* printed as a comment: the behaviour it makes */
};

struct nat_sysctl {
	char path[80];
	char value[24];
};

#define NAT_PLAN_MAX_RULES (16 + NAT_MAX_SUBSCRIBERS)
struct nat_plan {
	char model[NAT_MODEL_NAME_MAX];
	bool ipv6;                  /* table ip6 (nat_plan_compile6), not ip */
	int n_sets, n_rules, n_sysctls;
	struct nat_set sets[4];
	struct nat_rule rules[NAT_PLAN_MAX_RULES];
	struct nat_sysctl sysctls[4];
};

/* What the router around the model looks like. */
struct nat_context {
	uint32_t public_addr;                      /* the WAN address, network order */
	int n_subscribers;                         /* inside addresses, for port blocks */
	uint32_t subscribers[NAT_MAX_SUBSCRIBERS];
	/* IPv6: the router's LAN prefixes (/64) and, for nptv6, what each
	 * becomes outside. */
	int n_prefixes6;
	uint8_t inside6[4][16], outside6[4][16];
};

/* Compile m for ctx into plan. -EINVAL with a message in err when the model
 * cannot be built for this router (e.g. more subscribers than port blocks). */
int nat_plan_compile(const struct nat_model *m, const struct nat_context *ctx,
		     struct nat_plan *plan, char *err, size_t errlen);
/* The model's IPv6 side (ipv6 = ...) for ctx: a plan for table ip6 (no
 * rules when the model has no IPv6). */
int nat_plan_compile6(const struct nat_model *m, const struct nat_context *ctx, struct nat_plan *plan, char *err,
		      size_t errlen);
/* Print the plan as an nft script (loadable with nft -f), with comments. */
void nat_plan_print(const struct nat_plan *plan, FILE *out);

/* Chain facts shared by the printer and the applier. */
const char *nat_chain_name(enum nat_chain c);
const char *nat_chain_type(enum nat_chain c);   /* "nat" or "filter" */
int nat_chain_hook(enum nat_chain c);           /* NF_INET_* */
int nat_chain_priority(enum nat_chain c);
/* Bytes a field occupies in a packet (2 or 4). */
unsigned nat_field_len(enum nat_field f);
/* nft's datatype id for a field (ipv4_addr 7, inet_service 13). */
unsigned nat_field_type(enum nat_field f);

#endif
