/* Peers, sessions and timers (WireGuard paper §5.4 and §6). */
#include "wg.h"
#include "allowedips.h"
#include "blake2s.h"
#include "replay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct wg_keypair {
	bool valid;
	struct wg_keys keys;
	uint64_t birth_ms;
	uint64_t send_counter;
	struct wg_replay replay;
};

struct queued {
	size_t len;
	uint8_t *pkt;
};

struct wg_peer {
	struct wg_device *dev;
	struct wg_peer *next_peer;
	uint8_t pub[WG_KEY_LEN];
	struct wg_handshake hs;
	/* current: in use; previous: still accepted; next: the responder's
	 * session until the initiator's first packet confirms it. */
	struct wg_keypair current, previous, next;
	struct wg_endpoint endpoint;
	unsigned keepalive_s;
	uint64_t rx_bytes, tx_bytes;
	struct timespec last_handshake;
	uint64_t handshakes;            /* completed, either side initiating */
	bool handshake_pending;
	uint64_t handshake_started_ms, last_initiation_ms, last_sent_ms, keepalive_due_ms, unanswered_since_ms;
	uint64_t resend_at_ms;          /* the way changed: the pending initiation goes again then (0: no) */
	uint64_t retransmit_jitter_ms;  /* this initiation's extra wait before a retransmit */
	bool have_cookie;
	uint8_t cookie[WG_MAC_LEN];
	uint64_t cookie_birth_ms;
	uint8_t last_mac1[WG_MAC_LEN];  /* of our last handshake message: a cookie reply's AD */
	struct queued queue[WG_QUEUE_LEN];
	int queue_len;
};

struct wg_device {
	pthread_mutex_t lock;   /* recursive: callers may hold it (wg_device_lock) */
	struct wg_identity id;
	bool has_key;
	struct wg_peer *peers;
	struct wg_allowedips ips;
	wg_send_fn send;
	wg_deliver_fn deliver;
	void *ctx;
	uint16_t listen_port;
	struct wg_timers timers;
	bool force_load;
	uint64_t load_window_ms;
	unsigned load_count;
	uint64_t load_until_ms;    /* under load until then, once a second had too many */
	uint8_t cookie_secret[WG_HASH_LEN];
	uint64_t cookie_secret_birth_ms;
	bool cookie_secret_set;
	struct wg_counters counters;
};

/* Sealing happens outside the lock, so each thread has its own buffer. */
static _Thread_local uint8_t scratch[WG_MAX_PACKET + WG_DATA_MIN_LEN + 16];

void wg_device_lock(struct wg_device *dev)
{
	pthread_mutex_lock(&dev->lock);
}

void wg_device_unlock(struct wg_device *dev)
{
	pthread_mutex_unlock(&dev->lock);
}

static const size_t message_len[] = { 0, WG_INITIATION_LEN, WG_RESPONSE_LEN, WG_COOKIE_LEN, WG_DATA_MIN_LEN };

bool wg_is_message(const uint8_t *buf, size_t len)
{
	if (len < 4 || buf[0] < WG_MSG_INITIATION || buf[0] > WG_MSG_DATA || buf[1] || buf[2] || buf[3])
		return false;
	if (buf[0] == WG_MSG_DATA)
		return len >= WG_DATA_MIN_LEN && len <= WG_MAX_PACKET + WG_DATA_MIN_LEN + 16;
	return len == message_len[buf[0]];
}

struct wg_device *wg_device_new(wg_send_fn send, wg_deliver_fn deliver, void *ctx)
{
	struct wg_device *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&dev->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	dev->send = send;
	dev->deliver = deliver;
	dev->ctx = ctx;
	dev->timers = (struct wg_timers){ WG_REKEY_AFTER_TIME_MS, WG_REJECT_AFTER_TIME_MS, WG_REKEY_TIMEOUT_MS,
					  WG_KEEPALIVE_TIMEOUT_MS };
	wg_allowedips_init(&dev->ips);
	return dev;
}

static void queue_clear(struct wg_peer *p)
{
	for (int i = 0; i < p->queue_len; i++)
		free(p->queue[i].pkt);
	p->queue_len = 0;
}

static void peer_free(struct wg_peer *p)
{
	queue_clear(p);
	sodium_memzero(p, sizeof(*p));
	free(p);
}

void wg_device_remove_all_peers(struct wg_device *dev)
{
	while (dev->peers) {
		struct wg_peer *p = dev->peers;
		dev->peers = p->next_peer;
		wg_allowedips_remove_peer(&dev->ips, p);
		peer_free(p);
	}
}

