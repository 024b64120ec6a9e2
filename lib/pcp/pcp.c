#include "pcp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define HEADER_SIZE 24
#define R_BIT 0x80

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

void pcp_v4_mapped(uint32_t addr, struct in6_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->s6_addr[10] = a->s6_addr[11] = 0xff;
	memcpy(&a->s6_addr[12], &addr, 4);
}

bool pcp_v4_of(const struct in6_addr *a, uint32_t *addr)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (memcmp(a->s6_addr, prefix, sizeof(prefix)))
		return false;
	memcpy(addr, &a->s6_addr[12], 4);
	return true;
}

int pcp_map_encode(const struct pcp_map *req, uint8_t *buf, size_t len)
{
	size_t n = PCP_MAP_SIZE + (req->prefer_failure ? 4 : 0);

	if (len < n)
		return -ENOSPC;
	memset(buf, 0, n);
	buf[0] = PCP_VERSION;
	buf[1] = PCP_OP_MAP;
	put32(buf + 4, req->lifetime);
	memcpy(buf + 8, req->client.s6_addr, 16);
	memcpy(buf + 24, req->nonce, PCP_NONCE_SIZE);
	buf[36] = req->protocol;
	put16(buf + 40, req->internal_port);
	put16(buf + 42, req->external_port);
	memcpy(buf + 44, req->external.s6_addr, 16);
	if (req->prefer_failure)
		buf[60] = PCP_OPTION_PREFER_FAILURE;   /* no data: length 0 */
	return (int)n;
}

int pcp_answer_encode(const struct pcp_answer *ans, uint8_t *buf, size_t len)
{
	size_t n = ans->opcode == PCP_OP_MAP ? PCP_MAP_SIZE : HEADER_SIZE;

	if (len < n)
		return -ENOSPC;
	memset(buf, 0, n);
	buf[0] = PCP_VERSION;
	buf[1] = (uint8_t)(R_BIT | ans->opcode);
	buf[3] = ans->result;
	put32(buf + 4, ans->lifetime);
	put32(buf + 8, ans->epoch);
	if (ans->opcode == PCP_OP_MAP) {
		memcpy(buf + 24, ans->map.nonce, PCP_NONCE_SIZE);
		buf[36] = ans->map.protocol;
		put16(buf + 40, ans->map.internal_port);
		put16(buf + 42, ans->map.external_port);
		memcpy(buf + 44, ans->map.external.s6_addr, 16);
	}
	return (int)n;
}

static int bad(char *err, size_t errlen, const char *what, size_t len)
{
	snprintf(err, errlen, "not a PCP answer (%zu bytes): %s", len, what);
	return -EINVAL;
}

/* Options after the opcode's fields: each a code, a reserved byte, a
 * length and its data padded to 4 bytes, all inside the message. */
static int check_options(const uint8_t *p, size_t len, char *err, size_t errlen, size_t total)
{
	while (len) {
		size_t olen, padded;
		if (len < 4)
			return bad(err, errlen, "an option's header is cut short", total);
		olen = get16(p + 2);
		padded = (olen + 3) & ~(size_t)3;
		if (padded > len - 4) {
			snprintf(err, errlen, "not a PCP answer (%zu bytes): option %u says %zu bytes, %zu are left", total,
				 p[0], olen, len - 4);
			return -EINVAL;
		}
		p += 4 + padded;
		len -= 4 + padded;
	}
	return 0;
}

