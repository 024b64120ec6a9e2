/* The reference mesh when things go wrong: the introducer dies (and comes
 * back), a NAT forgets its mappings, a stranger's key tries to join or
 * relay, and hostile bytes arrive at the introducer and the agents. */
#include "mesh.h"
#include "nl/nftmtu.h"

#include <dirent.h>

#include "fault/fault.h"

static void traffic_keeps_flowing_direct_while_the_introducer_is_down_and_it_comes_back(void **state)
{
	static struct mesh m;
	struct mesh_bytes d;
	char intro[16];

	(void)state;
	mesh_up_pair(&m, "port-restricted-cone", "restricted-cone", "direct");
	kill(m.intro, SIGKILL); /* a crash */
	proc_wait(m.intro, NULL);
	time_sleep_ms(2000);
	d = mesh_traffic(&m);
	assert_int_equal(mesh_traffic_path(d), PATH_DIRECT);
	assert_true(mesh_wait_path(&m, 0, "direct", 100) && mesh_wait_path(&m, 1, "direct", 100));
	/* Restarted, it knows nothing; the agents register again. */
	mesh_start_introducer(&m, NULL);
	for (int t = 0; t < 25000; t += 250) {
		char buf[4096];
		if (mesh_status(&m, 0, buf, sizeof(buf)) && mesh_json(buf, false, "introducer", intro, sizeof(intro)) &&
		    !strcmp(intro, "udp") && mesh_log_has(&m, "introducer.log", "member b"))
			break;
		time_sleep_ms(250);
	}
	assert_true(mesh_log_has(&m, "introducer.log", "member a") && mesh_log_has(&m, "introducer.log", "member b"));
	d = mesh_traffic(&m);
	assert_int_equal(mesh_traffic_path(d), PATH_DIRECT);
	mesh_down(&m, false);
}

static void flushed_mappings_fall_back_to_the_relay_then_go_direct_again(void **state)
{
	static struct mesh m;
	struct instance r;
	char err[256], addr_a[32];
	long long relayed_before;
	int got;

	(void)state;
	mesh_up_pair(&m, "symmetric", "full-cone", "direct");
	assert_true(mesh_peer_field(&m, 1, "mesh_ipv4", addr_a, sizeof(addr_a)));
	/* Traffic first, so WireGuard has a session when the path breaks. */
	assert_int_equal(mesh_traffic_path(mesh_traffic(&m)), PATH_DIRECT);
	relayed_before = mesh_number(&m, 1, false, "relayed_out");
	assert_int_equal(instance_load(m.lab.inst.id, &r), 0);
	/* nat-a forgets its UDP mappings: a's packets leave from new ports, and
	 * b's path to a's old mapping dies. b pings throughout (every 50 ms). */
	if (fault_apply(&r, "mapping-expire", "nat-a", NULL, err, sizeof(err)))
		fail_msg("%s", err);
	got = mesh_ping_every(&m, 1, addr_a, 100, 100, "0.05");
	print_message("  %d of 100 pings through the change\n", got);
	assert_true(got >= 25);
	if (!mesh_wait_path(&m, 1, "direct", 30000) || !mesh_wait_path(&m, 0, "direct", 1000)) {
		mesh_down(&m, true);
		fail_msg("no direct path again after the mappings were flushed");
	}
	/* It fell back: b's packets went through the relay meanwhile (its own
	 * count of relayed frames), then direct again (the counters). */
	assert_true(mesh_log_has(&m, "b.log", "back on the relay"));
	print_message("  b relayed %lld frames through the change\n", mesh_number(&m, 1, false, "relayed_out") - relayed_before);
	assert_true(mesh_number(&m, 1, false, "relayed_out") - relayed_before >= 3);
	assert_int_equal(mesh_traffic_path(mesh_traffic(&m)), PATH_DIRECT);
	mesh_down(&m, false);
}

/* Issue 13: SIGHUP reads the configuration again; a key taken off the
 * allowlist is out at once: gone from its peers' lists, refused. */
