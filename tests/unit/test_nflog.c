/* The netlink log reader's parser (nflog_parse): each packet message
 * passes its prefix on, other messages are passed over, and a damaged
 * message or attribute is refused after what came before it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "nl/nflog.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <string.h>
#include <sys/socket.h>

static char seen[8][32];
static int n_seen;

static void note(const char *prefix, void *arg)
{
	(void)arg;
	if (n_seen < 8)
		snprintf(seen[n_seen++], sizeof(seen[0]), "%s", prefix);
}

/* One message of type (NFULNL_MSG_*) at buf, with a prefix attribute
 * unless prefix is NULL; returns its length. */
static size_t put(char *buf, uint16_t type, const char *prefix)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = (uint16_t)((NFNL_SUBSYS_ULOG << 8) | type);
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_INET;
	mnl_attr_put_u32(nlh, NFULA_MARK, 7);
	if (prefix)
		mnl_attr_put_strz(nlh, NFULA_PREFIX, prefix);
	return nlh->nlmsg_len;
}

static void each_packet_passes_its_prefix_on(void **state)
{
	static char buf[4096];
	size_t len = 0;

	(void)state;
	n_seen = 0;
	len += put(buf + len, NFULNL_MSG_PACKET, "direct-a-b");
	len += put(buf + len, NFULNL_MSG_CONFIG, "not a packet");
	len += put(buf + len, NFULNL_MSG_PACKET, NULL);
	len += put(buf + len, NFULNL_MSG_PACKET, "relay");
	assert_int_equal(nflog_parse(buf, len, note, NULL), 3);
	assert_int_equal(n_seen, 3);
	assert_string_equal(seen[0], "direct-a-b");
	assert_string_equal(seen[1], "");
	assert_string_equal(seen[2], "relay");
}

static void a_damaged_message_is_refused_after_those_before_it(void **state)
{
	static char buf[4096];
	size_t len = 0, second;
	struct nlattr *a;

	(void)state;
	n_seen = 0;
	len += put(buf + len, NFULNL_MSG_PACKET, "direct-a-b");
	second = len;
	len += put(buf + len, NFULNL_MSG_PACKET, "relay");
	/* the prefix no longer ends in its NUL */
	a = (struct nlattr *)(buf + len - MNL_ALIGN(sizeof("relay")) - MNL_ATTR_HDRLEN);
	assert_int_equal(mnl_attr_get_type(a), NFULA_PREFIX);
	memset(mnl_attr_get_payload(a), 'x', sizeof("relay"));
	assert_int_equal(nflog_parse(buf, len, note, NULL), -EBADMSG);
	assert_int_equal(n_seen, 1);
	/* a message too short for its own header: nothing from it */
	n_seen = 0;
	((struct nlmsghdr *)(buf + second))->nlmsg_len = NLMSG_HDRLEN + 2;
	assert_true(nflog_parse(buf + second, NLMSG_HDRLEN + 2, note, NULL) <= 0);
	assert_int_equal(n_seen, 0);
	assert_int_equal(nflog_parse(buf, 0, note, NULL), 0);
	/* a length past 2^31 (libmnl's walk took it for a negative one and
	 * read far past the datagram: the fuzzer found it) */
	n_seen = 0;
	len = put(buf, NFULNL_MSG_PACKET, "direct-a-b");
	len += put(buf + len, NFULNL_MSG_PACKET, "relay");
	((struct nlmsghdr *)buf)->nlmsg_len = 0xfffffff0u;
	assert_int_equal(nflog_parse(buf, len, note, NULL), -EBADMSG);
	assert_int_equal(n_seen, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_packet_passes_its_prefix_on),
		cmocka_unit_test(a_damaged_message_is_refused_after_those_before_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
