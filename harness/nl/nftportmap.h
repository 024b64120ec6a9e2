/* The nftables a router's port-mapping daemon (miniupnpd, nftables build)
 * writes its mappings into: miniupnpd adds rules but makes no table or
 * chain, so the lab makes them: table inet punchlab-pmap with a forward
 * filter chain, prerouting and postrouting NAT chains (each jumping to the
 * daemon's chain), and, where the model offers only one of NAT-PMP and PCP
 * (one daemon answers both on port 5351), an input rule dropping the other
 * by its version byte. */
#ifndef PL_NL_NFTPORTMAP_H
#define PL_NL_NFTPORTMAP_H

#include <stddef.h>
#include <stdio.h>

#define PORTMAP_TABLE "punchlab-pmap"
#define PORTMAP_FORWARD_CHAIN "miniupnpd"
#define PORTMAP_NAT_CHAIN "prerouting_miniupnpd"
#define PORTMAP_POSTROUTING_CHAIN "postrouting_miniupnpd"
/* Before the model's own DNAT (dstnat, -100): a port the router mapped on
 * request wins over a mapping the model made. */
#define PORTMAP_PREROUTING_PRIORITY (-110)

/* The table for a model's portmap bits (NAT_PORTMAP_*), made anew in
 * NETNS. 0, or the kernel's refusal in err. */
int nft_portmap_apply(const char *netns, unsigned portmap, char *err, size_t errlen);
/* The ports the daemon maps now in NETNS (its rules in the NAT chain),
 * and by which protocols (NAT_PORTMAP_* bits, from the label it gives
 * each rule). 0 or -errno. */
struct nft_portmap_granted {
	int count;
	unsigned protocols;
};
int nft_portmap_granted(const char *netns, struct nft_portmap_granted *g);
/* Just how many, or -errno. */
int nft_portmap_count(const char *netns);
/* The same as an nft script (punchlab nat show). */
void nft_portmap_print(unsigned portmap, FILE *out);

#endif
