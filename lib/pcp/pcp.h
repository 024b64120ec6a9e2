/* The Port Control Protocol (RFC 6887): MAP requests, and the answers a
 * router gives, as bytes. No Debian library speaks PCP (libnatpmp speaks
 * its predecessor, NAT-PMP, RFC 6886), so this small codec is ours; the
 * agent asks a router for a mapping with it, and nat-check asks whether a
 * router answers. Addresses are IPv6 on the wire, IPv4 as ::ffff:a.b.c.d. */
#ifndef PL_PCP_H
#define PL_PCP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCP_PORT 5351           /* the server's (and NAT-PMP's) port */
#define PCP_VERSION 2
#define PCP_MAX_SIZE 1100       /* RFC 6887 §7: no message is longer */
#define PCP_MAP_SIZE 60         /* the common header (24) and MAP's (36) */
#define PCP_NONCE_SIZE 12

enum pcp_opcode {
	PCP_OP_ANNOUNCE = 0,
	PCP_OP_MAP = 1,
	PCP_OP_PEER = 2,
};

/* RFC 6887 §7.4. */
enum pcp_result {
	PCP_SUCCESS = 0,
	PCP_UNSUPP_VERSION = 1,
	PCP_NOT_AUTHORIZED = 2,
	PCP_MALFORMED_REQUEST = 3,
	PCP_UNSUPP_OPCODE = 4,
	PCP_UNSUPP_OPTION = 5,
	PCP_MALFORMED_OPTION = 6,
	PCP_NETWORK_FAILURE = 7,
	PCP_NO_RESOURCES = 8,
	PCP_UNSUPP_PROTOCOL = 9,
	PCP_USER_EX_QUOTA = 10,
	PCP_CANNOT_PROVIDE_EXTERNAL = 11,
	PCP_ADDRESS_MISMATCH = 12,
	PCP_EXCESSIVE_REMOTE_PEERS = 13,
};

#define PCP_OPTION_PREFER_FAILURE 2

struct pcp_map {
	uint32_t lifetime;              /* seconds: asked for (0 deletes), or granted */
	struct in6_addr client;         /* the client's own address, as it sent from */
	uint8_t nonce[PCP_NONCE_SIZE];  /* the client's; the answer must carry it back */
	uint8_t protocol;               /* IPPROTO_UDP, IPPROTO_TCP (0: all) */
	uint16_t internal_port;         /* host order */
	uint16_t external_port;         /* suggested (0: any), or assigned */
	struct in6_addr external;       /* suggested (:: or ::ffff:0.0.0.0: any), or assigned */
	bool prefer_failure;            /* a request: the suggestion or nothing */
};

struct pcp_answer {
	uint8_t version;                /* 2; 0 when a NAT-PMP-only server answered */
	uint8_t opcode;
	uint8_t result;                 /* enum pcp_result; NAT-PMP's own code when version is 0 */
	uint32_t lifetime;
	uint32_t epoch;                 /* the server's epoch: a jump back means it lost its mappings */
	struct pcp_map map;             /* a MAP answer's fields (lifetime as above) */
};

/* A MAP request into buf; returns its length, or -ENOSPC. */
int pcp_map_encode(const struct pcp_map *req, uint8_t *buf, size_t len);
/* An answer from a PCP (or NAT-PMP) server. Returns 0, or -EINVAL with
 * what is wrong in err (never reads past len). */
int pcp_answer_parse(const uint8_t *buf, size_t len, struct pcp_answer *out, char *err, size_t errlen);
/* An answer as a server writes it (a MAP answer carries ans->map; others
 * the header alone); returns its length, or -ENOSPC. The lab's tests and
 * fuzzer use it to hold the parser to the same layout. */
int pcp_answer_encode(const struct pcp_answer *ans, uint8_t *buf, size_t len);
/* The answer is to req: a MAP answer with req's nonce, protocol and
 * internal port. */
bool pcp_answer_is_for(const struct pcp_answer *ans, const struct pcp_map *req);
/* "SUCCESS", "NO_RESOURCES", ... ("unknown" past the RFC's list). */
const char *pcp_result_name(uint8_t result);
/* IPv4 in the wire's form, ::ffff:a.b.c.d (addr in network order), and back
 * (false when a is not IPv4-mapped). */
void pcp_v4_mapped(uint32_t addr, struct in6_addr *a);
bool pcp_v4_of(const struct in6_addr *a, uint32_t *addr);

#endif
