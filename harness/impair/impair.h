/* Link impairment without netem: a forwarder process in a namespace of its
 * own, spliced into a link, that holds, drops, duplicates and reorders
 * frames and paces them to a rate. Where the kernel has sch_netem one could
 * use it instead; this works everywhere (docs/topologies.md says what it can and cannot do). */
#ifndef PL_IMPAIR_H
#define PL_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct impair {
	bool on;
	unsigned delay_us, jitter_us;   /* each frame waits delay +- jitter (uniform) */
	double loss, reorder, duplicate; /* probabilities 0..1 */
	uint64_t rate_bps;              /* 0: unlimited */
	unsigned mtu;                   /* 0: unchanged */
};

/* Parse "delay=40ms,jitter=5ms,loss=2%,reorder=1%,duplicate=1%,rate=10mbit,mtu=1400"
 * (commas or blanks between). -EINVAL with a message naming the bad item. */
int impair_parse(const char *spec, struct impair *im, char *err, size_t errlen);
/* Forward frames between interfaces a and b of the current namespace with
 * impairment im until *stop; both directions are impaired alike. Once its
 * sockets listen it writes a byte to ready_fd (if >= 0) and closes it. */
int impair_forward(const char *a, const char *b, const struct impair *im, volatile int *stop, int ready_fd);

/* Ready interface IFNAME in namespace NS to carry an impaired link: no
 * checksum or segmentation offloads (the forwarder passes frames as they
 * are, so they must be complete), and the MTU if mtu > 0. */
int impair_prepare_iface(const char *ns, const char *ifname, unsigned mtu);
/* Start the forwarder in namespace NS between "in" and "out"; its pid is
 * for the caller to record and stop. */
int impair_start(const char *ns, const struct impair *im, int *pid);

#endif
