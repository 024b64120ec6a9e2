/* The impairment forwarder: frames in on one interface, out of the other,
 * after their delay; a min-heap of departure times, a fixed pool of slots. */
#include "impair.h"
#include "../../lib/util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define SLOTS 4096
#define FRAME_MAX 2048   /* offloads are off on impaired links: frames fit */

struct slot {
	uint64_t due_ns;
	uint32_t order;     /* ties leave in arrival order */
	uint16_t len;
	uint8_t out;        /* socket index to leave by */
	uint8_t data[FRAME_MAX];
};

static struct slot pool[SLOTS];
static int heap[SLOTS], heap_n, free_list[SLOTS], free_n;

static bool earlier(int a, int b)
{
	return pool[a].due_ns < pool[b].due_ns || (pool[a].due_ns == pool[b].due_ns && pool[a].order < pool[b].order);
}

static void heap_push(int s)
{
	int i = heap_n++;

	heap[i] = s;
	while (i > 0 && earlier(heap[i], heap[(i - 1) / 2])) {
		int p = (i - 1) / 2, t = heap[p];
		heap[p] = heap[i];
		heap[i] = t;
		i = p;
	}
}

static int heap_pop(void)
{
	int top = heap[0], i = 0;

	heap[0] = heap[--heap_n];
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;
		if (l < heap_n && earlier(heap[l], heap[m]))
			m = l;
		if (r < heap_n && earlier(heap[r], heap[m]))
			m = r;
		if (m == i)
			break;
		int t = heap[m];
		heap[m] = heap[i];
		heap[i] = t;
		i = m;
	}
	return top;
}

static uint64_t rng;

static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static int packet_socket(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL)), one = 1;

	if (fd < 0)
		return -errno;
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	int size = 4 << 20;

	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	/* Arrivals stamped by the kernel: a frame's delay runs from when it
	 * came, not from when a busy forwarder got round to reading it. */
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	/* Room for bursts while frames wait their turn (SO_RCVBUFFORCE: root). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		return -ENODEV;
	}
	return fd;
}

/* Read one frame; *age_ns: how long ago the kernel took it in (0 when it
 * did not say). */
static ssize_t recv_frame(int fd, uint8_t *frame, size_t cap, uint64_t *age_ns)
{
	char ctrl[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { frame, cap };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
	ssize_t n = recvmsg(fd, &msg, MSG_TRUNC);

	*age_ns = 0;
	for (struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec at, now;
			uint64_t at_ns, now_ns;
			memcpy(&at, CMSG_DATA(cm), sizeof(at));
			clock_gettime(CLOCK_REALTIME, &now);
			at_ns = (uint64_t)at.tv_sec * 1000000000u + (uint64_t)at.tv_nsec;
			now_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
			/* a wall clock stepped back, or an age past any delay: none */
			if (now_ns > at_ns && now_ns - at_ns < 10000000000ull)
				*age_ns = now_ns - at_ns;
		}
	return n;
}

int impair_forward(const char *a, const char *b, const struct impair *im, volatile int *stop, int ready_fd)
{
	int fds[2] = { packet_socket(a), packet_socket(b) };
	uint64_t last_departure[2] = { 0, 0 };
	uint32_t order = 0;

	if (fds[0] < 0 || fds[1] < 0)
		return -ENODEV;
	if (getrandom(&rng, sizeof(rng), 0) != sizeof(rng) || !rng)
		rng = 0x9E3779B97F4A7C15ULL;
	for (int i = 0; i < SLOTS; i++)
		free_list[i] = SLOTS - 1 - i;
	free_n = SLOTS;
	if (ready_fd >= 0) {
		if (write(ready_fd, "r", 1) != 1)
			(void)0; /* the starter gave up waiting */
		close(ready_fd);
	}
	while (!*stop) {
		struct pollfd p[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
		uint64_t now = time_now_ns(), wait = 100000000u;
		struct timespec ts;

		if (heap_n) {
			uint64_t due = pool[heap[0]].due_ns;
			wait = due <= now ? 0 : due - now;
		}
		/* Nanosecond timeouts: a frame leaves when due, not a tick later. */
		ts.tv_sec = (time_t)(wait / 1000000000u);
		ts.tv_nsec = (long)(wait % 1000000000u);
		ppoll(p, 2, &ts, NULL);
		for (int side = 0; side < 2; side++) {
			for (int burst = 0; burst < 64 && (p[side].revents & POLLIN); burst++) {
				uint8_t frame[FRAME_MAX];
				uint64_t due, age;
				ssize_t n = recv_frame(fds[side], frame, sizeof(frame), &age);
				int copies;

				if (n <= 0)
					break;
				if (n > FRAME_MAX || uniform() < im->loss)
					continue;
				now = time_now_ns();
				/* from the frame's arrival (the monotonic clock, less its age) */
				due = (now > age ? now - age : now) + (uint64_t)im->delay_us * 1000u;
				if (im->jitter_us)
					due += (uint64_t)((uniform() * 2.0 - 1.0) * im->jitter_us * 1000.0);
				/* netem's way: a reordered frame skips the delay and overtakes. */
				if (im->reorder > 0 && uniform() < im->reorder)
					due = now > age ? now - age : now;
				if (im->rate_bps) {
					/* Serialise on the link: one frame after another at the rate. */
					uint64_t tx = (uint64_t)n * 8u * 1000000000ull / im->rate_bps;
					uint64_t start = due > last_departure[side] ? due : last_departure[side];
					due = start + tx;
					last_departure[side] = due;
				}
				copies = im->duplicate > 0 && uniform() < im->duplicate ? 2 : 1;
				for (int c = 0; c < copies && free_n; c++) {
					int s = free_list[--free_n];
					memcpy(pool[s].data, frame, (size_t)n);
					pool[s].len = (uint16_t)n;
					pool[s].due_ns = due;
					pool[s].order = order++;
					pool[s].out = (uint8_t)!side;
					heap_push(s);
				}
			}
		}
		now = time_now_ns();
		while (heap_n && pool[heap[0]].due_ns <= now) {
			int s = heap_pop();
			if (send(fds[pool[s].out], pool[s].data, pool[s].len, 0) < 0 && errno != EAGAIN)
				(void)0; /* a frame lost on the wire */
			free_list[free_n++] = s;
		}
	}
	close(fds[0]);
	close(fds[1]);
	return 0;
}
