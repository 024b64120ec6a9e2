/* Tools from outside the project, through the adapter protocol
 * (docs/adapters.md): the documentation's own example adapter, written into
 * a folder of the test's, driven through three pairs; and adapters that
 * break every way an adapter can (fail, say nothing, hang, leave a process
 * behind), each with a clear error and nothing left running. */
/* limit: 200 s */
#include "lab.h"

#include <dirent.h>
#include <sys/stat.h>

#include "util/paths.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pl-adapters-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return paths_remove_tree(dir);
}

/* DIR/NAME/adapter with this text. */
static void write_tool(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s/adapter", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0755), 0);
}

/* How many processes here have MARK in their command line. */
static int processes_with(const char *mark)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[64], cmd[4096];
		FILE *f;
		size_t got;
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		got = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
		for (size_t i = 0; i < got; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		cmd[got] = '\0';
		n += strstr(cmd, mark) != NULL;
	}
	closedir(d);
	return n;
}

/* The example adapter of docs/adapters.md, as it stands there. */
static char *example_adapter(void)
{
	char docs[PATH_MAX], *text, *start, *end;

	assert_int_equal(paths_data_dir("docs", docs, sizeof(docs)), 0);
	text = lab_slurp(docs, "adapters.md");
	start = strstr(text, "<!-- example adapter -->\n```sh\n");
	assert_non_null(start);
	start += strlen("<!-- example adapter -->\n```sh\n");
	end = strstr(start, "\n```\n");
	assert_non_null(end);
	end[1] = '\0';
	memmove(text, start, strlen(start) + 1);
	return text;
}

/* The documentation's mytunnel, from a folder outside the project, through
 * three pairs of cones (each one that a static WireGuard with endpoints
 * from STUN manages): listed with its folder and version, every cell
 * connected and direct, the version in results.json, and nothing of it
 * left running afterwards. */
static void a_tool_in_a_folder_of_its_own_runs_through_the_lab(void **state)
{
	char log[16384], out[PATH_MAX], *adapter = example_adapter(), *json;

	(void)state;
	write_tool("mytunnel", adapter);
	free(adapter);
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run --list-tools --tool-dir %s 2>&1", dir), 0);
	assert_non_null(strstr(log, "mytunnel          wireguard-go v"));
	assert_non_null(strstr(log, "/mytunnel)"));
	assert_non_null(strstr(log, "\nref "));   /* the shipped ones too */
	assert_int_equal(lab_shell(log, sizeof(log), "PUNCHLAB_TOOL_PATH=/nonexistent:%s %s run --list-tools --json 2>&1", dir,
				   lab_punchlab()),
			 0);
	assert_non_null(strstr(log, "{\"name\":\"mytunnel\",\"dir\":\""));
	snprintf(out, sizeof(out), "%s/out", dir);
	assert_int_equal(lab_punchlab_run(log, sizeof(log),
					  "run --tool-dir %s --tool mytunnel --models full-cone,restricted-cone --output %s 2>&1", dir, out),
			 0);
	assert_non_null(strstr(log, "3 scenarios with mytunnel"));
	assert_non_null(strstr(log, "3 of 3 scenarios as expected"));
	json = lab_slurp(out, "results.json");
	assert_int_equal(lab_count(json, "\n{\"tool\":\"mytunnel\",\"tool_version\":\"wireguard-go v"), 3);
	assert_int_equal(lab_count(json, "\"outcome\":\"connected\",\"path\":\"direct\""), 3);
	assert_int_equal(lab_count(json, "\"tool_said_path\":\"\""), 3);   /* it has no path verb: unknown */
	free(json);
	/* wireguard-go forked into the background with the scenario's run id
	 * in its interface's name: gone with the scenario. */
	assert_int_equal(processes_with("wireguard-go m"), 0);
}

/* One broken adapter per way of breaking, each on one pair: the run
 * exits 1, the error names the host and what the adapter did, and what it
 * left running (a double-forked daemon, a hanging start) is gone. */
static void broken_adapters_get_a_clear_error_and_leave_nothing_behind(void **state)
{
	static const struct {
		const char *name, *start, *error;
	} cases[] = {
		{ "fails", "echo 'cannot find the widget' >&2; exit 3",
		  "`adapter start relay` on introducer failed (exit 3): cannot find the widget (see " },
		{ "silent", "exit 0", "`adapter start relay` on introducer exited without printing its line (see " },
		{ "hangs", "[ \"$2\" = relay ] && { echo ready; exit 0; }; echo 'waiting for Godot' >&2; exec sh -c 'sleep 600; true' pl-mark-hangs",
		  "`adapter start peer` on a printed no line within the 5 s timeout: waiting for Godot (see " },
		{ "wrong", "echo 'up and running'", "`adapter start relay` on introducer said \"up and running\" where \"ready\" was expected" },
		/* up, with a tunnel that carries nothing, and a daemon of its
		 * own that escaped into a new session */
		{ "litter", "[ \"$2\" = relay ] && { echo ready; exit 0; }; setsid sh -c 'sleep 600; true' pl-mark-litter >/dev/null 2>&1 & "
			    "echo \"tunnel 10.66.0.$PUNCHLAB_INDEX\"",
		  "" },
	};
	char text[1024], log[16384], out[PATH_MAX], *json;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
			 "#!/bin/sh\ncase $1 in\navailable) exit 0 ;;\nversion) echo broken 1 ;;\nstart) %s ;;\n*) exit 2 ;;\nesac\n",
			 cases[i].start);
		write_tool(cases[i].name, text);
		snprintf(out, sizeof(out), "%s/out-%s", dir, cases[i].name);
		assert_int_equal(lab_punchlab_run(log, sizeof(log), "run --tool-dir %s --tool %s --models full-cone --timeout 5 --output %s 2>&1",
						  dir, cases[i].name, out),
				 1);
		assert_non_null(strstr(log, "0 of 1 scenarios as expected"));
		json = lab_slurp(out, "results.json");
		assert_non_null(strstr(json, "\"outcome\":\"failed\""));
		if (cases[i].error[0]) {
			char plain[200];
			assert_non_null(strstr(log, cases[i].error));
			/* in JSON up to its first quote (escaped there) */
			snprintf(plain, sizeof(plain), "%.*s", (int)strcspn(cases[i].error, "\""), cases[i].error);
			assert_non_null(strstr(json, plain));
		}
		free(json);
	}
	assert_int_equal(processes_with("pl-mark-"), 0);
	/* a tool that says it cannot run is refused before anything is built
	 * (exit 3: the run could not be made) */
	write_tool("unavailable", "#!/bin/sh\n[ \"$1\" = available ] && echo 'frob is not installed: apt-get install frob' && exit 1\n");
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run --tool-dir %s --tool unavailable --models full-cone 2>&1", dir), 3);
	assert_non_null(strstr(log, "run: tool unavailable is not available: frob is not installed: apt-get install frob"));
	assert_null(strstr(log, "scenarios with"));
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run --list-tools --tool-dir %s 2>&1", dir), 0);
	assert_non_null(strstr(log, "unavailable       unavailable: frob is not installed: apt-get install frob"));
	snprintf(out, sizeof(out), "%s/unavailable/adapter", dir);
	assert_int_equal(chmod(out, 0644), 0);
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run --tool-dir %s --tool unavailable --models full-cone 2>&1", dir), 2);
	assert_non_null(strstr(log, "unavailable/adapter is not executable (chmod +x it)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_tool_in_a_folder_of_its_own_runs_through_the_lab, setup, teardown),
		cmocka_unit_test_setup_teardown(broken_adapters_get_a_clear_error_and_leave_nothing_behind, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
