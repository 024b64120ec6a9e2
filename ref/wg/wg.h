/* A WireGuard device in userspace: peers, sessions, timers and cookies,
 * with the network at arm's length. The caller owns the sockets and the
 * TUN device: it passes datagrams in with where they came from (a direct
 * endpoint, or a relay), and every datagram out goes through a per-peer send
 * callback, so the caller decides which socket and which path carries it. */
#ifndef PL_WG_H
#define PL_WG_H

#include "noise.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Paper §6.1 */
#define WG_REKEY_AFTER_MESSAGES (1ULL << 60)
#define WG_REKEY_AFTER_TIME_MS 120000
#define WG_REJECT_AFTER_TIME_MS 180000
#define WG_REKEY_ATTEMPT_TIME_MS 90000
#define WG_REKEY_TIMEOUT_MS 5000
#define WG_REKEY_TIMEOUT_JITTER_MS 333   /* the kernel's REKEY_TIMEOUT_JITTER_MAX_JIFFIES: HZ / 3 */
#define WG_KEEPALIVE_TIMEOUT_MS 10000
#define WG_COOKIE_SECRET_MAX_AGE_MS 120000

#define WG_MAX_PACKET 65535
#define WG_QUEUE_LEN 64

/* An IPv4 or IPv6 address and port in 28 bytes, not a sockaddr_storage's
 * 128: the introducer keeps a dozen for each of thousands of members. */
