/* NAT models: one RFC 4787 behaviour a line, parsed into a plain struct. */
#ifndef PL_NAT_MODEL_H
#define PL_NAT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NAT_MODEL_NAME_MAX 48
#define NAT_MODEL_MAX_BYTES 16384

/* RFC 4787 §4.1 (mapping) and §5 (filtering) share one vocabulary. */
enum nat_dependence {
	NAT_ENDPOINT_INDEPENDENT,
	NAT_ADDRESS_DEPENDENT,
	NAT_ADDRESS_AND_PORT_DEPENDENT,
};

/* RFC 4787 §4.2.1: port assignment. */
enum nat_ports {
	NAT_PORTS_PRESERVE,
	NAT_PORTS_SEQUENTIAL,
	NAT_PORTS_RANDOM,
};

/* What an unsolicited inbound packet leaves behind (no RFC word for it). */
enum nat_unsolicited {
	NAT_UNSOLICITED_DROP_BEFORE_CONFIRM,
	NAT_UNSOLICITED_CONNTRACK,
};

/* Port mapping the router offers its inside hosts on request (a bit
 * each; NAT_PORTMAP_ALL is every one): UPnP IGD, NAT-PMP (RFC 6886), PCP
 * (RFC 6887). The lab's routers run Debian's miniupnpd for it. */
enum {
	NAT_PORTMAP_UPNP = 1,
	NAT_PORTMAP_NATPMP = 2,
	NAT_PORTMAP_PCP = 4,
	NAT_PORTMAP_ALL = 7,
};

/* What the router does for IPv6 (none: the site has no IPv6). Every kind
 * keeps a stateful firewall (RFC 6092): what an inside host sent opens the
 * way back for that exact remote address and port; nothing unsolicited
 * comes in. nptv6 also maps the site's inside prefix onto an outside one
 * (RFC 6296's mapping, done by conntrack: nftables' "snat ip6 prefix",
 * not the RFC's stateless checksum-neutral rewrite); nat66 masquerades the
 * site behind the router's one outside address, as Linux does for IPv4. */
enum nat_ipv6 {
	NAT_IPV6_NONE,
	NAT_IPV6_FIREWALL,
	NAT_IPV6_NPTV6,
	NAT_IPV6_NAT66,
};

struct nat_model {
	char name[NAT_MODEL_NAME_MAX];
	bool translate;             /* nat = napt (true) | none */
	bool udp_blocked;           /* udp = block */
	enum nat_dependence mapping;
	enum nat_dependence filtering;
	enum nat_ports ports;
	bool hairpin;
	unsigned udp_timeout;       /* seconds without outbound traffic */
	enum nat_unsolicited unsolicited;
	uint16_t port_min, port_max; /* port-range for allocated ports */
	unsigned port_block;        /* ports per subscriber, 0 = none */
	bool has_inside;            /* inside = PREFIX: only it is translated */
	uint32_t inside_addr;       /* network byte order */
	uint8_t inside_len;
	unsigned portmap;           /* NAT_PORTMAP_* bits; 0: none */
	enum nat_ipv6 ipv6;         /* ipv6 = none | firewall | nptv6 | nat66 */
	bool no_ipv4;               /* ipv4 = none: the site's hosts get no IPv4 (an IPv6-only site) */
};

/* Parse a model from text. origin names it in errors ("nat-models/x.nat").
 * On error returns -EINVAL with "origin:line: what; expected ..." in err. */
int nat_model_parse(const char *name, const char *text, size_t len, const char *origin,
		    struct nat_model *m, char *err, size_t errlen);
/* Find MODEL (a name in the models directory, or a path to a .nat file) and parse it. */
int nat_model_load(const char *model, struct nat_model *m, char *err, size_t errlen);
/* Names of the shipped models, sorted; returns the count (at most max), names
 * copied into names[i] (NAT_MODEL_NAME_MAX each). */
int nat_model_list(char names[][NAT_MODEL_NAME_MAX], int max);

/* Words used in files and reports. */
const char *nat_dependence_name(enum nat_dependence d);
const char *nat_ports_name(enum nat_ports p);
const char *nat_unsolicited_name(enum nat_unsolicited u);
const char *nat_ipv6_name(enum nat_ipv6 v);
/* The router's IPv6 side in IPv4's vocabulary, for expect and the mesh:
 * false when the model has no IPv6. A firewall or NPTv6 keeps ports and
 * filters by address and port (a port-restricted cone whose unsolicited
 * packets leave nothing); NAT66 is Linux's masquerade. */
bool nat_model_ipv6_view(const struct nat_model *m, struct nat_model *v6);
/* "none", "upnp", "natpmp", "pcp", "all", or a list such as "upnp,pcp". */
const char *nat_portmap_name(unsigned portmap, char *buf, size_t len);
/* "none", "all", or protocols joined by commas, each once: false if not. */
bool nat_portmap_parse(const char *value, unsigned *out);

/* Write m as a model file (what nat_model_parse reads back), after the
 * comment lines in comment (may be NULL). */
void nat_model_write(const struct nat_model *m, const char *comment, FILE *out);

#endif
