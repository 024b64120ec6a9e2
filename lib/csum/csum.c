#include "csum.h"

uint32_t csum_add(const uint8_t *buf, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(buf[i] << 8 | buf[i + 1]);
	if (i < len)
		sum += (uint32_t)buf[i] << 8;
	return sum;
}

uint16_t csum_inet(const uint8_t *buf, size_t len, uint32_t sum)
{
	sum = csum_add(buf, len, sum);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}
