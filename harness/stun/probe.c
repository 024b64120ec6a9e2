#include "probe.h"
#include "stun.h"
#include "../../lib/util/text.h"
#include "../../lib/util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define SEQ_SOCKETS 6

/* A UDP socket of family v6 bound to port (host order; 0: any). */
static int udp_socket_on(bool v6, uint16_t port)
{
	const struct stun_addr any = { true, 0, port, v6, { 0 } };

	return stun_socket_bound(&any, false);
}

static int udp_socket(bool v6)
{
	return udp_socket_on(v6, 0);
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	getsockname(fd, (struct sockaddr *)&ss, &l);
	return stun_addr_from_sockaddr(&ss).port;
}

/* The local address the kernel would use toward dst (port 0). */
static struct stun_addr local_addr_toward(const struct stun_addr *dst)
{
	struct sockaddr_storage ss;
	socklen_t l = stun_addr_to_sockaddr(dst, &ss);
	int fd = socket(dst->v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct stun_addr a = { true, 0, 0, dst->v6, { 0 } };

	if (fd < 0)
		return a;
	if (connect(fd, (struct sockaddr *)&ss, l) == 0) {
		l = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &l) == 0)
			a = stun_addr_from_sockaddr(&ss);
	}
	a.port = 0;
	close(fd);
	return a;
}

#define PROBE_PADDING 80

static int send_request(int fd, const struct stun_addr *dst, uint8_t change, int response_port, uint8_t txid[12])
{
	struct stun_msg req;
	struct sockaddr_storage sa;
	socklen_t sl = stun_addr_to_sockaddr(dst, &sa);
	uint8_t buf[STUN_MAX_MSG];
	size_t n;

	memset(&req, 0, sizeof(req));
	req.type = STUN_BINDING_REQUEST;
	memcpy(req.txid, txid, 12);
	if (change) {
		req.has_change = true;
		req.change = change;
	}
	if (response_port >= 0) {
		req.has_response_port = true;
		req.response_port = (uint16_t)response_port;
	}
	/* Padded so that the server's whole answer (OTHER-ADDRESS and
	 * RESPONSE-ORIGIN too) fits in what we sent: servers, ours among them,
	 * send no more than that to a source they cannot verify. */
	req.padding = PROBE_PADDING;
	n = stun_encode(&req, buf, sizeof(buf));
	if (sendto(fd, buf, n, 0, (struct sockaddr *)&sa, sl) < 0)
		return -errno;
	return 0;
}

/* Wait up to timeout_ms for a STUN message with txid (NULL: any) on fd. */
static int wait_message(int fd, const uint8_t *txid, int timeout_ms, struct stun_msg *msg, struct stun_addr *from)
{
	uint64_t end = time_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = time_now_ms();
		uint8_t buf[1500];
		struct sockaddr_storage sa;
		socklen_t l = sizeof(sa);
		const char *why;
		ssize_t n;

		if (now >= end)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&sa, &l);
		if (n < 0 || stun_decode(buf, (size_t)n, msg, &why))
			continue;
		if (txid && memcmp(msg->txid, txid, 12))
			continue;
		if (from)
			*from = stun_addr_from_sockaddr(&sa);
		return 0;
	}
}

/* One binding transaction with retransmission. */
static int transact(const struct stun_probe_cfg *cfg, int fd, const struct stun_addr *dst, uint8_t change,
		    int response_port, struct stun_msg *resp)
{
	uint8_t txid[12];

	if (getrandom(txid, sizeof(txid), 0) != sizeof(txid))
		return -EIO;
	for (int t = 0; t < cfg->tries; t++) {
		int ret = send_request(fd, dst, change, response_port, txid);
		if (ret)
			return ret;
		if (wait_message(fd, txid, cfg->timeout_ms, resp, NULL) == 0)
			return resp->type == STUN_BINDING_RESPONSE && stun_reflexive(resp)->set ? 0 : -EPROTO;
	}
	return -ETIMEDOUT;
}


