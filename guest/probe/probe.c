/*
 * numacage-probe: pokes the NUMA memory-policy syscalls from inside the guest
 * and prints one JSON object per call (inputs, return value, errno name and
 * where the pages are). Raw syscalls, no libnuma; built static on the host.
 *
 *   numacage-probe soft-policy C P     set_mempolicy INTERLEAVE/PREFERRED_MANY {C,P}, PREFERRED {P}; fault 64 pages
 *   numacage-probe bind P              mbind(BIND,{P}) on a fresh mapping, then MOVE|STRICT on pages already faulted
 *   numacage-probe move-pages P        move_pages(0, 16 pages on the local node, ->P, MPOL_MF_MOVE)
 *   numacage-probe migrate-pages C P   migrate_pages(0, {C}, {P}) with 16 faulted pages
 *   numacage-probe fill MIB [STEP [NODE]]  fault MIB of anonymous memory, one line per STEP MiB; with NODE,
 *                                      each step is mbind(BIND,{NODE}) first (otherwise no policy)
 *   numacage-probe thp P               4 MiB bound to P, faulted with MADV_NOHUGEPAGE, then MADV_HUGEPAGE + MADV_COLLAPSE
 *   numacage-probe ksm C P SECS        (root) two identical MADV_MERGEABLE pages bound to P and a control pair on C;
 *                                      waits up to SECS for ksmd (ksm/run must be 1) and compares PFNs
 *   numacage-probe numa-balancing C P CPU SECS
 *                                      (root) 64 pages moved to P with move_pages, default policy, pinned to CPU
 *                                      (one of C's), touched for SECS; says where they are after
 *
 * Placement is read with move_pages(pid, n, pages, NULL, status, 0), which
 * does not fault pages in: status is a node or a negative errno (-ENOENT for
 * a page never touched on >= 6.12).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MPOL_DEFAULT 0
#define MPOL_PREFERRED 1
#define MPOL_BIND 2
#define MPOL_INTERLEAVE 3
#define MPOL_PREFERRED_MANY 5
#define MPOL_MF_STRICT (1 << 0)
#define MPOL_MF_MOVE (1 << 1)
#define MAXNODE 64
#define MAX_STATUS 64
#define PAGE 4096UL

static const char *errno_name(int e) {
	switch (e) {
	case 0: return NULL;
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EIO: return "EIO";
	case E2BIG: return "E2BIG";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case ESRCH: return "ESRCH";
	case EXDEV: return "EXDEV";
	case ENOSYS: return "ENOSYS";
	default: return "EOTHER";
	}
}

static void nodemask(unsigned long *mask, const int *nodes, int n) {
	mask[0] = mask[1] = 0;
	for (int i = 0; i < n; i++) mask[nodes[i] / 64] |= 1UL << (nodes[i] % 64);
}

static long sys_set_mempolicy(int mode, const int *nodes, int n) {
	unsigned long mask[2];
	nodemask(mask, nodes, n);
	return syscall(SYS_set_mempolicy, mode, n ? mask : NULL, n ? MAXNODE + 1 : 0);
}

static long sys_mbind(void *addr, size_t len, int mode, const int *nodes, int n, unsigned flags) {
	unsigned long mask[2];
	nodemask(mask, nodes, n);
	return syscall(SYS_mbind, addr, len, mode, n ? mask : NULL, n ? MAXNODE + 1 : 0, flags);
}

static char *map_pages(size_t npages) {
	char *p = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) { perror("mmap"); exit(2); }
	return p;
}

static void touch(char *p, size_t npages) {
	for (size_t i = 0; i < npages; i++) p[i * PAGE] = (char)(i + 1);
}

/* Counts of pages per node (index = node) and per negative status, via move_pages(nodes=NULL). */
struct placement { long on[MAXNODE]; long enoent, efault, other; };

static void where(char *p, size_t npages, struct placement *pl) {
	memset(pl, 0, sizeof(*pl));
	void *pages[MAX_STATUS];
	int status[MAX_STATUS];
	for (size_t base = 0; base < npages; base += MAX_STATUS) {
		size_t n = npages - base < MAX_STATUS ? npages - base : MAX_STATUS;
		for (size_t i = 0; i < n; i++) pages[i] = p + (base + i) * PAGE;
		if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0) != 0) { pl->other += n; continue; }
		for (size_t i = 0; i < n; i++) {
			int s = status[i];
			if (s >= 0 && s < MAXNODE) pl->on[s]++;
			else if (s == -ENOENT) pl->enoent++;
			else if (s == -EFAULT) pl->efault++;
			else pl->other++;
		}
	}
}

