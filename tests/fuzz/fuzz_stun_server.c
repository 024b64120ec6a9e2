/* libFuzzer: the STUN server's receive path as a sequence of datagrams from
 * a handful of sources over time, through the real answer and rate limit
 * (stun_server_answer, stun_server_rate_ok). Whatever arrives, nothing sent
 * is larger than what came (or the least answer there is), no source gets
 * more answers than its bucket holds, and every answer decodes.
 * Input: records of [flags][len hi][len lo][len bytes]; flags' low 3 bits
 * name the source, bit 3 the socket's address, bit 4 its port, bits 5-7 how
 * far the clock moves first (0, 1 ms, ... up to 2 s). */
#include "stun/server.h"
#include "stun/stun.h"
#include "util/bucket.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOURCES 8

static unsigned long reached_answers, reached_limited, reached_bounded;

static void report(void)
{
	fprintf(stderr, "fuzz_stun_server reached: %lu answers, %lu cut to fit, %lu withheld by the rate limit\n",
		reached_answers, reached_bounded, reached_limited);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t step_ms[8] = { 0, 1, 10, 50, 100, 250, 1000, 2000 };
	static struct bucket_slot limits[STUN_SERVER_SOURCES];
	static bool registered;
	struct stun_server_cfg cfg = { 0x0a00710b, 0x0b00710b, 3478, 3479, -1, false, true, { 0x20, 0x01, [15] = 0x0a },
				       { 0x20, 0x01, [15] = 0x0b } };
	unsigned long answers[SOURCES] = { 0 };
	uint64_t now = 1000, start = now;

	if (!registered) {
		atexit(report);
		registered = true;
	}
	memset(limits, 0, sizeof(limits));
	while (size >= 3) {
		uint8_t flags = data[0], out[STUN_MAX_MSG], full[STUN_MAX_MSG];
		size_t len = (size_t)data[1] << 8 | data[2], out_len;
		int src = flags & 7, sa, sp;
		uint16_t dport;
		struct stun_msg m;
		const char *why;

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		now += step_ms[flags >> 5];
		/* sources 0-3 IPv4, 4-7 IPv6 */
		struct stun_addr from = { true, 0x0200710b + (uint32_t)src, (uint16_t)(5000 + src), src >= 4,
					  { 0x20, 0x01, [15] = (uint8_t)src } };
		if (stun_server_answer(&cfg, (flags >> 3) & 1, (flags >> 4) & 1, data, len, &from, out, &out_len, &sa, &sp,
				       &dport)) {
			const size_t least = from.v6 ? STUN_SERVER_MIN_ANSWER6 : STUN_SERVER_MIN_ANSWER;
			size_t bound = len > least ? len : least;
			if (out_len > bound || out_len > STUN_MAX_MSG || stun_decode(out, out_len, &m, &why))
				abort();
			if (stun_decode(data, len, &m, &why) == 0 && stun_encode(&m, full, sizeof(full)) > out_len)
				reached_bounded++;
			if (stun_server_rate_ok(limits, &from, now)) {
				answers[src]++;
				reached_answers++;
			} else {
				reached_limited++;
			}
			/* No more than the bucket ever held. */
			if (answers[src] > STUN_SERVER_BURST + (now - start) * STUN_SERVER_PER_S / 1000 + 1)
				abort();
		}
		data += len;
		size -= len;
	}
	return 0;
}
