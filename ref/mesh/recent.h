/* The cheap MACs of the control messages received lately: a copy of a
 * message (replayed by anyone who saw it on the path) is dropped for a
 * table lookup, before the X25519 it would cost. A MAC is a function of
 * every byte of its message, and only someone who knows the receiver's
 * public key can make one for other bytes. Entries last as long as a
 * counter stays fresh (MESH_COUNTER_SKEW_S); when more messages come
 * than the table holds, the oldest go, and a copy of one of those costs
 * its X25519 and is then refused by its counter. */
#ifndef PL_MESH_RECENT_H
#define PL_MESH_RECENT_H

#include <stdbool.h>
#include <stdint.h>

#define MESH_RECENT_SLOTS 8192
#define MESH_RECENT_WAYS 4

struct mesh_recent {
	struct {
		uint8_t tag[8];
		uint64_t at_ms;     /* 0: empty */
	} slot[MESH_RECENT_SLOTS];
	uint64_t copies;        /* copies dropped */
};

/* Was a message with this 16-byte MAC received within the freshness
 * window (a copy: true, counted)? Otherwise it is remembered: false. */
bool mesh_recent_copy(struct mesh_recent *r, const uint8_t tag[16], uint64_t now_ms);

#endif
