/* The random input of the tests that hold a fast structure against its
 * slow twin: xorshift64*, reproducible, so that a failure can be replayed
 * from the seed each test file sets. */
#ifndef PL_TEST_TWIN_RNG_H
#define PL_TEST_TWIN_RNG_H

#include <stdint.h>

static uint64_t rng_state;

static inline uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

#endif
