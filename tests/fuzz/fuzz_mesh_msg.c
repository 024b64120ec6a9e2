/* libFuzzer: every parser of the mesh's messages (control bodies of each
 * type, sealed messages, relay frames) refuses bad bytes with a reason and
 * never crashes (session messages, COOKIE and COOKIED too). The first byte picks the type for
 * the body parser. */
#include "mesh/proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[32] = { 1, 2, 3 }, priv[32] = { 4, 5, 6 };
	struct mesh_msg m;
	char why[160];
	const uint8_t *token, *pkt;
	uint32_t id;
	size_t len;
	uint8_t type, out[MESH_MAX_MSG];

	if (size < 1)
		return 0;
	why[0] = '\0';
	if (mesh_msg_decode(data[0], data + 1, size - 1, &m, why, sizeof(why))) {
		if (!why[0])
			abort();
	} else {
		/* What parses encodes again, and parses to the same length. */
		int n = mesh_msg_encode(&m, out, sizeof(out));
		if (n < 0 || (size_t)n > size - 1)
			abort();
	}
	why[0] = '\0';
	if (mesh_receive(data, size, priv, key, &m, why, sizeof(why)) && !why[0])
		abort();
	mesh_check(data, size, key, &type);
	{
		const uint8_t *sid;
		why[0] = '\0';
		if (!mesh_session_sid(data, size, &sid) && mesh_session_open(data, size, key, &m, why, sizeof(why)) && !why[0])
			abort();
	}
	mesh_relay_parse(data, size, &token, &id, &pkt, &len);
	mesh_relayed_parse(data, size, &id, &pkt, &len);
	{
		/* COOKIE and COOKIED: the inner message lies within the input
		 * and is a REGISTER's shape. */
		uint8_t cookie[MESH_COOKIE_LEN] = { 0 };
		const uint8_t *inner;
		size_t inner_len;
		mesh_cookie_open(data, size, key, size >= MESH_MAC1_LEN ? data + size - MESH_MAC1_LEN : key, cookie);
		if (!mesh_cookied_inner(data, size, &inner, &inner_len)) {
			if (inner < data || inner + inner_len > data + size || inner_len < MESH_CONTROL_OVERHEAD ||
			    inner[3] != MESH_REGISTER)
				abort();
			mesh_cookied_ok(data, size, cookie);
		}
	}
	return 0;
}
