/* punchlab-introducer: the mesh's meeting point and relay. */
#include "introducer.h"
#include "../../lib/util/version.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage[] =
	"usage: punchlab-introducer [--config FILE] [--KEY VALUE ...]\n"
	"       punchlab-introducer --public-key --private-key-file FILE\n"
	"       punchlab-introducer --version\n"
	"\n"
	"The reference mesh's introducer: tells each agent how it is seen from two\n"
	"addresses, hands out mesh addresses, tells two agents to punch at the same\n"
	"moment, and relays WireGuard packets (which it cannot read) between members\n"
	"over UDP and TCP. Runs in the foreground until SIGINT/SIGTERM; SIGHUP reads\n"
	"the configuration again: a key no longer allowed is out of the mesh at once.\n"
	"\n"
	"Every configuration key can be a flag (--listen \"A B\" is listen = A B):\n"
	"  private-key-file FILE   its key pair (`wg genkey > FILE`); agents pin the public key\n"
	"  listen ADDR1[:PORT] ADDR2[:PORT]   two addresses (port 3478); TCP on the first\n"
	"  listen6 ADDR6           an IPv6 address members register on too (their IPv6 endpoint;\n"
	"                          IPv6-only hosts join and are relayed there)\n"
	"  allow KEY NAME          a member (repeat), or allowlist-file FILE (lines KEY NAME)\n"
	"  join-secret SECRET      anyone who knows it may join (16 characters or more)\n"
	"  pool4 PREFIX            mesh IPv4 addresses (default " MESH_DEFAULT_POOL4 ")\n"
	"  pool6 PREFIX            mesh IPv6 addresses (default " MESH_DEFAULT_POOL6 ")\n"
	"  user NAME               drop to this user after opening sockets (default nobody; root keeps)\n"
	"  relay-rate BYTES        relayed bytes per second per member (default 52428800)\n"
	"  tcp yes|no              also listen on TCP (default yes)\n";

static volatile int stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int drop_privileges(const char *user)
{
	struct passwd *pw;

	if (!user[0] || geteuid() != 0)
		return 0;
	if (!(pw = getpwnam(user))) {
		fprintf(stderr, "punchlab-introducer: no user \"%s\" to drop to; set user = root to keep root\n", user);
		return -ENOENT;
	}
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		fprintf(stderr, "punchlab-introducer: cannot become %s: %s\n", user, strerror(errno));
		return -errno;
	}
	return 0;
}

/* The configuration from the command line (and the files it names). 1:
 * --public-key was asked; 0; or -1 with err (EXIT 2). */
static int load(struct introducer_conf *conf, int argc, char **argv, char *err, size_t errlen)
{
	bool print_public = false;
	int ret;

	introducer_conf_defaults(conf);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--public-key")) {
			print_public = true;
		} else if ((ret = introducer_conf_arg(conf, argc, argv, &i, err, errlen)) < 0) {
			return -1;
		} else if (ret == 0) {
			snprintf(err, errlen, "unexpected \"%s\"\n%s", argv[i], usage);
			return -1;
		}
	}
	return print_public;
}

static volatile sig_atomic_t got_hup, got_term;

static void on_supervisor_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig != SIGCHLD)
		got_term = 1;
}

/* The part that stays root (it alone can read the configuration again):
 * on SIGHUP it reads it and hands the new allowlist, join secret and
 * relay rate to the serving process (which runs as `user`) over a pipe;
 * SIGTERM and SIGINT it passes on; it ends with the server. */
static int supervise(pid_t server, int to_server, int argc, char **argv)
{
	static struct introducer_conf fresh;
	struct sigaction sa;
	sigset_t block, none;
	char err[600];
	int status;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_supervisor_signal;
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &none);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	for (;;) {
		if (waitpid(server, &status, WNOHANG) == server)
			break;
		if (got_term) {
			got_term = 0;
			kill(server, SIGTERM);
		}
		if (got_hup) {
			got_hup = 0;
			if (load(&fresh, argc, argv, err, sizeof(err)) < 0 || introducer_conf_check(&fresh, err, sizeof(err))) {
				fprintf(stderr, "punchlab-introducer: SIGHUP: %s; the configuration stays as it was\n", err);
			} else {
				sodium_memzero(fresh.private_key, sizeof(fresh.private_key));
				if (write(to_server, &fresh, sizeof(fresh)) != (ssize_t)sizeof(fresh))
					fprintf(stderr, "punchlab-introducer: SIGHUP: cannot hand the configuration over: %s\n",
						strerror(errno));
			}
			continue;
		}
		sigsuspend(&none);
	}
	close(to_server);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv)
{
	static struct introducer_conf conf;
	struct introducer_daemon *in;
	struct sigaction sa;
	char err[600];
	int ret, pipefd[2];
	pid_t server;

	if (sodium_init() < 0)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			printf("punchlab-introducer %s (mesh protocol %d)\n", PL_VERSION, MESH_VERSION);
			return 0;
		}
	}
	if ((ret = load(&conf, argc, argv, err, sizeof(err))) < 0) {
		fprintf(stderr, "punchlab-introducer: %s\n", err);
		return 2;
	}
	if (ret == 1) {
		uint8_t pub[WG_KEY_LEN];
		char b64[45];
		if (!conf.has_key) {
			fprintf(stderr, "punchlab-introducer: --public-key needs --private-key-file FILE\n");
			return 2;
		}
		key_public(pub, conf.private_key);
		key_format(pub, b64);
		puts(b64);
		return 0;
	}
	if (introducer_conf_check(&conf, err, sizeof(err))) {
		fprintf(stderr, "punchlab-introducer: %s\n", err);
		return 2;
	}
	if (conf.warning[0])
		fprintf(stderr, "punchlab-introducer: %s\n", conf.warning);
	if (!(in = introducer_daemon_new(&conf, err, sizeof(err)))) {
		fprintf(stderr, "punchlab-introducer: %s\n", err);
		return 1;
	}
	sodium_memzero(conf.private_key, sizeof(conf.private_key));
	if (pipe2(pipefd, O_CLOEXEC) || (server = fork()) < 0) {
		fprintf(stderr, "punchlab-introducer: cannot start: %s\n", strerror(errno));
		introducer_daemon_free(in);
		return 1;
	}
	if (server > 0) {
		close(pipefd[0]);
		introducer_daemon_free(in); /* the server holds the sockets */
		return supervise(server, pipefd[1], argc, argv);
	}
	close(pipefd[1]);
	if (drop_privileges(conf.user)) {
		introducer_daemon_free(in);
		return 1;
	}
	/* The server does not outlive its supervisor (a crash of it, or a
	 * kill): set after the new credentials, which clear it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1) {
		introducer_daemon_free(in);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGHUP, SIG_IGN); /* the supervisor's */
	signal(SIGPIPE, SIG_IGN);
	ret = introducer_daemon_run(in, pipefd[0], &stop);
	introducer_daemon_free(in);
	return ret ? 1 : 0;
}
