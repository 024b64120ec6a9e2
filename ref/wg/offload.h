/* TUN offloads: with IFF_VNET_HDR the kernel hands us TCP super-packets
 * (TSO) and packets whose checksum is left to us; we finish them here,
 * cutting a super-packet into MTU-sized segments as the NIC would. */
#ifndef PL_WG_OFFLOAD_H
#define PL_WG_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

#define WG_VNET_HDR_LEN 10   /* struct virtio_net_hdr */

/* Called with each finished packet. */
typedef void (*wg_segment_fn)(void *ctx, uint8_t *pkt, size_t len);

/* Take one read from a TUN device opened with a vnet header (hdr then
 * packet, len bytes in all): finish checksums, split TSO packets, and pass
 * each resulting packet to fn. out is scratch space of at least 65536 bytes.
 * Returns the number of packets, or -EINVAL for a header it cannot honour. */
int wg_offload_segment(uint8_t *buf, size_t len, uint8_t *out, wg_segment_fn fn, void *ctx);

#endif
