/* Control message counters: what makes a sealed message fresh and used
 * once. A counter carries its send time, as a 32.32 fixed-point count of
 * seconds since the epoch (seconds << 32 | the fraction of the second),
 * so that
 *   - a receiver refuses a message sent longer ago than the skew (an old
 *     capture replayed),
 *   - a sender restarted later than its last message (even within the same
 *     second) continues above its old stream,
 * and each sender keeps its own counters strictly increasing, across a
 * clock step back too. A receiver that still holds a newer stream than a
 * restarted sender's (the clock stepped back meanwhile) answers with
 * RESYNC, and the sender jumps past what it holds: one message later the
 * two agree again.
 *
 * Times are passed in (CLOCK_REALTIME in nanoseconds), so the tests run
 * hours of virtual time. */
#ifndef PL_MESH_COUNTER_H
#define PL_MESH_COUNTER_H

#include <stdbool.h>
#include <stdint.h>

#define MESH_COUNTER_SKEW_S 120   /* clocks must agree this well; older messages are refused */
#define MESH_REPLAY_SLOTS 32      /* the newest counters a receiver remembers per sender */
#define MESH_RESYNC_EVERY_MS 1000 /* at most one RESYNC per sender per this long */

/* The sender's side: the last counter it used. */
struct mesh_counter {
	uint64_t last;
};

/* The counter for a message sent at now_ns: the send time, or one more
 * than the last counter when the clock has not moved past it. */
uint64_t mesh_counter_next(struct mesh_counter *c, uint64_t now_ns);
/* A receiver holds our counters up to `newest` (it remembers a stream of
 * ours from before a restart or a clock step back): continue above it.
 * Ignored (false) when it is not ahead of us, or further ahead of now_ns
 * than the skew (no honest receiver holds such a counter). */
bool mesh_counter_resync(struct mesh_counter *c, uint64_t newest, uint64_t now_ns);
/* Is counter's send time within skew_s of now_ns, either way? */
bool mesh_counter_fresh(uint64_t counter, uint64_t now_ns, unsigned skew_s);
/* The time a counter says, in seconds since the epoch. */
static inline uint64_t mesh_counter_seconds(uint64_t counter)
{
	return counter >> 32;
}

/* The receiver's side, per sender: each counter accepted once. Counters
 * may arrive out of order (two sockets, TCP beside UDP) as long as fewer
 * than MESH_REPLAY_SLOTS newer ones came first; anything at or below
 * `floor` (the newest counter forgotten) is refused. */
struct mesh_replay {
	uint64_t floor;
	uint64_t seen[MESH_REPLAY_SLOTS];   /* 0: empty */
	uint64_t resync_ms;                 /* when we last sent this sender a RESYNC */
};

void mesh_replay_init(struct mesh_replay *r);
/* Accept counter once: true (and remembered) if it is new. */
bool mesh_replay_check(struct mesh_replay *r, uint64_t counter);
/* Is counter one of those remembered (an exact repeat of a recent
 * message, which needs no RESYNC: it is a copy, not a restarted sender)? */
bool mesh_replay_holds(const struct mesh_replay *r, uint64_t counter);
/* The newest counter accepted (0: none): what a RESYNC tells the sender. */
uint64_t mesh_replay_newest(const struct mesh_replay *r);
/* May a RESYNC go to this sender now (monotonic now_ms)? Records it if so. */
bool mesh_replay_resync_due(struct mesh_replay *r, uint64_t now_ms);

#endif
