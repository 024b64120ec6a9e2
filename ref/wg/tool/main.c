/* punchlab-wg IFNAME: a WireGuard interface in userspace, configured with
 * `wg set` / `wg show` like wireguard-go. Runs in the foreground, or with
 * -d in the background once its device and sockets are up. */
#include "wg/offload.h"
#include "wg/sock.h"
#include "wg/tun.h"
#include "wg/uapi.h"
#include "wg/wg.h"
#include "../../../lib/util/timeutil.h"
#include "../../../lib/util/version.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <netinet/udp.h>
#include <linux/virtio_net.h>
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h, which clashes with netinet/udp.h */
#endif
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: punchlab-wg [-d] [--mtu N] [--no-gro] [--rekey-after-ms N] [--under-load] IFNAME\n"
	"       punchlab-wg --version\n"
	"\n"
	"A userspace WireGuard interface: creates the TUN device IFNAME and the\n"
	"UAPI socket " WG_UAPI_DIR "/IFNAME.sock, then runs in the foreground until\n"
	"SIGINT/SIGTERM or `ip link del IFNAME`; with -d (--daemon) it returns once both are up and runs on in\n"
	"the background (its pid on stderr). Configure it with wireguard-tools, as\n"
	"wireguard-go:\n"
	"  wg set IFNAME private-key FILE listen-port P peer PUB endpoint IP:PORT allowed-ips ...\n"
	"  ip addr add 10.0.0.1/24 dev IFNAME && ip link set IFNAME up\n"
	"--no-gro writes each TCP segment received to the device by itself\n"
	"instead of joining a batch's segments into one (to measure what joining\n"
	"gains). --rekey-after-ms shortens REKEY_AFTER_TIME and --under-load makes\n"
	"every handshake need a cookie (tests only).\n";

#define BATCH 64
#define SLOT 2048   /* one datagram: MTU + WireGuard overhead, with room */

/* Datagrams sealed while draining the TUN device leave together: grouped
 * into UDP GSO sends where the kernel has it, else one sendmmsg. */
struct batch {
	int n;
	size_t len[BATCH];
	struct wg_endpoint to[BATCH];
	uint8_t buf[BATCH][SLOT];
};

struct state {
	struct wg_device *dev;
	int tun, uapi;
	_Atomic int udp;          /* replaced by a UAPI listen_port change */
	char sock_path[108];
	_Atomic bool gso;
	bool offload;
	bool gro_rx;              /* join received TCP segments (not with --no-gro) */
};

/* Each data thread batches its own sends. */
static _Thread_local struct batch out_batch;
static _Thread_local bool batching;
static _Thread_local uint64_t thread_now;

static _Atomic int stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void flush(struct state *s);

static int send_cb(void *ctx, struct wg_peer *peer, const struct wg_endpoint *ep, const uint8_t *buf, size_t len)
{
	struct state *s = ctx;

	(void)peer;
	if (!ep)
		return -EDESTADDRREQ;
	if (batching && len <= SLOT) {
		struct batch *b = &out_batch;
		memcpy(b->buf[b->n], buf, len);
		b->len[b->n] = len;
		b->to[b->n] = *ep;
		if (++b->n == BATCH)
			flush(s);
		return 0;
	}
	if (sendto(s->udp, buf, len, 0, (const struct sockaddr *)&ep->addr, wg_endpoint_len(ep)) < 0)
		return -errno;
	return 0;
}

/* Send what was batched. A run of datagrams to one endpoint, all of one
 * size but the last, goes as one UDP GSO send (UDP_SEGMENT). */
