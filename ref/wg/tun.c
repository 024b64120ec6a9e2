#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20 /* Linux 6.2 */
#define TUN_F_USO6 0x40
#endif

static int tun_open(const char *name, int mtu, bool vnet)
{
	struct ifreq ifr;
	int fd, sock, ret;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	/* TCP and UDP segmentation offload; kernels before 6.2 know only TCP's. */
	if (vnet && ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6) < 0 &&
	    ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock >= 0) {
		ifr.ifr_mtu = mtu;
		ioctl(sock, SIOCSIFMTU, &ifr);
		close(sock);
	}
	return fd;
}

int wg_tun_open(const char *name, int mtu)
{
	return tun_open(name, mtu, false);
}

int wg_tun_open_offload(const char *name, int mtu, bool *offload)
{
	int fd = tun_open(name, mtu, true);

	*offload = fd >= 0;
	return fd >= 0 ? fd : tun_open(name, mtu, false);
}
