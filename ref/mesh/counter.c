#include "counter.h"

#include <string.h>

#define NS_PER_S 1000000000ULL

static uint64_t fixed_point(uint64_t now_ns)
{
	uint64_t s = now_ns / NS_PER_S, frac = ((now_ns % NS_PER_S) << 32) / NS_PER_S;

	return s << 32 | frac;
}

uint64_t mesh_counter_next(struct mesh_counter *c, uint64_t now_ns)
{
	uint64_t t = fixed_point(now_ns);

	/* Strictly increasing, whatever the clock does: after a step back,
	 * the counter stays ahead of the clock until it catches up. */
	c->last = t > c->last ? t : c->last + 1;
	return c->last;
}

bool mesh_counter_resync(struct mesh_counter *c, uint64_t newest, uint64_t now_ns)
{
	if (newest <= c->last || mesh_counter_seconds(newest) > now_ns / NS_PER_S + MESH_COUNTER_SKEW_S)
		return false;
	c->last = newest;
	return true;
}

bool mesh_counter_fresh(uint64_t counter, uint64_t now_ns, unsigned skew_s)
{
	int64_t d = (int64_t)mesh_counter_seconds(counter) - (int64_t)(now_ns / NS_PER_S);

	return d <= (int64_t)skew_s && d >= -(int64_t)skew_s;
}

void mesh_replay_init(struct mesh_replay *r)
{
	memset(r, 0, sizeof(*r));
}

bool mesh_replay_check(struct mesh_replay *r, uint64_t counter)
{
	int slot = -1;

	if (counter <= r->floor)
		return false;
	for (int i = 0; i < MESH_REPLAY_SLOTS; i++) {
		if (r->seen[i] == counter)
			return false;
		/* A free slot, else the oldest one (which becomes the floor). */
		if (slot < 0 || r->seen[i] < r->seen[slot])
			slot = i;
	}
	if (r->seen[slot] > counter) {
		/* Full, and this is older than all we remember: it is new (it is
		 * above the floor and not among them), but the floor rises to it. */
		r->floor = counter;
		return true;
	}
	if (r->seen[slot] > r->floor)
		r->floor = r->seen[slot];
	r->seen[slot] = counter;
	return true;
}

bool mesh_replay_holds(const struct mesh_replay *r, uint64_t counter)
{
	for (int i = 0; i < MESH_REPLAY_SLOTS; i++)
		if (r->seen[i] == counter)
			return true;
	return false;
}

uint64_t mesh_replay_newest(const struct mesh_replay *r)
{
	uint64_t n = r->floor;

	for (int i = 0; i < MESH_REPLAY_SLOTS; i++)
		if (r->seen[i] > n)
			n = r->seen[i];
	return n;
}

bool mesh_replay_resync_due(struct mesh_replay *r, uint64_t now_ms)
{
	if (r->resync_ms && now_ms - r->resync_ms < MESH_RESYNC_EVERY_MS)
		return false;
	r->resync_ms = now_ms ? now_ms : 1;
	return true;
}
