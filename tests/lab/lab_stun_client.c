/* Independent of our code: Debian's `stun` client (RFC 3489), run behind
 * each shipped model against Debian's `stund`, must classify the model as
 * its declaration says, as far as stun can see. */
#include "lab.h"

#include "util/proc.h"

#include <fcntl.h>

#define ANY (-1)

/* stun's exit code: (code & 0x0E) the class (0 open, 2 full cone,
 * 4 restricted, 6 port-restricted, 8 symmetric, 0x0C blocked), 0x01 ports
 * preserved, 0x10 no hairpin. ANY where the model does not fix a bit. */
static const struct expect {
	const char *model;
	int type, preserved, no_hairpin;
	const char *limits;
} table[] = {
	{ "full-cone", 0x02, 1, 1, NULL },
	{ "restricted-cone", 0x04, 1, 1, NULL },
	{ "port-restricted-cone", 0x06, 1, 1, NULL },
	{ "linux-masquerade", 0x06, 1, 1, "stun cannot see the unsolicited-packet quirk (lab_mapping does)" },
	{ "address-restricted-mapping", 0x08, 0, 1, "stun cannot tell address- from port-dependent mapping (lab_mapping does)" },
	{ "symmetric", 0x08, 0, 1, NULL },
	{ "symmetric-sequential", 0x08, 0, 1, "stun cannot see sequential ports (lab_mapping does)" },
	{ "cgnat", 0x06, 0, 0, NULL },
	{ "open", 0x00, 1, ANY, NULL },
	{ "udp-blocked", 0x0C, ANY, ANY, NULL },
};

static int port_taken(void *p)
{
	struct lab_sock_arg *a = p;
	int ret = lab_sock_open(a);

	if (a->fd >= 0)
		close(a->fd);
	return ret == -EADDRINUSE;
}

/* stund is up once its port is taken in its namespace. */
static void wait_for_stund(const struct lab *l)
{
	struct lab_sock_arg a = { lab_addr(l, "stun", 1), 3479, -1 };

	for (int i = 0; i < 500; i++) {
		if (netns_call(lab_ns(l, "stun"), port_taken, &a) == 1)
			return;
		usleep(10000);
	}
	fail_msg("stund did not start listening within 5 s");
}

static void stun_client_agrees(void **state)
{
	const struct expect *e = *state;
	char assign[80], *assigns[] = { assign };
	char *stund[] = { "stund", "-h", "203.0.113.10", "-a", "203.0.113.11", NULL };
	char *stun[] = { "stun", "203.0.113.10", NULL };
	static struct lab lab;
	struct lab *l = &lab;
	int devnull = open("/dev/null", O_WRONLY), code = -1;
	pid_t server;

	snprintf(assign, sizeof(assign), "M=%s", e->model);
	lab_up(l, "nat-probe", 1, assigns);
	*state = (void *)e;
	assert_int_equal(proc_spawn(lab_ns(l, "stun"), stund, devnull, devnull, &server), 0);
	instance_note_pid(&l->inst, server);
	wait_for_stund(l);
	code = proc_run(lab_ns(l, "client"), stun, devnull, devnull);
	lab_down(l);
	close(devnull);
	print_message("%s: stun exit code 0x%02x%s%s\n", e->model, code, e->limits ? "; " : "", e->limits ? e->limits : "");
	assert_true(code >= 0);
	assert_int_equal(code & 0x0E, e->type);
	if (e->preserved != ANY)
		assert_int_equal(!!(code & 0x01), e->preserved);
	if (e->no_hairpin != ANY)
		assert_int_equal(!!(code & 0x10), e->no_hairpin);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(table) / sizeof(table[0])];
	static char names[sizeof(table) / sizeof(table[0])][96];

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		snprintf(names[i], sizeof(names[i]), "debian_stun_classifies_%s_as_declared", table[i].model);
		tests[i] = (struct CMUnitTest){ names[i], stun_client_agrees, NULL, lab_teardown, (void *)&table[i] };
	}
	return _cmocka_run_group_tests("lab_stun_client", tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
}