union wg_sockaddr {
	sa_family_t ss_family;          /* AF_INET or AF_INET6; 0: none */
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

struct wg_endpoint {
	union wg_sockaddr addr;
};

struct wg_device;
struct wg_peer;

/* Send buf to peer at ep (NULL: the peer has no endpoint; the caller may
 * still relay it). Returns 0 or a negative errno. */
typedef int (*wg_send_fn)(void *ctx, struct wg_peer *peer, const struct wg_endpoint *ep, const uint8_t *buf,
			  size_t len);
/* A decrypted inner packet for the TUN device. */
typedef void (*wg_deliver_fn)(void *ctx, struct wg_peer *peer, const uint8_t *pkt, size_t len);

/* Timers are shortened only by tests (a rekey against wireguard-go). */
struct wg_timers {
	uint64_t rekey_after_time_ms, reject_after_time_ms, rekey_timeout_ms, keepalive_timeout_ms;
};

struct wg_counters {
	uint64_t rx_bytes, tx_bytes;
	/* Dropped input, by reason (never a crash): */
	uint64_t bad_length, bad_mac, bad_handshake, replayed_handshake, no_session, bad_data, replayed_data,
		not_allowed, cookies_sent, handshakes;
};

/* Threads: wg_device_send, wg_device_receive, wg_device_tick and
 * wg_peer_initiate lock the device themselves, and seal and open data
 * outside the lock, so a sending and a receiving thread run in parallel.
 * Everything else (configuration, the UAPI, peer info) must be called with
 * the lock held when other threads use the device. The lock is recursive.
 * A peer pointer handed to a callback is an identity: with several threads
 * it may be compared, not dereferenced. */
void wg_device_lock(struct wg_device *dev);
void wg_device_unlock(struct wg_device *dev);

/* A new device; the caller frees it with wg_device_free. */
struct wg_device *wg_device_new(wg_send_fn send, wg_deliver_fn deliver, void *ctx);
void wg_device_free(struct wg_device *dev);
/* Set (or replace) the private key; -EINVAL if unusable. */
int wg_device_set_private_key(struct wg_device *dev, const uint8_t key[static WG_KEY_LEN]);
/* The public key, or NULL without a private key. */
const uint8_t *wg_device_public_key(const struct wg_device *dev);
const uint8_t *wg_device_private_key(const struct wg_device *dev);
void wg_device_set_timers(struct wg_device *dev, const struct wg_timers *t);
/* Pretend to be under load: answer initiations without a valid mac2 with a cookie (tests). */
void wg_device_force_under_load(struct wg_device *dev, bool on);
const struct wg_counters *wg_device_counters(const struct wg_device *dev);
void wg_device_set_listen_port(struct wg_device *dev, uint16_t port);
uint16_t wg_device_listen_port(const struct wg_device *dev);

/* Peers: owned by the device. */
struct wg_peer *wg_peer_add(struct wg_device *dev, const uint8_t pub[static WG_KEY_LEN]);
struct wg_peer *wg_peer_find(struct wg_device *dev, const uint8_t pub[static WG_KEY_LEN]);
void wg_peer_remove(struct wg_device *dev, struct wg_peer *peer);
void wg_device_remove_all_peers(struct wg_device *dev);
/* Visit every peer (for the UAPI). */
void wg_device_for_each_peer(struct wg_device *dev, void (*fn)(void *ctx, struct wg_peer *peer), void *ctx);
void wg_peer_set_psk(struct wg_peer *peer, const uint8_t psk[static WG_KEY_LEN]);
void wg_peer_set_endpoint(struct wg_peer *peer, const struct wg_endpoint *ep);
void wg_peer_set_keepalive(struct wg_peer *peer, unsigned seconds);
int wg_peer_add_allowed_ip(struct wg_device *dev, struct wg_peer *peer, int family, const uint8_t *addr, uint8_t cidr);
void wg_peer_clear_allowed_ips(struct wg_device *dev, struct wg_peer *peer);

struct wg_peer_info {
	uint8_t public_key[WG_KEY_LEN], psk[WG_KEY_LEN];
	struct wg_endpoint endpoint;
	uint64_t rx_bytes, tx_bytes;
	int64_t last_handshake_sec;     /* wall clock, 0 if never */
	long last_handshake_nsec;
	uint64_t handshakes;            /* completed with this peer */
	unsigned keepalive;
	bool has_session;
};
void wg_peer_info(const struct wg_peer *peer, struct wg_peer_info *info);
/* Each allowed IP of peer. */
void wg_peer_walk_allowed_ips(struct wg_device *dev, struct wg_peer *peer,
			      void (*fn)(void *ctx, int family, const uint8_t *addr, uint8_t cidr), void *ctx);

/* Is this datagram WireGuard? First byte 1-4, three zero bytes, a length
 * that fits the type. Anything else belongs to the caller. */
bool wg_is_message(const uint8_t *buf, size_t len);
/* Take a datagram from the network. from: where it came from; via_relay:
 * it came through a relay (authenticated the same, but never moves the
 * endpoint). Returns 0 when taken (even if dropped and counted), -ENOTSUP
 * when it is not WireGuard. buf is used as scratch space. */
int wg_device_receive(struct wg_device *dev, uint8_t *buf, size_t len, const struct wg_endpoint *from, bool via_relay,
		      uint64_t now_ms);
/* An inner IP packet from the TUN device: find its peer by destination and
 * send it, starting a handshake (and queueing) when there is no session.
 * -ENETUNREACH when no peer owns the destination. */
int wg_device_send(struct wg_device *dev, const uint8_t *pkt, size_t len, uint64_t now_ms);
/* Run timers; call at least every 100 ms. */
void wg_device_tick(struct wg_device *dev, uint64_t now_ms);
/* Start a handshake with peer now (the fuzz target; the device starts its
 * own when it has data to send). */
void wg_peer_initiate(struct wg_device *dev, struct wg_peer *peer, uint64_t now_ms);
/* The way to peer changed (a direct path found, for one): an initiation
 * still unanswered goes again on the new way, rather than a REKEY_TIMEOUT
 * after the last (the old way may have lost it): now, or WG_PATH_RESEND_MS
 * after the last one went (wg_device_tick sends it). Nothing when no
 * handshake is pending. */
#define WG_PATH_RESEND_MS 50
void wg_peer_path_changed(struct wg_device *dev, struct wg_peer *peer, uint64_t now_ms);

/* Endpoint helpers. */
bool wg_endpoint_equal(const struct wg_endpoint *a, const struct wg_endpoint *b);
/* The same IPv4 or IPv6 address, whatever the ports (false for no address). */
bool wg_endpoint_same_address(const struct wg_endpoint *a, const struct wg_endpoint *b);
/* One party, as limits count them: the same IPv4 address, or the same
 * IPv6 /64 (a site's prefix: its hosts pick any address in it). */
bool wg_endpoint_same_source(const struct wg_endpoint *a, const struct wg_endpoint *b);
int wg_endpoint_parse(const char *s, struct wg_endpoint *ep);          /* "1.2.3.4:5" or "[::1]:5" */
void wg_endpoint_format(const struct wg_endpoint *ep, char *buf, size_t len);
socklen_t wg_endpoint_len(const struct wg_endpoint *ep);

#endif
