/* The harness's own traffic through a tunnel: a prober on a that sends a
 * numbered datagram every PROBER_EVERY_MS to b's address inside the tunnel,
 * an echo on b that sends each back, and the round trips it measured. The
 * tool under test sees only ordinary UDP to a port on its peer. */
#ifndef PL_RUNNER_PROBER_H
#define PL_RUNNER_PROBER_H

#include "verdict.h"
#include "../topo/instance.h"

#include <stdbool.h>
#include <stdint.h>

#define PROBER_PORT 7777
#define PROBER_EVERY_MS 100
#define PROBER_BYTES VERDICT_MIN_BYTES   /* big enough that probes outweigh the tools' own chatter */
#define PROBER_MAX_SAMPLES 2048
/* Until the first reply that came the direct way, and for at most
 * PROBER_FAST_S after the start, a probe every PROBER_FAST_MS: time to
 * direct is then known to a few milliseconds. */
#define PROBER_FAST_MS 5
#define PROBER_FAST_S 5
/* No tool carries a probe in fewer bytes (IP): its payload is this large
 * and random (nothing to compress), so the per-packet counts (meter.h)
 * pass over the tools' own smaller messages. */
#define PROBER_WIRE_MIN PROBER_BYTES
#define PROBER_GOT_MAX 64

struct prober_reply {
	uint32_t seq;
	double at;                  /* wall clock (time_now_s) */
};

struct prober {
	int fd_a, fd_b;             /* the prober's socket in a, the echo's in b (port PROBER_PORT) */
	uint32_t seq;
	double t0;                  /* when probing began */
	double samples[PROBER_MAX_SAMPLES];     /* round trips, ms: the latest PROBER_MAX_SAMPLES */
	double sample_at[PROBER_MAX_SAMPLES];   /* when each came back, from t0 */
	int n_samples;              /* every reply so far (the ring holds the latest) */
	double first_reply;         /* from t0 (-1: none yet) */
	double last_reply;          /* wall clock (time_now_s) */
	uint32_t from_seq;          /* replies to probes from this one on count below */
	int answered_from;
	double first_from;          /* when the first of them came back (-1: none yet) */
	size_t size;                /* each probe's UDP payload (0: the usual, small) */
	struct prober_reply got[PROBER_GOT_MAX];   /* the replies the last prober_poll read */
	int n_got;
};

/* Open both ends inside the instance's namespaces of a and b; on failure
 * err says which and why. */
int prober_open(struct prober *p, const struct instance *inst, char *err, size_t errlen);
void prober_close(struct prober *p);
/* One probe to TO (network order), port PORT (host order): b's tunnel
 * address and PROBER_PORT, or the endpoint on a that a tool without a
 * tunnel carries to b's echo. Returns its number (p->seq). */
uint32_t prober_send(struct prober *p, uint32_t to, uint16_t port);
/* Wait up to wait_ms for datagrams: the echo answers, the prober records. */
void prober_poll(struct prober *p, int wait_ms);
/* From now on, probes (and their echoes) of ip_bytes bytes as IP packets,
 * sent with "don't fragment" (ping -M do -s ip_bytes-28); 0 -EINVAL. */
int prober_set_size(struct prober *p, int ip_bytes);
/* Count replies only to probes sent from now on (after an event). */
void prober_mark(struct prober *p);
/* Percentiles of the round trips that came back at or after since_s from
 * t0 (-1: all); -1 each when none did. */
void prober_rtt(const struct prober *p, double since_s, double *p50, double *p90, double *p99);
/* With a third peer c (tunnel address to_c): do a-c and b-c answer? Ten
 * probes each, answered by an echo in c's namespace; a pair is connected
 * when eight come back. Returns the pairs probed (2, or 0 when c's or b's
 * sockets could not be opened) and sets *connected. */
int prober_pairs_with_c(const struct prober *p, const struct instance *inst, uint32_t to_c, int *connected);

#endif
