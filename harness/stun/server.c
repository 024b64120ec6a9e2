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

/* The server's address idx (0 primary, 1 alternate) in src's family, and
 * whether it has one. */
static bool server_addr(const struct stun_server_cfg *cfg, bool v6, int idx, uint16_t port, struct stun_addr *out)
{
	static const uint8_t none[16];

	if (!v6) {
		/* IPv4's primary is always there (0.0.0.0: every address) */
		*out = (struct stun_addr){ true, idx ? cfg->alternate : cfg->primary, port, false, { 0 } };
		return idx == 0 || out->addr != 0;
	}
	*out = (struct stun_addr){ true, 0, port, true, { 0 } };
	memcpy(out->addr6, idx ? cfg->alternate6 : cfg->primary6, 16);
	return cfg->has6 && memcmp(out->addr6, none, 16);
}

bool stun_server_answer(const struct stun_server_cfg *cfg, int addr_idx, int port_idx, const uint8_t *in,
			size_t in_len, const struct stun_addr *src, uint8_t *out, size_t *out_len,
			int *send_addr_idx, int *send_port_idx, uint16_t *dst_port)
{
	struct stun_msg req, resp;
	struct stun_addr alt;
	const char *why;
	const uint16_t ports[2] = { cfg->port, cfg->alt_port };
	const bool has_alt = server_addr(cfg, src->v6, 1, 0, &alt);

	if (stun_decode(in, in_len, &req, &why) || req.type != STUN_BINDING_REQUEST)
		return false;
	memset(&resp, 0, sizeof(resp));
	memcpy(resp.txid, req.txid, sizeof(resp.txid));
	snprintf(resp.software, sizeof(resp.software), "punchlab");
	*send_addr_idx = addr_idx;
	*send_port_idx = port_idx;
	*dst_port = src->port;

	if (req.n_unknown) {
		/* RFC 5389 §7.3.1: 420 with the attributes we do not understand. */
		resp.type = STUN_BINDING_ERROR;
		resp.has_error = true;
		resp.error_code = 420;
		resp.n_listed = req.n_unknown;
		memcpy(resp.listed, req.unknown, sizeof(resp.listed));
	} else if (req.has_change && (((req.change & STUN_CHANGE_IP) && !has_alt) ||
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
		resp.xor_mapped = *src;
		resp.xor_mapped.set = true;
		resp.mapped = resp.xor_mapped;
		server_addr(cfg, src->v6, *send_addr_idx, ports[*send_port_idx], &resp.response_origin);
		if (has_alt && cfg->alt_port)
			server_addr(cfg, src->v6, !addr_idx, ports[!port_idx], &resp.other_address);
	}
	{
		const size_t least = src->v6 ? STUN_SERVER_MIN_ANSWER6 : STUN_SERVER_MIN_ANSWER;
		return fit(&resp, in_len > least ? in_len : least, out, out_len);
	}
}

bool stun_server_rate_ok(struct bucket_slot *table, const struct stun_addr *src, uint64_t now_ms)
{
	uint8_t key[16];

	if (src->v6)
		memcpy(key, src->addr6, 16);
	else
		bucket_addr_ipv4(src->addr, key);
	return bucket_take(bucket_for(table, STUN_SERVER_SOURCES, key, STUN_SERVER_BURST, STUN_SERVER_PER_S, now_ms),
			   STUN_SERVER_BURST, STUN_SERVER_PER_S, now_ms);
}

int stun_server_run(const struct stun_server_cfg *cfg, volatile int *stop, struct stun_server_stats *st,
		    char *err, size_t errlen)
{
	const uint16_t ports[2] = { cfg->port, cfg->alt_port };
	int fds[2][2][2], ret = 0;       /* [family][address][port] */
	struct pollfd pfd[8];
	int idx[8][3], n = 0;
	struct bucket_slot limits[STUN_SERVER_SOURCES];

	memset(st, 0, sizeof(*st));
	memset(limits, 0, sizeof(limits));
	memset(fds, -1, sizeof(fds));
	for (int f = 0; f < 2; f++)
		for (int a = 0; a < 2; a++)
			for (int p = 0; p < 2; p++) {
				struct stun_addr at;
				char ab[46];
				if (!server_addr(cfg, f, a, ports[p], &at) || (p && !ports[1]))
					continue;
				fds[f][a][p] = stun_socket_bound(&at, true);
				if (fds[f][a][p] < 0) {
					ret = fds[f][a][p];
					snprintf(err, errlen, "cannot listen on %s port %u: %s", stun_addr_ip_text(&at, ab, sizeof(ab)), ports[p],
						 strerror(-ret));
					goto out;
				}
				pfd[n] = (struct pollfd){ .fd = fds[f][a][p], .events = POLLIN };
				idx[n][0] = f;
				idx[n][1] = a;
				idx[n][2] = p;
				n++;
			}
	if (cfg->verbose || isatty(STDERR_FILENO)) {
		struct stun_addr x;
		char a[46], b[46] = "", c[46] = "", d[46] = "";
		server_addr(cfg, false, 0, 0, &x);
		stun_addr_ip_text(&x, a, sizeof(a));
		if (server_addr(cfg, false, 1, 0, &x))
			stun_addr_ip_text(&x, b, sizeof(b));
		if (server_addr(cfg, true, 0, 0, &x))
			stun_addr_ip_text(&x, c, sizeof(c));
		if (server_addr(cfg, true, 1, 0, &x))
			stun_addr_ip_text(&x, d, sizeof(d));
		fprintf(stderr,
			"stun-server: answering on %s%s%s%s%s%s%s, port%s %u%s%.0u; to each source no more than it sent, %d answers "
			"then %d a second\n",
			a, b[0] ? " and " : "", b, c[0] ? " and " : "", c, d[0] ? " and " : "", d, ports[1] ? "s" : "", ports[0],
			ports[1] ? " and " : "", ports[1], STUN_SERVER_BURST, STUN_SERVER_PER_S);
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
			struct sockaddr_storage src;
			struct stun_addr from;
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
			from = stun_addr_from_sockaddr(&src);
			if (!stun_server_answer(cfg, idx[i][1], idx[i][2], in, (size_t)len, &from, out, &out_len, &sa, &sp,
						&dport)) {
				st->dropped++;
				continue;
			}
			if (!stun_server_rate_ok(limits, &from, time_now_ms())) {
				st->limited++;
				continue;
			}
			if (src.ss_family == AF_INET6)
				((struct sockaddr_in6 *)&src)->sin6_port = htons(dport);
			else
				((struct sockaddr_in *)&src)->sin_port = htons(dport);
			if (fds[idx[i][0]][sa][sp] < 0 || sendto(fds[idx[i][0]][sa][sp], out, out_len, 0, (struct sockaddr *)&src, sl) < 0)
				st->errors++;
			else
				st->responses++;
			if (cfg->verbose) {
				char ab[46];
				fprintf(stderr, "stun-server: %s:%u answered from socket %d/%d\n", stun_addr_ip_text(&from, ab, sizeof(ab)), dport,
					sa, sp);
			}
		}
	}
out:
	for (int f = 0; f < 2; f++)
		for (int a = 0; a < 2; a++)
			for (int p = 0; p < 2; p++)
				if (fds[f][a][p] >= 0)
					close(fds[f][a][p]);
	return ret;
}

struct spawn_arg {
	struct stun_server_cfg cfg;
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
	struct stun_server_cfg cfg = a->cfg;
	struct stun_server_stats st;
	struct sigaction sa;
	char err[256];
	int ret;

	cfg.ready_fd = ready_fd;
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

int stun_server_spawn_cfg(const char *netns, const struct stun_server_cfg *cfg, int log_fd, pid_t *pid)
{
	struct spawn_arg a = { *cfg, log_fd };

	return proc_fork_ready(netns, spawned_main, &a, pid, 5000);
}

int stun_server_spawn(const char *netns, uint32_t a1, uint32_t a2, uint16_t port, int log_fd, pid_t *pid)
{
	struct stun_server_cfg cfg = { a1, a2, port, (uint16_t)(port + 1), -1, false, false, { 0 }, { 0 } };

	return stun_server_spawn_cfg(netns, &cfg, log_fd, pid);
}