static void sighup_takes_a_removed_key_out_of_the_mesh_at_once(void **state)
{
	static struct mesh m;
	char path[128], conf[1024], buf[8192];
	bool gone = false;

	(void)state;
	mesh_up_pair(&m, "full-cone", "full-cone", "direct");
	assert_true(mesh_status(&m, 0, buf, sizeof(buf)) && strstr(buf, "\"name\":\"b\""));
	snprintf(path, sizeof(path), "%s/introducer.conf", m.dir);
	snprintf(conf, sizeof(conf), "private-key-file = %s/introducer.key\nlisten = 203.0.113.10 203.0.113.11\nallow = %s a\n",
		 m.dir, m.pub[0]);
	mesh_write(path, conf);
	assert_int_equal(kill(m.intro, SIGHUP), 0);
	for (int t = 0; t < 3000 && !gone; t += 100) {
		gone = mesh_status(&m, 0, buf, sizeof(buf)) && !strstr(buf, "\"name\":\"b\"");
		time_sleep_ms(100);
	}
	assert_true(gone);   /* at once: not after minutes of silence */
	assert_true(mesh_log_has(&m, "introducer.log", "removed: no longer in the allowlist"));
	assert_true(mesh_log_has(&m, "a.log", "peer b left the mesh (the introducer says so)"));
	for (int t = 0; t < 15000 && !mesh_log_has(&m, "b.log", "refused us"); t += 250)
		time_sleep_ms(250);
	assert_true(mesh_log_has(&m, "b.log", "refused us"));
	/* A configuration that does not parse changes nothing. */
	mesh_write(path, "allow = not-a-key\n");
	assert_int_equal(kill(m.intro, SIGHUP), 0);
	for (int t = 0; t < 3000 && !mesh_log_has(&m, "introducer.log", "stays as it was"); t += 100)
		time_sleep_ms(100);
	assert_true(mesh_log_has(&m, "introducer.log", "stays as it was"));
	assert_true(mesh_status(&m, 0, buf, sizeof(buf)) && strstr(buf, "\"introducer\":\"udp\""));
	mesh_down(&m, false);
}

static void daemons_give_up_root_powers_and_the_relay_is_rate_limited(void **state)
{
	static struct mesh m;
	char *assigns[] = { "A=symmetric", "B=symmetric" }, path[64], addr_b[32], *status = NULL;
	size_t len;
	int got;

	(void)state;
	/* 2 kB/s per member: 20 pings of 1 kB in one second mostly drop. */
	mesh_up_with(&m, "two-sites", 2, assigns, "relay-rate = 2000\n");
	if (!mesh_wait_path(&m, 0, "relay", 30000)) {
		mesh_down(&m, true);
		fail_msg("no relayed path");
	}
	/* The process that serves (sockets, packets) runs as nobody; its
	 * supervisor, which stays root to read the configuration again on
	 * SIGHUP, holds no socket at all. */
	{
		char children[64] = "", fdir[64];
		pid_t server;
		FILE *f;
		DIR *d;
		struct dirent *e;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)m.intro, (int)m.intro);
		f = fopen(path, "r");
		assert_non_null(f);
		assert_non_null(fgets(children, sizeof(children), f));
		fclose(f);
		server = (pid_t)atoi(children);
		assert_true(server > 0);
		snprintf(path, sizeof(path), "/proc/%d/status", (int)server);
		assert_int_equal(text_read_file(path, 1 << 16, &status, &len), 0);
		assert_null(strstr(status, "\nUid:\t0\t")); /* dropped root after opening its sockets */
		free(status);
		snprintf(fdir, sizeof(fdir), "/proc/%d/fd", (int)m.intro);
		d = opendir(fdir);
		assert_non_null(d);
		while ((e = readdir(d))) {
			char link[128] = "", lp[400];
			snprintf(lp, sizeof(lp), "%s/%s", fdir, e->d_name);
			if (readlink(lp, link, sizeof(link) - 1) > 0 && !strncmp(link, "socket:", 7))
				fail_msg("the root supervisor holds a socket (fd %s)", e->d_name);
		}
		closedir(d);
	}
	/* Each agent keeps CAP_NET_ADMIN (its interface's addresses and
	 * routes) and nothing else of root's. */
	for (int i = 0; i < 2; i++) {
		char *st = NULL, *cap;
		snprintf(path, sizeof(path), "/proc/%d/status", (int)m.agent[i]);
		assert_int_equal(text_read_file(path, 1 << 16, &st, &len), 0);
		assert_non_null(cap = strstr(st, "\nCapEff:\t"));
		assert_int_equal(strncmp(cap + 9, "0000000000001000\n", 17), 0);
		assert_non_null(cap = strstr(st, "\nCapBnd:\t"));
		assert_int_equal(strncmp(cap + 9, "0000000000001000\n", 17), 0);
		assert_non_null(strstr(st, "\nNoNewPrivs:\t1\n"));
		free(st);
	}
	assert_true(mesh_peer_field(&m, 0, "mesh_ipv4", addr_b, sizeof(addr_b)));
	got = mesh_ping(&m, 0, addr_b, 20, 1000);
	print_message("  %d of 20 pings of 1 kB through a 2 kB/s relay\n", got);
	assert_true(got <= 10);
	/* Small packets within the rate still pass. */
	assert_true(mesh_ping_every(&m, 0, addr_b, 5, 56, "0.3") >= 4);
	mesh_down(&m, false);
}

