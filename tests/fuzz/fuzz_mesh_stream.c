/* libFuzzer: TCP framing takes any bytes in any pieces, hands out only
 * whole frames within what arrived, and refuses empty frames. */
#include "mesh/stream.h"

#include <stdint.h>
#include <stdlib.h>

static size_t total;

static void on_frame(void *ctx, const uint8_t *msg, size_t len)
{
	(void)ctx;
	(void)msg;
	if (len == 0 || len > MESH_STREAM_MAX)
		abort();
	total += len + 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mesh_stream s;
	size_t off = 1;

	s.len = 0;
	total = 0;
	/* The first byte says how to cut the rest into pieces. */
	if (size < 1)
		return 0;
	for (size_t piece = (size_t)data[0] % 7 + 1, i = 1; i < size; i += piece) {
		size_t n = i + piece <= size ? piece : size - i;
		if (mesh_stream_feed(&s, data + i, n, on_frame, NULL))
			return 0;
		off = i + n;
	}
	if (total + s.len != off - 1)
		abort();
	return 0;
}