void wg_device_free(struct wg_device *dev)
{
	if (!dev)
		return;
	wg_device_remove_all_peers(dev);
	wg_allowedips_free(&dev->ips);
	pthread_mutex_destroy(&dev->lock);
	sodium_memzero(dev, sizeof(*dev));
	free(dev);
}

int wg_device_set_private_key(struct wg_device *dev, const uint8_t key[static WG_KEY_LEN])
{
	struct wg_identity id;

	if (wg_identity_init(&id, key))
		return -EINVAL;
	dev->id = id;
	dev->has_key = true;
	/* Every peer's precomputed secrets depend on our key. */
	for (struct wg_peer *p = dev->peers; p; p = p->next_peer) {
		uint8_t psk[WG_KEY_LEN];
		memcpy(psk, p->hs.psk, WG_KEY_LEN);
		wg_handshake_init(&p->hs, &dev->id, p->pub, psk);
		p->current.valid = p->previous.valid = p->next.valid = false;
		sodium_memzero(psk, sizeof(psk));
	}
	sodium_memzero(&id, sizeof(id));
	return 0;
}

const uint8_t *wg_device_public_key(const struct wg_device *dev)
{
	return dev->has_key ? dev->id.public_key : NULL;
}

const uint8_t *wg_device_private_key(const struct wg_device *dev)
{
	return dev->has_key ? dev->id.private_key : NULL;
}

void wg_device_set_timers(struct wg_device *dev, const struct wg_timers *t)
{
	dev->timers = *t;
}

void wg_device_force_under_load(struct wg_device *dev, bool on)
{
	dev->force_load = on;
}

const struct wg_counters *wg_device_counters(const struct wg_device *dev)
{
	return &dev->counters;
}

void wg_device_set_listen_port(struct wg_device *dev, uint16_t port)
{
	dev->listen_port = port;
}

uint16_t wg_device_listen_port(const struct wg_device *dev)
{
	return dev->listen_port;
}

struct wg_peer *wg_peer_find(struct wg_device *dev, const uint8_t pub[static WG_KEY_LEN])
{
	for (struct wg_peer *p = dev->peers; p; p = p->next_peer)
		if (sodium_memcmp(p->pub, pub, WG_KEY_LEN) == 0)
			return p;
	return NULL;
}

struct wg_peer *wg_peer_add(struct wg_device *dev, const uint8_t pub[static WG_KEY_LEN])
{
	struct wg_peer *p = wg_peer_find(dev, pub);

	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->dev = dev;
	memcpy(p->pub, pub, WG_KEY_LEN);
	if (dev->has_key && wg_handshake_init(&p->hs, &dev->id, pub, NULL)) {
		free(p);
		return NULL;
	}
	if (!dev->has_key)
		memcpy(p->hs.remote_static, pub, WG_KEY_LEN);
	p->next_peer = dev->peers;
	dev->peers = p;
	return p;
}

void wg_peer_remove(struct wg_device *dev, struct wg_peer *peer)
{
	for (struct wg_peer **pp = &dev->peers; *pp; pp = &(*pp)->next_peer)
		if (*pp == peer) {
			*pp = peer->next_peer;
			wg_allowedips_remove_peer(&dev->ips, peer);
			peer_free(peer);
			return;
		}
}

void wg_device_for_each_peer(struct wg_device *dev, void (*fn)(void *ctx, struct wg_peer *peer), void *ctx)
{
	for (struct wg_peer *p = dev->peers, *n; p; p = n) {
		n = p->next_peer;
		fn(ctx, p);
	}
}

void wg_peer_set_psk(struct wg_peer *peer, const uint8_t psk[static WG_KEY_LEN])
{
	memcpy(peer->hs.psk, psk, WG_KEY_LEN);
}

void wg_peer_set_endpoint(struct wg_peer *peer, const struct wg_endpoint *ep)
{
	peer->endpoint = *ep;
}

void wg_peer_set_keepalive(struct wg_peer *peer, unsigned seconds)
{
	peer->keepalive_s = seconds;
}

