/* punchlab-ice: one ICE peer (RFC 8445, through libnice), for the lab's
 * `ice` tool. It gathers host, server-reflexive (STUN) and relayed (TURN
 * over UDP and TCP) candidates, exchanges them with its peer as SDP files
 * in a shared folder, runs the connectivity checks, and then carries
 * datagrams: what a local program sends to 127.0.0.1:LISTEN goes to the
 * peer; what the peer sends is given to that program, or, before any has
 * spoken, to 127.0.0.1:DELIVER (the harness's echo). The selected pair's
 * kind (direct, or through the TURN relay) is kept in DIR/NAME.path.
 *
 * usage: punchlab-ice NAME PEER --dir DIR --stun ADDR:PORT
 *                     [--turn ADDR:PORT --turn-user U --turn-pass P]
 *                     --listen PORT --deliver PORT [--controlling]
 * Runs until SIGINT/SIGTERM. */
#include <agent.h>
#include <glib-unix.h>
#include <glib.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct peer {
	const char *name, *other, *dir;
	GMainLoop *loop;
	NiceAgent *agent;
	guint stream;
	int fd;                       /* 127.0.0.1:LISTEN */
	struct sockaddr_in app;       /* the local program (first the echo) */
	bool have_app, remote_set, ready;
	uint16_t deliver;
	unsigned long sent, received, dropped;
};