static void test_ports(const struct stun_probe_cfg *cfg, const struct stun_addr *primary, struct nat_measured *m)
{
	int ports[SEQ_SOCKETS], n = 0;

	if (!m->translated) {
		m->ports = NAT_PORTS_PRESERVE;
		return;
	}
	if (m->mapped.port == m->local.port) {
		m->ports = NAT_PORTS_PRESERVE;
		return;
	}
	/* New sockets one after another: each is a new mapping. */
	for (int i = 0; i < SEQ_SOCKETS; i++) {
		struct stun_msg r;
		int fd = udp_socket(primary->v6);
		if (fd < 0)
			break;
		if (transact(cfg, fd, primary, 0, -1, &r) == 0)
			ports[n++] = stun_reflexive(&r)->port;
		close(fd);
	}
	m->ports = NAT_PORTS_RANDOM;
	if (n >= 3) {
		int step = ports[1] - ports[0];
		bool constant = step != 0 && step >= -16 && step <= 16;
		for (int i = 2; i < n && constant; i++)
			constant = ports[i] - ports[i - 1] == step;
		if (constant) {
			m->ports = NAT_PORTS_SEQUENTIAL;
			m->port_step = step;
		}
	}
}

static void test_hairpin(const struct stun_probe_cfg *cfg, int fd, struct nat_measured *m)
{
	struct stun_addr mapped = m->mapped, from;
	struct stun_msg msg;
	uint8_t txid[12];
	int h = udp_socket(mapped.v6);

	if (h < 0)
		return;
	if (getrandom(txid, sizeof(txid), 0) != sizeof(txid)) {
		close(h);
		return;
	}
	m->hairpin = 0;
	/* RFC 5780 §4.5: send to our own mapping from another socket; it is
	 * hairpinned if the first socket receives it. */
	for (int t = 0; t < cfg->tries && m->hairpin == 0; t++) {
		send_request(h, &mapped, 0, -1, txid);
		if (wait_message(fd, txid, cfg->timeout_ms, &msg, &from) == 0) {
			m->hairpin = 1;
			from.port = mapped.port;
			m->hairpin_external = stun_addr_equal(&from, &mapped);
		}
	}
	close(h);
}

