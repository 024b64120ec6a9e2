/* Token buckets: every rate limit the mesh and the lab keep (the
 * introducer's joins, X25519s and relay bytes, the STUN server's answers
 * per source). A bucket holds at most `burst` tokens and gains `per_s` a
 * second; a table of them keyed by source address holds one per address
 * it has seen lately, the least recently used slot reused. */
#ifndef PL_UTIL_BUCKET_H
#define PL_UTIL_BUCKET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct bucket {
	double tokens;
	uint64_t at_ms;   /* 0: never used, so full */
};

/* Bring b up to now_ms (milliseconds on any monotonic clock). */
void bucket_fill(struct bucket *b, double burst, double per_s, uint64_t now_ms);
/* Fill b, then take one token if there is one. */
bool bucket_take(struct bucket *b, double burst, double per_s, uint64_t now_ms);
/* A token from each of two filled buckets (a budget in all and one of
 * its share), or from neither when either has none. */
bool bucket_take_both(struct bucket *a, struct bucket *b);

/* An address as 16 bytes: IPv6 as it is, IPv4 as ::ffff:a.b.c.d. */
struct bucket_slot {
	uint8_t addr[16];
	struct bucket b;  /* at_ms 0: a free slot */
};
void bucket_addr_ipv4(uint32_t addr, uint8_t key[16]);   /* addr in network order */
/* The same for a socket address (AF_INET; AF_INET6 by its /64, which one
 * party may fill with as many addresses as it likes). */
void bucket_addr_sockaddr(const struct sockaddr *sa, uint8_t key[16]);

/* ADDR's bucket in table (n slots), filled up to now_ms; a new address
 * takes the least recently used slot, full. */
struct bucket *bucket_for(struct bucket_slot *table, int n, const uint8_t addr[16], double burst, double per_s,
			  uint64_t now_ms);

#endif
