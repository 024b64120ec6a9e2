#include "portmap.h"
#include "../nat/model.h"
#include "../pcp/pcp.h"
#include "../nl/rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
#define ENABLE_STRNATPMPERR   /* natpmp.h declares strnatpmperr only then */
#include <natpmp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS 500   /* the first wait for an answer; doubled, three tries: a router answers in
			 ms, but miniupnpd under load takes some 300 ms to change its rules, and a
			 removal sent twice is refused the second time (NO_RESOURCES) */

static int ask_pcp(struct pmap_ask *q)
{
	struct sockaddr_in gw = { .sin_family = AF_INET, .sin_addr.s_addr = q->gateway, .sin_port = htons(PCP_PORT) };
	uint8_t buf[PCP_MAX_SIZE];
	struct pcp_map req;
	int fd, n;

	memset(&req, 0, sizeof(req));
	req.lifetime = q->lifetime;
	pcp_v4_mapped(q->host, &req.client);
	if (memcmp(q->nonce, (uint8_t[sizeof(q->nonce)]){ 0 }, sizeof(q->nonce)))
		memcpy(req.nonce, q->nonce, sizeof(req.nonce));
	else if (getrandom(req.nonce, sizeof(req.nonce), 0) != (ssize_t)sizeof(req.nonce))
		return -EIO;
	req.protocol = IPPROTO_UDP;
	req.internal_port = q->port;
	pcp_v4_mapped(0, &req.external);
	if ((n = pcp_map_encode(&req, buf, sizeof(buf))) < 0)
		return n;
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	snprintf(q->why, sizeof(q->why), "PCP: no answer");
	/* RFC 6887 §8.1.1 retransmits from 3 s, doubling; a lab's router
	 * answers in milliseconds or not at all */
	for (int t = 0, wait = WAIT_MS; t < 3 && !q->got; t++, wait *= 2) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint8_t in[PCP_MAX_SIZE];
		if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&gw, sizeof(gw)) != n)
			break;
		while (poll(&pfd, 1, wait) > 0) {
			struct pcp_answer ans;
			char err[200];
			uint32_t ext;
			ssize_t got = recv(fd, in, sizeof(in), 0);
			if (got <= 0)
				break;
			if (pcp_answer_parse(in, (size_t)got, &ans, err, sizeof(err))) {
				/* not an answer: garbage, or one we cannot read */
				snprintf(q->why, sizeof(q->why), "PCP: an answer we refused: %s", err);
				continue;
			}
			if (ans.version == 0) {
				snprintf(q->why, sizeof(q->why), "PCP: a NAT-PMP router answered (version 0)");
				continue;
			}
			if (!pcp_answer_is_for(&ans, &req))
				continue;
			if (ans.result != PCP_SUCCESS || (q->lifetime && !pcp_v4_of(&ans.map.external, &ext))) {
				snprintf(q->why, sizeof(q->why), "PCP: %s", pcp_result_name(ans.result));
				t = 3;
				break;
			}
			q->got = true;
			q->why[0] = '\0';
			memcpy(q->nonce, req.nonce, sizeof(q->nonce));
			q->ext_addr = q->lifetime ? ext : 0;
			q->ext_port = ans.map.external_port;
			q->granted = ans.lifetime;
			break;
		}
	}
	close(fd);
	return 0;
}

/* libnatpmp's answer to the request just sent, three tries (250 ms, doubling). */
static int natpmp_answer(natpmp_t *nat, natpmpresp_t *resp)
{
	int r;

	do {
		struct pollfd pfd = { nat->s, POLLIN, 0 };
		struct timeval tv;
		getnatpmprequesttimeout(nat, &tv);
		poll(&pfd, 1, (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000));
		r = readnatpmpresponseorretry(nat, resp);
	} while (r == NATPMP_TRYAGAIN && nat->try_number <= 2);
	return r;
}

static int ask_natpmp(struct pmap_ask *q)
{
	natpmp_t nat;
	natpmpresp_t resp;
	int r;

	if (initnatpmp(&nat, 1, q->gateway) < 0)
		return -EIO;
	if (sendnewportmappingrequest(&nat, NATPMP_PROTOCOL_UDP, q->port, q->lifetime ? q->port : 0, q->lifetime) < 0) {
		closenatpmp(&nat);
		return -EIO;
	}
	r = natpmp_answer(&nat, &resp);
	if (r >= 0 && resp.type == NATPMP_RESPTYPE_UDPPORTMAPPING) {
		q->got = true;
		q->ext_port = resp.pnu.newportmapping.mappedpublicport;
		q->granted = resp.pnu.newportmapping.lifetime;
		/* the mapping's answer does not say the outside address: ask it */
		if (q->lifetime && sendpublicaddressrequest(&nat) >= 0 && natpmp_answer(&nat, &resp) >= 0 &&
		    resp.type == NATPMP_RESPTYPE_PUBLICADDRESS)
			q->ext_addr = resp.pnu.publicaddress.addr.s_addr;
	} else {
		snprintf(q->why, sizeof(q->why), "NAT-PMP: %s", r == NATPMP_TRYAGAIN ? "no answer" : strnatpmperr(r));
	}
	closenatpmp(&nat);
	return 0;
}

#define UPNP_MAX_DEVS 64   /* devices looked at among discovery's answers */

