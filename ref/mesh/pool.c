#include "pool.h"
#include "../wg/blake2s.h"

#include <arpa/inet.h>
#include <string.h>

uint32_t mesh_pool_v4(uint32_t pool, uint8_t plen, const uint8_t key[static WG_KEY_LEN], uint32_t attempt)
{
	uint8_t h[8];
	uint32_t size = plen >= 31 ? 2 : 1u << (32 - plen), host;

	blake2s(h, sizeof(h), NULL, 0, key, WG_KEY_LEN);
	host = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	/* 1 .. size-2: neither the network nor the broadcast address. */
	host = 1 + (host + attempt) % (size > 2 ? size - 2 : 1);
	return htonl(ntohl(pool) + host);
}

void mesh_pool_v6(const uint8_t pool[static 16], uint8_t plen, const uint8_t key[static WG_KEY_LEN], uint8_t out[static 16])
{
	uint8_t h[16];

	blake2s(h, sizeof(h), (const uint8_t *)"punchlab-v6", 11, key, WG_KEY_LEN);
	for (int i = 0; i < 16; i++) {
		int bits = plen - i * 8;
		uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
		out[i] = (uint8_t)((pool[i] & mask) | (h[i] & ~mask));
	}
	if (out[15] == 0)
		out[15] = 1;
}
