/* Mesh addresses: each member's comes from a hash of its public key, so it
 * is the same after an introducer restart without any stored state. */
#ifndef PL_MESH_POOL_H
#define PL_MESH_POOL_H

#include "../wg/noise.h"

#include <stdint.h>

/* The IPv4 address (network order) for key in pool/plen; attempt 0 is the
 * key's own, higher attempts step past collisions. Never the pool's first
 * or last address. */
uint32_t mesh_pool_v4(uint32_t pool, uint8_t plen, const uint8_t key[static WG_KEY_LEN], uint32_t attempt);
/* The IPv6 address for key in pool/plen (the interface part from the hash). */
void mesh_pool_v6(const uint8_t pool[static 16], uint8_t plen, const uint8_t key[static WG_KEY_LEN], uint8_t out[static 16]);

#endif
