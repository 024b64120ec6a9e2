/* What a router offers in port mapping, as nat-check measures it: each
 * protocol asked in turn (lib/portmap), each mapping granted removed. */
#ifndef PL_NATCHECK_PMPROBE_H
#define PL_NATCHECK_PMPROBE_H

#include "../../lib/portmap/portmap.h"

/* Each protocol asked in turn for port from host behind gateway, and each
 * mapping granted removed again. */
struct pmap_measured {
	unsigned offered;      /* NAT_PORTMAP_* bits that granted a mapping */
	uint32_t lifetime;     /* the first granted lifetime */
	uint16_t ext_port;     /* the first granted external port */
	uint32_t ext_addr;     /* the first outside address said */
};
void pmap_measure(uint32_t gateway, uint32_t host, const char *ifname, uint16_t port, struct pmap_measured *m);

#endif
