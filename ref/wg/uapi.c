#include "uapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
	char *buf;
	size_t cap, len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= o->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len = o->len + (size_t)n < o->cap ? o->len + (size_t)n : o->cap - 1;
}

static void hex(char out[65], const uint8_t key[WG_KEY_LEN])
{
	sodium_bin2hex(out, 65, key, WG_KEY_LEN);
}

static bool unhex(const char *s, uint8_t key[WG_KEY_LEN])
{
	size_t got;

	return strlen(s) == 64 && sodium_hex2bin(key, WG_KEY_LEN, s, 64, NULL, &got, NULL) == 0 && got == WG_KEY_LEN;
}

static void put_allowed_ip(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, a, sizeof(a));
	put(ctx, "allowed_ip=%s/%u\n", a, cidr);
}

static void put_peer(void *ctx, struct wg_peer *peer)
{
	struct out *o = ctx;
	struct wg_peer_info info;
	char k[65], ep[64];
	static const uint8_t zero[WG_KEY_LEN];

	wg_peer_info(peer, &info);
	hex(k, info.public_key);
	put(o, "public_key=%s\n", k);
	if (sodium_memcmp(info.psk, zero, WG_KEY_LEN)) {
		hex(k, info.psk);
		put(o, "preshared_key=%s\n", k);
	}
	put(o, "protocol_version=1\n");
	if (info.endpoint.addr.ss_family) {
		wg_endpoint_format(&info.endpoint, ep, sizeof(ep));
		put(o, "endpoint=%s\n", ep);
	}
	put(o, "last_handshake_time_sec=%lld\nlast_handshake_time_nsec=%ld\n", (long long)info.last_handshake_sec,
	    info.last_handshake_nsec);
	put(o, "tx_bytes=%llu\nrx_bytes=%llu\n", (unsigned long long)info.tx_bytes, (unsigned long long)info.rx_bytes);
	put(o, "persistent_keepalive_interval=%u\n", info.keepalive);
	sodium_memzero(&info, sizeof(info));
}

struct get_ctx {
	struct out *o;
	struct wg_device *dev;
};

static void put_peer_full(void *ctx, struct wg_peer *peer)
{
	struct get_ctx *g = ctx;

	put_peer(g->o, peer);
	wg_peer_walk_allowed_ips(g->dev, peer, put_allowed_ip, g->o);
}

static int parse_allowed_ip(const char *v, int *family, uint8_t addr[16], uint8_t *cidr)
{
	char a[INET6_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	unsigned long c;
	char *end;

	if (!slash || (size_t)(slash - v) >= sizeof(a))
		return -EINVAL;
	snprintf(a, sizeof(a), "%.*s", (int)(slash - v), v);
	c = strtoul(slash + 1, &end, 10);
	if (*end || !slash[1])
		return -EINVAL;
	if (inet_pton(AF_INET, a, addr) == 1 && c <= 32)
		*family = 4;
	else if (inet_pton(AF_INET6, a, addr) == 1 && c <= 128)
		*family = 6;
	else
		return -EINVAL;
	*cidr = (uint8_t)c;
	return 0;
}

static bool parse_uint(const char *v, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*v || *v == '-' || *v == '+')
		return false;
	*out = strtoul(v, &end, 10);
	return !*end && *out <= max;
}

