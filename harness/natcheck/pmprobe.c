#include "pmprobe.h"
#include "../../lib/nat/model.h"

#include <string.h>

void pmap_measure(uint32_t gateway, uint32_t host, const char *ifname, uint16_t port, struct pmap_measured *m)
{
	memset(m, 0, sizeof(*m));
	for (int i = 0; i < PMAP_PROTOCOLS; i++) {
		struct pmap_ask q = { .gateway = gateway, .host = host, .ifname = ifname, .port = (uint16_t)(port + i),
				      .lifetime = 120 };
		if (pmap_ask(pmap_protocols[i], &q) || !q.got)
			continue;
		m->offered |= pmap_protocols[i];
		if (!m->lifetime) {
			m->lifetime = q.granted;
			m->ext_port = q.ext_port;
		}
		if (!m->ext_addr)
			m->ext_addr = q.ext_addr;
		q.lifetime = 0;   /* and removed again (PCP: by the nonce that made it) */
		pmap_ask(pmap_protocols[i], &q);
	}
}
