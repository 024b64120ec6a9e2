#include "recent.h"
#include "counter.h"

#include <string.h>

bool mesh_recent_copy(struct mesh_recent *r, const uint8_t tag[16], uint64_t now_ms)
{
	/* The MAC is uniformly random to anyone without the key: its first
	 * bytes pick the slots, MESH_RECENT_WAYS in a row. */
	uint32_t h = (uint32_t)tag[8] | (uint32_t)tag[9] << 8 | (uint32_t)tag[10] << 16 | (uint32_t)tag[11] << 24;
	uint64_t keep = (uint64_t)MESH_COUNTER_SKEW_S * 1000;
	int oldest = -1;

	now_ms = now_ms ? now_ms : 1;
	for (int w = 0; w < MESH_RECENT_WAYS; w++) {
		int i = (int)((h + (uint32_t)w) % MESH_RECENT_SLOTS);
		if (r->slot[i].at_ms && now_ms - r->slot[i].at_ms < keep && !memcmp(r->slot[i].tag, tag, 8)) {
			r->copies++;
			return true;
		}
		if (oldest < 0 || r->slot[i].at_ms < r->slot[oldest].at_ms)   /* an empty one (0) first */
			oldest = i;
	}
	memcpy(r->slot[oldest].tag, tag, 8);
	r->slot[oldest].at_ms = now_ms;
	return false;
}
