#include "server.h"
#include "stun.h"
#include "../../lib/util/bucket.h"
#include "../../lib/util/log.h"
#include "../../lib/util/proc.h"
#include "../../lib/util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Encode resp within budget bytes, leaving out what is optional until it
 * fits (server.h); false when even the least of it does not. */
static bool fit(struct stun_msg *resp, size_t budget, uint8_t *out, size_t *out_len)
{
	struct stun_addr *optional[] = { &resp->mapped, &resp->other_address, &resp->response_origin };
	size_t n = stun_encode(resp, out, STUN_MAX_MSG);

	if (n > budget) {
		resp->software[0] = '\0';
		n = stun_encode(resp, out, STUN_MAX_MSG);
	}
	for (int i = 0; i < 3 && n > budget; i++) {
		optional[i]->set = false;
		n = stun_encode(resp, out, STUN_MAX_MSG);
	}
	if (!n || n > budget)
		return false;
	*out_len = n;
	return true;
}

bool stun_server_answer(const struct stun_server_cfg *cfg, int addr_idx, int port_idx, const uint8_t *in,
			size_t in_len, uint32_t src_addr, uint16_t src_port, uint8_t *out, size_t *out_len,
			int *send_addr_idx, int *send_port_idx, uint16_t *dst_port)
{
	struct stun_msg req, resp;
	const char *why;
	const uint32_t addrs[2] = { cfg->primary, cfg->alternate };
	const uint16_t ports[2] = { cfg->port, cfg->alt_port };

	if (stun_decode(in, in_len, &req, &why) || req.type != STUN_BINDING_REQUEST)
		return false;
	memset(&resp, 0, sizeof(resp));
	memcpy(resp.txid, req.txid, sizeof(resp.txid));
	snprintf(resp.software, sizeof(resp.software), "punchlab");
	*send_addr_idx = addr_idx;
	*send_port_idx = port_idx;
	*dst_port = src_port;

	if (req.n_unknown) {
		/* RFC 5389 §7.3.1: 420 with the attributes we do not understand. */
		resp.type = STUN_BINDING_ERROR;
		resp.has_error = true;
		resp.error_code = 420;
		resp.n_listed = req.n_unknown;
		memcpy(resp.listed, req.unknown, sizeof(resp.listed));
	} else if (req.has_change && (((req.change & STUN_CHANGE_IP) && !cfg->alternate) ||
				      ((req.change & STUN_CHANGE_PORT) && !cfg->alt_port))) {
		/* RFC 5780 §6.1: a server without the alternate cannot change. */
		resp.type = STUN_BINDING_ERROR;
		resp.has_error = true;
		resp.error_code = 420;
		resp.n_listed = 1;
		resp.listed[0] = STUN_A_CHANGE_REQUEST;
	} else {
		resp.type = STUN_BINDING_RESPONSE;
		if (req.has_change) {
			if (req.change & STUN_CHANGE_IP)
				*send_addr_idx = !addr_idx;
			if (req.change & STUN_CHANGE_PORT)
				*send_port_idx = !port_idx;
		}
		if (req.has_response_port)
			*dst_port = req.response_port;
		resp.xor_mapped = (struct stun_addr){ true, src_addr, src_port };
		resp.mapped = resp.xor_mapped;
		resp.response_origin = (struct stun_addr){ true, addrs[*send_addr_idx], ports[*send_port_idx] };
		if (cfg->alternate && cfg->alt_port)
			resp.other_address = (struct stun_addr){ true, addrs[!addr_idx], ports[!port_idx] };
	}
	return fit(&resp, in_len > STUN_SERVER_MIN_ANSWER ? in_len : STUN_SERVER_MIN_ANSWER, out, out_len);
}

bool stun_server_rate_ok(struct bucket_slot *table, uint32_t src_addr, uint64_t now_ms)
{
	uint8_t key[16];

	bucket_addr_ipv4(src_addr, key);
	return bucket_take(bucket_for(table, STUN_SERVER_SOURCES, key, STUN_SERVER_BURST, STUN_SERVER_PER_S, now_ms),
			   STUN_SERVER_BURST, STUN_SERVER_PER_S, now_ms);
}

