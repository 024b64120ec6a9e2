/* libFuzzer: the PCP answer parser never crashes nor reads past its
 * input; a MAP answer that parses re-encodes and parses to the same
 * fields. */
#include "pcp/pcp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcp_answer ans, again;
	uint8_t *copy = malloc(size ? size : 1), out[PCP_MAX_SIZE];
	char err[200];
	int n;

	if (!copy)
		return 0;
	memcpy(copy, data, size);   /* exactly size bytes: ASan sees any read past them */
	err[0] = '\0';
	if (pcp_answer_parse(copy, size, &ans, err, sizeof(err))) {
		if (!err[0])
			abort();   /* refused without saying why */
	} else if (ans.version == PCP_VERSION && ans.opcode == PCP_OP_MAP && size >= PCP_MAP_SIZE) {
		n = pcp_answer_encode(&ans, out, sizeof(out));
		if (n != PCP_MAP_SIZE || pcp_answer_parse(out, (size_t)n, &again, err, sizeof(err)) ||
		    again.result != ans.result || again.lifetime != ans.lifetime || again.epoch != ans.epoch ||
		    memcmp(&again.map.external, &ans.map.external, sizeof(ans.map.external)) ||
		    again.map.external_port != ans.map.external_port || !pcp_answer_is_for(&again, &ans.map))
			abort();
	}
	free(copy);
	return 0;
}