bool pmap_url_at(const char *url, uint32_t addr)
{
	char host[INET_ADDRSTRLEN];
	struct in_addr a;
	size_t n;

	if (!url || strncmp(url, "http://", 7))
		return false;
	url += 7;
	n = strcspn(url, ":/");
	if (n == 0 || n >= sizeof(host) || (url[n] != ':' && url[n] != '/'))
		return false;
	memcpy(host, url, n);
	host[n] = '\0';
	return inet_pton(AF_INET, host, &a) == 1 && a.s_addr == addr;
}

/* Only the devices whose description is at addr (all, when addr is 0),
 * relinked into one chain from *kept; the original links are kept in
 * next[] to put back (at most max devices). Returns how many were kept. */
static int upnp_at(struct UPNPDev *devs, uint32_t addr, struct UPNPDev **kept, struct UPNPDev *next[], int max)
{
	struct UPNPDev **tail = kept;
	int i = 0, k = 0;

	*kept = NULL;
	for (struct UPNPDev *d = devs; d && i < max; d = next[i++]) {
		next[i] = d->pNext;
		if (addr && !pmap_url_at(d->descURL, addr))
			continue;
		*tail = d;
		tail = &d->pNext;
		k++;
	}
	*tail = NULL;
	return k;
}

static void upnp_relink(struct UPNPDev *devs, struct UPNPDev *next[], int max)
{
	int i = 0;

	for (struct UPNPDev *d = devs; d && i < max; i++) {
		d->pNext = next[i];
		d = next[i];
	}
}

static int ask_upnp(struct pmap_ask *q)
{
	struct UPNPDev *devs, *kept, *next[UPNP_MAX_DEVS];
	struct UPNPUrls urls;
	struct IGDdatas data;
	char lan[64], ext[40], port[8], life[12];
	int error = 0, igd;

	if (!(devs = upnpDiscover(2 * WAIT_MS, q->ifname, NULL, 0, 0, 2, &error))) {
		snprintf(q->why, sizeof(q->why), "UPnP: no device answered discovery");
		return 0;
	}
	/* Only our gateway's: anyone on the LAN may answer discovery, and a
	 * mapping elsewhere opens nothing on our way out. */
	if (!upnp_at(devs, q->gateway, &kept, next, UPNP_MAX_DEVS)) {
		upnp_relink(devs, next, UPNP_MAX_DEVS);
		freeUPNPDevlist(devs);
		snprintf(q->why, sizeof(q->why), "UPnP: no device at the gateway %s answered discovery",
			 inet_ntop(AF_INET, &q->gateway, lan, sizeof(lan)) ? lan : "?");
		return 0;
	}
	/* 2: an IGD miniupnpc calls not connected because its outside address
	 * is a reserved one (as every lab address is): usable all the same */
	igd = UPNP_GetValidIGD(kept, &urls, &data, lan, sizeof(lan));
	upnp_relink(devs, next, UPNP_MAX_DEVS);
	snprintf(port, sizeof(port), "%u", q->port);
	snprintf(life, sizeof(life), "%u", q->lifetime);
	if (igd != 1 && igd != 2) {
		snprintf(q->why, sizeof(q->why), "UPnP: no Internet Gateway Device among the answers");
	} else if (!q->lifetime) {
		q->got = UPNP_DeletePortMapping(urls.controlURL, data.first.servicetype, port, "UDP", NULL) ==
			 UPNPCOMMAND_SUCCESS;
	} else if ((error = UPNP_AddPortMapping(urls.controlURL, data.first.servicetype, port, port, lan, "punchlab",
						"UDP", NULL, life)) != UPNPCOMMAND_SUCCESS) {
		/* strupnperror knows no code the router made up (NULL) */
		const char *said = strupnperror(error);
		if (said)
			snprintf(q->why, sizeof(q->why), "UPnP: AddPortMapping: %s", said);
		else
			snprintf(q->why, sizeof(q->why), "UPnP: AddPortMapping: error %d", error);
	} else {
		q->got = true;
		q->ext_port = q->port;
		q->granted = q->lifetime;
		if (UPNP_GetExternalIPAddress(urls.controlURL, data.first.servicetype, ext) == UPNPCOMMAND_SUCCESS)
			q->ext_addr = inet_addr(ext);
	}
	if (igd)
		FreeUPNPUrls(&urls);
	freeUPNPDevlist(devs);
	return 0;
}

int pmap_ask(unsigned protocol, struct pmap_ask *q)
{
	q->got = false;
	q->ext_addr = 0;
	q->ext_port = 0;
	q->granted = 0;
	q->why[0] = '\0';
	switch (protocol) {
	case NAT_PORTMAP_UPNP: return ask_upnp(q);
	case NAT_PORTMAP_NATPMP: return ask_natpmp(q);
	case NAT_PORTMAP_PCP: return ask_pcp(q);
	default: return -EINVAL;
	}
}

int pmap_route(uint32_t toward, struct pmap_ask *q, char *ifname)
{
	int oif, ret;

	if ((ret = rtnl_route_get(toward, &q->gateway, &q->host, &oif)))
		return ret;
	if (!q->gateway)
		return -EHOSTUNREACH;
	if (!if_indextoname((unsigned)oif, ifname))
		return -errno;
	q->ifname = ifname;
	return 0;
}

const unsigned pmap_protocols[PMAP_PROTOCOLS] = { NAT_PORTMAP_UPNP, NAT_PORTMAP_NATPMP, NAT_PORTMAP_PCP };

const char *pmap_protocol_name(unsigned protocol)
{
	return protocol == NAT_PORTMAP_UPNP ? "UPnP IGD" : protocol == NAT_PORTMAP_NATPMP ? "NAT-PMP"
	       : protocol == NAT_PORTMAP_PCP	      ? "PCP"
							      : "none";
}
