/* A full NAT, made on demand: a table of its own ("plfault") on a router
 * that drops new UDP flows toward its uplink once `max_flows` are
 * tracked, as a carrier NAT whose ports are taken does. */
#ifndef PL_NL_NFTLIMIT_H
#define PL_NL_NFTLIMIT_H

#include <stddef.h>

#define NFTLIMIT_TABLE "plfault"

/* Allow at most max_flows UDP flows out of "wan" (0: no new one at all),
 * and max_flows6 IPv6 ones, counted apart (a NAT66 router's ports); a
 * limit < 0 is none (removed). One batch a family. */
int nftlimit_new_flows(const char *netns, long max_flows, long max_flows6, char *err, size_t errlen);

#endif
