/* The UDP socket a userspace WireGuard interface speaks on; the mesh's
 * programs open theirs here too. */
#ifndef PL_WG_SOCK_H
#define PL_WG_SOCK_H

#include "wg.h"

#include <stdint.h>

#define WG_UDP_BUFFER (4 << 20)   /* the data path's buffers each way */

/* A non-blocking UDP socket bound to ep (its family, address and port;
 * an IPv6 one carries IPv6 only), with buffers of bufsize bytes each way when bufsize > 0; returns the fd
 * or a negative errno. */
int wg_udp_open(const struct wg_endpoint *ep, int bufsize);
/* One of family (AF_INET, AF_INET6: IPv6 only, beside an IPv4 one) on
 * its any address, PORT (0: any), with WG_UDP_BUFFER. */
int wg_udp_bind(int family, uint16_t port);

#endif
