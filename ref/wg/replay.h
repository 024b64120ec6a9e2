/* Sliding-window replay protection for transport counters (RFC 6479's
 * bitmap, as WireGuard uses it: paper §5.4.6). */
#ifndef PL_WG_REPLAY_H
#define PL_WG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define WG_REPLAY_BITS 2048
#define WG_REPLAY_WINDOW (WG_REPLAY_BITS - 64) /* counters this far behind the newest still count */
#define WG_REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13)) /* paper §6.1: 2^64 - 2^13 - 1 */

struct wg_replay {
	uint64_t next;                          /* newest accepted counter + 1 */
	uint64_t bitmap[WG_REPLAY_BITS / 64];
};

void wg_replay_init(struct wg_replay *r);
/* Accept counter once: false for a repeat, one too old, or past the limit. */
bool wg_replay_check(struct wg_replay *r, uint64_t counter);

#endif
