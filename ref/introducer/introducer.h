/* The introducer's service: its sockets, its registry of members, and
 * what it answers. One thread, one poll loop. */
#ifndef PL_INTRODUCER_H
#define PL_INTRODUCER_H

#include "../mesh/conf.h"

/* Open the sockets of conf (two UDP addresses, TCP on the first); -errno
 * with err on failure. The caller may drop privileges afterwards. */
struct introducer;
struct introducer *introducer_new(const struct introducer_conf *conf, char *err, size_t errlen);
void introducer_free(struct introducer *in);
/* Serve until *stop becomes nonzero. */
int introducer_run(struct introducer *in, volatile int *stop);

#endif