/* Apply one "key=value" of a set request. peer is the peer section we are in. */
static int set_line(struct wg_device *dev, struct wg_peer **peer, bool *peer_removed, const char *key, const char *v,
		    const struct wg_uapi_hooks *hooks)
{
	uint8_t k[WG_KEY_LEN];
	unsigned long n;

	if (!strcmp(key, "private_key")) {
		if (!unhex(v, k))
			return -EINVAL;
		return wg_device_set_private_key(dev, k);
	}
	if (!strcmp(key, "listen_port")) {
		if (!parse_uint(v, 65535, &n))
			return -EINVAL;
		wg_device_set_listen_port(dev, (uint16_t)n);
		return hooks && hooks->set_listen_port ? hooks->set_listen_port(hooks->ctx, (uint16_t)n) : 0;
	}
	if (!strcmp(key, "fwmark"))
		return parse_uint(v, UINT32_MAX, &n) ? 0 : -EINVAL;
	if (!strcmp(key, "replace_peers")) {
		if (strcmp(v, "true"))
			return -EINVAL;
		wg_device_remove_all_peers(dev);
		/* The peer whose section we were in is gone with the rest: a
		 * peer's keys need a new public_key from here on. */
		*peer = NULL;
		*peer_removed = false;
		return 0;
	}
	if (!strcmp(key, "public_key")) {
		if (!unhex(v, k))
			return -EINVAL;
		*peer = wg_peer_add(dev, k);
		*peer_removed = false;
		return *peer ? 0 : -ENOMEM;
	}
	/* Everything below belongs to a peer section. */
	if (!*peer)
		return -EINVAL;
	if (*peer_removed)
		return 0;
	if (!strcmp(key, "remove")) {
		if (strcmp(v, "true"))
			return -EINVAL;
		wg_peer_remove(dev, *peer);
		*peer_removed = true;
		return 0;
	}
	if (!strcmp(key, "update_only"))
		return strcmp(v, "true") ? -EINVAL : 0;
	if (!strcmp(key, "preshared_key")) {
		if (!unhex(v, k))
			return -EINVAL;
		wg_peer_set_psk(*peer, k);
		sodium_memzero(k, sizeof(k));
		return 0;
	}
	if (!strcmp(key, "endpoint")) {
		struct wg_endpoint ep;
		if (wg_endpoint_parse(v, &ep))
			return -EINVAL;
		wg_peer_set_endpoint(*peer, &ep);
		return 0;
	}
	if (!strcmp(key, "persistent_keepalive_interval")) {
		if (!parse_uint(v, 65535, &n))
			return -EINVAL;
		wg_peer_set_keepalive(*peer, (unsigned)n);
		return 0;
	}
	if (!strcmp(key, "replace_allowed_ips")) {
		if (strcmp(v, "true"))
			return -EINVAL;
		wg_peer_clear_allowed_ips(dev, *peer);
		return 0;
	}
	if (!strcmp(key, "allowed_ip")) {
		int family;
		uint8_t addr[16];
		uint8_t cidr;
		if (parse_allowed_ip(v, &family, addr, &cidr))
			return -EINVAL;
		return wg_peer_add_allowed_ip(dev, *peer, family, addr, cidr);
	}
	if (!strcmp(key, "protocol_version"))
		return strcmp(v, "1") ? -EPROTONOSUPPORT : 0;
	return -EINVAL;
}

size_t wg_uapi_handle(struct wg_device *dev, const char *req, size_t len, char *out, size_t cap,
		      const struct wg_uapi_hooks *hooks)
{
	struct out o = { out, cap, 0 };
	char line[256];
	size_t off = 0;
	int op = 0, err = 0;
	struct wg_peer *peer = NULL;
	bool removed = false;

	if (cap)
		out[0] = '\0';
	while (off < len) {
		size_t n = 0;
		char *eq;

		while (off + n < len && req[off + n] != '\n')
			n++;
		if (off + n >= len) {
			err = -EINVAL; /* every line ends with a newline */
			break;
		}
		if (n >= sizeof(line) || memchr(req + off, '\0', n)) {
			err = -EINVAL;
			break;
		}
		memcpy(line, req + off, n);
		line[n] = '\0';
		off += n + 1;
		if (n == 0)
			break; /* the blank line ends a request */
		eq = strchr(line, '=');
		if (!eq) {
			err = -EINVAL;
			break;
		}
		*eq = '\0';
		if (!op) {
			if (!strcmp(line, "get") && !strcmp(eq + 1, "1"))
				op = 'g';
			else if (!strcmp(line, "set") && !strcmp(eq + 1, "1"))
				op = 's';
			else {
				err = -EINVAL;
				break;
			}
			continue;
		}
		if (op == 'g') {
			err = -EINVAL; /* get takes nothing more */
			break;
		}
		if ((err = set_line(dev, &peer, &removed, line, eq + 1, hooks)))
			break;
	}
	if (!op && !err)
		err = -EINVAL;
	if (op == 'g' && !err) {
		struct get_ctx g = { &o, dev };
		char k[65];
		if (wg_device_private_key(dev)) {
			hex(k, wg_device_private_key(dev));
			put(&o, "private_key=%s\n", k);
			sodium_memzero(k, sizeof(k));
		}
		put(&o, "listen_port=%u\n", wg_device_listen_port(dev));
		wg_device_for_each_peer(dev, put_peer_full, &g);
	}
	put(&o, "errno=%d\n\n", -err);
	return o.len;
}
