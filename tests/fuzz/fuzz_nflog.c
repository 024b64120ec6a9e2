/* libFuzzer: what a netlink log socket reads (nflog_parse), as the runner
 * takes it from the kernel for each probe's packets. Nothing may crash or
 * read past the datagram; each packet passed on has a prefix that ends. */
#include "nl/nflog.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long packets;

static void report(void)
{
	fprintf(stderr, "fuzz_nflog reached: %lu packets passed on\n", packets);
}

static void count(const char *prefix, void *arg)
{
	(void)arg;
	if (strlen(prefix) > 65535)
		abort();
	packets++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	/* netlink messages are 4-byte aligned in a socket's buffer */
	void *copy = aligned_alloc(4, size ? (size + 3) / 4 * 4 : 4);

	if (!ready) {
		atexit(report);
		ready = 1;
	}
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	nflog_parse(copy, size, count, NULL);
	free(copy);
	return 0;
}
