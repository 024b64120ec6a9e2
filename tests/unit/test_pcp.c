/* The PCP codec (RFC 6887): a MAP request byte for byte, the answers a
 * router gives (and a NAT-PMP-only router's), and every malformed answer
 * refused with what is wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "pcp/pcp.h"
#include "portmap/portmap.h"

static struct pcp_map request(void)
{
	struct pcp_map m;

	memset(&m, 0, sizeof(m));
	m.lifetime = 7200;
	pcp_v4_mapped(inet_addr("10.1.0.2"), &m.client);
	for (int i = 0; i < PCP_NONCE_SIZE; i++)
		m.nonce[i] = (uint8_t)(0xa0 + i);
	m.protocol = 17;
	m.internal_port = 51820;
	m.external_port = 51820;
	pcp_v4_mapped(0, &m.external);
	return m;
}

static void a_map_request_is_laid_out_as_the_rfc_says(void **state)
{
	struct pcp_map m = request();
	uint8_t buf[PCP_MAX_SIZE];
	static const uint8_t want[PCP_MAP_SIZE] = {
		2, 1, 0, 0, 0, 0, 0x1c, 0x20,                                    /* version, MAP, lifetime 7200 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 0, 2,           /* client ::ffff:10.1.0.2 */
		0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, /* nonce */
		17, 0, 0, 0, 0xca, 0x6c, 0xca, 0x6c,                             /* UDP, ports 51820 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0,            /* any external address */
	};

	(void)state;
	assert_int_equal(pcp_map_encode(&m, buf, sizeof(buf)), PCP_MAP_SIZE);
	assert_memory_equal(buf, want, sizeof(want));
	m.prefer_failure = true;
	assert_int_equal(pcp_map_encode(&m, buf, sizeof(buf)), PCP_MAP_SIZE + 4);
	assert_int_equal(buf[60], PCP_OPTION_PREFER_FAILURE);
	assert_int_equal(buf[62] << 8 | buf[63], 0);
	assert_int_equal(pcp_map_encode(&m, buf, PCP_MAP_SIZE), -ENOSPC);
}

static void a_router_s_answer_reads_back_and_matches_its_request(void **state)
{
	struct pcp_map m = request();
	struct pcp_answer ans, back;
	uint8_t buf[PCP_MAX_SIZE];
	char err[200];
	uint32_t ext;
	int n;

	(void)state;
	memset(&ans, 0, sizeof(ans));
	ans.opcode = PCP_OP_MAP;
	ans.result = PCP_SUCCESS;
	ans.lifetime = 3600;
	ans.epoch = 42;
	ans.map = m;
	ans.map.external_port = 40001;
	pcp_v4_mapped(inet_addr("203.0.113.1"), &ans.map.external);
	assert_int_equal(n = pcp_answer_encode(&ans, buf, sizeof(buf)), PCP_MAP_SIZE);
	assert_int_equal(buf[1], 0x81);   /* R bit, MAP */
	assert_int_equal(pcp_answer_parse(buf, (size_t)n, &back, err, sizeof(err)), 0);
	assert_int_equal(back.version, 2);
	assert_int_equal(back.result, PCP_SUCCESS);
	assert_int_equal(back.lifetime, 3600);
	assert_int_equal(back.epoch, 42);
	assert_int_equal(back.map.external_port, 40001);
	assert_true(pcp_v4_of(&back.map.external, &ext));
	assert_int_equal(ext, inet_addr("203.0.113.1"));
	assert_true(pcp_answer_is_for(&back, &m));
	/* Another request's nonce, protocol or port: not this one's answer. */
	m.nonce[0] ^= 1;
	assert_false(pcp_answer_is_for(&back, &m));
	m.nonce[0] ^= 1;
	m.internal_port++;
	assert_false(pcp_answer_is_for(&back, &m));
	/* Options after the MAP fields are walked, and must fit. */
	memcpy(buf + n, (uint8_t[]){ PCP_OPTION_PREFER_FAILURE, 0, 0, 0, 0x80, 0, 0, 4, 1, 2, 3, 4 }, 12);
	assert_int_equal(pcp_answer_parse(buf, (size_t)n + 12, &back, err, sizeof(err)), 0);
	buf[n + 7] = 8;
	assert_int_equal(pcp_answer_parse(buf, (size_t)n + 12, &back, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "option 128 says 8 bytes, 4 are left"));
}

