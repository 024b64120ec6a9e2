/* A Linux TUN device (layer 3, no packet information header). */
#ifndef PL_WG_TUN_H
#define PL_WG_TUN_H

/* Create TUN device NAME with the given MTU; returns its fd (closing it
 * removes the device) or a negative errno. */
int wg_tun_open(const char *name, int mtu);

#endif