static void flush(struct state *s)
{
	struct batch *b = &out_batch;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	char ctrl[BATCH][CMSG_SPACE(sizeof(uint16_t))];
	int n = 0;

	for (int i = 0; i < b->n;) {
		int j = i + 1;
		size_t run = b->len[i];
		if (s->gso)
			while (j < b->n && j - i < 64 && b->len[j] <= b->len[i] && wg_endpoint_equal(&b->to[j], &b->to[i]) &&
			       b->len[j - 1] == b->len[i] && run + b->len[j] <= 65000)
				run += b->len[j++];
		memset(&msgs[n], 0, sizeof(msgs[n]));
		if (j - i > 1) {
			/* The slots are contiguous only per datagram: copy the run behind the first. */
			size_t total = b->len[i];
			for (int k = i + 1; k < j; k++) {
				memmove(b->buf[i] + total, b->buf[k], b->len[k]);
				total += b->len[k];
			}
			struct cmsghdr *cm;
			msgs[n].msg_hdr.msg_control = ctrl[n];
			msgs[n].msg_hdr.msg_controllen = sizeof(ctrl[n]);
			cm = CMSG_FIRSTHDR(&msgs[n].msg_hdr);
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			*(uint16_t *)CMSG_DATA(cm) = (uint16_t)b->len[i];
			iov[n] = (struct iovec){ b->buf[i], total };
		} else {
			iov[n] = (struct iovec){ b->buf[i], b->len[i] };
		}
		msgs[n].msg_hdr.msg_iov = &iov[n];
		msgs[n].msg_hdr.msg_iovlen = 1;
		msgs[n].msg_hdr.msg_name = &b->to[i].addr;
		msgs[n].msg_hdr.msg_namelen = wg_endpoint_len(&b->to[i]);
		n++;
		i = j;
	}
	for (int sent = 0; sent < n;) {
		int r = sendmmsg(s->udp, msgs + sent, (unsigned)(n - sent), 0);
		if (r <= 0) {
			if (r < 0 && errno == EIO && s->gso) {
				s->gso = false; /* no GSO on this path: plain datagrams from now on */
			}
			break;
		}
		sent += r;
	}
	b->n = 0;
}

/* The receiving thread joins the TCP segments it opens from one batch
 * (wg_gro_add) and writes them at the batch's end; elsewhere each packet
 * is written as it comes. */
static _Thread_local struct wg_gro *rx_gro, *rx_gro_held;

static void tun_write(void *ctx, const uint8_t *hdr, const uint8_t *pkt, size_t len);

static void tun_write_plain(void *ctx, uint8_t *pkt, size_t len)
{
	tun_write(ctx, wg_vnet_none, pkt, len);
}

static void tun_write(void *ctx, const uint8_t *hdr, const uint8_t *pkt, size_t len)
{
	static _Thread_local uint8_t whole[WG_VNET_HDR_LEN + 65536], seg[65536];
	struct state *s = ctx;
	struct iovec iov[2] = { { (void *)hdr, WG_VNET_HDR_LEN }, { (void *)pkt, len } };

	if (writev(s->tun, s->offload ? iov : iov + 1, s->offload ? 2 : 1) >= 0 || errno == EAGAIN)
		return;
	if (errno == EINVAL && s->offload && hdr[1] != VIRTIO_NET_HDR_GSO_NONE && len <= 65536) {
		/* A kernel that takes no super-packets: cut this one again
		 * (and any the batch still holds), and join no more. */
		if (rx_gro)
			fprintf(stderr, "punchlab-wg: the TUN device refuses joined segments; writing each by itself\n");
		rx_gro = NULL;
		memcpy(whole, hdr, WG_VNET_HDR_LEN);
		memcpy(whole + WG_VNET_HDR_LEN, pkt, len);
		wg_offload_segment(whole, WG_VNET_HDR_LEN + len, seg, tun_write_plain, s);
		return;
	}
	perror("punchlab-wg: tun write");
}

static void deliver_cb(void *ctx, struct wg_peer *peer, const uint8_t *pkt, size_t len)
{
	(void)peer;
	if (rx_gro) {
		wg_gro_add(rx_gro, pkt, len);
		return;
	}
	if (rx_gro_held)
		wg_gro_flush(rx_gro_held); /* joining stopped in this batch: what it held first */
	tun_write(ctx, wg_vnet_none, pkt, len);
}

static void segment_cb(void *ctx, uint8_t *pkt, size_t len)
{
	struct state *s = ctx;

	wg_device_send(s->dev, pkt, len, thread_now);
}

#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#define RX_BATCH 16

/* Drain the UDP socket a batch at a time (recvmmsg). With UDP GRO the
 * kernel may join datagrams of one flow into one buffer; the cmsg says the
 * size of each, and they are taken apart here. */
