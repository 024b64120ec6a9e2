/* Asking a router for a port mapping, as a host behind it would: UPnP IGD
 * through libminiupnpc, NAT-PMP through libnatpmp, PCP through our codec
 * (lib/pcp). The agent maps its port with it; nat-check measures what a
 * router offers with it; the lab tests ask with it. Each call runs in the calling thread's namespace and
 * waits a few seconds at most (PCP 3.5 s) for a router that does not answer. */
#ifndef PL_PORTMAP_H
#define PL_PORTMAP_H

#include <stdbool.h>
#include <stdint.h>

struct pmap_ask {
	uint32_t gateway;      /* the router's LAN address (network order) */
	uint32_t host;         /* ours, as the router sees it */
	const char *ifname;    /* where SSDP discovery goes out (UPnP) */
	uint16_t port;         /* the internal UDP port to map (host order) */
	uint32_t lifetime;     /* asked for, seconds; 0 removes the mapping */
	bool got;              /* a mapping was granted (or, lifetime 0: removed) */
	uint32_t ext_addr;     /* the router's outside address, where it says it (0: NAT-PMP's answer does not) */
	uint16_t ext_port;
	uint32_t granted;      /* the lifetime granted */
	uint8_t nonce[12];     /* PCP: the mapping's nonce, set when granted; a renewal or removal
				  must send the same one (RFC 6887 11.2), so ask again with this struct */
	char why[160];         /* when not granted: what came back, or that nothing did */
};

/* protocol is one NAT_PORTMAP_* bit (lib/nat/model.h). 0, or a negative
 * errno when the request could not even be sent. To renew or remove a
 * mapping, ask again with the struct the grant filled in (lifetime 0
 * removes): PCP keeps its nonce there; a zero nonce is drawn at random. */
int pmap_ask(unsigned protocol, struct pmap_ask *q);

/* Where to ask, for a host whose traffic to `toward` (network order) goes
 * through its router: the route's gateway, our address on it and the
 * interface (ifname, at least IF_NAMESIZE bytes) filled into q. -errno
 * (-ENETUNREACH: no route; -EHOSTUNREACH: toward is on our own link, no
 * router between). */
int pmap_route(uint32_t toward, struct pmap_ask *q, char *ifname);

/* Is url (a UPnP device's description, http://A.B.C.D[:PORT]/...) at
 * IPv4 address addr (network order)? UPnP IGD is asked only of a device
 * at the gateway: anyone on the LAN may answer discovery. */
bool pmap_url_at(const char *url, uint32_t addr);

/* The protocols, one NAT_PORTMAP_* bit each, in the order they are asked
 * (nat-check, conform): UPnP IGD, NAT-PMP, PCP. */
#define PMAP_PROTOCOLS 3
extern const unsigned pmap_protocols[PMAP_PROTOCOLS];

/* "UPnP IGD", "NAT-PMP", "PCP" for one NAT_PORTMAP_* bit. */
const char *pmap_protocol_name(unsigned protocol);

#endif
