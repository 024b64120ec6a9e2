/* The prober and its echo (prober.h). */
#include "prober.h"
#include "../../lib/util/netns.h"
#include "../../lib/util/stats.h"
#include "../../lib/util/timeutil.h"
#include "../topo/build.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct probe_msg {
	uint32_t seq;
	double sent;
	uint8_t pad[PROBER_BYTES];
};

struct sock_arg {
	uint16_t port;
	int fd;
};

static int open_sock(void *arg)
{
	struct sock_arg *s = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(s->port) };

	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return -errno;
	return bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
}

/* A UDP socket bound to PORT (0: any) inside NODE's namespace; -1 on failure. */
static int sock_in(const struct instance *inst, const char *node, uint16_t port, int *err)
{
	struct sock_arg s = { port, -1 };
	char ns[64];

	*err = topo_node_netns(inst, node, ns, sizeof(ns));
	if (*err == 0)
		*err = netns_call(ns, open_sock, &s);
	if (*err && s.fd >= 0) {
		close(s.fd);
		s.fd = -1;
	}
	return s.fd;
}

int prober_open(struct prober *p, const struct instance *inst, char *err, size_t errlen)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->first_reply = p->first_from = -1;
	p->fd_b = -1;
	if ((p->fd_a = sock_in(inst, "a", 0, &ret)) < 0 || (p->fd_b = sock_in(inst, "b", PROBER_PORT, &ret)) < 0) {
		snprintf(err, errlen, "cannot open the prober's sockets in %s: %s", p->fd_a < 0 ? "a" : "b", strerror(-ret));
		prober_close(p);
		return ret ? ret : -EIO;
	}
	p->t0 = time_now_s();
	return 0;
}

void prober_close(struct prober *p)
{
	if (p->fd_a >= 0)
		close(p->fd_a);
	if (p->fd_b >= 0)
		close(p->fd_b);
	p->fd_a = p->fd_b = -1;
}

#define PROBE_MAX 9000

int prober_set_size(struct prober *p, int ip_bytes)
{
	int df = IP_PMTUDISC_DO;

	if (ip_bytes < 28 + (int)sizeof(struct probe_msg) || ip_bytes > PROBE_MAX)
		return -EINVAL;
	p->size = (size_t)ip_bytes - 28;
	if (setsockopt(p->fd_a, IPPROTO_IP, IP_MTU_DISCOVER, &df, sizeof(df)) ||
	    setsockopt(p->fd_b, IPPROTO_IP, IP_MTU_DISCOVER, &df, sizeof(df)))
		return -errno;
	return 0;
}

uint32_t prober_send(struct prober *p, uint32_t to, uint16_t port)
{
	static uint8_t buf[PROBE_MAX];
	static bool filled;
	struct probe_msg m;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = to, .sin_port = htons(port) };
	size_t len = p->size ? p->size : sizeof(m);

	if (!filled) {   /* noise after the header: a tool that compresses carries it whole */
		uint32_t x = 2463534242u;
		for (size_t i = 0; i < sizeof(buf); i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			buf[i] = (uint8_t)x;
		}
		filled = true;
	}
	memset(&m, 0, sizeof(m));
	m.seq = ++p->seq;
	m.sent = time_now_s();
	memcpy(buf, &m, offsetof(struct probe_msg, pad));
	sendto(p->fd_a, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa));
	return m.seq;
}

void prober_mark(struct prober *p)
{
	p->from_seq = p->seq + 1;
	p->first_from = -1;
}

