/* toynat's packet translation (a test NAT, but it reads packets off the
 * wire): any bytes, either direction, never a crash or a read past them. */
#define TOYNAT_NO_MAIN
#include "../tools/toynat.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct toynat t = { .wan_addr = 0x0271cbcb, .timeout_s = 30, .hold_down_s = 10, .port_min = 1024, .port_max = 2047, .outbound_refresh = true };
	static uint8_t pkt[65536];
	const char *why;

	if (size < 1 || size - 1 > sizeof(pkt))
		return 0;
	memcpy(pkt, data + 1, size - 1);
	toynat_translate(&t, pkt, size - 1, data[0] & 1, (uint64_t)(data[0] >> 1) * 1000, &why);
	return 0;
}
