#include "frag.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int mesh_frag_split(const uint8_t *pkt, size_t len, uint32_t id, int (*emit)(void *ctx, const uint8_t *frag, size_t n),
		    void *ctx)
{
	uint8_t frag[MESH_FRAG_SAFE];
	size_t count = (len + MESH_FRAG_PIECE - 1) / MESH_FRAG_PIECE;

	if (!len || count > MESH_FRAG_MAX_PIECES)
		return -EMSGSIZE;
	for (size_t i = 0; i < count; i++) {
		size_t off = i * MESH_FRAG_PIECE, n = len - off < MESH_FRAG_PIECE ? len - off : MESH_FRAG_PIECE;
		int ret;
		frag[0] = 'P';
		frag[1] = 'L';
		frag[2] = MESH_VERSION;
		frag[3] = MESH_FRAG;
		frag[4] = (uint8_t)(id >> 24), frag[5] = (uint8_t)(id >> 16), frag[6] = (uint8_t)(id >> 8), frag[7] = (uint8_t)id;
		frag[8] = (uint8_t)i;
		frag[9] = (uint8_t)count;
		memcpy(frag + MESH_FRAG_HDR_LEN, pkt + off, n);
		if ((ret = emit(ctx, frag, MESH_FRAG_HDR_LEN + n)) < 0)
			return ret;
	}
	return (int)count;
}

static int refuse(struct mesh_reasm *r, char *why, size_t whylen, const char *what)
{
	r->dropped++;
	snprintf(why, whylen, "fragment: %s", what);
	return -EBADMSG;
}

int mesh_frag_take(struct mesh_reasm *r, const struct wg_endpoint *from, const uint8_t *buf, size_t len, uint64_t now_ms,
		   uint8_t *out, size_t cap, char *why, size_t whylen)
{
	struct mesh_frag_slot *s = NULL, *oldest = &r->slots[0];
	uint32_t id;
	uint8_t idx, count;
	size_t n, total;

	if (len <= MESH_FRAG_HDR_LEN || len > MESH_FRAG_SAFE || buf[0] != 'P' || buf[1] != 'L' || buf[2] != MESH_VERSION ||
	    buf[3] != MESH_FRAG)
		return refuse(r, why, whylen, "not a piece of a packet");
	id = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
	idx = buf[8];
	count = buf[9];
	n = len - MESH_FRAG_HDR_LEN;
	if (count < 2 || count > MESH_FRAG_MAX_PIECES || idx >= count)
		return refuse(r, why, whylen, "piece number out of range");
	if (idx + 1 < count && n != MESH_FRAG_PIECE)
		return refuse(r, why, whylen, "a piece before the last is not full");
	for (int i = 0; i < MESH_FRAG_SLOTS; i++) {
		struct mesh_frag_slot *t = &r->slots[i];
		if (t->at_ms && now_ms - t->at_ms > MESH_FRAG_WAIT_MS) {
			r->dropped += t->have_n; /* given up: a piece was lost */
			t->at_ms = 0;
		}
		if (t->at_ms && t->id == id && wg_endpoint_equal(&t->from, from))
			s = t;
		if (!t->at_ms || (oldest->at_ms && t->at_ms < oldest->at_ms))
			oldest = t;
	}
	if (!s) {
		s = oldest;
		if (s->at_ms)
			r->dropped += s->have_n;
		memset(s->have, 0, sizeof(s->have));
		s->from = *from;
		s->id = id;
		s->count = count;
		s->have_n = 0;
		s->at_ms = now_ms ? now_ms : 1;
	}
	if (s->count != count) {
		s->at_ms = 0;
		return refuse(r, why, whylen, "pieces disagree on their count");
	}
	if (s->have[idx]) {
		/* The same piece again is a duplicate; another piece under
		 * its number spoils the packet (one of them is forged). */
		if ((idx + 1 == count && n != s->last_len) ||
		    memcmp(s->data + (size_t)idx * MESH_FRAG_PIECE, buf + MESH_FRAG_HDR_LEN, n)) {
			s->at_ms = 0;
			return refuse(r, why, whylen, "two different pieces under one number");
		}
		return 0;
	}
	memcpy(s->data + (size_t)idx * MESH_FRAG_PIECE, buf + MESH_FRAG_HDR_LEN, n);
	if (idx + 1 == count)
		s->last_len = (uint16_t)n;
	s->have[idx] = 1;
	if (++s->have_n < count)
		return 0;
	s->at_ms = 0;
	total = (size_t)(count - 1) * MESH_FRAG_PIECE + s->last_len;
	if (total > cap)
		return refuse(r, why, whylen, "the whole is larger than a packet can be");
	memcpy(out, s->data, total);
	return (int)total;
}
