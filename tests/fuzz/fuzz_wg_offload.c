/* libFuzzer: whatever a TUN read holds, segmentation never overruns and
 * every segment it emits fits its scratch buffer. */
#include "wg/offload.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void sink(void *ctx, uint8_t *pkt, size_t len)
{
	(void)ctx;
	if (len > 65536 || !pkt)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[70000], out[65536];

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	wg_offload_segment(buf, size, out, sink, NULL);
	return 0;
}
