#include "sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int wg_udp_open(const struct wg_endpoint *ep, int bufsize)
{
	int fd = socket(ep->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

	if (fd < 0)
		return -errno;
	/* IPv6 only: an IPv4 socket may hold the same port beside it. */
	if (ep->addr.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	if (bufsize > 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
	}
	if (bind(fd, (const struct sockaddr *)&ep->addr, wg_endpoint_len(ep))) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int wg_udp_bind(int family, uint16_t port)
{
	struct wg_endpoint ep;

	memset(&ep, 0, sizeof(ep));   /* the any address, in either family */
	ep.addr.ss_family = (sa_family_t)family;
	((struct sockaddr_in *)&ep.addr)->sin_port = htons(port);   /* sin6_port sits at the same place */
	return wg_udp_open(&ep, WG_UDP_BUFFER);
}
