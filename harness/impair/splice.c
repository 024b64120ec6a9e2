/* Preparing interfaces for, and starting, the forwarder. */
#include "impair.h"
#include "../util/netns.h"
#include "../util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct prep {
	const char *ifname;
	unsigned mtu;
};

static int prep_in_ns(void *p)
{
	struct prep *a = p;
	static const uint32_t off[] = { ETHTOOL_STXCSUM, ETHTOOL_SSG, ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO };
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		struct ethtool_value ev = { off[i], 0 };
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, IFNAMSIZ, "%s", a->ifname);
		ifr.ifr_data = (void *)&ev;
		ioctl(fd, SIOCETHTOOL, &ifr); /* best effort: a feature may be fixed off */
	}
	if (a->mtu) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, IFNAMSIZ, "%s", a->ifname);
		ifr.ifr_mtu = (int)a->mtu;
		if (ioctl(fd, SIOCSIFMTU, &ifr) < 0)
			ret = -errno;
	}
	close(fd);
	return ret;
}

int impair_prepare_iface(const char *ns, const char *ifname, unsigned mtu)
{
	struct prep a = { ifname, mtu };

	return netns_call(ns, prep_in_ns, &a);
}

static volatile int stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

struct fwd_arg {
	const struct impair *im;
	int ready_fd;
};

static int forwarder_main(void *p)
{
	struct fwd_arg *a = p;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	return impair_forward("in", "out", a->im, &stop, a->ready_fd);
}

int impair_start(const char *ns, const struct impair *im, int *pid)
{
	struct fwd_arg a = { im, -1 };
	struct pollfd pf;
	int fds[2], ret;
	char c;
	pid_t p = -1;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	a.ready_fd = fds[1];
	ret = proc_fork_call(ns, forwarder_main, &a, &p);
	close(fds[1]);
	*pid = p;
	/* Frames sent before the forwarder listens would be lost (ARP too). */
	pf = (struct pollfd){ fds[0], POLLIN, 0 };
	if (ret == 0 && !(poll(&pf, 1, 5000) == 1 && read(fds[0], &c, 1) == 1))
		ret = -ETIMEDOUT;
	close(fds[0]);
	return ret;
}
