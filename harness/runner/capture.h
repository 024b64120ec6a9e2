/* A packet capture of one router's every interface ("any"), written as a
 * pcap file, kept when a scenario fails; on the way, the WireGuard
 * handshakes in it are counted. */
#ifndef PL_RUNNER_CAPTURE_H
#define PL_RUNNER_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

/* WireGuard handshake messages seen (each once, however many routers and
 * interfaces it crossed): initiations (type 1, 148 bytes) and responses
 * (type 2, 92 bytes), at the start of a UDP payload. A tool whose relay
 * wraps them in a header of its own shows only those sent plainly. */
#define WG_SEEN_RING 128
struct wg_seen {
	int initiations, responses;
	uint8_t recent[WG_SEEN_RING][16];   /* the last messages' indices and ephemeral keys' starts */
	int next, n_recent;
};

struct capture;

/* Start capturing inside NETNS into PATH, counting into SEEN (may be
 * NULL; may be shared by several captures); NULL with err on failure. */
struct capture *capture_start(const char *netns, const char *path, struct wg_seen *seen, char *err, size_t errlen);
/* Write what has arrived so far (never blocks). */
void capture_poll(struct capture *c);
/* Write the rest, close the file, free c. */
void capture_stop(struct capture *c);

/* The UDP payload of one captured packet (LINKTYPE as below; IPv4 or
 * IPv6, unfragmented or a first fragment), its length in *plen as
 * captured; NULL if it carries none. */
const uint8_t *capture_udp(int linktype, const uint8_t *pkt, size_t caplen, size_t *plen);
/* Count one captured packet (LINKTYPE: pcap's DLT_LINUX_SLL, _SLL2,
 * DLT_EN10MB or DLT_RAW) if it is a WireGuard handshake message not seen
 * before; anything else, damaged or cut short, is passed over. */
void capture_count_wg(struct wg_seen *seen, int linktype, const uint8_t *pkt, size_t caplen);

#endif
