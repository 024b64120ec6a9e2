/* Routers that map ports on request (model key portmap): Debian's
 * miniupnpd on the router, asked by real clients from the host behind it
 * (libminiupnpc for UPnP IGD, libnatpmp for NAT-PMP, our PCP codec), and
 * the mapped port reached from the other site through the model's own
 * filtering; a protocol the model does not offer gets no answer. */
#include "lab.h"
#include "pcp/pcp.h"
#include "util/paths.h"

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <natpmp.h>
#include <sys/select.h>
#include <sys/stat.h>

#define INTERNAL_PORT 40000
#define PEER_PORT 41000

static struct lab lab;
static char models[64];

/* A model file: BASE's behaviours plus portmap = WHAT, in the test's folder. */
static const char *model_with(const char *base, const char *what)
{
	static char path[PATH_MAX];
	char dir[PATH_MAX], src[PATH_MAX + 64], line[256];
	FILE *in, *out;

	assert_int_equal(paths_data_dir("nat-models", dir, sizeof(dir)), 0);
	snprintf(src, sizeof(src), "%s/%s.nat", dir, base);
	snprintf(path, sizeof(path), "%s/%s-%s.nat", models, base, what);
	assert_non_null(in = fopen(src, "r"));
	assert_non_null(out = fopen(path, "w"));
	while (fgets(line, sizeof(line), in))
		if (strncmp(line, "portmap", 7))
			fputs(line, out);
	fprintf(out, "portmap = %s\n", what);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	return path;
}

static void up(const char *model_a, const char *model_b)
{
	char a[PATH_MAX + 4], b[PATH_MAX + 4], *assigns[] = { a, b };

	snprintf(a, sizeof(a), "A=%s", model_a);
	snprintf(b, sizeof(b), "B=%s", model_b);
	lab_up(&lab, "two-sites", 2, assigns);
}

/* What one protocol's client got: the external endpoint, or nothing. */
struct asked {
	uint32_t gateway, host;
	uint16_t port;
	bool got;
	uint32_t ext_addr;
	uint16_t ext_port;
	uint32_t lifetime;
	char what[160];
};

static int ask_pcp(void *p)
{
	struct asked *q = p;
	struct pcp_map req;
	struct pcp_answer ans;
	uint8_t buf[PCP_MAX_SIZE];
	struct sockaddr_in gw = { .sin_family = AF_INET, .sin_addr.s_addr = q->gateway, .sin_port = htons(PCP_PORT) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), n;

	memset(&req, 0, sizeof(req));
	req.lifetime = 600;
	pcp_v4_mapped(q->host, &req.client);
	for (int i = 0; i < PCP_NONCE_SIZE; i++)
		req.nonce[i] = (uint8_t)(i * 37 + 11);
	req.protocol = IPPROTO_UDP;
	req.internal_port = q->port;
	pcp_v4_mapped(0, &req.external);
	n = pcp_map_encode(&req, buf, sizeof(buf));
	/* RFC 6887 §8.1.1: retransmit, doubling, from 3 s; 3 tries here */
	for (int t = 0, wait = 500; t < 3 && !q->got; t++, wait *= 2) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		char err[200];
		uint32_t ext;
		if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&gw, sizeof(gw)) != n)
			break;
		while (poll(&pfd, 1, wait) > 0) {
			ssize_t got = recv(fd, buf, sizeof(buf), 0);
			if (got <= 0 || pcp_answer_parse(buf, (size_t)got, &ans, err, sizeof(err)) ||
			    !pcp_answer_is_for(&ans, &req))
				continue;
			if (ans.result != PCP_SUCCESS || !pcp_v4_of(&ans.map.external, &ext)) {
				snprintf(q->what, sizeof(q->what), "PCP answered %s", pcp_result_name(ans.result));
				break;
			}
			q->got = true;
			q->ext_addr = ext;
			q->ext_port = ans.map.external_port;
			q->lifetime = ans.lifetime;
			break;
		}
		pcp_map_encode(&req, buf, sizeof(buf));
	}
	close(fd);
	return 0;
}

static int ask_natpmp(void *p)
{
	struct asked *q = p;
	natpmp_t nat;
	natpmpresp_t resp;
	int r;

	if (initnatpmp(&nat, 1, q->gateway) < 0)
		return 0;
	if (sendnewportmappingrequest(&nat, NATPMP_PROTOCOL_UDP, q->port, q->port, 600) < 0)
		goto out;
	do {
		fd_set fds;
		struct timeval tv;
		FD_ZERO(&fds);
		FD_SET(nat.s, &fds);
		getnatpmprequesttimeout(&nat, &tv);
		select(FD_SETSIZE, &fds, NULL, NULL, &tv);
		r = readnatpmpresponseorretry(&nat, &resp);
	} while (r == NATPMP_TRYAGAIN && nat.try_number <= 3);
	if (r >= 0 && resp.type == NATPMP_RESPTYPE_UDPPORTMAPPING) {
		q->got = true;
		q->ext_port = resp.pnu.newportmapping.mappedpublicport;
		q->lifetime = resp.pnu.newportmapping.lifetime;
		q->ext_addr = 0;   /* NAT-PMP says the address in a request of its own */
	} else {
		snprintf(q->what, sizeof(q->what), "NAT-PMP: %d", r);
	}
out:
	closenatpmp(&nat);
	return 0;
}

