/* TUN offloads: with IFF_VNET_HDR the kernel hands us TCP super-packets
 * (TSO) and packets whose checksum is left to us; we finish them here,
 * cutting a super-packet into MTU-sized segments as the NIC would. */
#ifndef PL_WG_OFFLOAD_H
#define PL_WG_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

#define WG_VNET_HDR_LEN 10   /* struct virtio_net_hdr */

/* The vnet header of a packet that needs nothing done (all zero). */
extern const uint8_t wg_vnet_none[WG_VNET_HDR_LEN];

/* Called with each finished packet. */
typedef void (*wg_segment_fn)(void *ctx, uint8_t *pkt, size_t len);

/* Take one read from a TUN device opened with a vnet header (hdr then
 * packet, len bytes in all): finish checksums, split TSO packets, and pass
 * each resulting packet to fn. out is scratch space of at least 65536 bytes.
 * Returns the number of packets, or -EINVAL for a header it cannot honour. */
int wg_offload_segment(uint8_t *buf, size_t len, uint8_t *out, wg_segment_fn fn, void *ctx);

/* The other way (GRO toward the kernel): TCP segments of one flow that
 * follow each other, opened from one receive batch, are joined into one
 * super-packet written to the TUN device once, with a vnet header that
 * asks the kernel to treat it as the segments it was (TSO, partial
 * checksum). Joined are only segments the kernel's own GRO would join:
 * IPv4 without options and unfragmented, or IPv6 without extension
 * headers; TCP with ACK and at most PSH, a valid checksum, and the same
 * addresses, ports, ACK number, window and options as the first; the next
 * sequence number (and IPv4 ID); no larger than the first, which sets the
 * segment size; a smaller one or a PSH ends the super-packet; 64 segments
 * and 65535 bytes at most. Anything else is written as it came, after
 * what its flow had held (for what cannot be parsed, an IPv4 fragment or
 * one with options, IPv6 with extension headers: whatever its addresses
 * had held). */
#define WG_GRO_FLOWS 8
#define WG_GRO_MAX_SEGS 64

/* Write one packet with its vnet header (hdr, WG_VNET_HDR_LEN bytes). */
typedef void (*wg_gro_write_fn)(void *ctx, const uint8_t *hdr, const uint8_t *pkt, size_t len);

struct wg_gro_flow {
	size_t len;        /* bytes held; 0: the slot is free */
	size_t l4, hlen;   /* where TCP starts; IP and TCP headers' length */
	size_t mss;        /* the first segment's payload */
	uint32_t next_seq;
	uint16_t next_id;
	int segs;
	int open;          /* another segment may join */
	uint8_t buf[65535];
};

struct wg_gro {
	wg_gro_write_fn write;
	void *ctx;
	unsigned evict;    /* the slot to give up next when all are taken */
	struct wg_gro_flow flow[WG_GRO_FLOWS];
};

void wg_gro_init(struct wg_gro *g, wg_gro_write_fn write, void *ctx);
/* Take one packet opened from the tunnel (an IP packet, len bytes): join
 * it to what is held, hold it, or write it (and its flow's) at once. */
void wg_gro_add(struct wg_gro *g, const uint8_t *pkt, size_t len);
/* Write everything held: at the end of each receive batch. */
void wg_gro_flush(struct wg_gro *g);

#endif