int wg_peer_add_allowed_ip(struct wg_device *dev, struct wg_peer *peer, int family, const uint8_t *addr, uint8_t cidr)
{
	uint8_t masked[16] = { 0 };
	unsigned bytes = family == 4 ? 4 : 16;

	memcpy(masked, addr, bytes);
	for (unsigned b = cidr; b < bytes * 8; b++)
		masked[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	return wg_allowedips_insert(&dev->ips, family, masked, cidr, peer);
}

void wg_peer_clear_allowed_ips(struct wg_device *dev, struct wg_peer *peer)
{
	wg_allowedips_remove_peer(&dev->ips, peer);
}

void wg_peer_walk_allowed_ips(struct wg_device *dev, struct wg_peer *peer,
			      void (*fn)(void *ctx, int family, const uint8_t *addr, uint8_t cidr), void *ctx)
{
	wg_allowedips_walk(&dev->ips, peer, fn, ctx);
}

void wg_peer_info(const struct wg_peer *peer, struct wg_peer_info *info)
{
	memset(info, 0, sizeof(*info));
	memcpy(info->public_key, peer->pub, WG_KEY_LEN);
	memcpy(info->psk, peer->hs.psk, WG_KEY_LEN);
	info->endpoint = peer->endpoint;
	info->rx_bytes = peer->rx_bytes;
	info->tx_bytes = peer->tx_bytes;
	info->last_handshake_sec = peer->last_handshake.tv_sec;
	info->last_handshake_nsec = peer->last_handshake.tv_nsec;
	info->keepalive = peer->keepalive_s;
	info->handshakes = peer->handshakes;
	info->has_session = peer->current.valid;
}

/* ---- endpoints ---- */

socklen_t wg_endpoint_len(const struct wg_endpoint *ep)
{
	return ep->addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

bool wg_endpoint_equal(const struct wg_endpoint *a, const struct wg_endpoint *b)
{
	if (a->addr.ss_family != b->addr.ss_family)
		return false;
	if (a->addr.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->addr, *y = (const void *)&b->addr;
		return x->sin_addr.s_addr == y->sin_addr.s_addr && x->sin_port == y->sin_port;
	}
	if (a->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->addr, *y = (const void *)&b->addr;
		return !memcmp(&x->sin6_addr, &y->sin6_addr, 16) && x->sin6_port == y->sin6_port;
	}
	return true;
}

bool wg_endpoint_same_address(const struct wg_endpoint *a, const struct wg_endpoint *b)
{
	if (a->addr.ss_family != b->addr.ss_family)
		return false;
	if (a->addr.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->addr)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)&b->addr)->sin_addr.s_addr;
	return a->addr.ss_family == AF_INET6 && !memcmp(&((const struct sockaddr_in6 *)&a->addr)->sin6_addr,
							&((const struct sockaddr_in6 *)&b->addr)->sin6_addr, 16);
}

bool wg_endpoint_same_source(const struct wg_endpoint *a, const struct wg_endpoint *b)
{
	if (a->addr.ss_family == AF_INET6 && b->addr.ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)&a->addr)->sin6_addr,
			       &((const struct sockaddr_in6 *)&b->addr)->sin6_addr, 8);
	return wg_endpoint_same_address(a, b);
}

int wg_endpoint_parse(const char *s, struct wg_endpoint *ep)
{
	char host[64];
	const char *colon;
	unsigned long port;
	char *end;

	memset(ep, 0, sizeof(*ep));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(close - s - 1), s + 1);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	}
	port = strtoul(colon + 1, &end, 10);
	if (*end || !colon[1] || port > 65535)
		return -EINVAL;
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (void *)&ep->addr;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host, &a->sin6_addr) == 1 ? 0 : -EINVAL;
	} else {
		struct sockaddr_in *a = (void *)&ep->addr;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -EINVAL;
	}
}

void wg_endpoint_format(const struct wg_endpoint *ep, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "";

	if (ep->addr.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&ep->addr;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(a->sin_port));
	} else if (ep->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&ep->addr;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(a->sin6_port));
	} else {
		snprintf(buf, len, "(none)");
	}
}

/* ---- sending ---- */

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int send_to_peer(struct wg_peer *p, const uint8_t *buf, size_t len, uint64_t now_ms)
{
	p->last_sent_ms = now_ms;
	return p->dev->send(p->dev->ctx, p, p->endpoint.addr.ss_family ? &p->endpoint : NULL, buf, len);
}

static uint32_t new_index(struct wg_device *dev)
{
	for (;;) {
		uint32_t idx = randombytes_random();
		bool taken = idx == 0;
		for (struct wg_peer *p = dev->peers; p && !taken; p = p->next_peer)
			taken = p->hs.local_index == idx || (p->current.valid && p->current.keys.local_index == idx) ||
				(p->previous.valid && p->previous.keys.local_index == idx) ||
				(p->next.valid && p->next.keys.local_index == idx);
		if (!taken)
			return idx;
	}
}

