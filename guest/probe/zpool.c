/*
 * numacage-probe zpool-victim N and zpool-reclaim ARM P FILE: whether a task
 * bound to P that reclaims another cgroup's memory puts zsmalloc pool pages
 * on P (docs/design/swap-paths.md §2), as guest/scripts/zpool-user.sh runs
 * them, as the user.
 *
 * zpool-victim faults N anonymous pages under no policy, each tagged and
 * with 1 KiB of pseudo-random bytes, so that zram neither stores it as a
 * same-filled page nor packs it into a few bytes; says where they are
 * ("placed") and stops itself (SIGSTOP). Continued, it says how many
 * pagemap shows swapped, reads every page back and says where they are
 * ("touched").
 *
 * zpool-reclaim, in arm 1 under set_mempolicy(BIND, {P}) ("bind"), in arm 0
 * under no policy, writes "8M" to FILE, the victim's memory.reclaim, and
 * says what the write returned ("reclaim"): the pages it reclaims are
 * compressed in its context, into pool pages its policy places.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "probe.h"

enum { RANDOM_FROM = 64, RANDOM_BYTES = 1024 };

/* A record of where the npages at p are, with how many were swapped when swapped is given. */
static void record_pages(const char *call, char *p, size_t npages, const long *swapped) {
	struct placement pl;
	where(p, npages, &pl);
	open_record("zpool", call);
	printf("\"pid\":%d,\"pages\":%zu,", (int)getpid(), npages);
	if (swapped) printf("\"swapped\":%ld,", *swapped);
	print_placement(&pl);
	printf("}\n");
}

int zpool_victim(long npages) {
	if (npages <= 0) die("zpool", "pages");
	char *p = map_pages((size_t)npages);
	if (madvise(p, (size_t)npages * PAGE, MADV_NOHUGEPAGE) != 0) die("zpool", "madvise");
	touch_swappable(p, (size_t)npages);
	uint64_t x = 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	for (long i = 0; i < npages; i++)
		for (size_t b = 0; b < RANDOM_BYTES; b += sizeof(x)) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			memcpy(p + i * PAGE + RANDOM_FROM + b, &x, sizeof(x));
		}
	record_pages("placed", p, (size_t)npages, NULL);
	fflush(stdout);
	raise(SIGSTOP);
	long swapped = swapped_pages(p, (size_t)npages);
	for (long i = 0; i < npages; i++) (void)((volatile char *)p)[i * PAGE];
	record_pages("touched", p, (size_t)npages, &swapped);
	return 0;
}

int zpool_reclaim(int arm, int pnode, const char *path) {
	if (arm == 1) {
		long ret = sys_set_mempolicy(MPOL_BIND, &pnode, 1);
		int err = errno;
		open_record("zpool", "bind");
		print_result(ret, ret ? err : 0);
		printf("}\n");
		if (ret) return 0;
	}
	int fd = open(path, O_WRONLY);
	if (fd < 0) die("zpool", "open");
	static const char amount[] = "8M";
	ssize_t ret = write(fd, amount, strlen(amount));
	int err = errno;
	close(fd);
	open_record("zpool", "reclaim");
	printf("\"arm\":%d,", arm);
	print_result(ret, ret < 0 ? err : 0);
	printf("}\n");
	return 0;
}
