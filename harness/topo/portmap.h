/* A router that offers port mapping (model key portmap): Debian's
 * miniupnpd (the nftables build) on its LAN side, answering UPnP IGD,
 * NAT-PMP and PCP as the model says, writing the mappings it grants into
 * the table nft_portmap_apply makes. miniupnpd refuses to map when its
 * outside address is reserved, and every lab address is (TEST-NET,
 * 100.64/10): Debian's 2.3.1 has no option to allow that, so it learns
 * its address by STUN, from a lab STUN server on the router itself (its
 * outside address and its first LAN address, ports 3480 and 3481): the
 * answer is the router's own outside address, which is what its NAT
 * translates to. Both run for the life of the lab instance, recorded in it
 * (`fault restart ROUTER miniupnpd` starts it again); its files are in the
 * instance's folder: miniupnpd-ROUTER.conf, .leases and .log. */
#ifndef PL_TOPO_PORTMAP_H
#define PL_TOPO_PORTMAP_H

#include "instance.h"
#include "topo.h"

#include <stddef.h>
#include <stdio.h>

#define PORTMAP_STUN_PORT 3480   /* and 3481: not the lab's 3478, which tools take */
#define PORTMAP_HTTP_PORT 5000   /* miniupnpd's UPnP (SOAP) port */
#define PORTMAP_READY_MS 10000

/* miniupnpd's configuration for router ROUTER of net, as written to out
 * (files in dir, named for the router). */
void portmap_write_conf(const struct topo_net *net, int router, const char *run_id, const char *dir, FILE *out);
/* Its table, then the STUN server, then miniupnpd, in namespace NS;
 * returns when miniupnpd answers, or an error naming its log. */
int portmap_start(const struct topo_net *net, int router, struct instance *r, const char *ns, char *err,
		  size_t errlen);

#endif
