/*
 * numacage-probe net-echo IFACE COUNT SECS: COUNT numbered Ethernet frames of
 * mixed sizes out of IFACE to a host backend that echoes them with the MAC
 * addresses swapped (DPDK testpmd, macswap), each echo checked byte for byte.
 *
 * A frame is: dst 02:00:00:00:00:01, src IFACE's MAC, ethertype 0x88b5
 * (IEEE local experimental), then "NCIO", the sequence number, the frame's
 * length, an FNV-1a checksum of the rest, and bytes generated from the
 * sequence number. AF_PACKET gives the driver an skb whose payload sits in a
 * page fragment, so every frame is a scatter list of two or more entries
 * (virtio_net then uses an indirect descriptor table when it may).
 *
 * Up to WINDOW frames are in flight; the run stops after SECS seconds without
 * an echo. Prints one "net-echo done" record: sent, echoed, corrupt (with the
 * first bad sequence number and offset), lost, duplicate and stray frames.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "probe.h"

#define ETHERTYPE_NUMACAGE 0x88b5
#define WINDOW 16
#define HEADER 14
#define MAGIC "NCIO"
/* Frame lengths without FCS, cycled: the minimum, small, page-crossing and full-MTU frames. */
static const int SIZES[] = {60, 64, 128, 256, 511, 1000, 1400, 1514};
#define NSIZES (sizeof(SIZES) / sizeof(SIZES[0]))
static const uint8_t PEER[6] = {0x02, 0, 0, 0, 0, 0x01};

struct body {
	char magic[4];
	uint32_t seq;
	uint32_t len;
	uint32_t sum;
} __attribute__((packed));

static uint32_t fnv1a(const uint8_t *p, size_t n) {
	uint32_t h = 2166136261u;
	while (n--) h = (h ^ *p++) * 16777619u;
	return h;
}

/* The whole frame for sequence number seq, as sent; the echo must equal it with the MACs swapped. */
static int frame_for(uint32_t seq, const uint8_t *mac, uint8_t *f) {
	int len = SIZES[seq % NSIZES];
	memcpy(f, PEER, 6);
	memcpy(f + 6, mac, 6);
	f[12] = ETHERTYPE_NUMACAGE >> 8;
	f[13] = ETHERTYPE_NUMACAGE & 0xff;
	struct body b = {.seq = seq, .len = (uint32_t)len};
	memcpy(b.magic, MAGIC, 4);
	uint32_t x = seq * 2654435761u + 1;
	for (int i = HEADER + (int)sizeof(b); i < len; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		f[i] = (uint8_t)x;
	}
	b.sum = fnv1a(f + HEADER + sizeof(b), (size_t)len - HEADER - sizeof(b));
	memcpy(f + HEADER, &b, sizeof(b));
	return len;
}

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *call) {
	int err = errno;
	printf("{\"probe\":\"net-echo\",\"call\":\"%s\",\"ret\":-1,\"errno\":\"%s\",\"fatal\":true}\n", call, errno_name(err) ? errno_name(err) : "EOTHER");
	return 1;
}

int net_echo(const char *ifname, long count, int secs) {
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETHERTYPE_NUMACAGE));
	if (s < 0) return fail("socket");
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) return fail("SIOCGIFHWADDR");
	uint8_t mac[6];
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE_NUMACAGE), .sll_halen = 6};
	to.sll_ifindex = (int)if_nametoindex(ifname);
	if (!to.sll_ifindex) return fail("if_nametoindex");
	memcpy(to.sll_addr, PEER, 6);
	if (bind(s, (struct sockaddr *)&to, sizeof(to)) < 0) return fail("bind");

	uint8_t *seen = calloc((size_t)count, 1);
	if (!seen) return fail("calloc");
	uint8_t out[1514], want[1514], in[2048];
	long sent = 0, echoed = 0, corrupt = 0, duplicate = 0, stray = 0, bad_seq = -1, bad_offset = -1;
	double start = now_s(), last = start;
	while (echoed + corrupt < count && now_s() - last < secs) {
		while (sent < count && sent - echoed - corrupt < WINDOW) {
			int len = frame_for((uint32_t)sent, mac, out);
			if (sendto(s, out, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to)) != len) {
				if (errno == ENOBUFS || errno == EAGAIN) break;
				return fail("sendto");
			}
			sent++;
		}
		struct pollfd p = {.fd = s, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0) continue;
		ssize_t n = recv(s, in, sizeof(in), MSG_DONTWAIT);
		if (n < 0) continue;
		struct body b;
		if (n < HEADER + (ssize_t)sizeof(b) || memcmp(in, mac, 6)) {
			stray++;
			continue;
		}
		memcpy(&b, in + HEADER, sizeof(b));
		if (memcmp(b.magic, MAGIC, 4) || b.seq >= (uint64_t)sent) {
			stray++;
			continue;
		}
		last = now_s();
		if (seen[b.seq]) {
			duplicate++;
			continue;
		}
		seen[b.seq] = 1;
		int len = frame_for(b.seq, mac, want);
		memcpy(want, mac, 6);
		memcpy(want + 6, PEER, 6);
		long off = -1;
		if (n != len) off = n < len ? n : len;
		else
			for (int i = 0; i < len; i++)
				if (in[i] != want[i]) {
					off = i;
					break;
				}
		if (off < 0) {
			echoed++;
		} else {
			corrupt++;
			if (bad_seq < 0) bad_seq = b.seq, bad_offset = off;
		}
	}
	printf("{\"probe\":\"net-echo\",\"call\":\"done\",\"count\":%ld,\"sent\":%ld,\"echoed\":%ld,\"corrupt\":%ld,"
	       "\"lost\":%ld,\"duplicate\":%ld,\"stray\":%ld,\"firstCorruptSeq\":%ld,\"firstCorruptOffset\":%ld,\"ms\":%.0f}\n",
	       count, sent, echoed, corrupt, sent - echoed - corrupt, duplicate, stray, bad_seq, bad_offset, (now_s() - start) * 1000);
	free(seen);
	close(s);
	return 0;
}
