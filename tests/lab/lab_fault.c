/* Faults on a running topology, each shown by its effect on real packets. */
#include "lab.h"

#include "fault/fault.h"
#include "util/proc.h"
#include "util/timeutil.h"

#define SINK 7000

static struct lab lab;

static void up(const char *model)
{
	lab_up_probe(&lab, model);
}

static void fault(const char *kind, const char *target, const char *arg)
{
	char err[512];

	if (fault_apply(&lab.inst, kind, target, arg, err, sizeof(err)))
		fail_msg("fault %s %s: %s", kind, target, err);
}

static bool arrives(int from, int to, uint32_t addr, uint16_t port)
{
	char buf[16];

	lab_send(from, addr, port, "x", 1);
	return lab_recv(to, buf, sizeof(buf), 300, NULL, NULL) == 1;
}

static void after_nat_reboot_an_old_mapping_no_longer_forwards(void **state)
{
	uint32_t a1, a2, pub;
	int sink, stranger, host;
	uint16_t mapped;

	(void)state;
	up("full-cone");
	a1 = lab_addr(&lab, "stun", 0);
	a2 = lab_addr(&lab, "stun", 1);
	pub = lab_addr(&lab, "nat", 0);
	sink = lab_udp(&lab, "stun", a1, SINK);
	stranger = lab_udp(&lab, "stun", a2, 9999);
	host = lab_udp(&lab, "client", 0, 0);
	mapped = lab_seen_port(host, sink, a1, SINK);
	assert_true(arrives(stranger, host, pub, mapped)); /* full cone: anyone gets in */
	fault("nat-reboot", "nat", NULL);
	assert_false(arrives(stranger, host, pub, mapped));
	assert_false(arrives(sink, host, pub, mapped)); /* not even the old peer */
	close(sink);
	close(stranger);
	close(host);
	lab_down(&lab);
}

static void a_renumbered_nat_comes_back_on_a_new_address(void **state)
{
	uint32_t a1, old, seen_from;
	int sink, host;
	char buf[16], err[512];

	(void)state;
	up("port-restricted-cone");
	a1 = lab_addr(&lab, "stun", 0);
	old = lab_addr(&lab, "nat", 0);
	sink = lab_udp(&lab, "stun", a1, SINK);
	host = lab_udp(&lab, "client", 0, 0);
	lab_send(host, a1, SINK, "x", 1);
	assert_int_equal(lab_recv(sink, buf, sizeof(buf), 1000, &seen_from, NULL), 1);
	assert_int_equal(seen_from, old);
	fault("nat-reboot", "nat", "renumber");
	lab_send(host, a1, SINK, "x", 1);
	assert_int_equal(lab_recv(sink, buf, sizeof(buf), 1000, &seen_from, NULL), 1);
	assert_int_not_equal(seen_from, old);
	assert_int_equal(seen_from & htonl(0xffffff00), old & htonl(0xffffff00));
	/* Later faults rebuild the NAT for the new address. */
	fault("mapping-expire", "nat", NULL);
	lab_send(host, a1, SINK, "x", 1);
	uint32_t again;
	assert_int_equal(lab_recv(sink, buf, sizeof(buf), 1000, &again, NULL), 1);
	assert_int_equal(again, seen_from);
	assert_int_equal(fault_apply(&lab.inst, "mapping-expire", "nat", "renumber", err, sizeof(err)), -EINVAL);
	close(sink);
	close(host);
	lab_down(&lab);
}

static void after_mapping_expire_the_socket_gets_a_new_port(void **state)
{
	uint32_t a1, a2;
	int s1, s2, host;
	uint16_t p1, p2, p3;

	(void)state;
	up("cgnat"); /* endpoint-independent mapping with random ports */
	a1 = lab_addr(&lab, "stun", 0);
	a2 = lab_addr(&lab, "stun", 1);
	s1 = lab_udp(&lab, "stun", a1, SINK);
	s2 = lab_udp(&lab, "stun", a2, SINK);
	host = lab_udp(&lab, "client", 0, 0);
	p1 = lab_seen_port(host, s1, a1, SINK);
	p2 = lab_seen_port(host, s2, a2, SINK);
	assert_int_equal(p1, p2); /* one mapping for every destination */
	fault("mapping-expire", "nat", NULL);
	p3 = lab_seen_port(host, s2, a2, SINK);
	print_message("mapping %u before, %u after the expiry\n", p1, p3);
	assert_int_not_equal(p3, p1);
	close(s1);
	close(s2);
	close(host);
	lab_down(&lab);
}