static void receive_batch(struct state *s, uint64_t now)
{
	static uint8_t bufs[RX_BATCH][65536];
	static struct wg_endpoint from[RX_BATCH];
	static char ctrl[RX_BATCH][CMSG_SPACE(sizeof(int))];
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];

	for (int round = 0; round < 8; round++) {
		int n;
		for (int i = 0; i < RX_BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i].addr;
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i].addr);
			msgs[i].msg_hdr.msg_control = ctrl[i];
			msgs[i].msg_hdr.msg_controllen = sizeof(ctrl[i]);
		}
		n = recvmmsg(s->udp, msgs, RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			size_t len = msgs[i].msg_len, seg = len;
			struct cmsghdr *cm;

			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue;
			for (cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr); cm; cm = CMSG_NXTHDR(&msgs[i].msg_hdr, cm))
				if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
					int size;
					memcpy(&size, CMSG_DATA(cm), sizeof(size));
					if (size > 0)
						seg = (size_t)size;
				}
			for (size_t off = 0; off < len; off += seg)
				wg_device_receive(s->dev, bufs[i] + off, len - off < seg ? len - off : seg, &from[i], false, now);
		}
		if (rx_gro_held)
			wg_gro_flush(rx_gro_held); /* even once joining stopped: what it held */
		if (n < RX_BATCH)
			return;
	}
}


static int rebind(void *ctx, uint16_t port)
{
	struct state *s = ctx;
	int fd = wg_udp_bind(AF_INET, port), zero = 0, old;

	if (fd < 0)
		return fd;
	old = atomic_exchange(&s->udp, fd);
	if (old >= 0)
		close(old); /* the receiving thread's next call sees the new one */
	/* UDP GSO where the kernel has it (setting 0 asks without changing),
	 * and GRO. */
	s->gso = setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
	zero = 1;
	setsockopt(fd, SOL_UDP, UDP_GRO, &zero, sizeof(zero));
	return 0;
}

/* The two data threads, one per direction: each seals or opens its own
 * packets in parallel with the other (a worker per core on two cores). */
static void *tx_main(void *arg)
{
	struct state *s = arg;
	static _Thread_local uint8_t buf[WG_MAX_PACKET + 64], seg[65536];

	while (!stop) {
		struct pollfd p = { s->tun, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		thread_now = time_now_ms();
		batching = true;
		for (int i = 0; i < BATCH; i++) {
			ssize_t n = read(s->tun, buf, sizeof(buf));
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				/* The device was deleted (ip link del): nothing
				 * left to carry, as wireguard-go stops too. */
				fprintf(stderr, "punchlab-wg: the TUN device is gone (%s); stopping\n", strerror(errno));
				stop = 1;
			}
			if (n <= 0)
				break;
			if (s->offload)
				wg_offload_segment(buf, (size_t)n, seg, segment_cb, s);
			else
				wg_device_send(s->dev, buf, (size_t)n, thread_now);
		}
		flush(s);
		batching = false;
	}
	return NULL;
}

