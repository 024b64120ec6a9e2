/* Faults on a running topology, as real networks have them: a NAT that
 * reboots, mappings that expire, a link that goes down. */
#ifndef PL_FAULT_H
#define PL_FAULT_H

#include "../topo/run.h"

#include <stddef.h>

/* Apply fault KIND ("nat-reboot", "mapping-expire", "link") to TARGET (a
 * router) in run r; arg is "down"/"up" for link. err says what failed. */
int fault_apply(const struct run *r, const char *kind, const char *target, const char *arg, char *err, size_t errlen);

#endif