/* force: a new way to the peer (wg_peer_path_changed), not the timer. */
static void initiate(struct wg_device *dev, struct wg_peer *p, uint64_t now_ms, bool force)
{
	uint8_t msg[WG_INITIATION_LEN], eph[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN];

	pthread_mutex_lock(&dev->lock);
	if (!dev->has_key ||
	    (!force && p->handshake_pending && now_ms - p->last_initiation_ms < dev->timers.rekey_timeout_ms)) {
		/* Paper §6.2: at most one initiation per REKEY_TIMEOUT. */
		pthread_mutex_unlock(&dev->lock);
		return;
	}
	if (!p->handshake_pending)
		p->handshake_started_ms = now_ms;
	randombytes_buf(eph, sizeof(eph));
	wg_timestamp_now(ts);
	if (wg_initiation_create(&p->hs, &dev->id, msg, new_index(dev), eph, ts) == 0) {
		memcpy(p->last_mac1, msg + WG_INITIATION_LEN - WG_MAC1_FROM_END, WG_MAC_LEN);
		/* Paper §5.4.7: mac2 with a cookie younger than two minutes. */
		if (p->have_cookie && now_ms - p->cookie_birth_ms < WG_COOKIE_SECRET_MAX_AGE_MS)
			wg_mac2(msg + WG_INITIATION_LEN - WG_MAC2_FROM_END, p->cookie, msg, WG_INITIATION_LEN);
		p->handshake_pending = true;
		p->last_initiation_ms = now_ms;
		p->resend_at_ms = 0;
		/* As the kernel's timers.c: up to a third of a second more before
		 * a retransmit, so two peers that initiate at the same moment
		 * (each answering the other, neither's own answered) stop
		 * meeting in lockstep. */
		p->retransmit_jitter_ms = randombytes_uniform(WG_REKEY_TIMEOUT_JITTER_MS + 1);
		send_to_peer(p, msg, sizeof(msg), now_ms);
	}
	sodium_memzero(eph, sizeof(eph));
	pthread_mutex_unlock(&dev->lock);
}

void wg_peer_initiate(struct wg_device *dev, struct wg_peer *p, uint64_t now_ms)
{
	initiate(dev, p, now_ms, false);
}

void wg_peer_path_changed(struct wg_device *dev, struct wg_peer *p, uint64_t now_ms)
{
	pthread_mutex_lock(&dev->lock);
	if (p->handshake_pending && now_ms - p->handshake_started_ms < WG_REKEY_ATTEMPT_TIME_MS) {
		/* One just sent may still be answered (and a peer drops an
		 * initiation hard on the heels of another): not before
		 * WG_PATH_RESEND_MS after it. */
		uint64_t at = p->last_initiation_ms + WG_PATH_RESEND_MS;
		if (now_ms >= at)
			initiate(dev, p, now_ms, true);
		else
			p->resend_at_ms = at;
	}
	pthread_mutex_unlock(&dev->lock);
}

static bool keypair_usable(const struct wg_device *dev, const struct wg_keypair *kp, uint64_t now_ms)
{
	return kp->valid && now_ms - kp->birth_ms < dev->timers.reject_after_time_ms &&
	       kp->send_counter < WG_REJECT_AFTER_MESSAGES;
}

/* What sealing one packet needs, copied under the lock. */
struct data_job {
	struct wg_keys keys;
	uint64_t counter;
	struct wg_endpoint ep;
};

/* Under the lock: take a counter on the current session and do the
 * bookkeeping of a send (len 0: a keepalive). -ENOKEY without a session. */
static int data_prepare(struct wg_peer *p, size_t len, uint64_t now_ms, struct data_job *j)
{
	struct wg_device *dev = p->dev;
	struct wg_keypair *kp = &p->current;

	if (!keypair_usable(dev, kp, now_ms))
		return -ENOKEY;
	j->keys = kp->keys;
	j->counter = kp->send_counter++;
	j->ep = p->endpoint;
	p->last_sent_ms = now_ms;
	p->tx_bytes += WG_DATA_MIN_LEN + ((len + 15) & ~(size_t)15);
	p->keepalive_due_ms = 0;
	if (len && !p->unanswered_since_ms)
		p->unanswered_since_ms = now_ms;
	/* Paper §6.2: the initiator rekeys an old or much-used session. */
	if ((kp->keys.initiator && now_ms - kp->birth_ms >= dev->timers.rekey_after_time_ms) ||
	    kp->send_counter >= WG_REKEY_AFTER_MESSAGES)
		wg_peer_initiate(dev, p, now_ms);
	return 0;
}

/* Outside the lock: seal and hand to the send callback. */
static int data_send(struct wg_device *dev, struct wg_peer *p, const struct data_job *j, const uint8_t *pkt,
		     size_t len)
{
	size_t n = wg_data_seal(&j->keys, j->counter, pkt, len, scratch);

	return dev->send(dev->ctx, p, j->ep.addr.ss_family ? &j->ep : NULL, scratch, n);
}

