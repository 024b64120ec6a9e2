#include "sock.h"
#include "../../lib/util/netns.h"
#include "../../lib/util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct new_arg {
	int type, proto, fd;
};

static int new_here(void *p)
{
	struct new_arg *a = p;

	a->fd = socket(AF_INET, a->type | SOCK_CLOEXEC, a->proto);
	return a->fd < 0 ? -errno : 0;
}

int csock_new(const char *ns, int type, int proto)
{
	struct new_arg a = { type, proto, -1 };
	int ret = netns_call(ns, new_here, &a);

	if (ret && a.fd >= 0)
		close(a.fd);
	return ret ? ret : a.fd;
}

static int bound(const char *ns, int type, uint32_t addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = addr, .sin_port = htons(port) };
	int fd = csock_new(ns, type, 0), one = 1, ret;

	if (fd < 0)
		return fd;
	/* TCP tests bind one local port to several connections and a
	 * listener, as hole punchers do. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int csock_udp(const char *ns, uint32_t addr, uint16_t port)
{
	return bound(ns, SOCK_DGRAM, addr, port);
}

int csock_tcp(const char *ns, uint32_t addr, uint16_t port)
{
	return bound(ns, SOCK_STREAM, addr, port);
}

int csock_send(int fd, uint32_t addr, uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = addr, .sin_port = htons(port) };

	return sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)len ? 0 : -errno;
}

int csock_recv_tag(int fd, const char *tag, int ms, struct obs_ep *from, uint8_t *buf, size_t cap)
{
	uint64_t end = time_now_ms() + (uint64_t)ms;
	size_t tl = strlen(tag);

	for (;;) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		struct pollfd p = { fd, POLLIN, 0 };
		uint64_t now = time_now_ms();
		ssize_t n;

		if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
			return -1;
		n = recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)&sa, &sl);
		if (n < 0 || (size_t)n < tl || memcmp(buf, tag, tl))
			continue; /* an error queued, or a datagram of another test */
		if (from)
			*from = (struct obs_ep){ sa.sin_addr.s_addr, ntohs(sa.sin_port) };
		return (int)n;
	}
}

int csock_connect_start(int fd, uint32_t addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = addr, .sin_port = htons(port) };

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS)
		return -errno;
	return 0;
}

int csock_connect_wait(int fd, int ms)
{
	struct pollfd p = { fd, POLLOUT, 0 };
	socklen_t sl = sizeof(int);
	int err = 0;

	if (poll(&p, 1, ms) <= 0)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl))
		return -errno;
	return -err;
}

int csock_accept(int fd, int ms, struct obs_ep *from)
{
	struct pollfd p = { fd, POLLIN, 0 };
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int c;

	if (poll(&p, 1, ms) <= 0)
		return -1;
	c = accept4(fd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC);
	if (c >= 0 && from)
		*from = (struct obs_ep){ sa.sin_addr.s_addr, ntohs(sa.sin_port) };
	return c;
}
