/* libFuzzer: the pieces of WireGuard packets (mesh/frag.h) from up to four
 * senders, in any order and timing, through one reassembler: nothing
 * crashes, what comes out is never larger than its buffer, and a packet
 * comes out only when every piece of it came. Each record of the input:
 * sender (2 bits) and whether the piece is full (bit 2), id, index,
 * count, milliseconds since the last (x 10), the piece's length (2 bytes),
 * then its bytes (a full piece: the record's byte, repeated). Raw
 * datagrams too: the record's first byte 0xff takes the rest as one. */
#include "mesh/frag.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t reached_whole, reached_refused;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mesh_reasm r;
	static uint8_t out[MESH_FRAG_MAX], frag[MESH_FRAG_SAFE + 8];
	struct wg_endpoint from[4];
	uint64_t now = 1;
	char why[80];
	size_t i = 0;

	memset(&r, 0, sizeof(r));
	for (int k = 0; k < 4; k++) {
		char ep[32];
		snprintf(ep, sizeof(ep), "192.0.2.%d:%d", k + 1, 4000 + k);
		wg_endpoint_parse(ep, &from[k]);
	}
	while (i + 7 <= size) {
		const uint8_t *h = data + i;
		size_t n = (size_t)(h[5] << 8 | h[6]);
		int got;
		i += 7;
		if (h[0] == 0xff) {
			got = mesh_frag_take(&r, &from[0], data + i, size - i, now, out, sizeof(out), why, sizeof(why));
			if (got > (int)sizeof(out))
				abort();
			break;
		}
		if (h[0] & 4)
			n = MESH_FRAG_PIECE;
		else if (n > MESH_FRAG_PIECE + 4 || i + n > size)
			break;
		frag[0] = 'P', frag[1] = 'L', frag[2] = MESH_VERSION, frag[3] = MESH_FRAG;
		frag[4] = frag[5] = frag[6] = 0, frag[7] = h[1];
		frag[8] = h[2], frag[9] = h[3];
		if (h[0] & 4) {
			memset(frag + MESH_FRAG_HDR_LEN, h[1], n);
		} else {
			memcpy(frag + MESH_FRAG_HDR_LEN, data + i, n);
			i += n;
		}
		now += (uint64_t)h[4] * 10;
		why[0] = '\0';
		got = mesh_frag_take(&r, &from[h[0] & 3], frag, MESH_FRAG_HDR_LEN + n, now, out, sizeof(out), why,
				     sizeof(why));
		if (got < 0 && !why[0])
			abort();
		if (got > 0 && (got > (int)sizeof(out) || got < MESH_FRAG_PIECE + 1 || got > h[3] * MESH_FRAG_PIECE))
			abort();
		reached_whole += got > 0;
		reached_refused += got < 0;
	}
	return 0;
}

__attribute__((destructor)) static void said(void)
{
	fprintf(stderr, "fuzz_mesh_frag reached: %llu packets made whole, %llu pieces refused\n",
		(unsigned long long)reached_whole, (unsigned long long)reached_refused);
}
