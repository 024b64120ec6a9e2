/* libFuzzer: the NAT model parser never crashes and always explains a refusal. */
#include "nat/model.h"
#include "nat/plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nat_model m;
	static struct nat_plan plan;
	struct nat_context ctx = { .public_addr = 0x0200710b, .n_subscribers = 2, .subscribers = { 0x02004064, 0x03004064 } };
	char err[512];

	if (nat_model_parse("fuzz", (const char *)data, size, "fuzz.nat", &m, err, sizeof(err))) {
		if (!err[0])
			abort();
		return 0;
	}
	/* A model that parses must also compile (or refuse with a reason). */
	err[0] = '\0';
	if (nat_plan_compile(&m, &ctx, &plan, err, sizeof(err)) && !err[0])
		abort();
	/* and its IPv6 side, on one LAN prefix */
	ctx.n_prefixes6 = 1;
	ctx.inside6[0][0] = 0xfd;
	ctx.outside6[0][0] = 0x20;
	if (nat_plan_compile6(&m, &ctx, &plan, err, sizeof(err)) || (m.ipv6 == NAT_IPV6_NONE) != (plan.n_rules == 0))
		abort();
	return 0;
}
