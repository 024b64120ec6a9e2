/* Cryptokey routing: which peer owns an inner address (longest prefix
 * match over IPv4 and IPv6 allowed IPs; WireGuard paper §2). */
#ifndef PL_WG_ALLOWEDIPS_H
#define PL_WG_ALLOWEDIPS_H

#include <stdbool.h>
#include <stdint.h>

struct wg_trie_node;

struct wg_allowedips {
	struct wg_trie_node *root4, *root6;
};

void wg_allowedips_init(struct wg_allowedips *t);
/* Give ADDR/CIDR (family 4 or 6; addr in network order, 4 or 16 bytes) to
 * peer, taking it from whoever had it. -EINVAL for a bad cidr, -ENOMEM. */
int wg_allowedips_insert(struct wg_allowedips *t, int family, const uint8_t *addr, uint8_t cidr, void *peer);
/* The peer for an address, NULL if none. */
void *wg_allowedips_lookup(const struct wg_allowedips *t, int family, const uint8_t *addr);
/* Remove every prefix of peer. */
void wg_allowedips_remove_peer(struct wg_allowedips *t, void *peer);
/* Call fn for each prefix of peer (for `wg show`). */
void wg_allowedips_walk(const struct wg_allowedips *t, void *peer,
			void (*fn)(void *ctx, int family, const uint8_t *addr, uint8_t cidr), void *ctx);
void wg_allowedips_free(struct wg_allowedips *t);

#endif
