/* The Internet checksum (RFC 1071), for whoever builds or checks packets:
 * the WireGuard offload path (ref/wg) and the conformance prober
 * (harness/conform). */
#ifndef PL_CSUM_H
#define PL_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add buf's 16-bit big-endian words (an odd last byte padded with zero)
 * to sum, unfolded: for pseudo-headers and checksums built in parts. */
uint32_t csum_add(const uint8_t *buf, size_t len, uint32_t sum);
/* The checksum of buf, starting from sum: added, folded, complemented. */
uint16_t csum_inet(const uint8_t *buf, size_t len, uint32_t sum);

#endif