static void a_link_down_cuts_and_up_restores(void **state)
{
	uint32_t a1;
	int sink, host;

	(void)state;
	up("port-restricted-cone");
	a1 = lab_addr(&lab, "stun", 0);
	sink = lab_udp(&lab, "stun", a1, SINK);
	host = lab_udp(&lab, "client", 0, 0);
	assert_true(arrives(host, sink, a1, SINK));
	fault("link", "nat", "down");
	assert_false(arrives(host, sink, a1, SINK));
	fault("link", "nat", "up");
	/* The route via the uplink went with the link: it must come back too. */
	bool ok = false;
	for (int i = 0; i < 10 && !ok; i++)
		ok = arrives(host, sink, a1, SINK);
	assert_true(ok);
	close(sink);
	close(host);
	lab_down(&lab);
}

static bool b_reaches_the_introducer(void)
{
	char out[2048];

	return lab_shell(out, sizeof(out), "ip netns exec %s ping -c 1 -W 1 203.0.113.10", lab_ns(&lab, "b")) == 0;
}

/* Issue 14: `fault link nat-b down` then `up` left nat-b without its
 * default route (the kernel drops it with the link): b was cut off from
 * the internet while both said "done". And the faults' words. */
static void a_link_that_comes_back_brings_its_default_route_back(void **state)
{
	char *assigns[] = { "A=full-cone", "B=full-cone" };
	char err[512], out[2048];
	bool ok = false;

	(void)state;
	lab_up(&lab, "two-sites", 2, assigns);
	assert_true(b_reaches_the_introducer());
	fault("link", "nat-b", "down");
	assert_false(b_reaches_the_introducer());
	fault("link", "nat-b", "up");
	for (int i = 0; i < 5 && !ok; i++)
		ok = b_reaches_the_introducer();
	assert_true(ok);
	assert_int_equal(fault_apply(&lab.inst, "port-exhaust", "nat-a", "99999", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "0 to 65535"));
	assert_int_equal(fault_apply(&lab.inst, "nat-reboot", "nat-c", NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no router \"nat-c\"; its routers: internet nat-a nat-b"));
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "fault --run %s nat-reboot nat-a renumber", lab.inst.id), 0);
	assert_non_null(strstr(out, "nat-a's public address is now 192.0.2."));
	lab_down(&lab);
}

static void kill_and_restart_a_program_on_a_host(void **state)
{
	char *argv[] = { "sleep", "1000", NULL };
	char err[512], path[64], cmdline[64] = "";
	pid_t pid, again = -1;
	FILE *f;

	(void)state;
	up("full-cone");
	assert_int_equal(proc_spawn(lab_ns(&lab, "client"), argv, -1, -1, &pid), 0);
	assert_int_equal(instance_note_command(&lab.inst, pid, argv), 0);
	time_sleep_ms(100);
	/* restart: a new process, same command line, same namespace. */
	assert_int_equal(fault_apply(&lab.inst, "restart", "client", "sleep", err, sizeof(err)), 0);
	assert_false(proc_alive(pid));
	for (int i = 0; i < lab.inst.n_pids; i++)
		if (lab.inst.pids[i] != pid)
			again = lab.inst.pids[i];
	assert_true(again > 0 && proc_alive(again));
	/* Right after the fork the new process may not have exec'd yet. */
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)again);
	for (int i = 0; i < 200 && strcmp(cmdline, "sleep"); i++) {
		memset(cmdline, 0, sizeof(cmdline));
		f = fopen(path, "r");
		assert_non_null(f);
		if (fread(cmdline, 1, sizeof(cmdline) - 1, f) == 0)
			cmdline[0] = '\0';
		fclose(f);
		time_sleep_ms(10);
	}
	assert_string_equal(cmdline, "sleep");
	assert_string_equal(cmdline + 6, "1000");
	/* kill: gone, and nothing is left to kill. */
	assert_int_equal(fault_apply(&lab.inst, "kill", "client", "sleep", err, sizeof(err)), 0);
	for (int i = 0; i < 100 && proc_alive(again); i++)
		time_sleep_ms(10);
	assert_false(proc_alive(again));
	assert_int_equal(fault_apply(&lab.inst, "kill", "client", "sleep", err, sizeof(err)), -ESRCH);
	assert_non_null(strstr(err, "no sleep runs on client"));
	lab_down(&lab);
}

/* Issue 14: restart re-executed whatever a process in the namespace said
 * its command line was, as root: a daemon running as nobody could rewrite
 * its argv and have root run anything. Only what the instance started is
 * restarted, with the command it recorded; a process it did not start is
 * refused. */
