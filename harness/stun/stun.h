/* STUN messages (RFC 5389) with the RFC 5780 behaviour-discovery
 * attributes. Decoding trusts nothing: every length is checked. */
#ifndef PL_STUN_H
#define PL_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STUN_MAGIC 0x2112A442u
#define STUN_HEADER_LEN 20
#define STUN_MAX_MSG 548              /* RFC 5389 §7.1: fits any path's MTU */

#define STUN_BINDING_REQUEST 0x0001
#define STUN_BINDING_RESPONSE 0x0101
#define STUN_BINDING_ERROR 0x0111

#define STUN_A_MAPPED_ADDRESS 0x0001
#define STUN_A_CHANGE_REQUEST 0x0003   /* RFC 5780 §7.2 */
#define STUN_A_ERROR_CODE 0x0009
#define STUN_A_UNKNOWN_ATTRIBUTES 0x000A
#define STUN_A_XOR_MAPPED_ADDRESS 0x0020
#define STUN_A_PADDING 0x0026          /* RFC 5780 §7.6 */
#define STUN_A_RESPONSE_PORT 0x0027    /* RFC 5780 §7.5 */
#define STUN_A_SOFTWARE 0x8022
#define STUN_A_FINGERPRINT 0x8028
#define STUN_A_RESPONSE_ORIGIN 0x802B  /* RFC 5780 §7.3 */
#define STUN_A_OTHER_ADDRESS 0x802C    /* RFC 5780 §7.4 */

#define STUN_CHANGE_IP 0x04
#define STUN_CHANGE_PORT 0x02
#define STUN_MAX_UNKNOWN 8

/* A transport address: IPv4's addr in network order (v6 false), or
 * IPv6's addr6 (v6 true); port in host order. */
struct stun_addr {
	bool set;
	uint32_t addr;
	uint16_t port;
	bool v6;
	uint8_t addr6[16];
};

struct stun_msg {
	uint16_t type;
	uint8_t txid[12];
	struct stun_addr mapped, xor_mapped, response_origin, other_address;
	bool has_change;
	uint8_t change;                /* STUN_CHANGE_IP | STUN_CHANGE_PORT */
	bool has_response_port;
	uint16_t response_port;
	bool has_error;
	uint16_t error_code;           /* e.g. 420 */
	bool has_fingerprint;
	char software[64];
	int n_unknown;                 /* comprehension-required attributes we do not know */
	uint16_t unknown[STUN_MAX_UNKNOWN];
	uint16_t padding;              /* PADDING's length (RFC 5780 §7.6): seen, or to send */
	int n_listed;                  /* UNKNOWN-ATTRIBUTES (in a 420 answer) */
	uint16_t listed[STUN_MAX_UNKNOWN];
};

/* Does buf look like STUN (top bits zero, magic cookie)? */
bool stun_is_stun(const uint8_t *buf, size_t len);
/* Decode a message. -EINVAL with *why set (static text) on anything malformed:
 * bad header, length, attribute overrun, bad address family, bad fingerprint. */
int stun_decode(const uint8_t *buf, size_t len, struct stun_msg *m, const char **why);
/* Encode m (attributes that are set) with a FINGERPRINT; returns the length,
 * or 0 if cap is too small. */
size_t stun_encode(const struct stun_msg *m, uint8_t *buf, size_t cap);
/* CRC-32 as FINGERPRINT uses it (before the XOR). */
uint32_t stun_crc32(const uint8_t *buf, size_t len);
struct sockaddr_storage;
/* a as a socket address (its length), and back (set, its family's). */
unsigned stun_addr_to_sockaddr(const struct stun_addr *a, struct sockaddr_storage *ss);
struct stun_addr stun_addr_from_sockaddr(const struct sockaddr_storage *ss);
/* Same family, address and port. */
bool stun_addr_equal(const struct stun_addr *a, const struct stun_addr *b);
/* "192.0.2.1:3478" or "[2001:db8::1]:3478" into buf (at least 56 bytes). */
const char *stun_addr_text(const struct stun_addr *a, char *buf, size_t len);
/* The address alone ("2001:db8::1"), into buf (at least 46 bytes). */
const char *stun_addr_ip_text(const struct stun_addr *a, char *buf, size_t len);
/* A UDP socket of a's family bound to a (an IPv6 one IPv6 only; reuse:
 * SO_REUSEADDR); a negative errno. */
int stun_socket_bound(const struct stun_addr *a, bool reuse);
/* The address a response reports: XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS. */
const struct stun_addr *stun_reflexive(const struct stun_msg *m);

#endif
