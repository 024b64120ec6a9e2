/* libFuzzer: the introducer's and the agent's configuration parsers, and
 * the allowlist, never crash and always explain a refusal. */
#include "mesh/conf.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct introducer_conf ic;
	static struct agent_conf ac;
	char err[600];

	introducer_conf_defaults(&ic);
	agent_conf_defaults(&ac);
	err[0] = '\0';
	if (introducer_conf_parse(&ic, (const char *)data, size, "fuzz", err, sizeof(err)) && !err[0])
		abort();
	err[0] = '\0';
	if (agent_conf_parse(&ac, (const char *)data, size, "fuzz", err, sizeof(err)) && !err[0])
		abort();
	introducer_conf_defaults(&ic);
	err[0] = '\0';
	if (introducer_allowlist_parse(&ic, (const char *)data, size, "fuzz", err, sizeof(err)) && !err[0])
		abort();
	return 0;
}
