#include "stun.h"
#include "../../lib/util/text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FINGERPRINT_XOR 0x5354554eu

bool stun_is_stun(const uint8_t *buf, size_t len)
{
	uint32_t magic;

	if (len < STUN_HEADER_LEN || (buf[0] & 0xC0))
		return false;
	memcpy(&magic, buf + 4, 4);
	return ntohl(magic) == STUN_MAGIC;
}

uint32_t stun_crc32(const uint8_t *buf, size_t len)
{
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		crc ^= buf[i];
		for (int b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* XOR-MAPPED-ADDRESS's IPv6 address, XORed (both ways) with the magic
 * cookie and the transaction id (RFC 5389 §15.2). */
static void xor_addr6(uint8_t addr[16], const uint8_t txid[12])
{
	uint8_t key[16];

	put32(key, STUN_MAGIC);
	memcpy(key + 4, txid, 12);
	for (int i = 0; i < 16; i++)
		addr[i] ^= key[i];
}

/* RFC 5389 §15.1/§15.2: family 1 (IPv4) carries 4 bytes, family 2 (IPv6)
 * 16; XOR-MAPPED-ADDRESS XORs an IPv6 address with the magic cookie and
 * the transaction id. */
static int decode_addr(const uint8_t *v, uint16_t len, const uint8_t *xor_txid, struct stun_addr *a, const char **why)
{
	uint16_t port;

	if (len < 4) {
		*why = "address attribute shorter than 4 bytes";
		return -EINVAL;
	}
	port = get16(v + 2);
	if (xor_txid)
		port ^= (uint16_t)(STUN_MAGIC >> 16);
	if (v[1] == 0x01) {
		uint32_t addr;
		if (len != 8) {
			*why = "IPv4 address attribute is not 8 bytes";
			return -EINVAL;
		}
		addr = get32(v + 4);
		if (xor_txid)
			addr ^= STUN_MAGIC;
		*a = (struct stun_addr){ true, htonl(addr), port, false, { 0 } };
		return 0;
	}
	if (v[1] == 0x02) {
		if (len != 20) {
			*why = "IPv6 address attribute is not 20 bytes";
			return -EINVAL;
		}
		*a = (struct stun_addr){ true, 0, port, true, { 0 } };
		memcpy(a->addr6, v + 4, 16);
		if (xor_txid)
			xor_addr6(a->addr6, xor_txid);
		return 0;
	}
	*why = "unknown address family";
	return -EINVAL;
}

int stun_decode(const uint8_t *buf, size_t len, struct stun_msg *m, const char **why)
{
	size_t off = STUN_HEADER_LEN, body;

	memset(m, 0, sizeof(*m));
	*why = NULL;
	if (len < STUN_HEADER_LEN) {
		*why = "shorter than a STUN header";
		return -EINVAL;
	}
	if (!stun_is_stun(buf, len)) {
		*why = "not STUN (no magic cookie)";
		return -EINVAL;
	}
	body = get16(buf + 2);
	if (body % 4 || body + STUN_HEADER_LEN != len) {
		*why = "message length does not match the datagram";
		return -EINVAL;
	}
	m->type = get16(buf);
	memcpy(m->txid, buf + 8, 12);
	while (off < len) {
		uint16_t type, alen;
		const uint8_t *v;
		int ret = 0;

		if (len - off < 4) {
			*why = "truncated attribute header";
			return -EINVAL;
		}
		type = get16(buf + off);
		alen = get16(buf + off + 2);
		v = buf + off + 4;
		if ((size_t)alen > len - off - 4 || ((size_t)alen + 3) / 4 * 4 > len - off - 4) {
			*why = "attribute runs past the end of the message";
			return -EINVAL;
		}
		if (m->has_fingerprint) {
			*why = "attribute after FINGERPRINT";
			return -EINVAL;
		}
		switch (type) {
		case STUN_A_MAPPED_ADDRESS:
			ret = decode_addr(v, alen, NULL, &m->mapped, why);
			break;
		case STUN_A_XOR_MAPPED_ADDRESS:
			ret = decode_addr(v, alen, m->txid, &m->xor_mapped, why);
			break;
		case STUN_A_RESPONSE_ORIGIN:
			ret = decode_addr(v, alen, NULL, &m->response_origin, why);
			break;
		case STUN_A_OTHER_ADDRESS:
			ret = decode_addr(v, alen, NULL, &m->other_address, why);
			break;
		case STUN_A_CHANGE_REQUEST:
			if (alen != 4) {
				*why = "CHANGE-REQUEST is not 4 bytes";
				return -EINVAL;
			}
			m->has_change = true;
			m->change = (uint8_t)(get32(v) & (STUN_CHANGE_IP | STUN_CHANGE_PORT));
			break;
		case STUN_A_RESPONSE_PORT:
			if (alen != 4) {
				*why = "RESPONSE-PORT is not 4 bytes";
				return -EINVAL;
			}
			m->has_response_port = true;
			m->response_port = get16(v);
			break;
		case STUN_A_ERROR_CODE:
			if (alen < 4) {
				*why = "ERROR-CODE shorter than 4 bytes";
				return -EINVAL;
			}
			m->has_error = true;
			m->error_code = (uint16_t)((v[2] & 0x07) * 100 + v[3] % 100);
			break;
		case STUN_A_UNKNOWN_ATTRIBUTES:
			if (alen % 2) {
				*why = "UNKNOWN-ATTRIBUTES has an odd length";
				return -EINVAL;
			}
			for (uint16_t i = 0; i < alen && m->n_listed < STUN_MAX_UNKNOWN; i += 2)
				m->listed[m->n_listed++] = get16(v + i);
			break;
		case STUN_A_SOFTWARE: {
			size_t n = alen < sizeof(m->software) - 1 ? alen : sizeof(m->software) - 1;
			memcpy(m->software, v, n);
			m->software[n] = '\0';
			for (size_t i = 0; i < n; i++)
				if ((unsigned char)m->software[i] < 0x20 || m->software[i] == 0x7f)
					m->software[i] = '?';
			break;
		}
		case STUN_A_PADDING:
			m->padding = alen;   /* its bytes mean nothing */
			break;
		case STUN_A_FINGERPRINT:
			if (alen != 4) {
				*why = "FINGERPRINT is not 4 bytes";
				return -EINVAL;
			}
			if ((stun_crc32(buf, off) ^ FINGERPRINT_XOR) != get32(v)) {
				*why = "FINGERPRINT does not match";
				return -EINVAL;
			}
			m->has_fingerprint = true;
			break;
		default:
			/* RFC 5389 §15: 0x0000-0x7FFF are comprehension-required. */
			if (type < 0x8000 && m->n_unknown < STUN_MAX_UNKNOWN)
				m->unknown[m->n_unknown++] = type;
			break;
		}
		if (ret)
			return ret;
		off += 4 + ((size_t)alen + 3) / 4 * 4;
	}
	return 0;
}

struct writer {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};

static uint8_t *attr_put(struct writer *w, uint16_t type, uint16_t len)
{
	size_t padded = ((size_t)len + 3) / 4 * 4;
	uint8_t *p;

	if (w->overflow || w->len + 4 + padded > w->cap) {
		w->overflow = true;
		return NULL;
	}
	p = w->buf + w->len;
	put16(p, type);
	put16(p + 2, len);
	memset(p + 4, 0, padded);
	w->len += 4 + padded;
	return p + 4;
}

static void addr_put(struct writer *w, uint16_t type, const struct stun_addr *a, const uint8_t *xor_txid)
{
	uint8_t *v;
	uint32_t addr = ntohl(a->addr);
	uint16_t port = a->port;

	if (!a->set || !(v = attr_put(w, type, a->v6 ? 20 : 8)))
		return;
	if (xor_txid) {
		addr ^= STUN_MAGIC;
		port ^= (uint16_t)(STUN_MAGIC >> 16);
	}
	v[1] = a->v6 ? 0x02 : 0x01;
	put16(v + 2, port);
	if (!a->v6) {
		put32(v + 4, addr);
		return;
	}
	memcpy(v + 4, a->addr6, 16);
	if (xor_txid)
		xor_addr6(v + 4, xor_txid);
}

size_t stun_encode(const struct stun_msg *m, uint8_t *buf, size_t cap)
{
	struct writer w = { buf, cap, STUN_HEADER_LEN, false };
	uint8_t *v;

	if (cap < STUN_HEADER_LEN + 8)
		return 0;
	put16(buf, m->type);
	put32(buf + 4, STUN_MAGIC);
	memcpy(buf + 8, m->txid, 12);
	addr_put(&w, STUN_A_XOR_MAPPED_ADDRESS, &m->xor_mapped, m->txid);
	addr_put(&w, STUN_A_MAPPED_ADDRESS, &m->mapped, NULL);
	addr_put(&w, STUN_A_RESPONSE_ORIGIN, &m->response_origin, NULL);
	addr_put(&w, STUN_A_OTHER_ADDRESS, &m->other_address, NULL);
	if (m->has_change && (v = attr_put(&w, STUN_A_CHANGE_REQUEST, 4)))
		put32(v, m->change);
	if (m->has_response_port && (v = attr_put(&w, STUN_A_RESPONSE_PORT, 4)))
		put16(v, m->response_port);
	if (m->has_error && (v = attr_put(&w, STUN_A_ERROR_CODE, 4))) {
		v[2] = (uint8_t)(m->error_code / 100);
		v[3] = (uint8_t)(m->error_code % 100);
	}
	if (m->n_listed > 0 && m->n_listed <= STUN_MAX_UNKNOWN &&
	    (v = attr_put(&w, STUN_A_UNKNOWN_ATTRIBUTES, (uint16_t)(2 * m->n_listed))))
		for (int i = 0; i < m->n_listed; i++)
			put16(v + 2 * i, m->listed[i]);
	if (m->software[0]) {
		size_t n = strnlen(m->software, sizeof(m->software));
		if ((v = attr_put(&w, STUN_A_SOFTWARE, (uint16_t)n)))
			memcpy(v, m->software, n);
	}
	if (m->padding)
		attr_put(&w, STUN_A_PADDING, m->padding);
	if (w.overflow || w.len + 8 > cap)
		return 0;
	/* The length covers the FINGERPRINT attribute before its CRC is taken. */
	put16(buf + 2, (uint16_t)(w.len + 8 - STUN_HEADER_LEN));
	v = attr_put(&w, STUN_A_FINGERPRINT, 4);
	put32(v, stun_crc32(buf, w.len - 8) ^ FINGERPRINT_XOR);
	return w.len;
}

const struct stun_addr *stun_reflexive(const struct stun_msg *m)
{
	return m->xor_mapped.set ? &m->xor_mapped : &m->mapped;
}

unsigned stun_addr_to_sockaddr(const struct stun_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a->addr6, 16);
		s6->sin6_port = htons(a->port);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = a->addr;
	s4->sin_port = htons(a->port);
	return sizeof(*s4);
}

struct stun_addr stun_addr_from_sockaddr(const struct sockaddr_storage *ss)
{
	struct stun_addr a = { true, 0, 0, false, { 0 } };

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		a.v6 = true;
		memcpy(a.addr6, &s6->sin6_addr, 16);
		a.port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		a.addr = s4->sin_addr.s_addr;
		a.port = ntohs(s4->sin_port);
	}
	return a;
}

bool stun_addr_equal(const struct stun_addr *a, const struct stun_addr *b)
{
	return a->v6 == b->v6 && a->port == b->port && (a->v6 ? !memcmp(a->addr6, b->addr6, 16) : a->addr == b->addr);
}

const char *stun_addr_ip_text(const struct stun_addr *a, char *buf, size_t len)
{
	char t[46];

	snprintf(buf, len, "%s", a->v6 ? text_ipv6(a->addr6, t) : text_ipv4(a->addr, t));
	return buf;
}

const char *stun_addr_text(const struct stun_addr *a, char *buf, size_t len)
{
	char t[46];

	snprintf(buf, len, a->v6 ? "[%s]:%u" : "%s:%u", stun_addr_ip_text(a, t, sizeof(t)), a->port);
	return buf;
}

int stun_socket_bound(const struct stun_addr *a, bool reuse)
{
	struct sockaddr_storage ss;
	socklen_t sl = stun_addr_to_sockaddr(a, &ss);
	int fd = socket(a->v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	if (a->v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (reuse)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl)) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}