void prober_poll(struct prober *p, int wait_ms)
{
	struct pollfd pf[2] = { { p->fd_a, POLLIN, 0 }, { p->fd_b, POLLIN, 0 } };
	static uint8_t buf[PROBE_MAX];
	struct probe_msg m;
	struct sockaddr_in from;
	socklen_t sl;
	ssize_t n;

	p->n_got = 0;
	if (poll(pf, 2, wait_ms) <= 0)
		return;
	for (int k = 0; k < 64; k++) {
		sl = sizeof(from);
		n = recvfrom(p->fd_b, buf, sizeof(buf), 0, (struct sockaddr *)&from, &sl);
		if (n <= 0)
			break;
		sendto(p->fd_b, buf, (size_t)n, 0, (struct sockaddr *)&from, sl);
	}
	for (int k = 0; k < 64; k++) {
		double t;
		n = recv(p->fd_a, buf, sizeof(buf), 0);
		if (n < (ssize_t)sizeof(m.seq) + (ssize_t)sizeof(m.sent))
			break;
		memcpy(&m, buf, (size_t)n < sizeof(m) ? (size_t)n : sizeof(m));
		t = time_now_s();
		if (p->first_reply < 0)
			p->first_reply = t - p->t0;
		if (p->from_seq && m.seq >= p->from_seq) {
			p->answered_from++;
			if (p->first_from < 0)
				p->first_from = t;
		}
		p->last_reply = t;
		if (p->n_got < PROBER_GOT_MAX)
			p->got[p->n_got++] = (struct prober_reply){ m.seq, t };
		/* the latest PROBER_MAX_SAMPLES, for runs of many minutes */
		p->sample_at[p->n_samples % PROBER_MAX_SAMPLES] = t - p->t0;
		p->samples[p->n_samples % PROBER_MAX_SAMPLES] = (t - m.sent) * 1000.0;
		p->n_samples++;
	}
}

void prober_rtt(const struct prober *p, double since_s, double *p50, double *p90, double *p99)
{
	int kept = p->n_samples < PROBER_MAX_SAMPLES ? p->n_samples : PROBER_MAX_SAMPLES, n = 0;
	double *v = malloc(sizeof(double) * (kept ? (size_t)kept : 1));

	*p50 = *p90 = *p99 = -1;
	if (!v)
		return;
	for (int i = 0; i < kept; i++)
		if (since_s < 0 || p->sample_at[i] >= since_s)
			v[n++] = p->samples[i];
	stats_sort(v, n);
	*p50 = stats_quantile(v, n, 0.50);
	*p90 = stats_quantile(v, n, 0.90);
	*p99 = stats_quantile(v, n, 0.99);
	free(v);
}

/* Ten probes from `from` to `to`, answered by the echo socket; connected
 * when eight come back. */
static bool pair_answers(int from, int echo, uint32_t to)
{
	struct probe_msg m;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = to, .sin_port = htons(PROBER_PORT) }, src;
	int got = 0;

	memset(&m, 0, sizeof(m));
	for (int i = 0; i < 10; i++) {
		struct pollfd pf[2] = { { from, POLLIN, 0 }, { echo, POLLIN, 0 } };
		double until = time_now_s() + 0.1;
		sendto(from, &m, sizeof(m), 0, (struct sockaddr *)&sa, sizeof(sa));
		while (time_now_s() < until) {
			socklen_t sl = sizeof(src);
			if (poll(pf, 2, 20) <= 0)
				continue;
			ssize_t n = recvfrom(echo, &m, sizeof(m), MSG_DONTWAIT, (struct sockaddr *)&src, &sl);
			if (n > 0)
				sendto(echo, &m, (size_t)n, 0, (struct sockaddr *)&src, sl);
			while (recv(from, &m, sizeof(m), MSG_DONTWAIT) > 0)
				got++;
		}
	}
	return got >= 8;
}

int prober_pairs_with_c(const struct prober *p, const struct instance *inst, uint32_t to_c, int *connected)
{
	int ret, b = sock_in(inst, "b", 0, &ret), c = b < 0 ? -1 : sock_in(inst, "c", PROBER_PORT, &ret), pairs = 0;

	*connected = 0;
	if (c >= 0) {
		pairs = 2;
		*connected += pair_answers(p->fd_a, c, to_c);
		*connected += pair_answers(b, c, to_c);
	}
	if (b >= 0)
		close(b);
	if (c >= 0)
		close(c);
	return pairs;
}
