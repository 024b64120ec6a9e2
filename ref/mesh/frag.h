/* WireGuard packets in pieces, for paths that drop large datagrams and say
 * nothing (a path MTU black hole): an agent that has not seen its peer's
 * path carry a full-size datagram sends each larger packet as FRAG
 * messages no larger than MESH_FRAG_SAFE, and the peer puts them together
 * before WireGuard sees the packet. The pieces are not authenticated: the
 * whole is, by WireGuard, so a forged piece costs at most the packet it
 * spoils; what waits to be completed is bounded (MESH_FRAG_SLOTS packets,
 * MESH_FRAG_WAIT_MS each).
 *
 *   frag: 'P' 'L' VERSION FRAG | id (4) | index (1) | count (1) | piece
 * Every piece but the last is of the same length. */
#ifndef PL_MESH_FRAG_H
#define PL_MESH_FRAG_H

#include "proto.h"

#include <stddef.h>
#include <stdint.h>

#define MESH_FRAG_HDR_LEN (MESH_HDR_LEN + 6)
/* The largest datagram sent in pieces: 1280 (the least MTU IPv6 allows)
 * less the IPv6 and UDP headers, so a piece passes any path that carries
 * IPv6 at all, and IPv4 at 1260. */
#define MESH_FRAG_SAFE 1232
#define MESH_FRAG_PIECE (MESH_FRAG_SAFE - MESH_FRAG_HDR_LEN)
#define MESH_FRAG_MAX_PIECES 8
#define MESH_FRAG_MAX (MESH_FRAG_PIECE * MESH_FRAG_MAX_PIECES)
#define MESH_FRAG_SLOTS 8
#define MESH_FRAG_WAIT_MS 1000

/* Cut pkt into pieces, each passed to emit (a FRAG message of at most
 * MESH_FRAG_SAFE bytes). Returns the number of pieces, -EMSGSIZE if pkt
 * needs more than MESH_FRAG_MAX_PIECES, or emit's first error. */
int mesh_frag_split(const uint8_t *pkt, size_t len, uint32_t id, int (*emit)(void *ctx, const uint8_t *frag, size_t n),
		    void *ctx);

struct mesh_frag_slot {
	struct wg_endpoint from;
	uint32_t id;
	uint8_t count, have_n;
	uint8_t have[MESH_FRAG_MAX_PIECES];
	uint16_t last_len;          /* the last piece's length */
	uint64_t at_ms;             /* when its first piece came (0: free) */
	uint8_t data[MESH_FRAG_MAX];
};

struct mesh_reasm {
	struct mesh_frag_slot slots[MESH_FRAG_SLOTS];
	uint64_t dropped;           /* pieces refused: malformed, inconsistent, or of a packet given up */
};

/* Take one FRAG message from `from`. Returns the whole packet's length
 * (copied into out) once every piece has come, 0 while pieces are
 * missing, -EBADMSG (with why) for a malformed or inconsistent piece. */
int mesh_frag_take(struct mesh_reasm *r, const struct wg_endpoint *from, const uint8_t *buf, size_t len, uint64_t now_ms,
		   uint8_t *out, size_t cap, char *why, size_t whylen);

#endif