static void test_lifetime(const struct stun_probe_cfg *cfg, const struct stun_addr *primary, struct nat_measured *m)
{
	int fds[PROBE_MAX_POINTS];
	uint16_t mapped[PROBE_MAX_POINTS];
	uint64_t t0;

	m->lifetime_alive = m->lifetime_dead = -1;
	/* One mapping per checkpoint, all made now, each looked at once only
	 * (an inbound packet may refresh what it reaches). */
	for (int i = 0; i < cfg->n_points; i++) {
		struct stun_msg r;
		fds[i] = udp_socket(primary->v6);
		mapped[i] = 0;
		if (fds[i] >= 0 && transact(cfg, fds[i], primary, 0, -1, &r) == 0)
			mapped[i] = stun_reflexive(&r)->port;
	}
	t0 = time_now_ms();
	for (int i = 0; i < cfg->n_points; i++) {
		uint64_t at = t0 + (uint64_t)cfg->points[i] * 1000u;
		struct stun_msg r;
		int y;
		bool alive = false;

		while (time_now_ms() < at)
			time_sleep_ms((unsigned)(at - time_now_ms() > 1000 ? 1000 : at - time_now_ms()));
		if (fds[i] < 0 || !mapped[i])
			continue;
		/* RFC 5780 §4.6: from a new socket, ask the server to answer to
		 * the old mapping's port (RESPONSE-PORT). */
		y = udp_socket(primary->v6);
		if (y >= 0) {
			uint8_t txid[12];
			if (getrandom(txid, sizeof(txid), 0) == sizeof(txid)) {
				for (int t = 0; t < cfg->tries && !alive; t++) {
					send_request(y, primary, 0, mapped[i], txid);
					alive = wait_message(fds[i], txid, cfg->timeout_ms, &r, NULL) == 0;
				}
			}
			close(y);
		}
		if (alive)
			m->lifetime_alive = (int)cfg->points[i];
		else if (m->lifetime_dead < 0)
			m->lifetime_dead = (int)cfg->points[i];
	}
	for (int i = 0; i < cfg->n_points; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int stun_probe_run(const struct stun_probe_cfg *cfg, struct nat_measured *m)
{
	struct stun_addr primary = { true, cfg->server, cfg->port, cfg->v6, { 0 } }, alt_ip, alt_both;
	struct stun_msg r1, r2, r3;
	const struct stun_addr *m1;
	int s, f, ret = 0;

	memcpy(primary.addr6, cfg->server6, 16);
	memset(m, 0, sizeof(*m));
	m->mapping = m->filtering = m->ports = m->hairpin = m->unsolicited = PROBE_UNKNOWN;
	m->lifetime_alive = m->lifetime_dead = -1;
	if ((s = udp_socket(cfg->v6)) < 0)
		return s;
	m->local = local_addr_toward(&primary);
	m->local.port = local_port(s);

	/* Test I: do we get an answer at all, and from where are we seen? */
	if (transact(cfg, s, &primary, 0, -1, &r1)) {
		snprintf(m->note, sizeof(m->note), "no answer from the server over UDP%s", cfg->v6 ? " (IPv6)" : "");
		goto out;
	}
	m->udp = true;
	m1 = stun_reflexive(&r1);
	m->mapped = *m1;
	m->translated = !stun_addr_equal(m1, &m->local);
	{
		struct stun_addr other_ip = r1.other_address;
		other_ip.port = primary.port;
		m->rfc5780 = r1.other_address.set && r1.other_address.v6 == cfg->v6 && !stun_addr_equal(&other_ip, &primary) &&
			     r1.other_address.port != cfg->port;
	}
	if (!m->rfc5780) {
		snprintf(m->note, sizeof(m->note), "the server gives no OTHER-ADDRESS: only the mapped address is known");
		test_ports(cfg, &primary, m);
		goto out;
	}
	alt_both = r1.other_address;
	alt_ip = alt_both;
	alt_ip.port = cfg->port;

	/* Mapping, RFC 5780 §4.3: the same socket to the other address, then to
	 * the other address and port. */
	if (!m->translated) {
		m->mapping = NAT_ENDPOINT_INDEPENDENT;
	} else if (transact(cfg, s, &alt_ip, 0, -1, &r2) == 0) {
		if (stun_addr_equal(stun_reflexive(&r2), m1)) {
			m->mapping = NAT_ENDPOINT_INDEPENDENT;
		} else if (transact(cfg, s, &alt_both, 0, -1, &r3) == 0) {
			m->mapping = stun_addr_equal(stun_reflexive(&r3), stun_reflexive(&r2)) ? NAT_ADDRESS_DEPENDENT
										  : NAT_ADDRESS_AND_PORT_DEPENDENT;
		}
	}

	/* Filtering, RFC 5780 §4.4, on a fresh socket that has only talked to
	 * the primary endpoint. */
	if ((f = udp_socket(cfg->v6)) < 0) {
		ret = f;
		goto out;
	}
	if (transact(cfg, f, &primary, 0, -1, &r2) == 0) {
		struct stun_addr mf = *stun_reflexive(&r2);
		if (transact(cfg, f, &primary, STUN_CHANGE_IP | STUN_CHANGE_PORT, -1, &r3) == 0)
			m->filtering = NAT_ENDPOINT_INDEPENDENT;
		else if (transact(cfg, f, &primary, STUN_CHANGE_PORT, -1, &r3) == 0)
			m->filtering = NAT_ADDRESS_DEPENDENT;
		else
			m->filtering = NAT_ADDRESS_AND_PORT_DEPENDENT;
		/* Unsolicited packets: the "change" answers above reached the NAT
		 * before we ever sent to the other address. If the mapping is
		 * endpoint-independent, our first packet there must keep the port;
		 * a new port means the NAT kept an entry for the unsolicited packet. */
		if (m->mapping == NAT_ENDPOINT_INDEPENDENT && m->translated &&
		    m->filtering != NAT_ENDPOINT_INDEPENDENT && transact(cfg, f, &alt_both, 0, -1, &r3) == 0)
			m->unsolicited = stun_reflexive(&r3)->port == mf.port ? NAT_UNSOLICITED_DROP_BEFORE_CONFIRM
									      : NAT_UNSOLICITED_CONNTRACK;
	}
	close(f);

	test_ports(cfg, &primary, m);
	if (m->translated)
		test_hairpin(cfg, s, m);
	if (cfg->n_points)
		test_lifetime(cfg, &primary, m);
out:
	close(s);
	return ret;
}

static const char *dep_or(int v, const char *unknown)
{
	return v == PROBE_UNKNOWN ? unknown : nat_dependence_name((enum nat_dependence)v);
}

void stun_probe_print(const struct nat_measured *m, FILE *out)
{
	char a[64], b[64];

	if (!m->udp) {
		/* Silence is all that is known: no server, or UDP blocked. */
		fprintf(out, "udp:          no STUN server answered (%s): none runs there, or UDP is blocked\n", m->note);
		return;
	}
	fprintf(out, "local:        %s\n", stun_addr_text(&m->local, a, sizeof(a)));
	fprintf(out, "mapped:       %s%s\n", stun_addr_text(&m->mapped, b, sizeof(b)), m->translated ? "" : " (no NAT)");
	fprintf(out, "mapping:      %s\n", dep_or(m->mapping, "unknown"));
	fprintf(out, "filtering:    %s\n", dep_or(m->filtering, "unknown"));
	if (m->ports == NAT_PORTS_SEQUENTIAL)
		fprintf(out, "ports:        sequential (step %+d)\n", m->port_step);
	else
		fprintf(out, "ports:        %s\n", m->ports == PROBE_UNKNOWN ? "unknown" : nat_ports_name((enum nat_ports)m->ports));
	fprintf(out, "hairpin:      %s\n", m->hairpin == PROBE_UNKNOWN ? "n/a" : m->hairpin ? (m->hairpin_external ? "yes" : "yes (internal source address)") : "no");
	fprintf(out, "unsolicited:  %s\n", m->unsolicited == PROBE_UNKNOWN ? "n/a" : nat_unsolicited_name((enum nat_unsolicited)m->unsolicited));
	if (m->lifetime_alive >= 0 || m->lifetime_dead >= 0) {
		fprintf(out, "lifetime:     ");
		if (m->lifetime_dead < 0)
			fprintf(out, "more than %d s\n", m->lifetime_alive);
		else
			fprintf(out, "between %d and %d s\n", m->lifetime_alive < 0 ? 0 : m->lifetime_alive, m->lifetime_dead);
	}
	if (m->note[0])
		fprintf(out, "note:         %s\n", m->note);
}

void stun_probe_print_json(const struct nat_measured *m, FILE *out)
{
	char a[64], b[64];

	fprintf(out, "{\"udp\":%s", m->udp ? "true" : "false");
	if (m->udp) {
		fprintf(out, ",\"local\":\"%s\",\"mapped\":\"%s\",\"nat\":\"%s\"", stun_addr_text(&m->local, a, sizeof(a)),
			stun_addr_text(&m->mapped, b, sizeof(b)), m->translated ? "napt" : "none");
		fprintf(out, ",\"mapping\":\"%s\",\"filtering\":\"%s\"", dep_or(m->mapping, "unknown"),
			dep_or(m->filtering, "unknown"));
		fprintf(out, ",\"ports\":\"%s\"", m->ports == PROBE_UNKNOWN ? "unknown" : nat_ports_name((enum nat_ports)m->ports));
		if (m->ports == NAT_PORTS_SEQUENTIAL)
			fprintf(out, ",\"port_step\":%d", m->port_step);
		fprintf(out, ",\"hairpin\":%s", m->hairpin == PROBE_UNKNOWN ? "null" : m->hairpin ? "true" : "false");
		fprintf(out, ",\"unsolicited\":%s%s%s", m->unsolicited == PROBE_UNKNOWN ? "" : "\"",
			m->unsolicited == PROBE_UNKNOWN ? "null" : nat_unsolicited_name((enum nat_unsolicited)m->unsolicited),
			m->unsolicited == PROBE_UNKNOWN ? "" : "\"");
		if (m->lifetime_alive >= 0 || m->lifetime_dead >= 0)
			fprintf(out, ",\"lifetime_alive_s\":%d,\"lifetime_dead_s\":%d", m->lifetime_alive, m->lifetime_dead);
	}
	fprintf(out, ",\"note\":\"%s\"}", m->note);
}

int stun_mapped_from(const struct stun_probe_cfg *cfg, uint16_t from_port, uint32_t *addr, uint16_t *port)
{
	const struct stun_addr server = { true, cfg->server, cfg->port, false, { 0 } };
	struct stun_msg resp;
	int fd = udp_socket_on(false, from_port), ret;

	if (fd < 0)
		return fd;
	if ((ret = transact(cfg, fd, &server, 0, -1, &resp)) == 0) {
		*addr = stun_reflexive(&resp)->addr;
		*port = stun_reflexive(&resp)->port;
	}
	close(fd);
	return ret;
}
