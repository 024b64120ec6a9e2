/* Mesh messages over TCP (where UDP is blocked): each frame is a 2-byte
 * big-endian length and one message, exactly as it would be a datagram. */
#ifndef PL_MESH_STREAM_H
#define PL_MESH_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define MESH_STREAM_MAX 65535

struct mesh_stream {
	size_t len;
	uint8_t buf[2 + MESH_STREAM_MAX];
};

typedef void (*mesh_frame_fn)(void *ctx, const uint8_t *msg, size_t len);

/* Take bytes as they arrive; call fn for each whole frame. An empty frame
 * is refused (-EBADMSG: close the connection). */
int mesh_stream_feed(struct mesh_stream *s, const uint8_t *data, size_t len, mesh_frame_fn fn, void *ctx);
/* Read what the socket has and feed it; -EPIPE when the peer closed. */
int mesh_stream_read(int fd, struct mesh_stream *s, mesh_frame_fn fn, void *ctx);
/* Write one whole frame or fail (-EAGAIN if it would not fit now: the
 * frame is dropped, as a datagram would be; a half-written frame closes). */
int mesh_stream_write(int fd, const uint8_t *msg, size_t len);

#endif