static void print_placement(const struct placement *pl) {
	printf("\"placement\":{");
	int first = 1;
	for (int i = 0; i < MAXNODE; i++)
		if (pl->on[i]) { printf("%s\"%d\":%ld", first ? "" : ",", i, pl->on[i]); first = 0; }
	if (pl->enoent) { printf("%s\"ENOENT\":%ld", first ? "" : ",", pl->enoent); first = 0; }
	if (pl->efault) { printf("%s\"EFAULT\":%ld", first ? "" : ",", pl->efault); first = 0; }
	if (pl->other) { printf("%s\"other\":%ld", first ? "" : ",", pl->other); }
	printf("}");
}

/* Ends a record with ,"before":{"placement":...},"placement":...}: where the pages were, and are. */
static void print_before_after(const struct placement *before, const struct placement *after) {
	printf(",\"before\":{");
	print_placement(before);
	printf("},");
	print_placement(after);
	printf("}\n");
}

static void print_errno_value(int err) {
	const char *name = errno_name(err);
	if (name) printf("\"%s\"", name); else printf("null");
}

static void print_nodes(const int *nodes, int n) {
	printf("[");
	for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", nodes[i]);
	printf("]");
}

static void print_result(long ret, int err) {
	printf("\"ret\":%ld,\"errno\":", ret);
	print_errno_value(err);
}

static const char *mode_name(int mode) {
	switch (mode) {
	case MPOL_PREFERRED: return "MPOL_PREFERRED";
	case MPOL_BIND: return "MPOL_BIND";
	case MPOL_INTERLEAVE: return "MPOL_INTERLEAVE";
	case MPOL_PREFERRED_MANY: return "MPOL_PREFERRED_MANY";
	default: return "MPOL_DEFAULT";
	}
}

/* set_mempolicy(mode, nodes), then fault 64 pages and say where they went. */
static void soft_policy_case(int mode, const int *nodes, int n) {
	const size_t npages = 64;
	errno = 0;
	long ret = sys_set_mempolicy(mode, nodes, n);
	int err = ret ? errno : 0;
	char *p = map_pages(npages);
	touch(p, npages);
	struct placement pl;
	where(p, npages, &pl);
	sys_set_mempolicy(MPOL_DEFAULT, NULL, 0);
	printf("{\"probe\":\"soft-policy\",\"call\":\"set_mempolicy\",\"mode\":\"%s\",\"nodes\":", mode_name(mode));
	print_nodes(nodes, n);
	printf(",");
	print_result(ret, err);
	printf(",\"pages\":%zu,", npages);
	print_placement(&pl);
	printf("}\n");
	munmap(p, npages * PAGE);
}

static int soft_policy(int c, int pnode) {
	int both[2] = {c, pnode}, only[1] = {pnode};
	soft_policy_case(MPOL_INTERLEAVE, both, 2);
	soft_policy_case(MPOL_PREFERRED_MANY, both, 2);
	soft_policy_case(MPOL_PREFERRED, only, 1);
	return 0;
}

static int bind(int pnode) {
	const size_t npages = 64;
	int only[1] = {pnode};
	struct placement pl;

	char *p = map_pages(npages);
	errno = 0;
	long ret = sys_mbind(p, npages * PAGE, MPOL_BIND, only, 1, 0);
	int err = ret ? errno : 0;
	touch(p, npages);
	where(p, npages, &pl);
	printf("{\"probe\":\"bind\",\"call\":\"mbind\",\"case\":\"fresh\",\"mode\":\"MPOL_BIND\",\"nodes\":[%d],\"flags\":[],", pnode);
	print_result(ret, err);
	printf(",\"pages\":%zu,", npages);
	print_placement(&pl);
	printf("}\n");
	munmap(p, npages * PAGE);

	p = map_pages(npages);
	touch(p, npages);
	struct placement before;
	where(p, npages, &before);
	errno = 0;
	ret = sys_mbind(p, npages * PAGE, MPOL_BIND, only, 1, MPOL_MF_MOVE | MPOL_MF_STRICT);
	err = ret ? errno : 0;
	where(p, npages, &pl);
	printf("{\"probe\":\"bind\",\"call\":\"mbind\",\"case\":\"move-strict\",\"mode\":\"MPOL_BIND\",\"nodes\":[%d],\"flags\":[\"MPOL_MF_MOVE\",\"MPOL_MF_STRICT\"],", pnode);
	print_result(ret, err);
	printf(",\"pages\":%zu", npages);
	print_before_after(&before, &pl);
	munmap(p, npages * PAGE);
	return 0;
}

