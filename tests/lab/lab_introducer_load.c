/* make bench's load generator for the introducer (introducer-load), small,
 * against the real introducer in the lab: hundreds of agents on several
 * source addresses join with the join secret, register again and relay;
 * those that ask for peers on demand are sent no member list, those that
 * take the whole list are (issue 17). Figures are printed, not judged:
 * timing is for make bench. */
#include "mesh.h"

#include <signal.h>
#include <sys/wait.h>

#define SOURCES 8

static struct lab lab;
static char dir[64] = "";
static char from[512];
static pid_t intro = -1;

/* An address more on host's LAN interface. */
static void address_add(const char *host, const char *cidr)
{
	char *argv[] = { "ip", "addr", "add", (char *)cidr, "dev", "eth0", NULL };

	assert_int_equal(proc_run(lab_ns(&lab, host), argv, -1, -1), 0);
}

static void up(void)
{
	char data[PATH_MAX], topo[PATH_MAX + 16], *none[] = { NULL }, a[32];

	assert_true(sodium_init() >= 0);
	assert_int_equal(paths_data_dir("tests/data", data, sizeof(data)), 0);
	snprintf(topo, sizeof(topo), "%s/wg-pair.topo", data);
	lab_up(&lab, topo, 0, none);
	snprintf(dir, sizeof(dir), "/tmp/pl-load-XXXXXX");
	assert_non_null(mkdtemp(dir));
	address_add("b", "192.0.2.250/24");
	text_ipv4(lab_addr(&lab, "a", 0), from);
	for (int i = 0; i < SOURCES; i++) {
		snprintf(a, sizeof(a), "192.0.2.%d/24", 100 + i);
		address_add("a", a);
		snprintf(from + strlen(from), sizeof(from) - strlen(from), ",192.0.2.%d", 100 + i);
	}
}

static double num(const char *json, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(json, k);
	assert_non_null(p);
	return strtod(p + strlen(k), NULL);
}

/* One run of the load generator: AGENTS agents asking for PEERS; its
 * JSON into json. */
static void load(const char *peers, int agents, char *json, size_t len)
{
	char conf[512], path[128], jpath[128], log[128], pub[45], intro_ep[32], n[16];
	char *iargv[] = { (char *)mesh_bin("punchlab-introducer"), "--config", path, NULL };
	char *largv[] = { (char *)mesh_bin("tests/introducer-load"), "--introducer", intro_ep, "--introducer-key", pub,
			  "--join-secret", "the load test's secret, long enough", "--from", from, "--agents", n,
			  "--peers", (char *)peers, "--keepalive-s", "2", "--relay-s", "1", "--json", jpath, NULL };
	int fd, status;
	ssize_t got;

	snprintf(path, sizeof(path), "%s/introducer.key", dir);
	mesh_keypair(path, pub);
	text_ipv4(lab_addr(&lab, "b", 0), intro_ep);
	snprintf(conf, sizeof(conf),
		 "private-key-file = %s\nlisten = %s 192.0.2.250\njoin-secret = the load test's secret, long enough\n"
		 "relay-rate = 100000000\n",
		 path, intro_ep);
	strcat(intro_ep, ":3478");
	snprintf(path, sizeof(path), "%s/introducer.conf", dir);
	mesh_write(path, conf);
	snprintf(log, sizeof(log), "%s/introducer.log", dir);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(proc_spawn(lab_ns(&lab, "b"), iargv, fd, fd, &intro), 0);
	close(fd);
	instance_note_pid(&lab.inst, intro);
	time_sleep_ms(300);
	snprintf(n, sizeof(n), "%d", agents);
	snprintf(jpath, sizeof(jpath), "%s/load.json", dir);
	assert_int_equal(proc_run(lab_ns(&lab, "a"), largv, -1, -1), 0);
	kill(intro, SIGTERM);
	assert_int_equal(waitpid(intro, &status, 0), intro);
	intro = -1;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);   /* no crash, no sanitizer's abort */
	fd = open(jpath, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	got = read(fd, json, len - 1);
	close(fd);
	json[got > 0 ? got : 0] = '\0';
	print_message("  %s\n", json);
}

static void hundreds_of_agents_on_demand_join_register_and_relay_and_get_no_lists(void **state)
{
	char json[2048];

	(void)state;
	up();
	load("on-demand", 400, json, sizeof(json));
	assert_int_equal((int)num(json, "agents"), 400);
	assert_true(num(json, "first_registrations_per_s") > 0);
	assert_true(num(json, "reregistrations_per_s") > 0);
	assert_true(num(json, "relay_udp_mbit_s") > 0);
	assert_true(num(json, "relay_tcp_mbit_s") > 0);
	/* A member list would be 399 records to each: 50 kB and more. */
	assert_true(num(json, "list_bytes_received") < 400 * 300);
	load("all", 60, json, sizeof(json));
	/* Each of the 60 is sent every other one: 60 * 59 records. */
	assert_true(num(json, "list_bytes_received") > 60.0 * 59 * 200);
}

static int teardown(void **state)
{
	char *argv[] = { "rm", "-rf", dir, NULL };

	(void)state;
	if (intro > 0) {
		kill(intro, SIGKILL);
		waitpid(intro, NULL, 0);
	}
	lab_down(&lab);
	if (dir[0])
		proc_run(NULL, argv, -1, -1);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(hundreds_of_agents_on_demand_join_register_and_relay_and_get_no_lists, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