static void errors_and_a_nat_pmp_router_are_told_apart(void **state)
{
	/* NAT-PMP (RFC 6886) answering our version 2: unsupported version. */
	static const uint8_t natpmp[] = { 0, 0x81, 0, 1, 0, 0, 0x10, 0 };
	struct pcp_answer ans;
	uint8_t buf[PCP_MAX_SIZE];
	char err[200];

	(void)state;
	assert_int_equal(pcp_answer_parse(natpmp, sizeof(natpmp), &ans, err, sizeof(err)), 0);
	assert_int_equal(ans.version, 0);
	assert_int_equal(ans.result, 1);
	assert_int_equal(ans.epoch, 0x1000);
	assert_false(pcp_answer_is_for(&ans, &(struct pcp_map){ 0 }));
	/* A PCP error may come with the header alone. */
	memset(&ans, 0, sizeof(ans));
	ans.opcode = PCP_OP_MAP;
	ans.result = PCP_NOT_AUTHORIZED;
	assert_int_equal(pcp_answer_encode(&ans, buf, sizeof(buf)), PCP_MAP_SIZE);
	assert_int_equal(pcp_answer_parse(buf, 24, &ans, err, sizeof(err)), 0);
	assert_int_equal(ans.result, PCP_NOT_AUTHORIZED);
	assert_string_equal(pcp_result_name(ans.result), "NOT_AUTHORIZED");
	assert_string_equal(pcp_result_name(PCP_EXCESSIVE_REMOTE_PEERS), "EXCESSIVE_REMOTE_PEERS");
	assert_string_equal(pcp_result_name(200), "unknown");
}

static void malformed_answers_are_refused_saying_why(void **state)
{
	static const struct {
		size_t len;
		void (*spoil)(uint8_t *b);
		const char *why;
	} cases[] = {
		{ 1, NULL, "too short for a version and an opcode" },
		{ 6, NULL, "" },   /* spoiled below: a NAT-PMP answer cut short */
		{ 20, NULL, "shorter than PCP's 24-byte header" },
		{ 1104, NULL, "longer than PCP's 1100 bytes" },
		{ 62, NULL, "not a multiple of 4 bytes" },
		{ 40, NULL, "a successful MAP answer without MAP's 36 bytes" },
	};
	struct pcp_answer ans;
	uint8_t buf[1200];
	char err[200];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 0, sizeof(buf));
		buf[0] = 2;
		buf[1] = 0x81;
		buf[42] = 1;
		if (i == 1)
			buf[0] = 0;
		assert_int_equal(pcp_answer_parse(buf, cases[i].len, &ans, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, i == 1 ? "a NAT-PMP answer is at least 8 bytes" : cases[i].why));
	}
	memset(buf, 0, sizeof(buf));
	buf[0] = 1;
	assert_int_equal(pcp_answer_parse(buf, 60, &ans, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "version 1 (PCP is 2, NAT-PMP 0)"));
	buf[0] = 2;
	buf[1] = 1;   /* no R bit: someone's request */
	assert_int_equal(pcp_answer_parse(buf, 60, &ans, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a request (the R bit is clear), not an answer"));
	buf[1] = 0x81;   /* success with lifetime 0: a removal's answer, which may name no port (miniupnpd's does not) */
	assert_int_equal(pcp_answer_parse(buf, 60, &ans, err, sizeof(err)), 0);
	assert_int_equal(ans.lifetime, 0);
	buf[7] = 60;   /* success for a minute, but no port */
	assert_int_equal(pcp_answer_parse(buf, 60, &ans, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a mapping granted without an external port"));
	buf[43] = 9;
	assert_int_equal(pcp_answer_parse(buf, 60, &ans, err, sizeof(err)), 0);
	assert_int_equal(pcp_answer_parse(buf, 64, &ans, err, sizeof(err)), 0);   /* an empty option */
}

/* UPnP IGD is asked only of a device whose description is at our
 * gateway: another host on the LAN answering discovery (or a URL that
 * names a host by name, another address, or nothing) is not it. */
static void upnp_is_asked_only_of_the_gateway(void **state)
{
	uint32_t gw = inet_addr("10.0.1.1");

	(void)state;
	assert_true(pmap_url_at("http://10.0.1.1:5000/rootDesc.xml", gw));
	assert_true(pmap_url_at("http://10.0.1.1/rootDesc.xml", gw));
	assert_false(pmap_url_at("http://10.0.1.7:5000/rootDesc.xml", gw));
	assert_false(pmap_url_at("http://10.0.1.10:5000/rootDesc.xml", gw));
	assert_false(pmap_url_at("http://10.0.1.1", gw));
	assert_false(pmap_url_at("https://10.0.1.1:5000/", gw));
	assert_false(pmap_url_at("http://router.lan:5000/rootDesc.xml", gw));
	assert_false(pmap_url_at("http://[fd00::1]:5000/rootDesc.xml", gw));
	assert_false(pmap_url_at("http://:5000/", gw));
	assert_false(pmap_url_at("", gw));
	assert_false(pmap_url_at(NULL, gw));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_map_request_is_laid_out_as_the_rfc_says),
		cmocka_unit_test(a_router_s_answer_reads_back_and_matches_its_request),
		cmocka_unit_test(errors_and_a_nat_pmp_router_are_told_apart),
		cmocka_unit_test(malformed_answers_are_refused_saying_why),
		cmocka_unit_test(upnp_is_asked_only_of_the_gateway),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