static int open_socket(uint32_t addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = addr, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int stun_server_run(const struct stun_server_cfg *cfg, volatile int *stop, struct stun_server_stats *st,
		    char *err, size_t errlen)
{
	const uint32_t addrs[2] = { cfg->primary, cfg->alternate };
	const uint16_t ports[2] = { cfg->port, cfg->alt_port };
	int fds[2][2] = { { -1, -1 }, { -1, -1 } }, ret = 0;
	struct pollfd pfd[4];
	int idx[4][2], n = 0;
	struct bucket_slot limits[STUN_SERVER_SOURCES];

	memset(st, 0, sizeof(*st));
	memset(limits, 0, sizeof(limits));
	for (int a = 0; a < 2; a++)
		for (int p = 0; p < 2; p++) {
			char ab[16];
			if ((a && !addrs[1]) || (p && !ports[1]))
				continue;
			fds[a][p] = open_socket(addrs[a], ports[p]);
			if (fds[a][p] < 0) {
				ret = fds[a][p];
				inet_ntop(AF_INET, &addrs[a], ab, sizeof(ab));
				snprintf(err, errlen, "cannot listen on %s:%u: %s", ab, ports[p], strerror(-ret));
				goto out;
			}
			pfd[n] = (struct pollfd){ .fd = fds[a][p], .events = POLLIN };
			idx[n][0] = a;
			idx[n][1] = p;
			n++;
		}
	if (cfg->verbose || isatty(STDERR_FILENO)) {
		char a[16], b[16] = "";
		inet_ntop(AF_INET, &addrs[0], a, sizeof(a));
		if (addrs[1])
			inet_ntop(AF_INET, &addrs[1], b, sizeof(b));
		fprintf(stderr,
			"stun-server: answering on %s%s%s, port%s %u%s%.0u; to each source no more than it sent, %d answers "
			"then %d a second\n",
			a, b[0] ? " and " : "", b, ports[1] ? "s" : "", ports[0], ports[1] ? " and " : "", ports[1],
			STUN_SERVER_BURST, STUN_SERVER_PER_S);
	}
	if (cfg->ready_fd >= 0) {
		if (write(cfg->ready_fd, "ready\n", 6) != 6)
			pl_info("stun-server: could not signal readiness");
		close(cfg->ready_fd);
	}
	while (!*stop) {
		int r = poll(pfd, (nfds_t)n, 500);
		if (r < 0 && errno != EINTR) {
			ret = -errno;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			break;
		}
		for (int i = 0; r > 0 && i < n; i++) {
			uint8_t in[1500], out[STUN_MAX_MSG];
			struct sockaddr_in src;
			socklen_t sl = sizeof(src);
			ssize_t len;
			size_t out_len;
			int sa, sp;
			uint16_t dport;

			if (!(pfd[i].revents & POLLIN))
				continue;
			len = recvfrom(pfd[i].fd, in, sizeof(in), MSG_DONTWAIT, (struct sockaddr *)&src, &sl);
			if (len < 0)
				continue;
			st->requests++;
			if (!stun_server_answer(cfg, idx[i][0], idx[i][1], in, (size_t)len, src.sin_addr.s_addr,
						ntohs(src.sin_port), out, &out_len, &sa, &sp, &dport)) {
				st->dropped++;
				continue;
			}
			if (!stun_server_rate_ok(limits, src.sin_addr.s_addr, time_now_ms())) {
				st->limited++;
				continue;
			}
			src.sin_port = htons(dport);
			if (sendto(fds[sa][sp], out, out_len, 0, (struct sockaddr *)&src, sizeof(src)) < 0)
				st->errors++;
			else
				st->responses++;
			if (cfg->verbose) {
				char ab[16];
				inet_ntop(AF_INET, &src.sin_addr, ab, sizeof(ab));
				fprintf(stderr, "stun-server: %s:%u answered from socket %d/%d\n", ab, dport, sa, sp);
			}
		}
	}
out:
	for (int a = 0; a < 2; a++)
		for (int p = 0; p < 2; p++)
			if (fds[a][p] >= 0)
				close(fds[a][p]);
	return ret;
}

struct spawn_arg {
	uint32_t a1, a2;
	uint16_t port;
	int log_fd;
};

static volatile int spawned_stop;

static void spawned_on_term(int sig)
{
	(void)sig;
	spawned_stop = 1;
}

static int spawned_main(void *p, int ready_fd)
{
	const struct spawn_arg *a = p;
	struct stun_server_cfg cfg = { a->a1, a->a2, a->port, (uint16_t)(a->port + 1), ready_fd, false };
	struct stun_server_stats st;
	struct sigaction sa;
	char err[256];
	int ret;

	if (a->log_fd >= 0) {
		/* a service outliving its starter holds none of its starter's files */
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			close(null);
		}
		dup2(a->log_fd, STDOUT_FILENO);
		dup2(a->log_fd, STDERR_FILENO);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = spawned_on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	ret = stun_server_run(&cfg, &spawned_stop, &st, err, sizeof(err));
	if (ret)
		pl_err("stun server: %s", err);
	return ret;
}

int stun_server_spawn(const char *netns, uint32_t a1, uint32_t a2, uint16_t port, int log_fd, pid_t *pid)
{
	struct spawn_arg a = { a1, a2, port, log_fd };

	return proc_fork_ready(netns, spawned_main, &a, pid, 5000);
}