static int move_pages_to(int pnode) {
	const size_t npages = 16;
	char *p = map_pages(npages);
	touch(p, npages);
	struct placement before, after;
	where(p, npages, &before);
	void *pages[16];
	int nodes[16], status[16];
	for (size_t i = 0; i < npages; i++) { pages[i] = p + i * PAGE; nodes[i] = pnode; status[i] = 12345; }
	errno = 0;
	long ret = syscall(SYS_move_pages, 0, npages, pages, nodes, status, MPOL_MF_MOVE);
	int err = ret < 0 ? errno : 0;
	where(p, npages, &after);
	printf("{\"probe\":\"move-pages\",\"call\":\"move_pages\",\"target\":%d,\"flags\":[\"MPOL_MF_MOVE\"],", pnode);
	print_result(ret, err);
	printf(",\"pages\":%zu,\"status\":[", npages);
	for (size_t i = 0; i < npages; i++) printf("%s%d", i ? "," : "", status[i]);
	printf("]");
	print_before_after(&before, &after);
	return 0;
}

static int migrate_pages_to(int c, int pnode) {
	const size_t npages = 16;
	char *p = map_pages(npages);
	touch(p, npages);
	struct placement before, after;
	where(p, npages, &before);
	unsigned long from[2], to[2];
	int cn[1] = {c}, pn[1] = {pnode};
	nodemask(from, cn, 1);
	nodemask(to, pn, 1);
	errno = 0;
	long ret = syscall(SYS_migrate_pages, 0, MAXNODE + 1, from, to);
	int err = ret < 0 ? errno : 0;
	where(p, npages, &after);
	printf("{\"probe\":\"migrate-pages\",\"call\":\"migrate_pages\",\"from\":[%d],\"to\":[%d],", c, pnode);
	print_result(ret, err);
	printf(",\"pages\":%zu", npages);
	print_before_after(&before, &after);
	return 0;
}

/* Faults MIB of anonymous memory STEP MiB at a time (bound to node when >= 0), saying where each step landed. */
static int fill(long mib, long step, int node) {
	const size_t step_pages = (size_t)step * 256;
	for (long done = 0; done < mib; done += step) {
		char *p = map_pages(step_pages);
		if (node >= 0 && sys_mbind(p, step_pages * PAGE, MPOL_BIND, &node, 1, 0) != 0) {
			printf("{\"probe\":\"fill\",\"call\":\"mbind\",");
			print_result(-1, errno);
			printf("}\n");
			return 1;
		}
		touch(p, step_pages);
		struct placement pl;
		where(p, step_pages, &pl);
		printf("{\"probe\":\"fill\",\"call\":\"fault\",\"mib\":%ld,\"step_mib\":%ld,", done + step, step);
		print_placement(&pl);
		printf("}\n");
		fflush(stdout);
	}
	printf("{\"probe\":\"fill\",\"call\":\"done\",\"mib\":%ld}\n", mib);
	return 0;
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

/* AnonHugePages (kB) of the mapping that starts at addr, from /proc/self/smaps. */
static long anon_huge_kb(void *addr) {
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f) return -1;
	char line[512];
	int in = 0;
	long kb = -1;
	unsigned long start, end;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) in = start == (unsigned long)addr;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) break;
	}
	fclose(f);
	return kb;
}

static int thp(int pnode) {
	const size_t len = 4UL << 20, huge = 2UL << 20;
	char *raw = mmap(NULL, len + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) { perror("mmap"); return 2; }
	char *p = (char *)(((unsigned long)raw + huge - 1) & ~(huge - 1));
	if (p > raw) munmap(raw, p - raw);
	munmap(p + len, raw + huge - p);
	errno = 0;
	long bound = sys_mbind(p, len, MPOL_BIND, &pnode, 1, 0);
	int bind_err = bound ? errno : 0;
	madvise(p, len, MADV_NOHUGEPAGE);
	touch(p, len / PAGE);
	struct placement before, after;
	where(p, len / PAGE, &before);
	long huge_before = anon_huge_kb(p);
	madvise(p, len, MADV_HUGEPAGE);
	errno = 0;
	long ret = madvise(p, len, MADV_COLLAPSE);
	int err = ret ? errno : 0;
	where(p, len / PAGE, &after);
	printf("{\"probe\":\"thp\",\"call\":\"madvise\",\"advice\":\"MADV_COLLAPSE\",\"node\":%d,\"bind_ret\":%ld,\"bind_errno\":", pnode, bound);
	print_errno_value(bind_err);
	printf(",");
	print_result(ret, err);
	printf(",\"pages\":%zu,\"anon_huge_kb_before\":%ld,\"anon_huge_kb\":%ld", len / PAGE, huge_before, anon_huge_kb(p));
	print_before_after(&before, &after);
	return 0;
}

