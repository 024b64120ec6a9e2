/* Preparing interfaces for, and starting, the forwarder. */
#include "impair.h"
#include "../../lib/util/netns.h"
#include "../../lib/util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
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

/* Detached like a run's keeper: a session of its own, nothing of the
 * caller's terminal or pipes (`topo up ... | tee f` must return), so only
 * the run's teardown ends it. */
static int forwarder_main(void *arg, int ready_fd)
{
	struct sigaction sa;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	setsid();
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	signal(SIGHUP, SIG_IGN);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* netem holds frames in the kernel, where a busy machine does not
	 * delay them; this forwarder is a process: it runs ahead of the
	 * lab's other work (a low real-time priority, else a high nice), so
	 * a delay stays what was asked while the tools under test keep the
	 * CPUs busy. It sleeps between frames; the kernel's real-time
	 * throttling bounds it all the same. */
	if (sched_setscheduler(0, SCHED_FIFO, &(struct sched_param){ .sched_priority = 10 }))
		(void)setpriority(PRIO_PROCESS, 0, -10);
	return impair_forward("in", "out", arg, &stop, ready_fd);
}

int impair_start(const char *ns, const struct impair *im, int *pid)
{
	pid_t p = -1;
	/* Frames sent before the forwarder listens would be lost (ARP too). */
	int ret = proc_fork_ready(ns, forwarder_main, (void *)im, &p, 5000);

	*pid = p;
	return ret;
}
