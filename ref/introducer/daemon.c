/* The introducer on real sockets: two UDP addresses, TCP on the first,
 * an IPv6 address where one is configured, one poll loop that hands the core what arrives, with the time. */
#include "introducer.h"
#include "../mesh/stream.h"
#include "../wg/sock.h"
#include "../../lib/util/proc.h"
#include "../../lib/util/timeutil.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct introducer_daemon {
	struct introducer *core;
	int udp[MESH_VIAS], tcp;   /* by "via": udp[MESH_VIA_TCP] is unused */
	int conn_fd[INTRODUCER_MAX_CONNS];
	struct introducer_conf conf;
	uint64_t accept_paused_ms;  /* out of descriptors: TCP accepts wait until then */
};

static void io_send_udp(void *ctx, int via, const struct wg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct introducer_daemon *d = ctx;

	if (via >= 0 && via < MESH_VIAS && d->udp[via] >= 0)
		sendto(d->udp[via], buf, len, 0, (const struct sockaddr *)&to->addr, wg_endpoint_len(to));
}

static int io_send_tcp(void *ctx, int conn, const uint8_t *buf, size_t len)
{
	struct introducer_daemon *d = ctx;

	if (conn < 0 || conn >= INTRODUCER_MAX_CONNS || d->conn_fd[conn] < 0)
		return -EPIPE;
	return mesh_stream_write(d->conn_fd[conn], buf, len);
}

static void io_close_tcp(void *ctx, int conn)
{
	struct introducer_daemon *d = ctx;

	if (conn >= 0 && conn < INTRODUCER_MAX_CONNS && d->conn_fd[conn] >= 0) {
		close(d->conn_fd[conn]);
		d->conn_fd[conn] = -1;
	}
}

static uint64_t io_real_ns(void *ctx)
{
	(void)ctx;
	return time_real_ns();
}

static int open_tcp(const struct wg_endpoint *ep)
{
	int fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&ep->addr, wg_endpoint_len(ep)) || listen(fd, 64)) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

void introducer_daemon_free(struct introducer_daemon *d)
{
	if (!d)
		return;
	introducer_free(d->core);
	for (int c = 0; c < INTRODUCER_MAX_CONNS; c++)
		if (d->conn_fd[c] >= 0)
			close(d->conn_fd[c]);
	for (int i = 0; i < MESH_VIAS; i++)
		if (d->udp[i] >= 0)
			close(d->udp[i]);
	if (d->tcp >= 0)
		close(d->tcp);
	free(d);
}

struct introducer_daemon *introducer_daemon_new(const struct introducer_conf *conf, char *err, size_t errlen)
{
	struct introducer_daemon *d = calloc(1, sizeof(*d));
	struct introducer_io io = { .send_udp = io_send_udp, .send_tcp = io_send_tcp, .close_tcp = io_close_tcp,
				    .real_ns = io_real_ns };
	char ep[64];
	int ret;

	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int i = 0; i < MESH_VIAS; i++)
		d->udp[i] = -1;
	d->tcp = -1;
	proc_raise_fd_limit(); /* TCP members */
	for (int c = 0; c < INTRODUCER_MAX_CONNS; c++)
		d->conn_fd[c] = -1;
	d->conf = *conf;
	io.ctx = d;
	for (int i = 0; i < conf->n_listen; i++) {
		if ((ret = wg_udp_open(&conf->listen[i], WG_UDP_BUFFER)) < 0) {
			wg_endpoint_format(&conf->listen[i], ep, sizeof(ep));
			snprintf(err, errlen, "cannot listen on UDP %s: %s", ep, strerror(-ret));
			goto fail;
		}
		d->udp[i] = ret;
	}
	if (conf->listen6.addr.ss_family) {
		if ((ret = wg_udp_open(&conf->listen6, WG_UDP_BUFFER)) < 0) {
			wg_endpoint_format(&conf->listen6, ep, sizeof(ep));
			snprintf(err, errlen, "cannot listen on UDP %s: %s", ep, strerror(-ret));
			goto fail;
		}
		d->udp[MESH_VIA_UDP6] = ret;
	}
	if (conf->tcp) {
		if ((ret = open_tcp(&conf->listen[0])) < 0) {
			wg_endpoint_format(&conf->listen[0], ep, sizeof(ep));
			snprintf(err, errlen, "cannot listen on TCP %s: %s", ep, strerror(-ret));
			goto fail;
		}
		d->tcp = ret;
	}
	if (!(d->core = introducer_new(conf, &io, err, errlen)))
		goto fail;
	sodium_memzero(d->conf.private_key, sizeof(d->conf.private_key));
	return d;
fail:
	introducer_daemon_free(d);
	return NULL;
}

