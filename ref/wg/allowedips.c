/* An uncompressed binary trie per family: one node per prefix bit. Simple
 * to reason about; lookups cost at most 32 or 128 steps. */
#include "allowedips.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct wg_trie_node {
	struct wg_trie_node *child[2];
	void *peer;          /* owner of the prefix ending here, or NULL */
};

void wg_allowedips_init(struct wg_allowedips *t)
{
	t->root4 = t->root6 = NULL;
}

static int addr_bit(const uint8_t *addr, unsigned i)
{
	return (addr[i / 8] >> (7 - i % 8)) & 1;
}

int wg_allowedips_insert(struct wg_allowedips *t, int family, const uint8_t *addr, uint8_t cidr, void *peer)
{
	struct wg_trie_node **slot = family == 4 ? &t->root4 : &t->root6;
	unsigned bits = family == 4 ? 32 : 128;

	if ((family != 4 && family != 6) || cidr > bits || !peer)
		return -EINVAL;
	for (unsigned i = 0;; i++) {
		if (!*slot && !(*slot = calloc(1, sizeof(**slot))))
			return -ENOMEM;
		if (i == cidr)
			break;
		slot = &(*slot)->child[addr_bit(addr, i)];
	}
	(*slot)->peer = peer;
	return 0;
}

void *wg_allowedips_lookup(const struct wg_allowedips *t, int family, const uint8_t *addr)
{
	const struct wg_trie_node *n = family == 4 ? t->root4 : t->root6;
	unsigned bits = family == 4 ? 32 : 128;
	void *best = NULL;

	for (unsigned i = 0; n; i++) {
		if (n->peer)
			best = n->peer;
		if (i == bits)
			break;
		n = n->child[addr_bit(addr, i)];
	}
	return best;
}

/* Drop peer's prefixes below n; prune nodes left empty. Returns n or NULL. */
static struct wg_trie_node *remove_peer(struct wg_trie_node *n, void *peer)
{
	if (!n)
		return NULL;
	if (n->peer == peer)
		n->peer = NULL;
	n->child[0] = remove_peer(n->child[0], peer);
	n->child[1] = remove_peer(n->child[1], peer);
	if (!n->peer && !n->child[0] && !n->child[1]) {
		free(n);
		return NULL;
	}
	return n;
}

void wg_allowedips_remove_peer(struct wg_allowedips *t, void *peer)
{
	t->root4 = remove_peer(t->root4, peer);
	t->root6 = remove_peer(t->root6, peer);
}

static void walk(const struct wg_trie_node *n, void *peer, int family, uint8_t *addr, unsigned depth,
		 void (*fn)(void *, int, const uint8_t *, uint8_t), void *ctx)
{
	if (!n)
		return;
	if (n->peer == peer)
		fn(ctx, family, addr, (uint8_t)depth);
	for (int b = 0; b < 2; b++) {
		if (!n->child[b])
			continue;
		if (b)
			addr[depth / 8] |= (uint8_t)(0x80 >> (depth % 8));
		walk(n->child[b], peer, family, addr, depth + 1, fn, ctx);
		addr[depth / 8] &= (uint8_t)~(0x80 >> (depth % 8));
	}
}

void wg_allowedips_walk(const struct wg_allowedips *t, void *peer,
			void (*fn)(void *ctx, int family, const uint8_t *addr, uint8_t cidr), void *ctx)
{
	uint8_t addr[16] = { 0 };

	walk(t->root4, peer, 4, addr, 0, fn, ctx);
	memset(addr, 0, sizeof(addr));
	walk(t->root6, peer, 6, addr, 0, fn, ctx);
}

static void free_node(struct wg_trie_node *n)
{
	if (!n)
		return;
	free_node(n->child[0]);
	free_node(n->child[1]);
	free(n);
}

void wg_allowedips_free(struct wg_allowedips *t)
{
	free_node(t->root4);
	free_node(t->root6);
	t->root4 = t->root6 = NULL;
}
