#include "proto.h"
#include "../../lib/nat/model.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A bounded writer and reader: every length is checked before use. */
struct wr {
	uint8_t *p;
	size_t len, cap;
	bool over;
};

struct rd {
	const uint8_t *p;
	size_t len, off;
	bool short_;
};

static void put(struct wr *w, const void *src, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put_zeros(struct wr *w, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = true;
		return;
	}
	memset(w->p + w->len, 0, n);
	w->len += n;
}

static void put8(struct wr *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put16(struct wr *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put(w, b, 2);
}

static void put32(struct wr *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	put(w, b, 4);
}

static void put64(struct wr *w, uint64_t v)
{
	put32(w, (uint32_t)(v >> 32));
	put32(w, (uint32_t)v);
}

static void get(struct rd *r, void *dst, size_t n)
{
	if (r->short_ || n > r->len - r->off) {
		r->short_ = true;
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, r->p + r->off, n);
	r->off += n;
}

/* Zeros after what a reader took (padding): how many, skipped. */
static size_t skip_zeros(struct rd *r)
{
	size_t n = 0;

	while (!r->short_ && r->off < r->len && r->p[r->off] == 0)
		r->off++, n++;
	return n;
}

static uint8_t get8(struct rd *r)
{
	uint8_t v;
	get(r, &v, 1);
	return v;
}

static uint16_t get16(struct rd *r)
{
	uint8_t b[2];
	get(r, b, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t get32(struct rd *r)
{
	uint8_t b[4];
	get(r, b, 4);
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t get64(struct rd *r)
{
	uint64_t hi = get32(r);
	return hi << 32 | get32(r);
}

static int bad(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/* An endpoint: family (0 none, 4, 6), address, port. */
static void put_ep(struct wr *w, const struct wg_endpoint *ep)
{
	if (ep->addr.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&ep->addr;
		put8(w, 4);
		put(w, &s->sin_addr, 4);
		put16(w, ntohs(s->sin_port));
	} else if (ep->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&ep->addr;
		put8(w, 6);
		put(w, &s->sin6_addr, 16);
		put16(w, ntohs(s->sin6_port));
	} else {
		put8(w, 0);
	}
}

static int get_ep(struct rd *r, struct wg_endpoint *ep, char *why, size_t whylen)
{
	uint8_t fam = get8(r);

	memset(ep, 0, sizeof(*ep));
	if (fam == 4) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ep->addr;
		s->sin_family = AF_INET;
		get(r, &s->sin_addr, 4);
		s->sin_port = htons(get16(r));
	} else if (fam == 6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ep->addr;
		s->sin6_family = AF_INET6;
		get(r, &s->sin6_addr, 16);
		s->sin6_port = htons(get16(r));
	} else if (fam != 0) {
		return bad(why, whylen, "endpoint of unknown family %u", fam);
	}
	return 0;
}

static void put_name(struct wr *w, const char *name)
{
	size_t n = strnlen(name, MESH_NAME_LEN);
	put8(w, (uint8_t)n);
	put(w, name, n);
}

static int get_name(struct rd *r, char out[static MESH_NAME_LEN + 1], char *why, size_t whylen)
{
	uint8_t n = get8(r);

	if (n > MESH_NAME_LEN)
		return bad(why, whylen, "name of %u bytes (at most %d)", n, MESH_NAME_LEN);
	get(r, out, n);
	out[r->short_ ? 0 : n] = '\0';
	for (size_t i = 0; i < n && !r->short_; i++)
		if ((unsigned char)out[i] < 0x21 || (unsigned char)out[i] > 0x7e)
			return bad(why, whylen, "name with a byte 0x%02x that is not printable", (unsigned char)out[i]);
	return 0;
}

static void put_cands(struct wr *w, uint8_t n, const struct wg_endpoint *c)
{
	put8(w, n);
	for (int i = 0; i < n && i < MESH_MAX_CANDS; i++)
		put_ep(w, &c[i]);
}

static int get_cands(struct rd *r, uint8_t *n, struct wg_endpoint *c, char *why, size_t whylen)
{
	*n = get8(r);
	if (*n > MESH_MAX_CANDS)
		return bad(why, whylen, "%u candidates (at most %d)", *n, MESH_MAX_CANDS);
	for (int i = 0; i < *n; i++)
		if (get_ep(r, &c[i], why, whylen))
			return -EBADMSG;
	return 0;
}

static void put_peer(struct wr *w, const struct mesh_peer_rec *p)
{
	put32(w, p->id);
	put(w, p->key, WG_KEY_LEN);
	put_name(w, p->name);
	put(w, &p->mesh4, 4);
	put(w, p->mesh6, 16);
	put_ep(w, &p->seen[0]);
	put_ep(w, &p->seen[1]);
	put_cands(w, p->n_cands, p->cands);
	put8(w, (uint8_t)(p->tcp_only | (p->mapped.addr.ss_family ? 2 : 0) | (p->seen6.addr.ss_family ? 4 : 0)));
	if (p->mapped.addr.ss_family) {
		put_ep(w, &p->mapped);
		put8(w, p->mapped_by);
	}
	if (p->seen6.addr.ss_family)
		put_ep(w, &p->seen6);
}

/* A port mapping's protocol: exactly one of the three bits. */
static int check_mapped_by(uint8_t by, const struct wg_endpoint *ep, char *why, size_t whylen)
{
	if (by != NAT_PORTMAP_UPNP && by != NAT_PORTMAP_NATPMP && by != NAT_PORTMAP_PCP)
		return bad(why, whylen, "port mapping by protocol %u (1 UPnP, 2 NAT-PMP, 4 PCP)", by);
	if (!ep->addr.ss_family)
		return bad(why, whylen, "a port mapping without an endpoint");
	if (!((const struct sockaddr_in *)&ep->addr)->sin_port)   /* sin6_port sits at the same place */
		return bad(why, whylen, "a port mapping to port 0");
	return 0;
}

static int get_peer(struct rd *r, struct mesh_peer_rec *p, char *why, size_t whylen)
{
	uint8_t flags;

	p->id = get32(r);
	get(r, p->key, WG_KEY_LEN);
	if (get_name(r, p->name, why, whylen))
		return -EBADMSG;
	get(r, &p->mesh4, 4);
	get(r, p->mesh6, 16);
	if (get_ep(r, &p->seen[0], why, whylen) || get_ep(r, &p->seen[1], why, whylen) ||
	    get_cands(r, &p->n_cands, p->cands, why, whylen))
		return -EBADMSG;
	flags = get8(r);
	if (flags > 7)
		return bad(why, whylen, "peer flags 0x%02x unknown", flags);
	p->tcp_only = flags & 1;
	memset(&p->mapped, 0, sizeof(p->mapped));
	p->mapped_by = 0;
	if (flags & 2) {
		if (get_ep(r, &p->mapped, why, whylen))
			return -EBADMSG;
		p->mapped_by = get8(r);
		if (!r->short_ && check_mapped_by(p->mapped_by, &p->mapped, why, whylen))
			return -EBADMSG;
	}
	memset(&p->seen6, 0, sizeof(p->seen6));
	if (flags & 4) {
		if (get_ep(r, &p->seen6, why, whylen))
			return -EBADMSG;
		if (!r->short_ && p->seen6.addr.ss_family != AF_INET6)
			return bad(why, whylen, "a member's IPv6 endpoint that is not IPv6");
	}
	return 0;
}

int mesh_msg_encode(const struct mesh_msg *m, uint8_t *out, size_t cap)
{
	struct wr w = { out, 0, cap, false };

	put64(&w, m->counter);
	put64(&w, m->session);
	switch (m->type) {
	case MESH_REGISTER:
		put8(&w, (uint8_t)(m->u.reg.has_join | m->u.reg.has_proof << 1 | (m->u.reg.mapped.addr.ss_family ? 4 : 0) |
				   m->u.reg.on_demand << 3));
		if (m->u.reg.has_join)
			put(&w, m->u.reg.join, 32);
		if (m->u.reg.has_proof)
			put(&w, m->u.reg.proof, MESH_PROOF_LEN);
		if (m->u.reg.mapped.addr.ss_family) {
			put_ep(&w, &m->u.reg.mapped);
			put8(&w, m->u.reg.mapped_by);
		}
		put_name(&w, m->u.reg.name);
		put8(&w, m->u.reg.ttl);
		put_cands(&w, m->u.reg.n_cands, m->u.reg.cands);
		/* Zeros up to the least size: a REGISTER is never smaller than
		 * the PROVE that answers it. */
		if (w.len < MESH_REGISTER_MIN_BODY)
			put_zeros(&w, MESH_REGISTER_MIN_BODY - w.len);
		break;
	case MESH_REGISTERED:
		put_ep(&w, &m->u.regd.seen);
		put8(&w, m->u.regd.via);
		put8(&w, m->u.regd.ttl);
		put32(&w, m->u.regd.id);
		put(&w, &m->u.regd.mesh4, 4);
		put8(&w, m->u.regd.plen4);
		put(&w, m->u.regd.mesh6, 16);
		put8(&w, m->u.regd.plen6);
		put(&w, m->u.regd.token, MESH_TOKEN_LEN);
		put16(&w, m->u.regd.n_peers);
		put_name(&w, m->u.regd.name);
		put(&w, m->u.regd.sid, MESH_SID_LEN);
		put(&w, m->u.regd.secret, MESH_SECRET_LEN);
		break;
	case MESH_PEER:
		put_peer(&w, &m->u.peer);
		break;
	case MESH_CONNECT:
		put32(&w, m->u.connect.id);
		break;
	case MESH_PUNCH:
		put32(&w, m->u.punch.round);
		put_peer(&w, &m->u.punch.peer);
		break;
	case MESH_PING:
	case MESH_PONG:
		put64(&w, m->u.ping.txid);
		put_ep(&w, &m->u.ping.addr);
		if (m->type == MESH_PONG)
			put16(&w, m->u.ping.size);
		/* A path MTU probe: zeros to the size wanted. */
		if (m->type == MESH_PING)
			put_zeros(&w, m->u.ping.pad);
		break;
	case MESH_REFUSED:
		put8(&w, m->u.refused.reason);
		break;
	case MESH_RESYNC:
		put64(&w, m->u.resync.newest);
		break;
	case MESH_PROVE:
		put(&w, m->u.prove.proof, MESH_PROOF_LEN);
		put8(&w, m->u.prove.ttl);
		break;
	case MESH_GONE:
		put32(&w, m->u.gone.id);
		put(&w, m->u.gone.key, WG_KEY_LEN);
		break;
	case MESH_LOOKUP:
		put8(&w, m->u.lookup.family);
		put(&w, m->u.lookup.addr, 16);
		break;
	default:
		return -EINVAL;
	}
	return w.over ? -EMSGSIZE : (int)w.len;
}

int mesh_msg_decode(uint8_t type, const uint8_t *in, size_t len, struct mesh_msg *m, char *why, size_t whylen)
{
	struct rd r = { in, len, 0, false };
	int ret = 0;

	memset(&m->u, 0, sizeof(m->u));
	m->type = type;
	m->counter = get64(&r);
	m->session = get64(&r);
	switch (type) {
	case MESH_REGISTER: {
		uint8_t j = get8(&r);
		if (j > 15)
			return bad(why, whylen, "register: flags 0x%02x unknown", j);
		m->u.reg.has_join = j & 1;
		m->u.reg.has_proof = (j >> 1) & 1;
		m->u.reg.on_demand = (j >> 3) & 1;
		if (m->u.reg.has_join)
			get(&r, m->u.reg.join, 32);
		if (m->u.reg.has_proof)
			get(&r, m->u.reg.proof, MESH_PROOF_LEN);
		if (j & 4) {
			if (get_ep(&r, &m->u.reg.mapped, why, whylen))
				return -EBADMSG;
			m->u.reg.mapped_by = get8(&r);
			if (!r.short_ && check_mapped_by(m->u.reg.mapped_by, &m->u.reg.mapped, why, whylen))
				return -EBADMSG;
		}
		if (get_name(&r, m->u.reg.name, why, whylen))
			return -EBADMSG;
		m->u.reg.ttl = get8(&r);
		if ((ret = get_cands(&r, &m->u.reg.n_cands, m->u.reg.cands, why, whylen)) || r.short_)
			break;
		if (len < MESH_REGISTER_MIN_BODY)
			return bad(why, whylen, "register: %zu bytes, fewer than the %d it is padded to", len,
				   MESH_REGISTER_MIN_BODY);
		skip_zeros(&r);
		break;
	}
	case MESH_REGISTERED:
		if ((ret = get_ep(&r, &m->u.regd.seen, why, whylen)))
			break;
		m->u.regd.via = get8(&r);
		m->u.regd.ttl = get8(&r);
		m->u.regd.id = get32(&r);
		get(&r, &m->u.regd.mesh4, 4);
		m->u.regd.plen4 = get8(&r);
		get(&r, m->u.regd.mesh6, 16);
		m->u.regd.plen6 = get8(&r);
		get(&r, m->u.regd.token, MESH_TOKEN_LEN);
		m->u.regd.n_peers = get16(&r);
		if (get_name(&r, m->u.regd.name, why, whylen))
			return -EBADMSG;
		get(&r, m->u.regd.sid, MESH_SID_LEN);
		get(&r, m->u.regd.secret, MESH_SECRET_LEN);
		if (!r.short_ && (m->u.regd.via >= MESH_VIAS || m->u.regd.plen4 > 32 || m->u.regd.plen6 > 128))
			return bad(why, whylen, "registered: via %u, prefix lengths /%u and /%u out of range", m->u.regd.via,
				   m->u.regd.plen4, m->u.regd.plen6);
		break;
	case MESH_PEER:
		ret = get_peer(&r, &m->u.peer, why, whylen);
		break;
	case MESH_CONNECT:
		m->u.connect.id = get32(&r);
		break;
	case MESH_PUNCH:
		m->u.punch.round = get32(&r);
		ret = get_peer(&r, &m->u.punch.peer, why, whylen);
		break;
	case MESH_PING:
	case MESH_PONG:
		m->u.ping.txid = get64(&r);
		if ((ret = get_ep(&r, &m->u.ping.addr, why, whylen)))
			break;
		if (type == MESH_PONG)
			m->u.ping.size = get16(&r);
		if (type == MESH_PING)
			m->u.ping.pad = (uint16_t)skip_zeros(&r);
		break;
	case MESH_REFUSED:
		m->u.refused.reason = get8(&r);
		break;
	case MESH_RESYNC:
		m->u.resync.newest = get64(&r);
		break;
	case MESH_PROVE:
		get(&r, m->u.prove.proof, MESH_PROOF_LEN);
		m->u.prove.ttl = get8(&r);
		break;
	case MESH_GONE:
		m->u.gone.id = get32(&r);
		get(&r, m->u.gone.key, WG_KEY_LEN);
		break;
	case MESH_LOOKUP:
		m->u.lookup.family = get8(&r);
		get(&r, m->u.lookup.addr, 16);
		if (!r.short_ && m->u.lookup.family != 4 && m->u.lookup.family != 6)
			return bad(why, whylen, "lookup: address family %u; expected 4 or 6", m->u.lookup.family);
		if (!r.short_ && m->u.lookup.family == 4 && !sodium_is_zero(m->u.lookup.addr + 4, 12))
			return bad(why, whylen, "lookup: an IPv4 address with bytes after it");
		break;
	default:
		return bad(why, whylen, "unknown control message type %u", type);
	}
	if (ret)
		return ret;
	if (r.short_)
		return bad(why, whylen, "message type %u cut short (%zu bytes)", type, len);
	if (r.off != len)
		return bad(why, whylen, "message type %u has %zu bytes too many", type, len - r.off);
	return 0;
}

bool mesh_is_message(const uint8_t *buf, size_t len)
{
	return len >= MESH_HDR_LEN && buf[0] == 'P' && buf[1] == 'L';
}

/* Ours, of this version (relay frames and control messages alike). */
static bool ours(const uint8_t *buf, size_t len)
{
	return mesh_is_message(buf, len) && buf[2] == MESH_VERSION;
}

int mesh_shared_key(uint8_t out[static 32], const uint8_t their_pub[static WG_KEY_LEN],
		    const uint8_t my_priv[static WG_KEY_LEN])
{
	return crypto_box_beforenm(out, their_pub, my_priv) ? -EINVAL : 0;
}

/* The largest a message of this type may be on the wire. */
static size_t max_len(uint8_t type)
{
	return type == MESH_PING ? MESH_MAX_PROBE : MESH_MAX_MSG;
}

/* Offsets in a control message. */
#define OFF_EPH MESH_HDR_LEN
#define OFF_STATIC (OFF_EPH + MESH_EPH_LEN)
#define OFF_BODY (OFF_STATIC + MESH_STATIC_BOX_LEN)

static const uint8_t zero_nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

/* The message's chaining key: the ephemeral-static DH hashed with the
 * header, the ephemeral key and the receiver's key (Noise's X pattern:
 * a message opens for its receiver only, with its header as it was). */
static void chain_key(uint8_t ck[static 32], const uint8_t dh[static 32], const uint8_t *hdr,
		      const uint8_t to_pub[static WG_KEY_LEN])
{
	static const char label[] = "punchlab mesh 3";
	crypto_generichash_state h;

	crypto_generichash_init(&h, dh, 32, 32);
	crypto_generichash_update(&h, (const uint8_t *)label, sizeof(label) - 1);
	crypto_generichash_update(&h, hdr, MESH_HDR_LEN + MESH_EPH_LEN);
	crypto_generichash_update(&h, to_pub, WG_KEY_LEN);
	crypto_generichash_final(&h, ck, 32);
	sodium_memzero(&h, sizeof(h));
}

/* A key from the chaining key: the static's ("static"), or the body's
 * ("body", mixed with the pair's static-static key: only the holder of
 * the sender's private key can seal a body the receiver opens). */
static void derive(uint8_t out[static 32], const uint8_t ck[static 32], const char *label,
		   const uint8_t *shared)
{
	crypto_generichash_state h;

	crypto_generichash_init(&h, ck, 32, 32);
	crypto_generichash_update(&h, (const uint8_t *)label, strlen(label));
	if (shared)
		crypto_generichash_update(&h, shared, 32);
	crypto_generichash_final(&h, out, 32);
	sodium_memzero(&h, sizeof(h));
}

int mesh_seal_ahead(struct mesh_eph *e, const uint8_t to_pub[static WG_KEY_LEN])
{
	uint8_t eph[32];
	int ret = 0;

	/* A new ephemeral key for every message: nothing on the wire stays
	 * the same from one message to the next. */
	randombytes_buf(eph, sizeof(eph));
	crypto_scalarmult_base(e->pub, eph);
	if (crypto_scalarmult(e->dh, eph, to_pub))
		ret = -EINVAL; /* a weak receiver key */
	sodium_memzero(eph, sizeof(eph));
	e->ready = !ret;
	return ret;
}

int mesh_seal_with(const struct mesh_msg *m, const uint8_t to_pub[static WG_KEY_LEN], const uint8_t shared[static 32],
		   struct mesh_eph *e, uint8_t *out, size_t cap)
{
	static uint8_t plain[MESH_MAX_PROBE];
	uint8_t ck[32], key[32], mac1[32];
	int n;

	if (!e->ready)
		return -EINVAL;
	if ((n = mesh_msg_encode(m, plain, sizeof(plain))) < 0)
		goto out;
	if (cap < MESH_CONTROL_OVERHEAD + (size_t)n || MESH_CONTROL_OVERHEAD + (size_t)n > max_len(m->type)) {
		n = -EMSGSIZE;
		goto out;
	}
	out[0] = 'P';
	out[1] = 'L';
	out[2] = MESH_VERSION;
	out[3] = m->type;
	memcpy(out + OFF_EPH, e->pub, MESH_EPH_LEN);
	chain_key(ck, e->dh, out, to_pub);
	/* The sender's key, sealed to the receiver (AD: header, ephemeral). */
	derive(key, ck, "static", NULL);
	crypto_aead_chacha20poly1305_ietf_encrypt(out + OFF_STATIC, NULL, m->sender, WG_KEY_LEN, out, OFF_STATIC, NULL,
						  zero_nonce, key);
	/* The body (AD: everything before it). */
	derive(key, ck, "body", shared);
	crypto_aead_chacha20poly1305_ietf_encrypt(out + OFF_BODY, NULL, plain, (unsigned long long)n, out, OFF_BODY, NULL,
						  zero_nonce, key);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(ck, sizeof(ck));
	/* Last, the cheap MAC keyed by the receiver's public key. */
	mesh_mac1_key(mac1, to_pub);
	mesh_mac1_put(out, OFF_BODY + (size_t)n + MESH_MAC_LEN, mac1);
	n += MESH_CONTROL_OVERHEAD;
out:
	sodium_memzero(plain, sizeof(plain));
	sodium_memzero(e, sizeof(*e));   /* used once */
	return n;
}

int mesh_seal(const struct mesh_msg *m, const uint8_t to_pub[static WG_KEY_LEN], const uint8_t shared[static 32],
	      uint8_t *out, size_t cap)
{
	struct mesh_eph e;
	int ret = mesh_seal_ahead(&e, to_pub);

	return ret ? ret : mesh_seal_with(m, to_pub, shared, &e, out, cap);
}

int mesh_check(const uint8_t *buf, size_t len, const uint8_t mac1_key[static 32], uint8_t *type)
{
	if (mesh_is_message(buf, len) && !ours(buf, len))
		return -EPROTO;
	if (!ours(buf, len) || len < MESH_CONTROL_OVERHEAD + 16 || buf[3] == 0 || buf[3] >= MESH_RELAY ||
	    len > max_len(buf[3]))
		return -EBADMSG;
	if (!mesh_mac1_ok(buf, len, mac1_key))
		return -EACCES;
	*type = buf[3];
	return 0;
}

int mesh_unwrap(const uint8_t *buf, size_t len, const uint8_t my_priv[static WG_KEY_LEN],
		const uint8_t my_pub[static WG_KEY_LEN], struct mesh_env *env)
{
	uint8_t dh[32], key[32];
	int ret;

	if (len < MESH_CONTROL_OVERHEAD + 16 || !ours(buf, len))
		return -EBADMSG;
	if (crypto_scalarmult(dh, my_priv, buf + OFF_EPH))
		return -EBADMSG; /* a low-order ephemeral key */
	chain_key(env->ck, dh, buf, my_pub);
	sodium_memzero(dh, sizeof(dh));
	derive(key, env->ck, "static", NULL);
	ret = crypto_aead_chacha20poly1305_ietf_decrypt(env->sender, NULL, NULL, buf + OFF_STATIC, MESH_STATIC_BOX_LEN,
							buf, OFF_STATIC, zero_nonce, key);
	sodium_memzero(key, sizeof(key));
	if (ret) {
		sodium_memzero(env, sizeof(*env));
		return -EBADMSG;
	}
	env->type = buf[3];
	return 0;
}

int mesh_open(const uint8_t *buf, size_t len, const struct mesh_env *env, const uint8_t shared[static 32],
	      struct mesh_msg *m, char *why, size_t whylen)
{
	static uint8_t plain[MESH_MAX_PROBE];
	uint8_t key[32];
	size_t n;
	int ret;

	if (len < MESH_CONTROL_OVERHEAD + 16 || !ours(buf, len) || buf[3] != env->type || len > max_len(env->type))
		return bad(why, whylen, "not a control message (%zu bytes)", len);
	n = len - MESH_CONTROL_OVERHEAD;
	derive(key, env->ck, "body", shared);
	ret = crypto_aead_chacha20poly1305_ietf_decrypt(plain, NULL, NULL, buf + OFF_BODY, n + MESH_MAC_LEN, buf,
							OFF_BODY, zero_nonce, key);
	sodium_memzero(key, sizeof(key));
	if (ret)
		return bad(why, whylen, "control message type %u does not authenticate (forged or damaged)", env->type);
	memcpy(m->sender, env->sender, WG_KEY_LEN);
	ret = mesh_msg_decode(env->type, plain, n, m, why, whylen);
	sodium_memzero(plain, n);
	return ret;
}

int mesh_receive(const uint8_t *buf, size_t len, const uint8_t my_priv[static WG_KEY_LEN],
		 const uint8_t shared[static 32], struct mesh_msg *m, char *why, size_t whylen)
{
	uint8_t pub[WG_KEY_LEN], mac1[32], type;
	struct mesh_env env;
	int ret;

	crypto_scalarmult_base(pub, my_priv);
	mesh_mac1_key(mac1, pub);
	ret = mesh_check(buf, len, mac1, &type);
	if (ret == -EPROTO) {
		bad(why, whylen, "a message of protocol version %u; we speak %d (update the older side)", buf[2],
		    MESH_VERSION);
		return -EPROTO;
	}
	if (ret == -EACCES)
		return bad(why, whylen, "control message type %u without a valid MAC for this receiver", buf[3]);
	if (ret)
		return bad(why, whylen, "not a control message (%zu bytes)", len);
	if (mesh_unwrap(buf, len, my_priv, pub, &env))
		return bad(why, whylen, "control message type %u: the sender's key does not open (not for us, or forged)",
			   type);
	ret = mesh_open(buf, len, &env, shared, m, why, whylen);
	sodium_memzero(&env, sizeof(env));
	return ret;
}

int mesh_relay_build(uint8_t *out, size_t cap, const uint8_t token[static MESH_TOKEN_LEN], uint32_t to,
		     const uint8_t *pkt, size_t len)
{
	struct wr w = { out, 0, cap, false };

	put8(&w, 'P');
	put8(&w, 'L');
	put8(&w, MESH_VERSION);
	put8(&w, MESH_RELAY);
	put(&w, token, MESH_TOKEN_LEN);
	put32(&w, to);
	put(&w, pkt, len);
	return w.over ? -EMSGSIZE : (int)w.len;
}

void mesh_session_keys(const uint8_t secret[static MESH_SECRET_LEN], const uint8_t shared[static 32],
		       struct mesh_session_keys *k)
{
	derive(k->to_introducer, secret, "punchlab session to introducer", shared);
	derive(k->to_agent, secret, "punchlab session to agent", shared);
}

/* The nonce: the sender's counter (never twice under one key). */
static void session_nonce(uint8_t nonce[static crypto_aead_chacha20poly1305_IETF_NPUBBYTES], const uint8_t *counter)
{
	memset(nonce, 0, crypto_aead_chacha20poly1305_IETF_NPUBBYTES);
	memcpy(nonce + 4, counter, 8);
}

int mesh_session_seal(const struct mesh_msg *m, const uint8_t sid[static MESH_SID_LEN], const uint8_t key[static 32],
		      uint8_t *out, size_t cap)
{
	static uint8_t plain[MESH_MAX_PROBE];
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	int n = mesh_msg_encode(m, plain + 1, sizeof(plain) - 1);

	if (n < 0)
		return n;
	if (cap < MESH_SESSION_OVERHEAD + (size_t)n || MESH_SESSION_OVERHEAD + (size_t)n > max_len(m->type))
		return -EMSGSIZE;
	plain[0] = m->type;
	out[0] = 'P';
	out[1] = 'L';
	out[2] = MESH_VERSION;
	out[3] = MESH_SESSION;
	memcpy(out + MESH_HDR_LEN, sid, MESH_SID_LEN);
	for (int i = 0; i < 8; i++)
		out[MESH_HDR_LEN + MESH_SID_LEN + i] = (uint8_t)(m->counter >> (56 - 8 * i));
	session_nonce(nonce, out + MESH_HDR_LEN + MESH_SID_LEN);
	crypto_aead_chacha20poly1305_ietf_encrypt(out + MESH_SESSION_HDR_LEN, NULL, plain, (unsigned long long)n + 1, out,
						  MESH_SESSION_HDR_LEN, NULL, nonce, key);
	sodium_memzero(plain, (size_t)n + 1);
	return MESH_SESSION_OVERHEAD + n;
}

int mesh_session_sid(const uint8_t *buf, size_t len, const uint8_t **sid)
{
	if (!ours(buf, len) || buf[3] != MESH_SESSION || len < MESH_SESSION_OVERHEAD + 16 || len > MESH_MAX_PROBE)
		return -EBADMSG;
	*sid = buf + MESH_HDR_LEN;
	return 0;
}

int mesh_session_open(const uint8_t *buf, size_t len, const uint8_t key[static 32], struct mesh_msg *m, char *why,
		      size_t whylen)
{
	static uint8_t plain[MESH_MAX_PROBE];
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	const uint8_t *sid;
	uint64_t counter = 0;
	size_t n;
	int ret;

	if (mesh_session_sid(buf, len, &sid))
		return bad(why, whylen, "not a session message (%zu bytes)", len);
	n = len - MESH_SESSION_HDR_LEN - MESH_MAC_LEN;
	session_nonce(nonce, buf + MESH_HDR_LEN + MESH_SID_LEN);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(plain, NULL, NULL, buf + MESH_SESSION_HDR_LEN, n + MESH_MAC_LEN, buf,
						      MESH_SESSION_HDR_LEN, nonce, key))
		return bad(why, whylen, "a session message that does not authenticate (forged, damaged, or an old session's)");
	for (int i = 0; i < 8; i++)
		counter = counter << 8 | buf[MESH_HDR_LEN + MESH_SID_LEN + i];
	if (plain[0] == MESH_SESSION || plain[0] == MESH_RELAY || plain[0] == MESH_RELAYED || plain[0] == MESH_FRAG) {
		ret = bad(why, whylen, "a session message carrying type %u", plain[0]);
		goto out;
	}
	if ((ret = mesh_msg_decode(plain[0], plain + 1, n - 1, m, why, whylen)))
		goto out;
	if (plain[0] != MESH_PING && len > MESH_MAX_MSG) {
		ret = bad(why, whylen, "a session message of type %u, %zu bytes", plain[0], len);
		goto out;
	}
	if (m->counter != counter)
		ret = bad(why, whylen, "a session message whose counter is not its header's");
out:
	sodium_memzero(plain, n);
	return ret;
}

int mesh_relay_parse(const uint8_t *buf, size_t len, const uint8_t **token, uint32_t *to, const uint8_t **pkt,
		     size_t *pktlen)
{
	if (!ours(buf, len) || buf[3] != MESH_RELAY || len <= MESH_RELAY_HDR_LEN)
		return -EBADMSG;
	*token = buf + MESH_HDR_LEN;
	*to = (uint32_t)buf[12] << 24 | (uint32_t)buf[13] << 16 | (uint32_t)buf[14] << 8 | buf[15];
	*pkt = buf + MESH_RELAY_HDR_LEN;
	*pktlen = len - MESH_RELAY_HDR_LEN;
	return wg_is_message(*pkt, *pktlen) ? 0 : -EBADMSG;
}

int mesh_relayed_build(uint8_t *out, size_t cap, uint32_t from, const uint8_t *pkt, size_t len)
{
	struct wr w = { out, 0, cap, false };

	put8(&w, 'P');
	put8(&w, 'L');
	put8(&w, MESH_VERSION);
	put8(&w, MESH_RELAYED);
	put32(&w, from);
	put(&w, pkt, len);
	return w.over ? -EMSGSIZE : (int)w.len;
}

int mesh_relayed_parse(const uint8_t *buf, size_t len, uint32_t *from, const uint8_t **pkt, size_t *pktlen)
{
	if (!ours(buf, len) || buf[3] != MESH_RELAYED || len <= MESH_RELAYED_HDR_LEN)
		return -EBADMSG;
	*from = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
	*pkt = buf + MESH_RELAYED_HDR_LEN;
	*pktlen = len - MESH_RELAYED_HDR_LEN;
	return wg_is_message(*pkt, *pktlen) ? 0 : -EBADMSG;
}

void mesh_mac1_key(uint8_t key[static 32], const uint8_t to_pub[static WG_KEY_LEN])
{
	static const char label[] = "punchlab mesh 3 mac1";
	crypto_generichash_state h;

	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, (const uint8_t *)label, sizeof(label) - 1);
	crypto_generichash_update(&h, to_pub, WG_KEY_LEN);
	crypto_generichash_final(&h, key, 32);
}

size_t mesh_mac1_put(uint8_t *buf, size_t len, const uint8_t key[static 32])
{
	crypto_generichash(buf + len, MESH_MAC1_LEN, buf, len, key, 32);
	return len + MESH_MAC1_LEN;
}

/* Do the last 16 bytes of buf MAC the rest, keyed by key (mac1, mac2)? */
static bool tail_mac_ok(const uint8_t *buf, size_t len, const uint8_t *key, size_t keylen)
{
	uint8_t mac[MESH_MAC1_LEN];

	if (len < sizeof(mac))
		return false;
	crypto_generichash(mac, sizeof(mac), buf, len - sizeof(mac), key, keylen);
	return sodium_memcmp(mac, buf + len - sizeof(mac), sizeof(mac)) == 0;
}

bool mesh_mac1_ok(const uint8_t *buf, size_t len, const uint8_t key[static 32])
{
	return tail_mac_ok(buf, len, key, 32);
}

void mesh_cookie_key(uint8_t key[static 32], const uint8_t intro_pub[static WG_KEY_LEN])
{
	static const char label[] = "punchlab mesh cookie";
	crypto_generichash_state h;

	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, (const uint8_t *)label, sizeof(label) - 1);
	crypto_generichash_update(&h, intro_pub, WG_KEY_LEN);
	crypto_generichash_final(&h, key, 32);
}

/* A COOKIE's associated data: its header, and the mac1 of the REGISTER it
 * answers. */
static void cookie_ad(uint8_t ad[static MESH_HDR_LEN + MESH_MAC1_LEN], const uint8_t *hdr,
		      const uint8_t mac1[static MESH_MAC1_LEN])
{
	memcpy(ad, hdr, MESH_HDR_LEN);
	memcpy(ad + MESH_HDR_LEN, mac1, MESH_MAC1_LEN);
}

int mesh_cookie_build(uint8_t *out, size_t cap, const uint8_t key[static 32], const uint8_t cookie[static MESH_COOKIE_LEN],
		      const uint8_t mac1[static MESH_MAC1_LEN])
{
	uint8_t ad[MESH_HDR_LEN + MESH_MAC1_LEN];

	if (cap < MESH_COOKIE_MSG_LEN)
		return -EMSGSIZE;
	out[0] = 'P';
	out[1] = 'L';
	out[2] = MESH_VERSION;
	out[3] = MESH_COOKIE;
	randombytes_buf(out + MESH_HDR_LEN, MESH_COOKIE_NONCE_LEN);
	cookie_ad(ad, out, mac1);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + MESH_HDR_LEN + MESH_COOKIE_NONCE_LEN, NULL, cookie,
						   MESH_COOKIE_LEN, ad, sizeof(ad), NULL, out + MESH_HDR_LEN, key);
	return MESH_COOKIE_MSG_LEN;
}