/* Both at once, for sends made while holding the lock anyway. */
static int send_data(struct wg_peer *p, const uint8_t *pkt, size_t len, uint64_t now_ms)
{
	struct data_job j;
	int ret = data_prepare(p, len, now_ms, &j);

	if (ret == 0)
		ret = data_send(p->dev, p, &j, pkt, len);
	sodium_memzero(&j.keys, sizeof(j.keys));
	return ret;
}

static void flush_queue(struct wg_peer *p, uint64_t now_ms)
{
	int sent = 0;

	for (; sent < p->queue_len; sent++)
		if (send_data(p, p->queue[sent].pkt, p->queue[sent].len, now_ms))
			break;
	for (int i = 0; i < sent; i++)
		free(p->queue[i].pkt);
	memmove(p->queue, p->queue + sent, (size_t)(p->queue_len - sent) * sizeof(p->queue[0]));
	p->queue_len -= sent;
}

int wg_device_send(struct wg_device *dev, const uint8_t *pkt, size_t len, uint64_t now_ms)
{
	struct wg_peer *p;
	struct data_job j;
	int family, ret = 0;

	if (len < 20 || len > WG_MAX_PACKET)
		return -EINVAL;
	family = pkt[0] >> 4;
	if (family != 4 && (family != 6 || len < 40))
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	p = wg_allowedips_lookup(&dev->ips, family, pkt + (family == 4 ? 16 : 24));
	if (!p) {
		ret = -ENETUNREACH;
	} else if (p->queue_len == 0 && data_prepare(p, len, now_ms, &j) == 0) {
		/* The crypto runs outside the lock, so sending and receiving
		 * threads seal and open in parallel. */
		pthread_mutex_unlock(&dev->lock);
		ret = data_send(dev, p, &j, pkt, len);
		sodium_memzero(&j.keys, sizeof(j.keys));
		return ret;
	} else {
		/* No session yet: queue (dropping the oldest when full) and handshake. */
		if (p->queue_len == WG_QUEUE_LEN) {
			free(p->queue[0].pkt);
			memmove(p->queue, p->queue + 1, (WG_QUEUE_LEN - 1) * sizeof(p->queue[0]));
			p->queue_len--;
		}
		p->queue[p->queue_len].pkt = malloc(len);
		if (!p->queue[p->queue_len].pkt) {
			ret = -ENOMEM;
		} else {
			memcpy(p->queue[p->queue_len].pkt, pkt, len);
			p->queue[p->queue_len++].len = len;
			wg_peer_initiate(dev, p, now_ms);
		}
	}
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

/* ---- cookies (paper §5.4.7) ---- */

static void endpoint_bytes(const struct wg_endpoint *ep, uint8_t *out, size_t *len)
{
	if (ep->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&ep->addr;
		memcpy(out, &a->sin6_addr, 16);
		memcpy(out + 16, &a->sin6_port, 2);
		*len = 18;
	} else {
		const struct sockaddr_in *a = (const void *)&ep->addr;
		memcpy(out, &a->sin_addr, 4);
		memcpy(out + 4, &a->sin_port, 2);
		*len = 6;
	}
}

/* τ = MAC(Rm, Am'): the cookie for a source, with a secret renewed every 2 min. */
static void cookie_for(struct wg_device *dev, const struct wg_endpoint *from, uint64_t now_ms, uint8_t out[WG_MAC_LEN])
{
	uint8_t a[18];
	size_t len;

	if (!dev->cookie_secret_set || now_ms - dev->cookie_secret_birth_ms >= WG_COOKIE_SECRET_MAX_AGE_MS) {
		randombytes_buf(dev->cookie_secret, sizeof(dev->cookie_secret));
		dev->cookie_secret_birth_ms = now_ms;
		dev->cookie_secret_set = true;
	}
	endpoint_bytes(from, a, &len);
	blake2s(out, WG_MAC_LEN, dev->cookie_secret, WG_HASH_LEN, a, len);
}

static bool under_load(struct wg_device *dev, uint64_t now_ms)
{
	/* More than 50 handshake messages in a second counts as load, and it
	 * lasts a second past the last time it did (as wireguard-go's
	 * underLoadUntil): a steady flood never gets its first 50 of each
	 * second through the expensive path. */
	if (now_ms - dev->load_window_ms >= 1000) {
		dev->load_window_ms = now_ms;
		dev->load_count = 0;
	}
	if (++dev->load_count > 50)
		dev->load_until_ms = now_ms + 1000;
	return dev->force_load || now_ms < dev->load_until_ms;
}

/* Under load, a handshake message needs a valid mac2; if it has none, the
 * sender gets a cookie reply (never larger than what it sent) and true is
 * returned: the message is not processed further. */
static bool answer_with_cookie(struct wg_device *dev, const uint8_t *msg, size_t len, const struct wg_endpoint *from,
			       uint64_t now_ms)
{
	uint8_t cookie[WG_MAC_LEN], mac2[WG_MAC_LEN], reply[WG_COOKIE_LEN];

	if (!under_load(dev, now_ms))
		return false;
	cookie_for(dev, from, now_ms, cookie);
	wg_mac2(mac2, cookie, msg, len);
	if (sodium_memcmp(mac2, msg + len - WG_MAC2_FROM_END, WG_MAC_LEN) == 0)
		return false;
	memset(reply, 0, sizeof(reply));
	reply[0] = WG_MSG_COOKIE;
	memcpy(reply + 4, msg + 4, 4); /* receiver: the sender's index */
	randombytes_buf(reply + 8, WG_COOKIE_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(reply + 32, NULL, cookie, WG_MAC_LEN, msg + len - WG_MAC1_FROM_END,
						   WG_MAC_LEN, NULL, reply + 8, dev->id.cookie_key);
	dev->counters.cookies_sent++;
	dev->send(dev->ctx, NULL, from, reply, sizeof(reply));
	return true;
}

/* ---- receiving ---- */

static struct wg_peer *peer_by_handshake_index(struct wg_device *dev, uint32_t idx)
{
	for (struct wg_peer *p = dev->peers; p; p = p->next_peer)
		if (p->hs.state == WG_HS_CREATED_INITIATION && p->hs.local_index == idx)
			return p;
	return NULL;
}

static struct wg_keypair *keypair_by_index(struct wg_device *dev, uint32_t idx, struct wg_peer **peer)
{
	for (struct wg_peer *p = dev->peers; p; p = p->next_peer) {
		struct wg_keypair *kps[3] = { &p->current, &p->next, &p->previous };
		for (int i = 0; i < 3; i++)
			if (kps[i]->valid && kps[i]->keys.local_index == idx) {
				*peer = p;
				return kps[i];
			}
	}
	return NULL;
}

static void keypair_install(struct wg_keypair *kp, const struct wg_keys *keys, uint64_t now_ms)
{
	memset(kp, 0, sizeof(*kp));
	kp->valid = true;
	kp->keys = *keys;
	kp->birth_ms = now_ms;
	wg_replay_init(&kp->replay);
}

static void handshake_done(struct wg_peer *p)
{
	clock_gettime(CLOCK_REALTIME, &p->last_handshake);
	p->handshake_pending = false;
	p->handshakes++;
	p->dev->counters.handshakes++;
}

static void receive_initiation(struct wg_device *dev, uint8_t *msg, const struct wg_endpoint *from, bool via_relay,
			       uint64_t now_ms)
{
	struct wg_initiation_seen seen;
	uint8_t resp[WG_RESPONSE_LEN], eph[WG_KEY_LEN];
	struct wg_keys keys;
	struct wg_peer *p;

	if (!wg_mac1_valid(dev->id.mac1_key, msg, WG_INITIATION_LEN)) {
		dev->counters.bad_mac++;
		return;
	}
	if (answer_with_cookie(dev, msg, WG_INITIATION_LEN, from, now_ms))
		return;
	if (wg_initiation_consume(&dev->id, msg, &seen) || !(p = wg_peer_find(dev, seen.remote_static))) {
		dev->counters.bad_handshake++;
		return;
	}
	if (wg_handshake_accept_initiation(&p->hs, &seen)) {
		dev->counters.replayed_handshake++;
		return;
	}
	if (!via_relay)
		p->endpoint = *from;
	randombytes_buf(eph, sizeof(eph));
	if (wg_response_create(&p->hs, resp, new_index(dev), eph) == 0 && wg_handshake_derive(&p->hs, &keys) == 0) {
		/* Unconfirmed until the initiator's first data packet (§5.4.5). */
		keypair_install(&p->next, &keys, now_ms);
		memcpy(p->last_mac1, resp + WG_RESPONSE_LEN - WG_MAC1_FROM_END, WG_MAC_LEN);
		if (p->have_cookie && now_ms - p->cookie_birth_ms < WG_COOKIE_SECRET_MAX_AGE_MS)
			wg_mac2(resp + WG_RESPONSE_LEN - WG_MAC2_FROM_END, p->cookie, resp, WG_RESPONSE_LEN);
		send_to_peer(p, resp, sizeof(resp), now_ms);
	}
	sodium_memzero(eph, sizeof(eph));
	sodium_memzero(&seen, sizeof(seen));
	sodium_memzero(&keys, sizeof(keys));
}

static void receive_response(struct wg_device *dev, uint8_t *msg, const struct wg_endpoint *from, bool via_relay,
			     uint64_t now_ms)
{
	struct wg_peer *p;
	struct wg_keys keys;

	if (!wg_mac1_valid(dev->id.mac1_key, msg, WG_RESPONSE_LEN)) {
		dev->counters.bad_mac++;
		return;
	}
	if (answer_with_cookie(dev, msg, WG_RESPONSE_LEN, from, now_ms))
		return;
	p = peer_by_handshake_index(dev, get_le32(msg + 8));
	if (!p || wg_response_consume(&p->hs, &dev->id, msg) || wg_handshake_derive(&p->hs, &keys)) {
		dev->counters.bad_handshake++;
		return;
	}
	p->previous = p->current;
	keypair_install(&p->current, &keys, now_ms);
	p->next.valid = false;
	sodium_memzero(&keys, sizeof(keys));
	if (!via_relay)
		p->endpoint = *from;
	handshake_done(p);
	/* Confirm the session at once: queued data, or a keepalive. */
	int queued = p->queue_len;
	flush_queue(p, now_ms);
	if (queued == 0 || p->queue_len == queued)
		send_data(p, NULL, 0, now_ms);
}

static void receive_cookie(struct wg_device *dev, const uint8_t *msg, uint64_t now_ms)
{
	struct wg_peer *p = peer_by_handshake_index(dev, get_le32(msg + 4));
	uint8_t cookie[WG_MAC_LEN];

	if (!p || crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, NULL, NULL, msg + 32, WG_MAC_LEN + WG_TAG_LEN,
							      p->last_mac1, WG_MAC_LEN, msg + 8, p->hs.remote_cookie_key)) {
		dev->counters.bad_handshake++;
		return;
	}
	memcpy(p->cookie, cookie, WG_MAC_LEN);
	p->have_cookie = true;
	p->cookie_birth_ms = now_ms;
}

static void receive_data(struct wg_device *dev, uint8_t *msg, size_t len, const struct wg_endpoint *from, bool via_relay,
			 uint64_t now_ms)
{
	uint32_t idx = get_le32(msg + 4);
	struct wg_peer *p = NULL, *owner = NULL;
	struct wg_keypair *kp;
	struct wg_keys keys;
	uint8_t *plain = msg + WG_DATA_HEADER_LEN;
	size_t plen = len - WG_DATA_MIN_LEN, ip_len = 0;
	uint64_t counter;
	bool deliver = false;

	pthread_mutex_lock(&dev->lock);
	kp = keypair_by_index(dev, idx, &p);
	if (!kp || now_ms - kp->birth_ms >= dev->timers.reject_after_time_ms) {
		dev->counters.no_session++;
		pthread_mutex_unlock(&dev->lock);
		return;
	}
	keys = kp->keys;
	pthread_mutex_unlock(&dev->lock);

	/* Opened outside the lock; what it changes is checked again after. */
	int opened = wg_data_open(&keys, msg, len, plain, &counter);

	pthread_mutex_lock(&dev->lock);
	if (opened) {
		dev->counters.bad_data++;
		goto out;
	}
	/* The session may have gone meanwhile: look it up again. */
	kp = keypair_by_index(dev, idx, &p);
	if (!kp || sodium_memcmp(kp->keys.recv, keys.recv, WG_KEY_LEN)) {
		dev->counters.no_session++;
		goto out;
	}
	if (!wg_replay_check(&kp->replay, counter)) {
		dev->counters.replayed_data++;
		goto out;
	}
	if (kp == &p->next) {
		/* The initiator's first packet confirms the responder's session. */
		p->previous = p->current;
		p->current = p->next;
		p->next.valid = false;
		kp = &p->current;
		handshake_done(p);
		flush_queue(p, now_ms);
	}
	/* Paper §6.5 roaming: an authenticated packet moves the endpoint,
	 * unless it came through a relay. */
	if (!via_relay)
		p->endpoint = *from;
	p->rx_bytes += len;
	p->unanswered_since_ms = 0;
	/* Initiator: rekey a session nearing its end before it is rejected. */
	if (kp->keys.initiator && !p->handshake_pending &&
	    now_ms - kp->birth_ms >= dev->timers.reject_after_time_ms - dev->timers.keepalive_timeout_ms -
					      dev->timers.rekey_timeout_ms)
		wg_peer_initiate(dev, p, now_ms);
	if (plen == 0)
		goto out; /* a keepalive */
	if (!p->keepalive_due_ms)
		p->keepalive_due_ms = now_ms + dev->timers.keepalive_timeout_ms;
	/* The inner packet: its real length, and a source this peer may use. */
	if ((plain[0] >> 4) == 4 && plen >= 20) {
		ip_len = ((size_t)plain[2] << 8) | plain[3];
		owner = wg_allowedips_lookup(&dev->ips, 4, plain + 12);
	} else if ((plain[0] >> 4) == 6 && plen >= 40) {
		ip_len = 40 + (((size_t)plain[4] << 8) | plain[5]);
		owner = wg_allowedips_lookup(&dev->ips, 6, plain + 8);
	} else {
		dev->counters.bad_data++;
		goto out;
	}
	if (ip_len > plen || ip_len < 20) {
		dev->counters.bad_data++;
		goto out;
	}
	if (owner != p) {
		dev->counters.not_allowed++;
		goto out;
	}
	deliver = true;
out:
	pthread_mutex_unlock(&dev->lock);
	sodium_memzero(&keys, sizeof(keys));
	if (deliver)
		dev->deliver(dev->ctx, p, plain, ip_len);
}

int wg_device_receive(struct wg_device *dev, uint8_t *buf, size_t len, const struct wg_endpoint *from, bool via_relay,
		      uint64_t now_ms)
{
	if (!wg_is_message(buf, len))
		return -ENOTSUP;
	if (buf[0] == WG_MSG_DATA) {
		if (dev->has_key)
			receive_data(dev, buf, len, from, via_relay, now_ms);
		return 0;
	}
	pthread_mutex_lock(&dev->lock);
	if (!dev->has_key) {
		pthread_mutex_unlock(&dev->lock);
		return 0;
	}
	switch (buf[0]) {
	case WG_MSG_INITIATION:
		receive_initiation(dev, buf, from, via_relay, now_ms);
		break;
	case WG_MSG_RESPONSE:
		receive_response(dev, buf, from, via_relay, now_ms);
		break;
	case WG_MSG_COOKIE:
		receive_cookie(dev, buf, now_ms);
		break;
	}
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

void wg_device_tick(struct wg_device *dev, uint64_t now_ms)
{
	pthread_mutex_lock(&dev->lock);
	for (struct wg_peer *p = dev->peers; p; p = p->next_peer) {
		/* The way changed since an initiation went: again, once. */
		if (p->handshake_pending && p->resend_at_ms && now_ms >= p->resend_at_ms)
			initiate(dev, p, now_ms, true);
		/* Retransmit an unanswered initiation; give up after
		 * REKEY_ATTEMPT_TIME (paper §6.4). */
		if (p->handshake_pending &&
		    now_ms - p->last_initiation_ms >= dev->timers.rekey_timeout_ms + p->retransmit_jitter_ms) {
			if (now_ms - p->handshake_started_ms >= WG_REKEY_ATTEMPT_TIME_MS) {
				p->handshake_pending = false;
				queue_clear(p);
			} else {
				wg_peer_initiate(dev, p, now_ms);
			}
		}
		/* Data received and nothing sent back: a keepalive (§6.5). */
		if (p->keepalive_due_ms && now_ms >= p->keepalive_due_ms) {
			p->keepalive_due_ms = 0;
			send_data(p, NULL, 0, now_ms);
		}
		/* Persistent keepalive keeps NAT mappings open. */
		if (p->keepalive_s && now_ms - p->last_sent_ms >= (uint64_t)p->keepalive_s * 1000) {
			if (send_data(p, NULL, 0, now_ms))
				wg_peer_initiate(dev, p, now_ms);
			p->last_sent_ms = now_ms;
		}
		/* Data sent and nothing heard: a new handshake (§6.2). */
		if (p->unanswered_since_ms &&
		    now_ms - p->unanswered_since_ms >= dev->timers.keepalive_timeout_ms + dev->timers.rekey_timeout_ms) {
			p->unanswered_since_ms = 0;
			wg_peer_initiate(dev, p, now_ms);
		}
		/* All keys go after three times REJECT_AFTER_TIME (§6.3). */
		if (p->current.valid && now_ms - p->current.birth_ms >= 3 * dev->timers.reject_after_time_ms) {
			sodium_memzero(&p->current, sizeof(p->current));
			sodium_memzero(&p->previous, sizeof(p->previous));
			sodium_memzero(&p->next, sizeof(p->next));
		}
	}
	pthread_mutex_unlock(&dev->lock);
}
