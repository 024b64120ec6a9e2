/* The UDP socket a userspace WireGuard interface speaks on. */
#ifndef PL_WG_SOCK_H
#define PL_WG_SOCK_H

#include <stdint.h>

/* A non-blocking IPv4 UDP socket bound to PORT (0: any), with 4 MiB
 * buffers each way; returns the fd or a negative errno. */
int wg_udp_bind(uint16_t port);

#endif