static int ask_upnp(void *p)
{
	struct asked *q = p;
	struct UPNPDev *devs;
	struct UPNPUrls urls;
	struct IGDdatas data;
	char lan[64], ext[40], port[8];
	int error = 0, igd;

	devs = upnpDiscover(1500, "eth0", NULL, 0, 0, 2, &error);
	if (!devs) {
		snprintf(q->what, sizeof(q->what), "UPnP: no device answered discovery (%d)", error);
		return 0;
	}
	/* 2: an IGD miniupnpc calls not connected, since its outside address is
	 * a reserved one (every lab address is): used all the same */
	igd = UPNP_GetValidIGD(devs, &urls, &data, lan, sizeof(lan));
	if (igd == 1 || igd == 2) {
		snprintf(port, sizeof(port), "%u", q->port);
		if (UPNP_AddPortMapping(urls.controlURL, data.first.servicetype, port, port, lan, "punchlab lab", "UDP",
					NULL, "600") == UPNPCOMMAND_SUCCESS &&
		    UPNP_GetExternalIPAddress(urls.controlURL, data.first.servicetype, ext) == UPNPCOMMAND_SUCCESS) {
			q->got = true;
			q->ext_port = q->port;
			q->ext_addr = inet_addr(ext);
			q->lifetime = 600;
		}
	} else {
		snprintf(q->what, sizeof(q->what), "UPnP: no IGD (%d)", igd);
	}
	if (igd)
		FreeUPNPUrls(&urls);
	freeUPNPDevlist(devs);
	return 0;
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

static struct asked ask(int (*fn)(void *), uint16_t port)
{
	struct asked q = { .gateway = gateway(), .host = lab_addr(&lab, "a", 0), .port = port };

	assert_int_equal(netns_call(lab_ns(&lab, "a"), fn, &q), 0);
	return q;
}

/* b, on the other site, sends to the mapped endpoint; a gets it on its
 * internal port and answers; b gets the answer from the mapped endpoint. */
static bool reached(uint32_t ext_addr, uint16_t ext_port, uint16_t internal_port)
{
	int a = lab_udp(&lab, "a", 0, internal_port), b = lab_udp(&lab, "b", 0, PEER_PORT);
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
		struct asked q;
		up(model_with(bases[i], "pcp"), "symmetric");
		print_message("%s with portmap = pcp\n", bases[i]);
		assert_false(reached(outside(), INTERNAL_PORT, INTERNAL_PORT));   /* not mapped: dropped */
		q = ask(ask_pcp, INTERNAL_PORT);
		if (!q.got)
			fail_msg("%s: no PCP mapping (%s)", bases[i], q.what);
		assert_int_equal(q.ext_addr, outside());
		assert_true(q.lifetime > 0 && q.lifetime <= 600);
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
		int (*fn)(void *);
	} proto[] = { { "upnp", ask_upnp }, { "natpmp", ask_natpmp }, { "pcp", ask_pcp } };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		up(model_with("symmetric", proto[i].what), "symmetric");
		for (size_t j = 0; j < 3; j++) {
			struct asked q = ask(proto[j].fn, (uint16_t)(INTERNAL_PORT + j));
			print_message("portmap = %s: %s %s%s%s\n", proto[i].what, proto[j].what, q.got ? "mapped" : "no mapping",
				      q.what[0] ? ": " : "", q.what);
			if (q.got != (i == j))
				fail_msg("portmap = %s: %s %s", proto[i].what, proto[j].what,
					 q.got ? "mapped a port" : "got no mapping");
			if (q.got)
				assert_true(reached(q.ext_addr ? q.ext_addr : outside(), q.ext_port, (uint16_t)(INTERNAL_PORT + j)));
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
	{
		char data[PATH_MAX], model[PATH_MAX + 32];
		assert_int_equal(paths_data_dir("tests/data", data, sizeof(data)), 0);
		snprintf(model, sizeof(model), "%s/symmetric-upnp.nat", data);
		up(model, "symmetric");
	}
	snprintf(path, sizeof(path), "%s/miniupnpd-nat-a.conf", lab.inst.dir);
	assert_int_equal(stat(path, &st), 0);
	for (int j = 0; j < 3; j++) {
		int (*fn[])(void *) = { ask_upnp, ask_natpmp, ask_pcp };
		struct asked q = ask(fn[j], (uint16_t)(INTERNAL_PORT + j));
		assert_true(q.got);
	}
	snprintf(id, sizeof(id), "%s", lab.inst.id);
	lab_down(&lab);
	assert_int_equal(instance_load(id, &lab.inst), -ENOENT);
}

static int make_models(void **state)
{
	(void)state;
	snprintf(models, sizeof(models), "/tmp/pl-portmap-XXXXXX");
	assert_non_null(mkdtemp(models));
	return 0;
}

static int remove_models(void **state)
{
	lab_teardown(state);
	return paths_remove_tree(models);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(a_mapped_port_gets_past_every_filter, lab_teardown),
		cmocka_unit_test_teardown(each_protocol_answers_alone, lab_teardown),
		cmocka_unit_test_teardown(symmetric_upnp_maps_by_every_protocol_and_leaves_nothing, lab_teardown),
	};
	return cmocka_run_group_tests(tests, make_models, remove_models);
}
