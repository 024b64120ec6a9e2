/* Routers that map ports on request (model key portmap): Debian's
 * miniupnpd on the router, asked by real clients from the host behind it
 * (harness/natcheck/pmprobe.c: libminiupnpc for UPnP IGD, libnatpmp for
 * NAT-PMP, our PCP codec), and
 * the mapped port reached from the other site through the model's own
 * filtering; a protocol the model does not offer gets no answer. */
#include "lab.h"
#include "nl/nftportmap.h"
#include "portmap/portmap.h"

#include <sys/stat.h>

#define INTERNAL_PORT 40000
#define PEER_PORT 41000

static struct lab lab;

static const char *model_with(const char *base, const char *what)
{
	return lab_model_with_portmap(lab_models, base, what);
}

static void up(const char *model_a, const char *model_b)
{
	char a[PATH_MAX + 4], b[PATH_MAX + 4], *assigns[] = { a, b };

	snprintf(a, sizeof(a), "A=%s", model_a);
	snprintf(b, sizeof(b), "B=%s", model_b);
	lab_up(&lab, "two-sites", 2, assigns);
}

/* nat-a's LAN address: a's gateway, where the daemon answers. */
static uint32_t gateway(void)
{
	for (int i = 0; i < lab.net.topo.n_nodes; i++)
		if (!strcmp(lab.net.topo.nodes[i].name, "nat-a"))
			for (int f = 0; f < lab.net.nodes[i].n_ifaces; f++)
				if (lab.net.nodes[i].ifaces[f].bridge)
					return lab.net.nodes[i].ifaces[f].addrs[0];
	fail_msg("no LAN side on nat-a");
	return 0;
}

struct asking {
	unsigned protocol;
	struct pmap_ask q;
	int ret;
};

static int ask_in(void *p)
{
	struct asking *a = p;

	a->ret = pmap_ask(a->protocol, &a->q);
	return 0;
}

/* a asks its router for PORT by one protocol (NAT_PORTMAP_*). */
static struct pmap_ask ask(unsigned protocol, uint16_t port)
{
	struct asking a = { protocol, { .gateway = gateway(), .host = lab_addr(&lab, "a", 0), .ifname = "eth0",
					.port = port, .lifetime = 600 }, 0 };

	assert_int_equal(netns_call(lab_ns(&lab, "a"), ask_in, &a), 0);
	assert_int_equal(a.ret, 0);
	return a.q;
}

/* a asks its router to remove a mapping it was granted (lifetime 0). */
static bool remove_mapping(unsigned protocol, const struct pmap_ask *granted)
{
	struct asking a = { protocol, *granted, 0 };

	a.q.lifetime = 0;
	assert_int_equal(netns_call(lab_ns(&lab, "a"), ask_in, &a), 0);
	if (!a.q.got)
		print_message("removing the mapping of %u: %s\n", granted->port, a.q.why);
	return a.ret == 0 && a.q.got;
}

static uint32_t outside(void);

/* b, on the other site, sends to the mapped endpoint; a gets it on its
 * internal port and answers; b gets the answer from the mapped endpoint. */
static bool reached_from(uint16_t peer_port, uint32_t ext_addr, uint16_t ext_port, uint16_t internal_port)
{
	int a = lab_udp(&lab, "a", 0, internal_port), b = lab_udp(&lab, "b", 0, peer_port);
	uint32_t from;
	uint16_t from_port;
	char buf[32];
	bool ok = false;

	lab_send(b, ext_addr, ext_port, "hello", 5);
	if (lab_recv(a, buf, sizeof(buf), 2000, &from, &from_port) == 5) {
		lab_send(a, from, from_port, "back", 4);
		ok = lab_recv(b, buf, sizeof(buf), 2000, &from, &from_port) == 4 && from == ext_addr &&
		     from_port == ext_port;
	}
	close(a);
	close(b);
	return ok;
}

static bool reached(uint32_t ext_addr, uint16_t ext_port, uint16_t internal_port)
{
	return reached_from(PEER_PORT, ext_addr, ext_port, internal_port);
}

/* The router's outside address: what its NAT translates to. */
static uint32_t outside(void)
{
	for (int i = 0; i < lab.net.topo.n_nodes; i++)
		if (!strcmp(lab.net.topo.nodes[i].name, "nat-a"))
			return lab.net.nodes[i].public_addr;
	fail_msg("no router nat-a");
	return 0;
}

/* A port mapped on request gets past each model's filtering: drop-before-
 * confirm and a port-restricted cone, an address-restricted cone, a
 * symmetric NAT; the same port unmapped does not. */
static void a_mapped_port_gets_past_every_filter(void **state)
{
	static const char *const bases[] = { "port-restricted-cone", "restricted-cone", "symmetric" };

	(void)state;
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		struct pmap_ask q;
		up(model_with(bases[i], "pcp"), "symmetric");
		print_message("%s with portmap = pcp\n", bases[i]);
		assert_false(reached(outside(), INTERNAL_PORT, INTERNAL_PORT));   /* not mapped: dropped */
		q = ask(NAT_PORTMAP_PCP, INTERNAL_PORT);
		if (!q.got)
			fail_msg("%s: no PCP mapping (%s)", bases[i], q.why);
		assert_int_equal(q.ext_addr, outside());
		assert_true(q.granted > 0 && q.granted <= 600);
		if (!reached(q.ext_addr, q.ext_port, INTERNAL_PORT))
			fail_msg("%s: the mapped endpoint %u did not reach a", bases[i], q.ext_port);
		lab_down(&lab);
	}
}

