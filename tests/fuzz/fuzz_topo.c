/* libFuzzer: the topology parser never crashes and always explains a refusal. */
#include "topo/topo.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct topo t;
	char err[512];

	err[0] = '\0';
	if (topo_parse("fuzz", (const char *)data, size, "fuzz.topo", &t, err, sizeof(err)) && !err[0])
		abort();
	return 0;
}