/* DIR/NAME.SUFFIX, written whole or not at all. */
static void put_file(const struct peer *p, const char *name, const char *suffix, const char *text)
{
	char path[4096], tmp[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.%s", p->dir, name, suffix);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "w")))
		return;
	fputs(text, f);
	if (fclose(f) == 0)
		rename(tmp, path);
}

static const char *kind(NiceCandidateType t)
{
	switch (t) {
	case NICE_CANDIDATE_TYPE_HOST:
		return "host";
	case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
		return "srflx";
	case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
		return "prflx";
	case NICE_CANDIDATE_TYPE_RELAYED:
		return "relay";
	}
	return "?";
}

/* The selected pair: through the relay if either end is a TURN
 * candidate, else direct. */
static void selected(NiceAgent *agent, guint stream, guint component, NiceCandidate *local, NiceCandidate *remote,
		     gpointer data)
{
	struct peer *p = data;
	char text[128];
	bool relay = local->type == NICE_CANDIDATE_TYPE_RELAYED || remote->type == NICE_CANDIDATE_TYPE_RELAYED;

	(void)agent, (void)stream, (void)component;
	snprintf(text, sizeof(text), "%s %s-%s\n", relay ? "relay" : "direct", kind(local->type), kind(remote->type));
	put_file(p, p->name, "path", text);
	fprintf(stderr, "punchlab-ice %s: selected pair %s", p->name, text);
}

static void state_changed(NiceAgent *agent, guint stream, guint component, guint state, gpointer data)
{
	struct peer *p = data;

	(void)agent, (void)stream, (void)component;
	fprintf(stderr, "punchlab-ice %s: %s\n", p->name, nice_component_state_to_string(state));
	p->ready = state == NICE_COMPONENT_STATE_READY || state == NICE_COMPONENT_STATE_CONNECTED;
	if (state == NICE_COMPONENT_STATE_FAILED)
		put_file(p, p->name, "path", "failed\n");
}

static void gathered(NiceAgent *agent, guint stream, gpointer data)
{
	struct peer *p = data;
	gchar *sdp = nice_agent_generate_local_sdp(agent);

	(void)stream;
	put_file(p, p->name, "sdp", sdp);
	fprintf(stderr, "punchlab-ice %s: candidates gathered\n", p->name);
	g_free(sdp);
}

/* The peer's candidates, once its file is there. */
static gboolean remote(gpointer data)
{
	struct peer *p = data;
	char path[4096];
	gchar *sdp = NULL;
	int n;

	snprintf(path, sizeof(path), "%s/%s.sdp", p->dir, p->other);
	if (!g_file_get_contents(path, &sdp, NULL, NULL))
		return G_SOURCE_CONTINUE;
	n = nice_agent_parse_remote_sdp(p->agent, sdp);
	g_free(sdp);
	if (n < 0) {
		fprintf(stderr, "punchlab-ice %s: %s is not an SDP of candidates\n", p->name, path);
		g_main_loop_quit(p->loop);
		return G_SOURCE_REMOVE;
	}
	fprintf(stderr, "punchlab-ice %s: %d remote candidates\n", p->name, n);
	p->remote_set = true;
	return G_SOURCE_REMOVE;
}

/* From the peer: to the local program. */
static void received(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf, gpointer data)
{
	struct peer *p = data;

	(void)agent, (void)stream, (void)component;
	if (!p->have_app) {
		p->app = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(p->deliver),
					       .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		p->have_app = true;
	}
	p->received++;
	sendto(p->fd, buf, len, 0, (struct sockaddr *)&p->app, sizeof(p->app));
}

/* From the local program: to the peer. */
static gboolean local_in(gint fd, GIOCondition cond, gpointer data)
{
	struct peer *p = data;
	char buf[65536];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	(void)cond;
	while ((n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl)) >= 0) {
		p->app = from;
		p->have_app = true;
		if (p->ready && nice_agent_send(p->agent, p->stream, 1, (guint)n, buf) >= 0)
			p->sent++;
		else
			p->dropped++;
		fl = sizeof(from);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_signal(gpointer data)
{
	g_main_loop_quit(((struct peer *)data)->loop);
	return G_SOURCE_REMOVE;
}

/* ADDR:PORT into addr and port; false when it is not one. */
static bool endpoint(const char *s, char *addr, size_t len, guint *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long v;

	if (!colon || (size_t)(colon - s) >= len)
		return false;
	snprintf(addr, len, "%.*s", (int)(colon - s), s);
	v = strtoul(colon + 1, &end, 10);
	*port = (guint)v;
	return !*end && v > 0 && v < 65536 && inet_pton(AF_INET, addr, &(struct in_addr){ 0 }) == 1;
}

static int usage(const char *why)
{
	fprintf(stderr,
		"punchlab-ice: %s\nusage: punchlab-ice NAME PEER --dir DIR --stun ADDR:PORT [--turn ADDR:PORT --turn-user U "
		"--turn-pass P]\n                    --listen PORT --deliver PORT [--controlling]\n",
		why);
	return 2;
}

int main(int argc, char **argv)
{
	struct peer p = { .fd = -1 };
	char stun[64] = "", turn[64] = "";
	const char *user = "", *pass = "";
	guint stun_port = 0, turn_port = 0;
	unsigned long listen_port = 0, deliver = 0;
	bool controlling = false;
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	if (argc < 3 || argv[1][0] == '-' || argv[2][0] == '-')
		return usage("NAME and PEER come first");
	p.name = argv[1];
	p.other = argv[2];
	for (int i = 3; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--controlling"))
			controlling = true;
		else if (v && !strcmp(a, "--dir"))
			p.dir = argv[++i];
		else if (v && !strcmp(a, "--stun")) {
			if (!endpoint(argv[++i], stun, sizeof(stun), &stun_port))
				return usage("--stun takes ADDR:PORT (an IPv4 address)");
		} else if (v && !strcmp(a, "--turn")) {
			if (!endpoint(argv[++i], turn, sizeof(turn), &turn_port))
				return usage("--turn takes ADDR:PORT (an IPv4 address)");
		} else if (v && !strcmp(a, "--turn-user"))
			user = argv[++i];
		else if (v && !strcmp(a, "--turn-pass"))
			pass = argv[++i];
		else if (v && !strcmp(a, "--listen"))
			listen_port = strtoul(argv[++i], NULL, 10);
		else if (v && !strcmp(a, "--deliver"))
			deliver = strtoul(argv[++i], NULL, 10);
		else
			return usage("unexpected argument");
	}
	if (!p.dir || !stun[0] || !listen_port || listen_port > 65535 || !deliver || deliver > 65535)
		return usage("--dir, --stun, --listen and --deliver are needed");
	p.deliver = (uint16_t)deliver;
	me.sin_port = htons((uint16_t)listen_port);
	if ((p.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
	    bind(p.fd, (struct sockaddr *)&me, sizeof(me))) {
		fprintf(stderr, "punchlab-ice: cannot bind 127.0.0.1:%lu: %s\n", listen_port, strerror(errno));
		return 1;
	}
	p.loop = g_main_loop_new(NULL, FALSE);
	p.agent = nice_agent_new(g_main_loop_get_context(p.loop), NICE_COMPATIBILITY_RFC5245);
	/* libnice as it comes: UPnP IGD port mapping on (its default), so a
	 * router that maps ports gives a candidate */
	g_object_set(p.agent, "stun-server", stun, "stun-server-port", stun_port, "controlling-mode", controlling,
		     "ice-tcp", FALSE, "upnp", TRUE, NULL);
	g_signal_connect(p.agent, "candidate-gathering-done", G_CALLBACK(gathered), &p);
	g_signal_connect(p.agent, "component-state-changed", G_CALLBACK(state_changed), &p);
	g_signal_connect(p.agent, "new-selected-pair-full", G_CALLBACK(selected), &p);
	p.stream = nice_agent_add_stream(p.agent, 1);
	if (turn[0]) {
		nice_agent_set_relay_info(p.agent, p.stream, 1, turn, turn_port, user, pass, NICE_RELAY_TYPE_TURN_UDP);
		nice_agent_set_relay_info(p.agent, p.stream, 1, turn, turn_port, user, pass, NICE_RELAY_TYPE_TURN_TCP);
	}
	nice_agent_attach_recv(p.agent, p.stream, 1, g_main_loop_get_context(p.loop), received, &p);
	if (!nice_agent_gather_candidates(p.agent, p.stream)) {
		fprintf(stderr, "punchlab-ice %s: cannot gather candidates\n", p.name);
		return 1;
	}
	g_timeout_add(20, remote, &p);
	g_unix_fd_add(p.fd, G_IO_IN, local_in, &p);
	g_unix_signal_add(SIGINT, on_signal, &p);
	g_unix_signal_add(SIGTERM, on_signal, &p);
	g_main_loop_run(p.loop);
	fprintf(stderr, "punchlab-ice %s: stopped; %lu datagrams sent, %lu received, %lu dropped (not connected yet)\n", p.name,
		p.sent, p.received, p.dropped);
	nice_agent_remove_stream(p.agent, p.stream);
	g_object_unref(p.agent);
	g_main_loop_unref(p.loop);
	close(p.fd);
	return 0;
}