/* Each protocol on its own: it answers, and the other two do not (NAT-PMP
 * and PCP share one daemon and port: the other is dropped by its version
 * byte); the mapping it gives reaches the host. */
static void each_protocol_answers_alone(void **state)
{
	static const struct {
		const char *what;
		unsigned bit;
	} proto[] = { { "upnp", NAT_PORTMAP_UPNP }, { "natpmp", NAT_PORTMAP_NATPMP }, { "pcp", NAT_PORTMAP_PCP } };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		up(model_with("symmetric", proto[i].what), "symmetric");
		for (size_t j = 0; j < 3; j++) {
			struct pmap_ask q = ask(proto[j].bit, (uint16_t)(INTERNAL_PORT + j));
			print_message("portmap = %s: %s %s%s%s\n", proto[i].what, proto[j].what, q.got ? "mapped" : "no mapping",
				      q.why[0] ? ": " : "", q.why);
			if (q.got != (i == j))
				fail_msg("portmap = %s: %s %s", proto[i].what, proto[j].what,
					 q.got ? "mapped a port" : "got no mapping");
			if (q.got) {
				/* the router's rule says which protocol made it (results.json's port_mappings) */
				struct nft_portmap_granted g;
				assert_int_equal(nft_portmap_granted(lab_ns(&lab, "nat-a"), &g), 0);
				assert_int_equal(g.count, 1);
				assert_int_equal(g.protocols, proto[j].bit);
				assert_true(reached(q.ext_addr ? q.ext_addr : outside(), q.ext_port, (uint16_t)(INTERNAL_PORT + j)));
			}
		}
		lab_down(&lab);
	}
}

/* The shipped model, with every protocol: miniupnpd's state is in the
 * instance's folder and its rules in the router's table, and nothing of it
 * outlives the lab. */
static void symmetric_upnp_maps_by_every_protocol_and_leaves_nothing(void **state)
{
	char path[300], id[INSTANCE_ID_LEN + 1];
	struct stat st;

	(void)state;
	up("symmetric-upnp", "symmetric");
	snprintf(path, sizeof(path), "%s/miniupnpd-nat-a.conf", lab.inst.dir);
	assert_int_equal(stat(path, &st), 0);
	for (int j = 0; j < 3; j++) {
		uint16_t port = (uint16_t)(INTERNAL_PORT + j);
		struct pmap_ask q = ask(1u << j, port);
		assert_true(q.got);
		assert_true(reached(outside(), q.ext_port, port));
		/* removed by the protocol that made it: the port is closed again
		 * (to a new flow: the one that got in keeps its conntrack entry) */
		assert_true(remove_mapping(1u << j, &q));
		assert_false(reached_from(PEER_PORT + 1, outside(), q.ext_port, port));
	}
	snprintf(id, sizeof(id), "%s", lab.inst.id);
	lab_down(&lab);
	assert_int_equal(instance_load(id, &lab.inst), -ENOENT);
}

/* Two runs at once, each with a mapping router: every daemon has its own
 * pidfile in its run's folder (with miniupnpd's default one, the second
 * exited "MiniUPnPd is already running" and its lab did not come up). */
static void two_runs_at_once_each_run_their_own_daemon(void **state)
{
	static struct lab other;
	char a[PATH_MAX + 4], b[32] = "B=symmetric", *assigns[] = { a, b }, path[300];
	struct stat st;

	(void)state;
	up(model_with("symmetric", "natpmp"), "symmetric");
	snprintf(a, sizeof(a), "A=%s", model_with("port-restricted-cone", "natpmp"));
	lab_up(&other, "two-sites", 2, assigns);
	for (const struct lab *l = &lab;; l = &other) {
		snprintf(path, sizeof(path), "%s/miniupnpd-nat-a.pid", l->inst.dir);
		assert_int_equal(stat(path, &st), 0);
		if (l == &other)
			break;
	}
	assert_true(ask(NAT_PORTMAP_NATPMP, INTERNAL_PORT).got);
	lab_down(&other);
	lab_down(&lab);
}

static int remove_models(void **state)
{
	lab_teardown(state);
	return lab_models_remove(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(a_mapped_port_gets_past_every_filter, lab_teardown),
		cmocka_unit_test_teardown(each_protocol_answers_alone, lab_teardown),
		cmocka_unit_test_teardown(symmetric_upnp_maps_by_every_protocol_and_leaves_nothing, lab_teardown),
		cmocka_unit_test_teardown(two_runs_at_once_each_run_their_own_daemon, lab_teardown),
	};
	return cmocka_run_group_tests(tests, lab_models_make, remove_models);
}
