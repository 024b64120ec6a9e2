#include "replay.h"

#include <string.h>

#define WORDS (WG_REPLAY_BITS / 64)

void wg_replay_init(struct wg_replay *r)
{
	memset(r, 0, sizeof(*r));
}

bool wg_replay_check(struct wg_replay *r, uint64_t counter)
{
	uint64_t word = counter >> 6, bit = 1ULL << (counter & 63);

	if (counter >= WG_REJECT_AFTER_MESSAGES)
		return false;
	if (counter + WG_REPLAY_WINDOW < r->next)
		return false; /* older than the window */
	if (counter >= r->next) {
		/* Move the window: words after the old newest one, up to this
		 * one, start empty. */
		uint64_t old_word = r->next ? (r->next - 1) >> 6 : 0;
		if (r->next == 0 || word - old_word >= WORDS)
			memset(r->bitmap, 0, sizeof(r->bitmap));
		else
			for (uint64_t w = old_word + 1; w <= word; w++)
				r->bitmap[w % WORDS] = 0;
		r->next = counter + 1;
	}
	if (r->bitmap[word % WORDS] & bit)
		return false;
	r->bitmap[word % WORDS] |= bit;
	return true;
}
