/* Test equipment for conform's TCP simultaneous open: a table of its own
 * ("plsyn") on the outside server that drops pure SYNs to one port, so the
 * inside host's SYN opens the NAT without reaching the server, and the
 * server's own SYN must then cross the NAT to meet it. */
#ifndef PL_NL_NFTSYN_H
#define PL_NL_NFTSYN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NFTSYN_TABLE "plsyn"

/* on: drop incoming TCP with SYN and without ACK to PORT (host order);
 * off: remove the table. One batch. */
int nftsyn_drop(const char *netns, uint16_t port, bool on, char *err, size_t errlen);

#endif
