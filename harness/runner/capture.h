/* A packet capture of one router's every interface ("any"), written as a
 * pcap file, kept when a scenario fails. */
#ifndef PL_RUNNER_CAPTURE_H
#define PL_RUNNER_CAPTURE_H

#include <stddef.h>

struct capture;

/* Start capturing inside NETNS into PATH; NULL with err on failure. */
struct capture *capture_start(const char *netns, const char *path, char *err, size_t errlen);
/* Write what has arrived so far (never blocks). */
void capture_poll(struct capture *c);
/* Write the rest, close the file, free c. */
void capture_stop(struct capture *c);

#endif
