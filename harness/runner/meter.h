/* Where a tunnel's bytes are counted: for each pair of hosts, "direct"
 * where their paths meet (the first router both reach through, or the
 * bridge of the LAN they share), and "relay" where the introducer hangs.
 * Placed from the topology alone, so the runner and every lab test count
 * the same way; read back as byte totals that verdict.h judges. */
#ifndef PL_RUNNER_METER_H
#define PL_RUNNER_METER_H

#include "../topo/instance.h"
#include "../topo/topo.h"

struct nflog;

#include <stdbool.h>
#include <stdint.h>

#define METER_MAX_HOSTS 3
#define METER_LOG_GROUP 1            /* nftables log group of the per-packet counts (one per router namespace) */

struct meter_pair {
	int x, y;                    /* indexes into hosts */
	char ns[64];                 /* where its direct counter lives */
	bool bridge;                 /* a LAN's bridge rather than a router */
	char name[32];               /* the counter's name: direct-X-Y */
};

struct meter {
	int n_hosts, n_pairs;
	char hosts[METER_MAX_HOSTS][32];
	struct meter_pair pairs[METER_MAX_HOSTS * (METER_MAX_HOSTS - 1) / 2];
	char relay_ns[64];
	struct nflog *log[2];        /* per packet: the first pair's direct counter, the relay's (NULL: not logged) */
	uint64_t logged_direct, logged_relay;   /* packets each has seen so far */
};

/* Count every pair among hosts (2 or 3 names) in run r of net, and the
 * introducer's traffic; replaces any counters a run had. log_min_len not
 * 0: the first pair's direct counter and the relay's also pass on each
 * packet of at least that many bytes (IP), one by one, for
 * meter_read_packets; meter_close lets them go (before m is installed
 * again, or dropped). */
int meter_install(struct meter *m, const struct topo_net *net, const struct instance *r, const char *const hosts[], int n_hosts,
		  uint16_t log_min_len, char *err, size_t errlen);
void meter_close(struct meter *m);
/* The packets of log_min_len bytes or more that have crossed the first
 * pair's direct counter, and the relay's, since meter_install: read up to
 * the moment of the call (each as it passed, in order). -ENOBUFS: some were
 * lost (the counts are too low). */
int meter_read_packets(struct meter *m, uint64_t *direct, uint64_t *relay);
/* Bytes counted so far between hosts x and y where they meet, and to or
 * from the introducer (all pairs together). -ENOENT: no such pair. */
int meter_read(const struct meter *m, const char *x, const char *y, uint64_t *direct, uint64_t *relay);
/* Of the direct bytes, those over IPv6 (an error, and direct6 untouched,
 * when they cannot be read). */
int meter_read6(const struct meter *m, const char *x, const char *y, uint64_t *direct6);

#endif