int pcp_answer_parse(const uint8_t *buf, size_t len, struct pcp_answer *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (len < 2)
		return bad(err, errlen, "too short for a version and an opcode", len);
	if (buf[0] == 0) {
		/* A NAT-PMP server (RFC 6886 §3.5): version 0, 128 + the opcode,
		 * a 16-bit result (1: unsupported version, for our PCP request),
		 * its epoch. */
		if (len < 8)
			return bad(err, errlen, "a NAT-PMP answer is at least 8 bytes", len);
		if (!(buf[1] & R_BIT))
			return bad(err, errlen, "a NAT-PMP request, not an answer", len);
		out->version = 0;
		out->opcode = buf[1] & ~R_BIT;
		out->result = get16(buf + 2) > 255 ? 255 : (uint8_t)get16(buf + 2);
		out->epoch = get32(buf + 4);
		return 0;
	}
	if (buf[0] != PCP_VERSION) {
		snprintf(err, errlen, "not a PCP answer (%zu bytes): version %u (PCP is 2, NAT-PMP 0)", len, buf[0]);
		return -EINVAL;
	}
	if (len < HEADER_SIZE)
		return bad(err, errlen, "shorter than PCP's 24-byte header", len);
	if (len > PCP_MAX_SIZE)
		return bad(err, errlen, "longer than PCP's 1100 bytes", len);
	if (len % 4)
		return bad(err, errlen, "not a multiple of 4 bytes", len);
	if (!(buf[1] & R_BIT))
		return bad(err, errlen, "a request (the R bit is clear), not an answer", len);
	out->version = PCP_VERSION;
	out->opcode = buf[1] & ~R_BIT;
	out->result = buf[3];
	out->lifetime = get32(buf + 4);
	out->epoch = get32(buf + 8);
	if (out->opcode != PCP_OP_MAP)
		return 0;   /* ANNOUNCE and PEER: the header is all we read */
	if (len < PCP_MAP_SIZE) {
		if (out->result == PCP_SUCCESS)
			return bad(err, errlen, "a successful MAP answer without MAP's 36 bytes", len);
		return 0;   /* an error may come with the header alone */
	}
	memcpy(out->map.nonce, buf + 24, PCP_NONCE_SIZE);
	out->map.protocol = buf[36];
	out->map.internal_port = get16(buf + 40);
	out->map.external_port = get16(buf + 42);
	memcpy(out->map.external.s6_addr, buf + 44, 16);
	out->map.lifetime = out->lifetime;
	/* a removal's answer (lifetime 0) may leave the port out */
	if (out->result == PCP_SUCCESS && out->lifetime && !out->map.external_port)
		return bad(err, errlen, "a mapping granted without an external port (0)", len);
	return check_options(buf + PCP_MAP_SIZE, len - PCP_MAP_SIZE, err, errlen, len);
}

bool pcp_answer_is_for(const struct pcp_answer *ans, const struct pcp_map *req)
{
	return ans->version == PCP_VERSION && ans->opcode == PCP_OP_MAP &&
	       !memcmp(ans->map.nonce, req->nonce, PCP_NONCE_SIZE) && ans->map.protocol == req->protocol &&
	       ans->map.internal_port == req->internal_port;
}

const char *pcp_result_name(uint8_t result)
{
	static const char *const names[] = {
		[PCP_SUCCESS] = "SUCCESS",
		[PCP_UNSUPP_VERSION] = "UNSUPP_VERSION",
		[PCP_NOT_AUTHORIZED] = "NOT_AUTHORIZED",
		[PCP_MALFORMED_REQUEST] = "MALFORMED_REQUEST",
		[PCP_UNSUPP_OPCODE] = "UNSUPP_OPCODE",
		[PCP_UNSUPP_OPTION] = "UNSUPP_OPTION",
		[PCP_MALFORMED_OPTION] = "MALFORMED_OPTION",
		[PCP_NETWORK_FAILURE] = "NETWORK_FAILURE",
		[PCP_NO_RESOURCES] = "NO_RESOURCES",
		[PCP_UNSUPP_PROTOCOL] = "UNSUPP_PROTOCOL",
		[PCP_USER_EX_QUOTA] = "USER_EX_QUOTA",
		[PCP_CANNOT_PROVIDE_EXTERNAL] = "CANNOT_PROVIDE_EXTERNAL",
		[PCP_ADDRESS_MISMATCH] = "ADDRESS_MISMATCH",
		[PCP_EXCESSIVE_REMOTE_PEERS] = "EXCESSIVE_REMOTE_PEERS",
	};

	return result < sizeof(names) / sizeof(names[0]) ? names[result] : "unknown";
}
