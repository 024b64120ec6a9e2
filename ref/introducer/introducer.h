/* The introducer: its registry of members, what it answers, and the
 * relay. The core (introducer.c) never touches a socket or a clock: what
 * arrives is handed to it with the time, and what it sends goes out
 * through the io callbacks. The daemon (daemon.c) gives it real sockets
 * and a poll loop; the tests give it fakes and a fake clock. One thread. */
#ifndef PL_INTRODUCER_H
#define PL_INTRODUCER_H

#include "../mesh/conf.h"

#include <stddef.h>
#include <stdint.h>

#define INTRODUCER_MAX_MEMBERS 16384
#define INTRODUCER_MAX_CONNS 64
#define INTRODUCER_VIA_TCP 2    /* "via" of a message that came over TCP (0, 1: the UDP addresses) */

struct introducer_io {
	void *ctx;
	/* A datagram from our address via (0 or 1) to `to`. */
	void (*send_udp)(void *ctx, int via, const struct wg_endpoint *to, const uint8_t *buf, size_t len);
	/* One frame on TCP connection conn: 0, -EAGAIN (dropped, as a datagram
	 * would be) or -EPIPE (the connection is gone). */
	int (*send_tcp)(void *ctx, int conn, const uint8_t *buf, size_t len);
	/* The core is done with connection conn: close it. */
	void (*close_tcp)(void *ctx, int conn);
	/* The wall clock (CLOCK_REALTIME, ns): message counters carry it. */
	uint64_t (*real_ns)(void *ctx);
};

/* Times below are monotonic milliseconds. */
struct introducer;
/* A core for conf; the caller frees it. NULL (err says why) on failure. */
struct introducer *introducer_new(const struct introducer_conf *conf, const struct introducer_io *io, char *err,
				  size_t errlen);
void introducer_free(struct introducer *in);
/* A datagram that arrived on our address via (0, 1) from `from`. */
void introducer_receive(struct introducer *in, int via, const struct wg_endpoint *from, const uint8_t *buf, size_t len,
			uint64_t now);
/* A TCP connection from `from` was accepted: its number, or -ENOSPC
 * (close it: the agent retries later). */
int introducer_conn_open(struct introducer *in, const struct wg_endpoint *from, uint64_t now);
/* Bytes read from connection conn. A negative errno means the core closed
 * it (close_tcp was called): hand it nothing more. */
int introducer_conn_input(struct introducer *in, int conn, const uint8_t *bytes, size_t len, uint64_t now);
/* The other end closed connection conn (close_tcp is called for it). */
void introducer_conn_closed(struct introducer *in, int conn);
/* A new configuration's allowlist, join secret and relay rate (what the
 * daemon reads again on SIGHUP; its addresses, key and pool stay): every
 * member it no longer admits is removed at once, and the others told
 * (GONE). Returns how many were removed. */
int introducer_reload(struct introducer *in, const struct introducer_conf *conf);
/* Timers: member expiry. Call at least once a second. */
void introducer_tick(struct introducer *in, uint64_t now);
/* What the introducer's cheap checks kept from its expensive one. */
struct introducer_stats {
	uint64_t no_mac1;          /* messages without a valid cheap MAC: dropped for a hash */
	uint64_t copies;           /* copies of messages received lately: dropped for a lookup */
	uint64_t x25519;           /* X25519s for messages from places no member registered from */
	uint64_t x25519_limited;   /* messages over their place's X25519 budget: dropped */
	uint64_t proves;           /* PROVEs sent: REGISTERs from addresses not yet proven */
	uint64_t cookies;          /* COOKIEs sent: REGISTERs over the strangers' X25519 budget */
	uint64_t cookied;          /* REGISTERs that came with their address's cookie */
};
const struct introducer_stats *introducer_stats(const struct introducer *in);
/* How many members are registered now. */
int introducer_members(const struct introducer *in);
/* The introducer's public key. */
const uint8_t *introducer_public_key(const struct introducer *in);

/* daemon.c: the core on real sockets. _new opens the sockets of conf (two
 * UDP addresses, TCP on the first); the caller may drop privileges after
 * it. _run serves until *stop becomes nonzero. */
struct introducer_daemon;
struct introducer_daemon *introducer_daemon_new(const struct introducer_conf *conf, char *err, size_t errlen);
/* Serve until *stop; a whole struct introducer_conf read from reload_fd
 * (-1: none) is a new configuration (introducer_reload). */
int introducer_daemon_run(struct introducer_daemon *d, int reload_fd, volatile int *stop);
void introducer_daemon_free(struct introducer_daemon *d);

#endif
