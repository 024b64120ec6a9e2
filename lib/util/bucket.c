#include "bucket.h"

#include <netinet/in.h>
#include <string.h>

void bucket_fill(struct bucket *b, double burst, double per_s, uint64_t now_ms)
{
	b->tokens = b->at_ms ? b->tokens + (double)(now_ms - b->at_ms) * per_s / 1000.0 : burst;
	if (b->tokens > burst)
		b->tokens = burst;
	b->at_ms = now_ms ? now_ms : 1;
}

bool bucket_take(struct bucket *b, double burst, double per_s, uint64_t now_ms)
{
	bucket_fill(b, burst, per_s, now_ms);
	if (b->tokens < 1)
		return false;
	b->tokens -= 1;
	return true;
}

bool bucket_take_both(struct bucket *a, struct bucket *b)
{
	if (a->tokens < 1 || b->tokens < 1)
		return false;
	a->tokens -= 1;
	b->tokens -= 1;
	return true;
}

void bucket_addr_sockaddr(const struct sockaddr *sa, uint8_t key[16])
{
	if (sa->sa_family == AF_INET6) {
		/* its /64: a host may take any address of its prefix */
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 8);
		memset(key + 8, 0, 8);
	} else
		bucket_addr_ipv4(((const struct sockaddr_in *)sa)->sin_addr.s_addr, key);
}

void bucket_addr_ipv4(uint32_t addr, uint8_t key[16])
{
	memset(key, 0, 10);
	key[10] = key[11] = 0xff;
	memcpy(key + 12, &addr, 4);
}

struct bucket *bucket_for(struct bucket_slot *table, int n, const uint8_t addr[16], double burst, double per_s,
			  uint64_t now_ms)
{
	struct bucket_slot *s = NULL, *oldest = &table[0];

	for (int i = 0; i < n && !s; i++) {
		if (table[i].b.at_ms && !memcmp(table[i].addr, addr, 16))
			s = &table[i];
		else if (table[i].b.at_ms < oldest->b.at_ms)
			oldest = &table[i];
	}
	if (!s) {
		s = oldest;
		memcpy(s->addr, addr, 16);
		s->b.at_ms = 0; /* a new address: full */
	}
	bucket_fill(&s->b, burst, per_s, now_ms);
	return &s->b;
}