/* The PFN of the page at addr, from /proc/self/pagemap (0 without CAP_SYS_ADMIN). */
static unsigned long pfn_of(void *addr) {
	FILE *f = fopen("/proc/self/pagemap", "rb");
	if (!f) return 0;
	unsigned long long entry = 0;
	if (fseek(f, (long)((unsigned long)addr / PAGE * 8), SEEK_SET) == 0 && fread(&entry, 8, 1, f) == 1) {}
	fclose(f);
	return (entry >> 63) & 1 ? (unsigned long)(entry & ((1ULL << 55) - 1)) : 0;
}

/* Two identical pages bound to node; each pair gets its own content so that pairs never merge with each other. */
static char *mergeable_pair(int node, int fill_byte) {
	char *p = map_pages(2);
	if (sys_mbind(p, 2 * PAGE, MPOL_BIND, &node, 1, 0) != 0) return NULL;
	memset(p, fill_byte, 2 * PAGE);
	if (madvise(p, 2 * PAGE, MADV_MERGEABLE) != 0) return NULL;
	return p;
}

static int ksm(int c, int pnode, int secs) {
	char *onp = mergeable_pair(pnode, 0x5a), *onc = mergeable_pair(c, 0xa5);
	if (!onp || !onc) { printf("{\"probe\":\"ksm\",\"call\":\"mbind+madvise\","); print_result(-1, errno); printf("}\n"); return 1; }
	int waited = 0;
	for (; waited < secs * 10; waited++) {
		if (pfn_of(onc) && pfn_of(onc) == pfn_of(onc + PAGE) && pfn_of(onp) == pfn_of(onp + PAGE)) break;
		usleep(100000);
	}
	struct placement pl, cl;
	where(onp, 2, &pl);
	where(onc, 2, &cl);
	printf("{\"probe\":\"ksm\",\"call\":\"merge\",\"waited_ms\":%d,\"p_pfns\":[%lu,%lu],\"c_pfns\":[%lu,%lu],", waited * 100,
	       pfn_of(onp), pfn_of(onp + PAGE), pfn_of(onc), pfn_of(onc + PAGE));
	printf("\"control\":{");
	print_placement(&cl);
	printf("},");
	print_placement(&pl);
	printf("}\n");
	return 0;
}

static int numa_balancing(int pnode, int cpu, int secs) {
	const size_t npages = 64;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0) { perror("sched_setaffinity"); return 2; }
	char *p = map_pages(npages);
	touch(p, npages);
	void *pages[64];
	int nodes[64], status[64];
	for (size_t i = 0; i < npages; i++) { pages[i] = p + i * PAGE; nodes[i] = pnode; }
	long ret = syscall(SYS_move_pages, 0, npages, pages, nodes, status, MPOL_MF_MOVE);
	struct placement before, after;
	where(p, npages, &before);
	time_t end = time(NULL) + secs;
	unsigned long sum = 0;
	while (time(NULL) < end)
		for (size_t i = 0; i < npages * PAGE; i += 64) sum += (unsigned char)(p[i]++);
	where(p, npages, &after);
	printf("{\"probe\":\"numa-balancing\",\"call\":\"hammer\",\"cpu\":%d,\"seconds\":%d,\"move_ret\":%ld,\"pages\":%zu,\"sum\":%lu", cpu, secs, ret, npages, sum);
	print_before_after(&before, &after);
	return 0;
}

static int usage(void) {
	fprintf(stderr, "usage: numacage-probe soft-policy C P | bind P | move-pages P | migrate-pages C P | fill MIB [STEP [NODE]] | thp P"
	                " | ksm C P SECS | numa-balancing C P CPU SECS\n");
	return 2;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) return usage();
	const char *cmd = argv[1];
	if (!strcmp(cmd, "soft-policy") && argc == 4) return soft_policy(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(cmd, "bind") && argc == 3) return bind(atoi(argv[2]));
	if (!strcmp(cmd, "move-pages") && argc == 3) return move_pages_to(atoi(argv[2]));
	if (!strcmp(cmd, "migrate-pages") && argc == 4) return migrate_pages_to(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(cmd, "fill") && argc >= 3 && argc <= 5) return fill(atol(argv[2]), argc >= 4 ? atol(argv[3]) : 64, argc == 5 ? atoi(argv[4]) : -1);
	if (!strcmp(cmd, "thp") && argc == 3) return thp(atoi(argv[2]));
	if (!strcmp(cmd, "ksm") && argc == 5) return ksm(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	if (!strcmp(cmd, "numa-balancing") && argc == 6) return numa_balancing(atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	return usage();
}
