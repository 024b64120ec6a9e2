/* A Linux TUN device (layer 3, no packet information header). */
#ifndef PL_WG_TUN_H
#define PL_WG_TUN_H

#include <stdbool.h>

/* Create TUN device NAME with the given MTU; returns its fd (closing it
 * removes the device) or a negative errno. */
int wg_tun_open(const char *name, int mtu);
/* The same with TCP segmentation and checksum offloads (IFF_VNET_HDR,
 * TUNSETOFFLOAD) where the kernel has them: *offload says whether each read
 * and write carries a virtio_net_hdr (see offload.h). */
int wg_tun_open_offload(const char *name, int mtu, bool *offload);

#endif
