/* libFuzzer: a captured packet, as the runner counts WireGuard handshakes
 * in what a router forwarded (capture_count_wg), under every link type it
 * reads and one it does not. Nothing may crash or read past the packet;
 * a message counted is one of the two handshake types. */
#include "runner/capture.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct wg_seen seen;
static unsigned long reached;

static void report(void)
{
	fprintf(stderr, "fuzz_capture reached: %d initiations, %d responses counted in %lu packets\n", seen.initiations,
		seen.responses, reached);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = { 113, 276, 1, 12, 228 };
	static bool ready;
	uint8_t *copy;

	if (!ready) {
		atexit(report);
		ready = true;
	}
	if (size < 1)
		return 0;
	/* The first byte picks the link type; the rest is the packet, in a
	 * buffer of its own size so that ASan sees any read past it. */
	if (!(copy = malloc(size - 1 ? size - 1 : 1)))
		return 0;
	memcpy(copy, data + 1, size - 1);
	capture_count_wg(&seen, types[data[0] % 5], copy, size - 1);
	free(copy);
	reached++;
	if (seen.n_recent > WG_SEEN_RING || seen.next >= WG_SEEN_RING)
		abort();
	return 0;
}