static void unknown_key_is_refused_and_never_listed(void **state)
{
	static struct mesh m;
	char buf[8192], intro[16];
	bool refused = false;

	(void)state;
	mesh_up_pair(&m, "full-cone", "full-cone", "direct");
	mesh_start_agent_on(&m, 2, "a");
	for (int t = 0; t < 15000 && !refused; t += 250) {
		refused = mesh_status(&m, 2, buf, sizeof(buf)) && mesh_json(buf, false, "introducer", intro, sizeof(intro)) &&
			  !strcmp(intro, "refused");
		time_sleep_ms(250);
	}
	assert_true(refused);
	assert_null(strstr(buf, "\"peers\":[{"));
	assert_true(mesh_log_has(&m, "introducer.log", "refused"));
	assert_true(mesh_log_has(&m, "introducer.log", "not in the allowlist"));
	assert_true(mesh_log_has(&m, "c.log", "refused us"));
	/* The members never hear of it. */
	assert_true(mesh_status(&m, 0, buf, sizeof(buf)));
	assert_null(strstr(buf, "\"name\":\"c\""));
	mesh_down(&m, false);
}

static void strangers_get_nothing_bigger_than_they_sent(void **state)
{
	static struct mesh m;
	uint8_t buf[1500], stranger[32], member[32], intro_pub[32], token[MESH_TOKEN_LEN];
	uint32_t intro = htonl(0xcb00710a); /* 203.0.113.10 */
	char path[128];
	int fd, n;

	(void)state;
	mesh_up_pair(&m, "full-cone", "full-cone", "direct");
	fd = lab_udp(&m.lab, "a", 0, 0);
	assert_int_equal(key_parse(m.intro_pub, intro_pub), 0);
	/* Garbage of every size, and our magic with nonsense behind it. */
	for (size_t len = 1; len <= 1400; len += 97) {
		randombytes_buf(buf, len);
		assert_int_equal(mesh_answer_to(fd, intro, 3478, buf, len, 50), 0);
		if (len >= 4) {
			buf[0] = 'P', buf[1] = 'L', buf[2] = MESH_VERSION, buf[3] = (uint8_t)(len % 20);
			assert_int_equal(mesh_answer_to(fd, intro, 3478, buf, len, 50), 0);
		}
	}
	/* A relay frame with a made-up token gets no answer (what the relay
	 * forwards is held in the_relay_carries_only_a_members_frames_...). */
	randombytes_buf(token, sizeof(token));
	memset(buf + 200, 0, 148);
	buf[200] = 4; /* a WireGuard data header, so only the token is wrong */
	n = mesh_relay_build(buf, sizeof(buf), token, 2, buf + 200, 148);
	assert_true(n > 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(mesh_answer_to(fd, intro, 3478, buf, (size_t)n, 20), 0);
	/* A key the introducer does not know: it is told no, in fewer bytes. */
	randombytes_buf(stranger, sizeof(stranger));
	n = mesh_seal_register(stranger, intro_pub, mesh_counter_now(), NULL, buf, sizeof(buf));
	ssize_t answer = mesh_answer_to(fd, intro, 3478, buf, (size_t)n, 300);
	print_message("  REGISTER from a stranger: %d bytes, answer %zd bytes\n", n, answer);
	assert_true(answer > 0 && answer < n);
	/* A member's REGISTER from an address it has not proven gets only a
	 * PROVE, no larger than it; the same bytes again, nothing. */
	snprintf(path, sizeof(path), "%s/a.key", m.dir);
	assert_int_equal(key_read(path, member, (char *)buf, sizeof(buf)), 0);
	n = mesh_seal_register(member, intro_pub, mesh_counter_now(), NULL, buf, sizeof(buf));
	answer = mesh_answer_to(fd, intro, 3478, buf, (size_t)n, 300);
	assert_true(answer > 0 && answer <= n);
	assert_int_equal(mesh_answer_to(fd, intro, 3478, buf, (size_t)n, 300), 0);
	/* One byte changed: it no longer authenticates. */
	buf[n - 3] ^= 0x40;
	assert_int_equal(mesh_answer_to(fd, intro, 3478, buf, (size_t)n, 300), 0);
	close(fd);
	mesh_down(&m, false);
}

/* A relay frame carrying a WireGuard-shaped packet of len bytes. */
static int relay_frame(uint8_t *out, size_t cap, const uint8_t token[MESH_TOKEN_LEN], uint32_t to, size_t len)
{
	uint8_t pkt[1400] = { 4 }; /* a data header: only the relay's checks decide */

	return mesh_relay_build(out, cap, token, to, pkt, len);
}

/* Wait up to ms for agent i's relayed_in to pass `than`; returns it. */
static long long relayed_in_after(const struct mesh *m, int i, long long than, int ms)
{
	long long now = mesh_number(m, i, false, "relayed_in");

	for (int t = 0; t < ms && now <= than; t += 50) {
		time_sleep_ms(50);
		now = mesh_number(m, i, false, "relayed_in");
	}
	return now;
}

/* Each of the relay's checks, alone: a frame goes on only with the token
 * the sender was given, from where it registered, to another member, and
 * within its rate. The first frame, with everything right, proves the
 * test can see a frame get through (b counts what the relay hands it). */
static void the_relay_carries_only_a_members_frames_from_where_it_registered(void **state)
{
	static struct mesh m;
	struct mesh_played c;
	char buf[1500], *assigns[] = { "A=full-cone", "B=full-cone" }, json[8192], id_s[16];
	uint8_t frame[1500], wrong[MESH_TOKEN_LEN];
	uint32_t intro = htonl(0xcb00710a), b_id;
	long long before, after;
	int n, other, got;

	(void)state;
	mesh_up_allowing(&m, "two-sites", 2, assigns, "relay-rate = 20000\n", true, false);
	if (!mesh_wait_path(&m, 0, "direct", 30000) || !mesh_wait_path(&m, 1, "direct", 30000)) {
		mesh_down(&m, true);
		fail_msg("no direct path between a and b");
	}
	mesh_play_member(&m, "c", "a", &c);
	assert_true(mesh_peer_field(&m, 0, "id", id_s, sizeof(id_s)));
	b_id = (uint32_t)atol(id_s);
	/* b hears of c (the relay hands b only frames from members it knows). */
	for (int t = 0; t < 5000 && !(mesh_status(&m, 1, json, sizeof(json)) && strstr(json, "\"name\":\"c\"")); t += 100)
		time_sleep_ms(100);
	assert_non_null(strstr(json, "\"name\":\"c\""));

	/* Everything right: it gets through. */
	before = mesh_number(&m, 1, false, "relayed_in");
	n = relay_frame(frame, sizeof(frame), c.token, b_id, 148);
	lab_send(c.fd, intro, 3478, frame, (size_t)n);
	after = relayed_in_after(&m, 1, before, 2000);
	print_message("  a member's frame: b's relayed_in %lld -> %lld\n", before, after);
	assert_true(after == before + 1);

	/* A token nobody was given. */
	randombytes_buf(wrong, sizeof(wrong));
	n = relay_frame(frame, sizeof(frame), wrong, b_id, 148);
	for (int i = 0; i < 5; i++)
		lab_send(c.fd, intro, 3478, frame, (size_t)n);
	assert_int_equal(relayed_in_after(&m, 1, after, 500), after);

	/* The right token from another port: not where c registered. */
	other = lab_udp(&m.lab, "a", 0, 0);
	n = relay_frame(frame, sizeof(frame), c.token, b_id, 148);
	for (int i = 0; i < 5; i++)
		lab_send(other, intro, 3478, frame, (size_t)n);
	assert_int_equal(relayed_in_after(&m, 1, after, 500), after);
	close(other);

	/* To itself: nothing comes back. */
	n = relay_frame(frame, sizeof(frame), c.token, c.id, 148);
	while (lab_recv(c.fd, buf, sizeof(buf), 100, NULL, NULL) >= 0)
		; /* what the introducer sent before (PEER messages) */
	lab_send(c.fd, intro, 3478, frame, (size_t)n);
	got = 0;
	while (lab_recv(c.fd, buf, sizeof(buf), 300, NULL, NULL) >= 0)
		got += buf[0] == 'P' && buf[3] == MESH_RELAYED;
	assert_int_equal(got, 0);

	/* 300 frames of 1 kB at once, at 20 kB/s: about 20 get through (the
	 * bucket holds a second's worth), not 300. */
	before = mesh_number(&m, 1, false, "relayed_in");
	n = relay_frame(frame, sizeof(frame), c.token, b_id, 1000);
	for (int i = 0; i < 300; i++)
		lab_send(c.fd, intro, 3478, frame, (size_t)n);
	time_sleep_ms(500);
	after = mesh_number(&m, 1, false, "relayed_in");
	print_message("  300 frames of 1 kB at 20 kB/s: %lld got through\n", after - before);
	assert_true(after - before >= 10 && after - before <= 40);
	close(c.fd);
	mesh_down(&m, false);
}

static void agents_drop_garbage_forged_and_replayed_pings(void **state)
{
	static struct mesh m;
	uint8_t buf[1500], b_priv[32], a_pub[32], shared[32], wrong[32];
	uint32_t lo = htonl(INADDR_LOOPBACK);
	char path[128], port_s[16], dropped_before[32], dropped_after[32], json[8192];
	struct mesh_msg ping = { .type = MESH_PING };
	uint16_t port;
	int fd, n;

	(void)state;
	mesh_up_pair(&m, "full-cone", "full-cone", "direct");
	assert_true(mesh_status(&m, 0, json, sizeof(json)));
	assert_true(mesh_json(json, false, "listen_port", port_s, sizeof(port_s)));
	assert_true(mesh_json(json, false, "dropped_control", dropped_before, sizeof(dropped_before)));
	port = (uint16_t)atoi(port_s);
	fd = lab_udp(&m.lab, "a", 0, 0);
	for (size_t len = 1; len <= 1400; len += 61) {
		randombytes_buf(buf, len);
		if (len > 4 && len % 2)
			buf[0] = 'P', buf[1] = 'L', buf[2] = MESH_VERSION, buf[3] = MESH_PING;
		assert_int_equal(mesh_answer_to(fd, lo, port, buf, len, 20), 0);
	}
	/* Garbage changed nothing: the pair still goes direct. (What follows
	 * speaks with b's key, so it moves b's counters ahead of b's own and
	 * a then rightly refuses b's real messages: it comes last.) */
	assert_int_equal(mesh_traffic_path(mesh_traffic(&m)), PATH_DIRECT);
	/* A PING in b's name: answered once; the same bytes again are not. */
	snprintf(path, sizeof(path), "%s/b.key", m.dir);
	assert_int_equal(key_read(path, b_priv, (char *)buf, sizeof(buf)), 0);
	assert_int_equal(key_parse(m.pub[0], a_pub), 0);
	assert_int_equal(mesh_shared_key(shared, a_pub, b_priv), 0);
	key_public(ping.sender, b_priv);
	ping.counter = mesh_counter_now();
	ping.u.ping.txid = 42;
	/* As an agent sends it: where it goes, and two zeros (a pong, which
	 * says the ping's size, is never larger than its ping). */
	assert_int_equal(wg_endpoint_parse("127.0.0.1:1", &ping.u.ping.addr), 0);
	((struct sockaddr_in *)&ping.u.ping.addr.addr)->sin_port = htons(port);
	ping.u.ping.pad = 2;
	n = mesh_seal(&ping, a_pub, shared, buf, sizeof(buf));
	assert_true(n > 0);
	assert_true(mesh_answer_to(fd, lo, port, buf, (size_t)n, 300) > 0);
	assert_int_equal(mesh_answer_to(fd, lo, port, buf, (size_t)n, 300), 0);
	/* In b's name, sealed with another key: forged. */
	randombytes_buf(wrong, sizeof(wrong));
	ping.counter++;
	n = mesh_seal(&ping, a_pub, wrong, buf, sizeof(buf));
	assert_int_equal(mesh_answer_to(fd, lo, port, buf, (size_t)n, 300), 0);
	close(fd);
	/* Counted, and the agent carries on. */
	assert_true(mesh_status(&m, 0, json, sizeof(json)));
	assert_true(mesh_json(json, false, "dropped_control", dropped_after, sizeof(dropped_after)));
	assert_true(atoll(dropped_after) >= atoll(dropped_before) + 20);
	mesh_down(&m, false);
}

/* Issue 13, mtu-blackhole: site a's NAT drops every packet over 1280
 * bytes and sends no ICMP error. ping -M do -s 1200 through the tunnel
 * makes 1288-byte packets on the wire: they went nowhere, while the small
 * path checks kept the path "direct". The agents' full-size probes notice
 * within seconds, send larger packets in pieces, and say so. */
static void the_tunnel_crosses_a_path_mtu_black_hole(void **state)
{
	static struct mesh m;
	char addr_b[32], err[256];
	int got;

	(void)state;
	mesh_up_pair(&m, "full-cone", "port-restricted-cone", "direct");
	assert_true(mesh_peer_field(&m, 0, "mesh_ipv4", addr_b, sizeof(addr_b)));
	assert_true(mesh_ping(&m, 0, addr_b, 5, 1200) >= 4);
	assert_int_equal(nftmtu_blackhole(lab_ns(&m.lab, "nat-a"), 1280, err, sizeof(err)), 0);
	/* Seconds to notice (a probe every 5 s, two lost in a row); then
	 * every one gets through. */
	for (int t = 0; t < 20 && mesh_ping(&m, 0, addr_b, 1, 1200) < 1; t++)
		;
	got = mesh_ping_every(&m, 0, addr_b, 10, 1200, "0.3");
	print_message("  through the black hole: %d of 10 pings of 1228 bytes answered\n", got);
	assert_true(got >= 9);
	assert_true(mesh_log_has(&m, "a.log", "no longer pass the direct path: larger packets go in pieces"));
	assert_true(mesh_ping(&m, 0, addr_b, 5, 56) >= 4);
	assert_int_equal(mesh_traffic_path(mesh_traffic(&m)), PATH_DIRECT);
	mesh_down(&m, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(traffic_keeps_flowing_direct_while_the_introducer_is_down_and_it_comes_back,
					  mesh_teardown),
		cmocka_unit_test_teardown(flushed_mappings_fall_back_to_the_relay_then_go_direct_again, mesh_teardown),
		cmocka_unit_test_teardown(daemons_give_up_root_powers_and_the_relay_is_rate_limited, mesh_teardown),
		cmocka_unit_test_teardown(sighup_takes_a_removed_key_out_of_the_mesh_at_once, mesh_teardown),
		cmocka_unit_test_teardown(unknown_key_is_refused_and_never_listed, mesh_teardown),
		cmocka_unit_test_teardown(strangers_get_nothing_bigger_than_they_sent, mesh_teardown),
		cmocka_unit_test_teardown(agents_drop_garbage_forged_and_replayed_pings, mesh_teardown),
		cmocka_unit_test_teardown(the_relay_carries_only_a_members_frames_from_where_it_registered, mesh_teardown),
		cmocka_unit_test_teardown(the_tunnel_crosses_a_path_mtu_black_hole, mesh_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
