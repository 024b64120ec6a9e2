/* libFuzzer: the STUN decoder and the server's answer never crash; what
 * decodes re-encodes and decodes to the same addresses. */
#include "stun/server.h"
#include "stun/stun.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stun_server_cfg cfg = { 0x0a00710b, 0x0b00710b, 3478, 3479, -1, false, true, { 0x20, 0x01, [15] = 0x0a },
				       { 0x20, 0x01, [15] = 0x0b } };
	struct stun_msg m, again;
	uint8_t out[STUN_MAX_MSG];
	const char *why;
	size_t out_len, n;
	int sa, sp;
	uint16_t dport;

	if (stun_decode(data, size, &m, &why) == 0) {
		n = stun_encode(&m, out, sizeof(out));
		if (n) {
			if (stun_decode(out, n, &again, &why))
				abort();
			if (again.xor_mapped.addr != m.xor_mapped.addr || again.xor_mapped.port != m.xor_mapped.port ||
			    again.xor_mapped.v6 != m.xor_mapped.v6 || memcmp(again.xor_mapped.addr6, m.xor_mapped.addr6, 16) ||
			    again.type != m.type || memcmp(again.txid, m.txid, 12))
				abort();
		}
	} else if (!why) {
		abort();
	}
	/* and answered to an IPv4 source, and to an IPv6 one */
	for (int v6 = 0; v6 < 2; v6++) {
		struct stun_addr src = { true, 0x0200710b, 5000, v6 == 1, { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 } };
		if (stun_server_answer(&cfg, 0, 0, data, size, &src, out, &out_len, &sa, &sp, &dport) &&
		    (out_len > STUN_MAX_MSG || stun_decode(out, out_len, &again, &why)))
			abort();
	}
	return 0;
}