static void accept_conn(struct introducer_daemon *d, uint64_t now)
{
	struct wg_endpoint from;
	socklen_t sl = sizeof(from.addr);
	int fd = accept4(d->tcp, (struct sockaddr *)&from.addr, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK), one = 1, size = 1 << 20, c;

	if (fd < 0) {
		/* Out of descriptors the listening socket stays readable: leave it
		 * for a second rather than spin on it. */
		if (errno != EAGAIN && errno != EINTR) {
			if (errno == EMFILE || errno == ENFILE)
				fprintf(stderr, "punchlab-introducer: out of file descriptors: TCP accepts wait a second\n");
			d->accept_paused_ms = now + 1000;
		}
		return;
	}
	if ((c = introducer_conn_open(d->core, &from, now)) < 0) {
		close(fd); /* full: the agent retries later */
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	d->conn_fd[c] = fd;
}

static void read_conn(struct introducer_daemon *d, int c, uint64_t now)
{
	uint8_t buf[16384];
	ssize_t n = recv(d->conn_fd[c], buf, sizeof(buf), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		introducer_conn_closed(d->core, c);
		return;
	}
	if (n > 0)
		introducer_conn_input(d->core, c, buf, (size_t)n, now);
}

/* A configuration from the supervisor (SIGHUP): read it whole. */
static void reload(struct introducer_daemon *d, int fd)
{
	static struct introducer_conf c;
	size_t got = 0;
	ssize_t n;
	int removed;

	while (got < sizeof(c) && (n = read(fd, (uint8_t *)&c + got, sizeof(c) - got)) > 0)
		got += (size_t)n;
	if (got != sizeof(c))
		return;
	removed = introducer_reload(d->core, &c);
	fprintf(stderr, "punchlab-introducer: configuration read again: %d allowed key%s%s, %d member%s removed\n", c.n_allow,
		c.n_allow == 1 ? "" : "s", c.has_join ? " and a join secret" : "", removed, removed == 1 ? "" : "s");
}

/* Datagrams read with one system call (recvmmsg): a join storm's or a
 * relay's many small ones cost a call each no more. */
#define BATCH 16

/* Read what waits on UDP socket v (at most 4 * BATCH datagrams, then the
 * other sockets' turn) and hand it to the core. */
static void read_udp(struct introducer_daemon *d, int v, uint64_t now)
{
	static uint8_t bufs[BATCH][65536];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct wg_endpoint from[BATCH];

	for (int round = 0; round < 4; round++) {
		int n;
		memset(msgs, 0, sizeof(msgs));
		memset(from, 0, sizeof(from));
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i].addr;
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i].addr);
		}
		if ((n = recvmmsg(d->udp[v], msgs, BATCH, MSG_DONTWAIT, NULL)) <= 0)
			return;
		for (int i = 0; i < n; i++)
			introducer_receive(d->core, v, &from[i], bufs[i], msgs[i].msg_len, now);
		if (n < BATCH)
			return;
	}
}

int introducer_daemon_run(struct introducer_daemon *d, int reload_fd, volatile int *stop)
{
	char k[45], a0[64], a1[64], a6[80] = "";

	key_format(introducer_public_key(d->core), k);
	wg_endpoint_format(&d->conf.listen[0], a0, sizeof(a0));
	if (d->conf.n_listen > 1)
		wg_endpoint_format(&d->conf.listen[1], a1, sizeof(a1));
	if (d->udp[MESH_VIA_UDP6] >= 0) {
		snprintf(a6, sizeof(a6), ", IPv6 ");
		wg_endpoint_format(&d->conf.listen6, a6 + strlen(a6), sizeof(a6) - strlen(a6));
	}
	fprintf(stderr, "punchlab-introducer: serving as %s on %s%s%s%s%s\n", k, a0, d->conf.n_listen > 1 ? " and " : "",
		d->conf.n_listen > 1 ? a1 : "", d->tcp >= 0 ? " (and TCP on the first)" : "", a6);
	while (!*stop) {
		struct pollfd p[MESH_VIAS + 2 + INTRODUCER_MAX_CONNS];
		int map[MESH_VIAS + 2 + INTRODUCER_MAX_CONNS], n = 0;
		uint64_t now;

		/* map: -1 - via for a UDP socket, -10 TCP's listener, -11 the
		 * supervisor, else a connection. */
		for (int v = 0; v < MESH_VIAS; v++)
			if (d->udp[v] >= 0) {
				map[n] = -1 - v;
				p[n++] = (struct pollfd){ d->udp[v], POLLIN, 0 };
			}
		if (d->tcp >= 0 && time_now_ms() >= d->accept_paused_ms) {
			map[n] = -10;
			p[n++] = (struct pollfd){ d->tcp, POLLIN, 0 };
		}
		for (int c = 0; c < INTRODUCER_MAX_CONNS; c++)
			if (d->conn_fd[c] >= 0) {
				map[n] = c;
				p[n++] = (struct pollfd){ d->conn_fd[c], POLLIN, 0 };
			}
		if (reload_fd >= 0) {
			map[n] = -11;
			p[n++] = (struct pollfd){ reload_fd, POLLIN, 0 };
		}
		if (poll(p, (nfds_t)n, 500) < 0 && errno != EINTR)
			return -errno;
		now = time_now_ms();
		for (int i = 0; i < n; i++) {
			if (!p[i].revents)
				continue;
			if (map[i] < 0 && map[i] >= -MESH_VIAS) {
				read_udp(d, -1 - map[i], now);
			} else if (map[i] == -10) {
				accept_conn(d, now);
			} else if (map[i] == -11) {
				if (p[i].revents & POLLIN)
					reload(d, reload_fd);
				else
					return 0; /* the supervisor is gone: so are we */
			} else if (d->conn_fd[map[i]] >= 0) {
				read_conn(d, map[i], now);
			}
		}
		introducer_tick(d->core, now);
	}
	return 0;
}
