/* Faults on a running topology, as real networks have them: a NAT that
 * reboots, mappings that expire, a link that goes down. */
#ifndef PL_FAULT_H
#define PL_FAULT_H

#include "../topo/instance.h"

#include <stddef.h>

/* Apply fault KIND to TARGET in run r. err says what failed.
 *   nat-reboot ROUTER, mapping-expire ROUTER, link ROUTER down|up,
 *   kill HOST PROGRAM, restart HOST PROGRAM (arg: the program's name),
 *   sleep HOST, wake HOST (every process on it stopped, or continued),
 *   roam HOST SEGMENT (its link moved to another site's LAN). */
int fault_apply(struct instance *r, const char *kind, const char *target, const char *arg, char *err, size_t errlen);

#endif