static void restart_runs_only_the_recorded_command_of_what_the_instance_started(void **state)
{
	/* The process names itself `touch` with an argument: restarted from
	 * /proc, that would run `touch 1000` (creating a file here). */
	char *argv[] = { "bash", "-c", "exec -a touch sleep 1000", NULL }, *stray[] = { "sleep", "999", NULL };
	char err[512], dir[64], cwd[PATH_MAX], file[128];
	pid_t pid, other, again = -1;

	(void)state;
	up("full-cone");
	snprintf(dir, sizeof(dir), "/tmp/pl-fault-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(proc_spawn(lab_ns(&lab, "client"), argv, -1, -1, &pid), 0);
	assert_int_equal(instance_note_command(&lab.inst, pid, argv), 0);
	/* Not started by the instance: started beside it, not recorded. */
	assert_int_equal(proc_spawn(lab_ns(&lab, "client"), stray, -1, -1, &other), 0);
	time_sleep_ms(200);
	assert_int_equal(fault_apply(&lab.inst, "restart", "client", "sleep", err, sizeof(err)), 0);
	for (int i = 0; i < lab.inst.n_pids; i++)
		if (lab.inst.pids[i] != pid)
			again = lab.inst.pids[i];
	assert_true(again > 0);
	time_sleep_ms(300);
	snprintf(file, sizeof(file), "%s/1000", dir);
	assert_int_equal(access(file, F_OK), -1);   /* nothing ran `touch 1000` */
	assert_true(proc_alive(again));
	assert_true(proc_alive(other));            /* the stray one was not touched */
	assert_false(proc_alive(pid));
	/* Once the recorded one is gone, only the stray one is left: refused. */
	proc_stop(again, 500);
	assert_int_equal(fault_apply(&lab.inst, "restart", "client", "sleep", err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "was not started by run"));
	assert_true(proc_alive(other));
	proc_stop(other, 500);
	assert_int_equal(chdir(cwd), 0);
	rmdir(dir);
	lab_down(&lab);
}

static void faults_refuse_what_they_cannot_do(void **state)
{
	char err[512];

	(void)state;
	up("open");
	assert_int_equal(fault_apply(&lab.inst, "nat-reboot", "nat", NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "does no NAT"));
	assert_int_equal(fault_apply(&lab.inst, "nat-reboot", "client", NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no router \"client\""));
	assert_int_equal(fault_apply(&lab.inst, "meteor", "nat", NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown fault"));
	assert_int_equal(fault_apply(&lab.inst, "link", "nat", "sideways", err, sizeof(err)), -EINVAL);
	lab_down(&lab);
}

static void port_exhaust_lets_only_the_ports_left_be_mapped(void **state)
{
	uint32_t a1, pub;
	int sink, old, fresh[4];
	uint16_t mapped;

	(void)state;
	up("port-restricted-cone");
	a1 = lab_addr(&lab, "stun", 0);
	pub = lab_addr(&lab, "nat", 0);
	sink = lab_udp(&lab, "stun", a1, SINK);
	old = lab_udp(&lab, "client", 0, 0);
	/* An established flow (answered): it has its port already. */
	mapped = lab_seen_port(old, sink, a1, SINK);
	assert_true(arrives(sink, old, pub, mapped));
	for (int i = 0; i < 4; i++)
		fresh[i] = lab_udp(&lab, "client", 0, 0);
	/* All but two of 64512 ports taken: two new flows get one, the third
	 * gets none; the flow that had its mapping keeps it. */
	fault("port-exhaust", "nat", "64510");
	assert_true(arrives(fresh[0], sink, a1, SINK));
	assert_true(arrives(fresh[1], sink, a1, SINK));
	assert_false(arrives(fresh[2], sink, a1, SINK));
	assert_true(arrives(old, sink, a1, SINK));
	/* Given back: new flows map again. */
	fault("port-exhaust", "nat", "0");
	assert_true(arrives(fresh[3], sink, a1, SINK));
	close(sink);
	close(old);
	for (int i = 0; i < 4; i++)
		close(fresh[i]);
	lab_down(&lab);
}

/* The state letter of a process (/proc/PID/stat: R, S, T for stopped...). */
static char state_of(pid_t pid)
{
	char path[64], line[256] = "", *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return '?';
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	p = strrchr(line, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* sleep stops every process on the host (and none elsewhere); wake lets
 * them go on. A host with nothing on it is refused, saying so. */
static void sleep_stops_every_process_on_a_host_and_wake_continues_them(void **state)
{
	char *argv[] = { "sleep", "1000", NULL };
	char err[512];
	pid_t on[2], beside;

	(void)state;
	up("full-cone");
	assert_int_equal(fault_apply(&lab.inst, "sleep", "client", NULL, err, sizeof(err)), -ESRCH);
	assert_non_null(strstr(err, "nothing runs on client"));
	for (int i = 0; i < 2; i++)
		assert_int_equal(proc_spawn(lab_ns(&lab, "client"), argv, -1, -1, &on[i]), 0);
	assert_int_equal(proc_spawn(lab_ns(&lab, "stun"), argv, -1, -1, &beside), 0);
	time_sleep_ms(100);
	fault("sleep", "client", NULL);
	for (int k = 0; k < 100 && (state_of(on[0]) != 'T' || state_of(on[1]) != 'T'); k++)
		time_sleep_ms(10);
	assert_int_equal(state_of(on[0]), 'T');
	assert_int_equal(state_of(on[1]), 'T');
	assert_int_not_equal(state_of(beside), 'T');
	fault("wake", "client", NULL);
	for (int k = 0; k < 100 && (state_of(on[0]) == 'T' || state_of(on[1]) == 'T'); k++)
		time_sleep_ms(10);
	assert_int_not_equal(state_of(on[0]), 'T');
	assert_int_not_equal(state_of(on[1]), 'T');
	assert_int_equal(fault_apply(&lab.inst, "sleep", "client", "now", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "takes HOST only"));
	assert_int_equal(fault_apply(&lab.inst, "sleep", "nowhere", NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no host \"nowhere\""));
	for (int i = 0; i < 2; i++)
		proc_stop(on[i], 500);
	proc_stop(beside, 500);
	lab_down(&lab);
}

/* roam: a leaves site a for site b's LAN; from then on the introducer
 * sees it come from nat-b's public address, and its old link is gone. */
static void roam_moves_a_host_to_another_site(void **state)
{
	char *assigns[] = { "A=full-cone", "B=full-cone" }, err[512];
	uint32_t intro = htonl(0xcb00710a), from = 0, nat_a, nat_b;
	char buf[16];
	int sink, host;

	(void)state;
	lab_up(&lab, "two-sites", 2, assigns);
	nat_a = lab_addr(&lab, "nat-a", 0);
	nat_b = lab_addr(&lab, "nat-b", 0);
	sink = lab_udp(&lab, "introducer", intro, SINK);
	host = lab_udp(&lab, "a", 0, 0);
	lab_send(host, intro, SINK, "x", 1);
	assert_int_equal(lab_recv(sink, buf, sizeof(buf), 1000, &from, NULL), 1);
	assert_int_equal(from, nat_a);
	fault("roam", "a", "site-b");
	/* The same socket, on the new link (a new link may drop what it is
	 * given in its first moments, as a real one does). */
	from = 0;
	for (int i = 0; i < 10 && from != nat_b; i++) {
		lab_send(host, intro, SINK, "x", 1);
		if (lab_recv(sink, buf, sizeof(buf), 300, &from, NULL) != 1)
			from = 0;
	}
	assert_int_equal(from, nat_b);
	assert_int_equal(fault_apply(&lab.inst, "roam", "a", "site-b", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a is on site-b already"));
	assert_int_equal(fault_apply(&lab.inst, "roam", "a", "mars", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no segment \"mars\" to roam to; its segments: inet wan-a wan-b site-a site-b"));
	assert_int_equal(fault_apply(&lab.inst, "roam", "a", NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "roam takes HOST SEGMENT"));
	assert_int_equal(fault_apply(&lab.inst, "roam", "nat-a", "site-b", err, sizeof(err)), -EINVAL);
	close(sink);
	close(host);
	lab_down(&lab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(after_nat_reboot_an_old_mapping_no_longer_forwards, lab_teardown),
		cmocka_unit_test_teardown(a_renumbered_nat_comes_back_on_a_new_address, lab_teardown),
		cmocka_unit_test_teardown(after_mapping_expire_the_socket_gets_a_new_port, lab_teardown),
		cmocka_unit_test_teardown(a_link_down_cuts_and_up_restores, lab_teardown),
		cmocka_unit_test_teardown(a_link_that_comes_back_brings_its_default_route_back, lab_teardown),
		cmocka_unit_test_teardown(port_exhaust_lets_only_the_ports_left_be_mapped, lab_teardown),
		cmocka_unit_test_teardown(kill_and_restart_a_program_on_a_host, lab_teardown),
		cmocka_unit_test_teardown(restart_runs_only_the_recorded_command_of_what_the_instance_started, lab_teardown),
		cmocka_unit_test_teardown(sleep_stops_every_process_on_a_host_and_wake_continues_them, lab_teardown),
		cmocka_unit_test_teardown(roam_moves_a_host_to_another_site, lab_teardown),
		cmocka_unit_test_teardown(faults_refuse_what_they_cannot_do, lab_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