int mesh_cookie_open(const uint8_t *buf, size_t len, const uint8_t key[static 32], const uint8_t mac1[static MESH_MAC1_LEN],
		     uint8_t cookie[static MESH_COOKIE_LEN])
{
	uint8_t ad[MESH_HDR_LEN + MESH_MAC1_LEN];

	if (len != MESH_COOKIE_MSG_LEN || !ours(buf, len) || buf[3] != MESH_COOKIE)
		return -EBADMSG;
	cookie_ad(ad, buf, mac1);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, NULL, NULL, buf + MESH_HDR_LEN + MESH_COOKIE_NONCE_LEN,
						       MESH_COOKIE_LEN + MESH_MAC_LEN, ad, sizeof(ad),
						       buf + MESH_HDR_LEN, key)) {
		sodium_memzero(cookie, MESH_COOKIE_LEN);
		return -EBADMSG;
	}
	return 0;
}

int mesh_cookied_wrap(uint8_t *out, size_t cap, const uint8_t *msg, size_t len, const uint8_t cookie[static MESH_COOKIE_LEN])
{
	if (len > MESH_MAX_MSG || cap < len + MESH_COOKIED_OVERHEAD)
		return -EMSGSIZE;
	memmove(out + MESH_HDR_LEN, msg, len);   /* first: msg may be out (wrapped in place) */
	out[0] = 'P';
	out[1] = 'L';
	out[2] = MESH_VERSION;
	out[3] = MESH_COOKIED;
	crypto_generichash(out + MESH_HDR_LEN + len, MESH_MAC2_LEN, out, MESH_HDR_LEN + len, cookie, MESH_COOKIE_LEN);
	return (int)(len + MESH_COOKIED_OVERHEAD);
}

int mesh_cookied_inner(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msglen)
{
	if (len < MESH_COOKIED_OVERHEAD + MESH_CONTROL_OVERHEAD || len > MESH_MAX_MSG + MESH_COOKIED_OVERHEAD ||
	    !ours(buf, len) || buf[3] != MESH_COOKIED || !ours(buf + MESH_HDR_LEN, len - MESH_COOKIED_OVERHEAD) ||
	    buf[MESH_HDR_LEN + 3] != MESH_REGISTER)
		return -EBADMSG;
	*msg = buf + MESH_HDR_LEN;
	*msglen = len - MESH_COOKIED_OVERHEAD;
	return 0;
}

bool mesh_cookied_ok(const uint8_t *buf, size_t len, const uint8_t cookie[static MESH_COOKIE_LEN])
{
	return len >= MESH_COOKIED_OVERHEAD && tail_mac_ok(buf, len, cookie, MESH_COOKIE_LEN);
}
