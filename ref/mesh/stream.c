#include "stream.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int mesh_stream_feed(struct mesh_stream *s, const uint8_t *data, size_t len, mesh_frame_fn fn, void *ctx)
{
	while (len > 0) {
		size_t want = s->len < 2 ? 2 : 2 + ((size_t)s->buf[0] << 8 | s->buf[1]), take;

		if (s->len == 2 && want == 2)
			return -EBADMSG;
		take = want - s->len < len ? want - s->len : len;
		memcpy(s->buf + s->len, data, take);
		s->len += take;
		data += take;
		len -= take;
		if (s->len >= 2) {
			want = 2 + ((size_t)s->buf[0] << 8 | s->buf[1]);
			if (want == 2)
				return -EBADMSG;
			if (s->len == want) {
				fn(ctx, s->buf + 2, want - 2);
				s->len = 0;
			}
		}
	}
	return 0;
}

int mesh_stream_read(int fd, struct mesh_stream *s, mesh_frame_fn fn, void *ctx)
{
	uint8_t buf[16384];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n == 0)
		return -EPIPE;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	return mesh_stream_feed(s, buf, (size_t)n, fn, ctx);
}

int mesh_stream_write(int fd, const uint8_t *msg, size_t len)
{
	uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	struct iovec iov[2] = { { hdr, 2 }, { (void *)msg, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	int space = 0;
	ssize_t n;

	if (len == 0 || len > MESH_STREAM_MAX)
		return -EMSGSIZE;
	/* Never half a frame: if the socket buffer cannot take it whole now,
	 * drop it (the packets are datagrams that happen to travel on TCP). */
	if (ioctl(fd, TIOCOUTQ, &space) == 0) {
		int sndbuf = 0;
		socklen_t sl = sizeof(sndbuf);
		if (!getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) && sndbuf - space < (int)len + 2 + 512)
			return -EAGAIN;
	}
	n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == (ssize_t)(len + 2))
		return 0;
	return n < 0 && errno == EAGAIN ? -EAGAIN : -EPIPE;
}
