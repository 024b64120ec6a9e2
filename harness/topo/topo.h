/* Topologies: hosts, routers and segments, with NAT models as parameters.
 * topo_parse reads the file; topo_resolve binds parameters and lays out
 * addresses and routes into a plain plan that topo/build.c applies. */
#ifndef PL_TOPO_H
#define PL_TOPO_H

#include "../impair/impair.h"
#include "../../lib/nat/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TOPO_NAME_MAX 13      /* node and segment names: 12 characters */
#define TOPO_MAX_NODES 16
#define TOPO_MAX_SEGMENTS 8
#define TOPO_MAX_PARAMS 4
#define TOPO_MAX_ADDRS 4
#define TOPO_MAX_BYTES 16384
#define TOPO_MODEL_REF_MAX 256 /* a parameter's model: a name or a path */

struct topo_node {
	char name[TOPO_NAME_MAX];
	bool router;
	char nat[NAT_MODEL_NAME_MAX]; /* router: model name or "$P"; "" = plain router */
	int segment;                  /* host: its segment; router: its uplink (-1 none) */
	int n_addrs;                  /* explicit addresses on that segment */
	uint32_t addrs[TOPO_MAX_ADDRS];
	struct impair impair;         /* its link to its segment (link NODE ...) */
	unsigned line;
};

struct topo_segment {
	char name[TOPO_NAME_MAX];
	uint32_t prefix;              /* network order */
	uint8_t plen;
	int gateway;                  /* node index, a router */
	bool has_public;              /* prefix to use when the gateway does not translate */
	uint32_t public_prefix;
	uint8_t public_plen;
	unsigned line;
};

struct topo {
	char name[32];
	int n_params, n_nodes, n_segments;
	char params[TOPO_MAX_PARAMS][TOPO_NAME_MAX];
	struct topo_node nodes[TOPO_MAX_NODES];
	struct topo_segment segments[TOPO_MAX_SEGMENTS];
};

/* Parse topology text; origin names it in errors. */
int topo_parse(const char *name, const char *text, size_t len, const char *origin, struct topo *t,
	       char *err, size_t errlen);
/* Find TOPOLOGY (a name in topologies/, or a path) and parse it. */
int topo_load(const char *topology, struct topo *t, char *err, size_t errlen);
/* Names of the shipped topologies, sorted; returns the count. */
int topo_list(char names[][32], int max);
int topo_find_node(const struct topo *t, const char *name);
/* The index of segment NAME, or -1. */
int topo_find_segment(const struct topo *t, const char *name);
/* The node whose link to its segment NAME means: a node's own name, or
 * "X-wan" for the uplink of X's NAT (router nat-X, or router X itself);
 * -1 if none. */
int topo_find_link(const struct topo *t, const char *name);
/* The routers from NODE's gateway up to the top, in order; returns how
 * many (chain holds TOPO_MAX_NODES). */
int topo_gateway_chain(const struct topo *t, int node, int chain[]);

/* ---- resolved: what will be built ---- */

#define TOPO_MAX_IFACES 6
#define TOPO_MAX_ROUTES 8

struct topo_iface {
	char ifname[16];
	int segment;
	bool bridge;                  /* a router's segment: a bridge it owns */
	int n_addrs;
	uint32_t addrs[TOPO_MAX_ADDRS];
	uint8_t plen;
	int n_addrs6;                 /* IPv6 (on a dual-stack segment), each a /64 */
	uint8_t addrs6[TOPO_MAX_ADDRS][16];
};

struct topo_route {
	uint32_t dst, gw;
	uint8_t plen;
};

struct topo_route6 {
	uint8_t dst[16], gw[16];
	uint8_t plen;                 /* 0: the default route */
};

struct topo_net_node {
	char name[TOPO_NAME_MAX];
	bool router;
	bool has_model;
	struct nat_model model;
	int n_ifaces, n_routes;
	struct topo_iface ifaces[TOPO_MAX_IFACES];
	struct topo_route routes[TOPO_MAX_ROUTES];
	uint32_t public_addr;         /* a router's uplink address (its NAT's outside) */
	bool ipv6;                    /* has IPv6 addresses (IPv6 is off in it otherwise) */
	int n_routes6;
	struct topo_route6 routes6[TOPO_MAX_ROUTES];
	uint8_t public_addr6[16];     /* a router's IPv6 uplink address */
	bool no_ipv4;                 /* a host on an IPv6-only site: no IPv4 address or route */
};

struct topo_net {
	struct topo topo;
	char models[TOPO_MAX_PARAMS][TOPO_MODEL_REF_MAX];  /* bound parameters */
	uint32_t seg_prefix[TOPO_MAX_SEGMENTS];             /* effective prefixes */
	uint8_t seg_plen[TOPO_MAX_SEGMENTS];
	/* IPv6: only where a model asks for it (ipv6 = ...); then every
	 * segment whose gateway and the routers above it carry IPv6 is
	 * dual-stack, each a /64: 2001:db8:0:N::/64 (N: the segment's number
	 * from 1), or fd00:0:0:N::/64 inside an nptv6 or nat66 router, whose
	 * outside is 2001:db8:0:N::/64 (nptv6) or its uplink address (nat66). */
	bool ipv6;
	bool seg_v6[TOPO_MAX_SEGMENTS];
	bool seg_no4[TOPO_MAX_SEGMENTS];   /* IPv6-only: the gateway's model says ipv4 = none */
	uint8_t seg_prefix6[TOPO_MAX_SEGMENTS][16];
	uint8_t seg_outside6[TOPO_MAX_SEGMENTS][16];   /* nptv6: what the prefix becomes outside */
	struct topo_net_node nodes[TOPO_MAX_NODES];
};

/* Bind parameters (n "P=MODEL" strings) and lay out interfaces, addresses and
 * routes. Models are loaded by name. */
int topo_resolve(const struct topo *t, int n, char *const assigns[], struct topo_net *net, char *err,
		 size_t errlen);
/* First address of node NAME (network order), 0 if none. */
uint32_t topo_net_addr(const struct topo_net *net, const char *name, int which);
/* The IPv6 address on dual-stack segment seg of the host whose IPv4
 * address there is addr (network order): its place in the prefix. */
void topo_net_host6(const struct topo_net *net, int seg, uint32_t addr, uint8_t out[16]);
/* Node NAME's IPv6 address on its segment (a router's: its uplink); false if none. */
bool topo_net_addr6(const struct topo_net *net, const char *name, uint8_t out[16]);
/* Print the resolved plan for people. */
void topo_net_print(const struct topo_net *net, FILE *out);

/* What the topology takes, as a person writes it: "A=MODEL B=MODEL", or
 * "no parameters". */
const char *topo_params_text(const struct topo *t, char *buf, size_t len);

#endif