static void *rx_main(void *arg)
{
	static struct wg_gro gro; /* 8 flows of 64 KiB: one receiving thread */
	struct state *s = arg;

	if (s->offload && s->gro_rx) {
		wg_gro_init(&gro, tun_write, s);
		rx_gro = rx_gro_held = &gro;
	}
	while (!stop) {
		struct pollfd p = { s->udp, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		batching = true;
		receive_batch(s, time_now_ms());
		flush(s);
		batching = false;
	}
	return NULL;
}

/* -d: the device and its sockets are up; the caller gets its shell back
 * and this goes on in a session of its own (before any thread starts). */
static int detach(const char *ifname)
{
	pid_t pid = fork();
	int null;

	if (pid < 0) {
		fprintf(stderr, "punchlab-wg: cannot run in the background: %s\n", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		fprintf(stderr, "punchlab-wg: %s is up; running in the background as pid %d\n", ifname, (int)pid);
		_exit(0);
	}
	setsid();
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct state s = { .tun = -1, .udp = -1, .uapi = -1, .gro_rx = true };
	struct wg_timers timers = { WG_REKEY_AFTER_TIME_MS, WG_REJECT_AFTER_TIME_MS, WG_REKEY_TIMEOUT_MS,
				    WG_KEEPALIVE_TIMEOUT_MS };
	const char *ifname = NULL;
	struct sigaction sa;
	int mtu = 1420, ret = 1;
	pthread_t tx, rx;
	bool under_load = false, daemon = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			printf("punchlab-wg %s\n", PL_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "--mtu") && i + 1 < argc) {
			mtu = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--rekey-after-ms") && i + 1 < argc) {
			timers.rekey_after_time_ms = strtoull(argv[++i], NULL, 10);
		} else if (!strncmp(argv[i], "--rekey-after-ms=", 17)) {
			timers.rekey_after_time_ms = strtoull(argv[i] + 17, NULL, 10);
		} else if (!strcmp(argv[i], "--no-gro")) {
			s.gro_rx = false;
		} else if (!strcmp(argv[i], "--under-load")) {
			under_load = true;
		} else if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--foreground")) {
			daemon = false;
		} else if (!strcmp(argv[i], "-d") || !strcmp(argv[i], "--daemon")) {
			daemon = true;
		} else if (!ifname && argv[i][0] != '-') {
			ifname = argv[i];
		} else {
			fprintf(stderr, "punchlab-wg: bad argument \"%s\"\n%s", argv[i], usage);
			return 2;
		}
	}
	if (!ifname || mtu < 576 || mtu > 65535 || timers.rekey_after_time_ms == 0) {
		fputs(usage, stderr);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	s.dev = wg_device_new(send_cb, deliver_cb, &s);
	if (!s.dev)
		return 1;
	wg_device_set_timers(s.dev, &timers);
	wg_device_force_under_load(s.dev, under_load);
	if ((s.tun = wg_tun_open_offload(ifname, mtu, &s.offload)) < 0) {
		fprintf(stderr, "punchlab-wg: cannot create TUN device %s: %s\n", ifname, strerror(-s.tun));
		goto out;
	}
	fcntl(s.tun, F_SETFL, O_NONBLOCK);
	if (rebind(&s, 0) < 0 || (s.uapi = wg_uapi_listen(ifname, s.sock_path, sizeof(s.sock_path))) < 0) {
		fprintf(stderr, "punchlab-wg: cannot open sockets: %s\n", strerror(errno));
		goto out;
	}
	if (daemon && detach(ifname))
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&tx, NULL, tx_main, &s) || pthread_create(&rx, NULL, rx_main, &s)) {
		fprintf(stderr, "punchlab-wg: cannot start worker threads\n");
		stop = 1;
		goto out;
	}
	/* This thread: the UAPI and the timers. */
	while (!stop) {
		struct pollfd p = { s.uapi, POLLIN, 0 };

		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			break;
		if (p.revents & POLLIN) {
			struct wg_uapi_hooks hooks = { rebind, &s };
			wg_uapi_serve(s.uapi, s.dev, &hooks);
		}
		wg_device_tick(s.dev, time_now_ms());
	}
	stop = 1;
	pthread_join(tx, NULL);
	pthread_join(rx, NULL);
	{
		/* What it did, for whoever reads its log (the lab tests do). */
		const struct wg_counters *c = wg_device_counters(s.dev);
		fprintf(stderr,
			"punchlab-wg %s: stopped; %llu handshakes, %llu cookie replies sent; dropped: %llu bad mac, %llu bad "
			"handshake, %llu replayed handshake, %llu no session, %llu bad data, %llu replayed data, %llu not allowed\n",
			ifname, (unsigned long long)c->handshakes, (unsigned long long)c->cookies_sent,
			(unsigned long long)c->bad_mac, (unsigned long long)c->bad_handshake,
			(unsigned long long)c->replayed_handshake, (unsigned long long)c->no_session,
			(unsigned long long)c->bad_data, (unsigned long long)c->replayed_data, (unsigned long long)c->not_allowed);
	}
	ret = 0;
out:
	if (s.sock_path[0])
		unlink(s.sock_path);
	if (s.uapi >= 0)
		close(s.uapi);
	if (s.udp >= 0)
		close(s.udp);
	if (s.tun >= 0)
		close(s.tun);
	wg_device_free(s.dev);
	return ret;
}
