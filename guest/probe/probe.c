/*
 * numacage-probe: pokes the NUMA memory-policy syscalls from inside the guest
 * and prints one JSON object per call (inputs, return value, errno name, the
 * caller's uid and where the pages are). Raw syscalls, no libnuma; built
 * static on the host. The host side (src/invariants/) judges the records and
 * treats a missing or malformed one as a broken probe, never as a pass.
 *
 *   soft-policy C P          set_mempolicy INTERLEAVE, PREFERRED_MANY, WEIGHTED_INTERLEAVE {C,P},
 *                            PREFERRED and PREFERRED_MANY {P}; 64 pages faulted under each
 *   bind P                   mbind(BIND,{P}) on a fresh mapping, then MOVE|STRICT on pages already faulted
 *   move-pages P             move_pages(0, 16 faulted pages, ->P, MPOL_MF_MOVE)
 *   migrate-pages C P        migrate_pages(0, {C}, {P}) with 16 faulted pages
 *   fill MIB STEP [NODES]    fault MIB of anonymous base pages STEP MiB at a time (each step bound to
 *                            NODES, a comma list, when given); a start record with the pid first
 *   slab C P N DIR           a slab-heavy workload (N tmpfs files in DIR, N/16 socket pairs) under
 *                            BIND {P}, else INTERLEAVE {C,P}, else no policy; P's kernel counters while held
 *   thp P [shmem]            4 MiB bound to P (anonymous, or a shared memfd mapping), faulted with
 *                            MADV_NOHUGEPAGE, then MADV_HUGEPAGE + MADV_COLLAPSE
 *   ksm C P SECS             (root) two identical MADV_MERGEABLE pages bound to P, a control pair on C;
 *                            waits up to SECS for ksmd (ksm/run must be 1) and compares PFNs
 *   ksm-cross ROLE MODE C P NONCE N
 *                            (as the user) one of two tasks with identical MADV_MERGEABLE pages (N per set,
 *                            contents from NONCE) that its caller steps with ksmd by hand: ROLE owner (MODE
 *                            onto, off or rmap: its pages go to P by move_pages(2), in rmap also back to C one
 *                            by one) or unbound (onto or off: never asks for P); stops itself (SIGSTOP) after
 *                            each phase's records
 *   numa-balancing C P CPU SECS
 *                            (root) one mapping: 64 pages moved to P and 64 control pages on C, pinned to
 *                            CPU (one of C's), touched until the scanner has made two passes (scan
 *                            sequence or local hinting faults), the pages on P moved, or SECS passed
 *   compact-pages P          (root) 256 pages bound to P, /proc/sys/vm/compact_memory, placement and PFNs after
 *   cpuset-drop N            256 pages bound to node N; faults half, stops itself (SIGSTOP) so that the
 *                            caller can change its cpuset, then faults the rest (where the first half
 *                            is after the change too)
 *   interleave-rebind C P    set_mempolicy(INTERLEAVE,{C,P}), 16 pages faulted, stops itself (SIGSTOP) so that
 *                            the caller can change its cpuset, then 64 KiB through a pipe and 16 more pages
 *   home-node MODE NODES HOME
 *                            64 fresh pages under mbind(MODE, NODES), set_mempolicy_home_node(HOME), then
 *                            faulted; a record before the fault, so that a fault that never ends is seen
 *   hugetlb-map N [NODES]    N 2 MiB huge pages (MAP_HUGETLB), under set_mempolicy(BIND, NODES) when given,
 *                            mapped, then touched one by one; a SIGBUS stops the touching and is reported;
 *                            every node's surplus huge pages after the mmap and after the faults
 *   hugetlb-hold N           N 2 MiB huge pages (MAP_HUGETLB, no policy) mapped, not touched: the mmap record
 *                            with every node's surplus huge pages, then stops itself (SIGSTOP) holding the
 *                            reservation; continued, it exits and the reservation goes
 *   longterm-pin P           64 pages under mbind(BIND,{P}), faulted, then registered as an io_uring fixed
 *                            buffer (a FOLL_LONGTERM pin of every page); where they are before and while pinned
 *   cma-tenant P MIB UID GID BASE COUNT CLAIM
 *                            (root, then UID:GID) MIB bound to P, whose CMA area is [BASE, BASE+COUNT) (PFNs):
 *                            where they are, how many in the area and in its first CLAIM pages; 64 of those
 *                            in the area pinned long-term (io_uring fixed buffers) and unpinned; stops itself
 *                            (SIGSTOP) so that root can claim the area's first CLAIM pages, then says again
 *   damon-target N           (root) N fresh pages (no policy) faulted; prints the physical ranges that hold
 *                            them ("regions START END ..." in bytes), stops itself (SIGSTOP) so that the caller
 *                            can point DAMON at them, then where the pages are
 *   spread-file PATH MIB     writes MIB to a new file PATH (page cache, spread by a v1 cpuset with
 *                            memory_spread_page), maps it and reads every page: where the file's pages are
 *   lock-resident            (root) mlocks the page cache pages of every file a process maps that are
 *                            resident now, prints how many, stops itself (SIGSTOP) until killed
 *   offline-blocks NODE KEEP (root) offlines NODE's memory blocks while KEEP MiB stay free; prints each
 *                            block's state file and how to online it into its zone again
 *   net-echo IFACE N SECS    (root) N numbered frames through IFACE to a host backend that echoes them,
 *                            each echo checked byte for byte (net-echo.c)
 *   swap-ra ARM P            two tasks whose swap slots interleave; one reads its own back (under BIND {P}
 *                            in ARM 1): whether the other's pages come in with it, and where; in ARMs 2 and
 *                            3 the other is bound to P (anonymous pages; a memfd under a shared policy set
 *                            after its page-out) and the reader unbound (swap-ra.c)
 *
 *   stopped CMD ARGS...      stops itself (SIGSTOP) first, then runs CMD: a caller can move it or change its
 *                            cgroup before it faults anything
 *
 * Every faulted page carries the host's witness tag when NUMACAGE_TAG holds
 * one (see touch()).
 *
 * Placement is read with move_pages(pid, n, pages, NULL, status, 0), which
 * does not fault pages in. Every page is counted: per node, or per errno when
 * it cannot be read; the host refuses a placement that does not add up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <linux/io_uring.h>
#include <unistd.h>
#include "probe.h"


const char *errno_name(int e) {
	switch (e) {
	case 0: return NULL;
	case EPERM: return "EPERM";
	case EAGAIN: return "EAGAIN";
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
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "EOTHER";
	}
}

static void nodemask(unsigned long *mask, const int *nodes, int n) {
	mask[0] = mask[1] = 0;
	for (int i = 0; i < n; i++) mask[nodes[i] / 64] |= 1UL << (nodes[i] % 64);
}

long sys_set_mempolicy(int mode, const int *nodes, int n) {
	unsigned long mask[2];
	nodemask(mask, nodes, n);
	return syscall(SYS_set_mempolicy, mode, n ? mask : NULL, n ? MAXNODE + 1 : 0);
}

long sys_mbind(void *addr, size_t len, int mode, const int *nodes, int n, unsigned flags) {
	unsigned long mask[2];
	nodemask(mask, nodes, n);
	return syscall(SYS_mbind, addr, len, mode, n ? mask : NULL, n ? MAXNODE + 1 : 0, flags);
}

void die(const char *probe, const char *call) {
	int err = errno;
	printf("{\"probe\":\"%s\",\"call\":\"%s\",\"ret\":-1,\"errno\":\"%s\",\"fatal\":true}\n", probe, call, errno_name(err) ? errno_name(err) : "EOTHER");
	exit(3);
}

char *map_pages(size_t npages) {
	char *p = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) die("probe", "mmap");
	return p;
}

/*
 * The host's witness tag: 16 hex digits in NUMACAGE_TAG, set by numacage for
 * a witnessed step. Every page the probe faults then starts with TAG_MAGIC,
 * the tag, the pid and the page's serial number in this process, so that the
 * host can count in each node's memfd the distinct pages this step wrote,
 * whatever the probe reports (a page the kernel copied, by migration or
 * compaction, is still one page). Without it a page gets its index byte only.
 */
#define TAG_MAGIC "numacage"
#define TAG_BYTES 24
static unsigned char page_tag[TAG_BYTES];
static int have_tag;
static uint32_t page_serial;

static void load_tag(void) {
	const char *hex = getenv("NUMACAGE_TAG");
	unsigned long long nonce;
	if (!hex || sscanf(hex, "%16llx", &nonce) != 1) return;
	memcpy(page_tag, TAG_MAGIC, 8);
	memcpy(page_tag + 8, &nonce, 8);
	have_tag = 1;
}

void touch(char *p, size_t npages) {
	uint32_t pid = (uint32_t)getpid(); /* a forked child numbers its pages apart from its parent */
	memcpy(page_tag + 16, &pid, 4);
	for (size_t i = 0; i < npages; i++) {
		if (have_tag) {
			page_serial++;
			memcpy(page_tag + 20, &page_serial, 4);
			memcpy(p + i * PAGE, page_tag, TAG_BYTES);
		}
		p[i * PAGE + TAG_BYTES] = (char)(i + 1);
	}
}

static void count_error(struct placement *pl, int e, long n) {
	const char *name = errno_name(e) ? errno_name(e) : "EOTHER";
	int i = 0;
	while (i < NERRNO - 1 && pl->err_name[i] && strcmp(pl->err_name[i], name)) i++;
	pl->err_name[i] = name;
	pl->err[i] += n;
}

/* Adds where each of n pages is, in process pid (0: this one), to pl. */
static void count_where(int pid, void **pages, long n, struct placement *pl) {
	int status[CHUNK];
	for (long first = 0; first < n; first += CHUNK) {
		long m = n - first < CHUNK ? n - first : CHUNK;
		if (syscall(SYS_move_pages, pid, m, pages + first, NULL, status, 0) != 0) { count_error(pl, errno, m); continue; }
		for (long i = 0; i < m; i++) {
			if (status[i] >= 0 && status[i] < MAXNODE) pl->on[status[i]]++;
			else count_error(pl, status[i] < 0 ? -status[i] : EINVAL, 1);
		}
	}
}

/* Where the npages pages of size stride at p are, in process pid (0: this one). */
static void where_stride(int pid, char *p, size_t npages, size_t stride, struct placement *pl) {
	memset(pl, 0, sizeof(*pl));
	void *pages[CHUNK];
	for (size_t base = 0; base < npages; base += CHUNK) {
		size_t n = npages - base < CHUNK ? npages - base : CHUNK;
		for (size_t i = 0; i < n; i++) pages[i] = p + (base + i) * stride;
		count_where(pid, pages, (long)n, pl);
	}
}

static void where_pid(int pid, char *p, size_t npages, struct placement *pl) {
	where_stride(pid, p, npages, PAGE, pl);
}

void where(char *p, size_t npages, struct placement *pl) {
	where_pid(0, p, npages, pl);
}

static long pages_on(const struct placement *pl, int node) {
	return node >= 0 && node < MAXNODE ? pl->on[node] : 0;
}

void print_placement(const struct placement *pl) {
	printf("\"placement\":{");
	const char *sep = "";
	for (int i = 0; i < MAXNODE; i++)
		if (pl->on[i]) { printf("%s\"%d\":%ld", sep, i, pl->on[i]); sep = ","; }
	for (int i = 0; i < NERRNO && pl->err_name[i]; i++) { printf("%s\"%s\":%ld", sep, pl->err_name[i], pl->err[i]); sep = ","; }
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

/* An mbind(2) whose failure the step's record reports (bind_ret, bind_errno) instead of ending the probe. */
struct bind_result {
	long ret;
	int err;
};

static struct bind_result bind_range(void *p, size_t len, int mode, const int *nodes, int n) {
	errno = 0;
	long ret = sys_mbind(p, len, mode, nodes, n, 0);
	return (struct bind_result){ ret, ret ? errno : 0 };
}

static void print_bind(struct bind_result b) {
	printf("\"bind_ret\":%ld,\"bind_errno\":", b.ret);
	print_errno_value(b.err);
}

static void print_nodes(const int *nodes, int n) {
	printf("[");
	for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", nodes[i]);
	printf("]");
}

void print_result(long ret, int err) {
	printf("\"ret\":%ld,\"errno\":", ret);
	print_errno_value(err);
}

/* Opens a record: {"probe":NAME,"call":CALL,"uid":N, */
void open_record(const char *probe, const char *call) {
	printf("{\"probe\":\"%s\",\"call\":\"%s\",\"uid\":%d,", probe, call, (int)getuid());
}

static int usage(void);

static const char *mode_name(int mode) {
	switch (mode) {
	case MPOL_PREFERRED: return "MPOL_PREFERRED";
	case MPOL_BIND: return "MPOL_BIND";
	case MPOL_INTERLEAVE: return "MPOL_INTERLEAVE";
	case MPOL_PREFERRED_MANY: return "MPOL_PREFERRED_MANY";
	case MPOL_WEIGHTED_INTERLEAVE: return "MPOL_WEIGHTED_INTERLEAVE";
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
	open_record("soft-policy", "set_mempolicy");
	printf("\"mode\":\"%s\",\"nodes\":", mode_name(mode));
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
	soft_policy_case(MPOL_WEIGHTED_INTERLEAVE, both, 2);
	soft_policy_case(MPOL_PREFERRED, only, 1);
	soft_policy_case(MPOL_PREFERRED_MANY, only, 1);
	return 0;
}

static int bind_to(int pnode) {
	const size_t npages = 64;
	int only[1] = {pnode};
	struct placement before, pl;

	char *p = map_pages(npages);
	errno = 0;
	long ret = sys_mbind(p, npages * PAGE, MPOL_BIND, only, 1, 0);
	int err = ret ? errno : 0;
	touch(p, npages);
	where(p, npages, &pl);
	open_record("bind", "mbind");
	printf("\"case\":\"fresh\",\"mode\":\"MPOL_BIND\",\"nodes\":[%d],\"flags\":[],", pnode);
	print_result(ret, err);
	printf(",\"pages\":%zu,", npages);
	print_placement(&pl);
	printf("}\n");
	munmap(p, npages * PAGE);

	p = map_pages(npages);
	touch(p, npages);
	where(p, npages, &before);
	errno = 0;
	ret = sys_mbind(p, npages * PAGE, MPOL_BIND, only, 1, MPOL_MF_MOVE | MPOL_MF_STRICT);
	err = ret ? errno : 0;
	where(p, npages, &pl);
	open_record("bind", "mbind");
	printf("\"case\":\"move-strict\",\"mode\":\"MPOL_BIND\",\"nodes\":[%d],\"flags\":[\"MPOL_MF_MOVE\",\"MPOL_MF_STRICT\"],", pnode);
	print_result(ret, err);
	printf(",\"pages\":%zu", npages);
	print_before_after(&before, &pl);
	munmap(p, npages * PAGE);
	return 0;
}

static int move_pages_to(int pnode) {
	enum { N = 16 };
	char *p = map_pages(N);
	touch(p, N);
	struct placement before, after;
	where(p, N, &before);
	void *pages[N];
	int nodes[N], status[N];
	for (size_t i = 0; i < N; i++) { pages[i] = p + i * PAGE; nodes[i] = pnode; status[i] = 12345; }
	errno = 0;
	long ret = syscall(SYS_move_pages, 0, N, pages, nodes, status, MPOL_MF_MOVE);
	int err = ret < 0 ? errno : 0;
	where(p, N, &after);
	open_record("move-pages", "move_pages");
	printf("\"target\":%d,\"flags\":[\"MPOL_MF_MOVE\"],", pnode);
	print_result(ret, err);
	printf(",\"pages\":%d,\"status\":[", N);
	for (size_t i = 0; i < N; i++) printf("%s%d", i ? "," : "", status[i]);
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
	open_record("migrate-pages", "migrate_pages");
	printf("\"from\":[%d],\"to\":[%d],", c, pnode);
	print_result(ret, err);
	printf(",\"pages\":%zu", npages);
	print_before_after(&before, &after);
	return 0;
}

/*
 * mm->numa_scan_seq from /proc/self/sched (CONFIG_SCHED_DEBUG): one more
 * each time the NUMA scanner completes a pass over the whole mm; -1 when the
 * kernel does not say.
 */
static long numa_scan_seq(void) {
	FILE *f = fopen("/proc/self/sched", "r");
	char line[256];
	long v = -1;
	if (!f) return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "mm->numa_scan_seq", 17) && strchr(line, ':')) { v = atol(strchr(line, ':') + 1); break; }
	fclose(f);
	return v;
}

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Parses a comma list of node ids into nodes (at most MAXNODE); returns how many, or -1. */
static int parse_nodes(const char *list, int *nodes) {
	int n = 0;
	char *end;
	for (const char *s = list; *s && n < MAXNODE; s = *end ? end + 1 : end) {
		long v = strtol(s, &end, 10);
		if (end == s || v < 0 || v >= MAXNODE || (*end && *end != ',')) return -1;
		nodes[n++] = (int)v;
	}
	return n;
}

/* Faults MIB of anonymous memory STEP MiB at a time (bound to nodes when n > 0), saying where each step landed. */
static int fill(long mib, long step, const int *nodes, int n) {
	const size_t step_pages = (size_t)step * 256;
	const double start = now_s();
	open_record("fill", "start");
	printf("\"pid\":%d,\"mib\":%ld,\"step_mib\":%ld,\"nodes\":", (int)getpid(), mib, step);
	print_nodes(nodes, n);
	printf("}\n");
	for (long done = 0; done < mib; done += step) {
		char *p = map_pages(step_pages);
		madvise(p, step_pages * PAGE, MADV_NOHUGEPAGE);
		if (n > 0 && sys_mbind(p, step_pages * PAGE, MPOL_BIND, nodes, n, 0) != 0) die("fill", "mbind");
		touch(p, step_pages);
		struct placement pl;
		where(p, step_pages, &pl);
		printf("{\"probe\":\"fill\",\"call\":\"fault\",\"mib\":%ld,\"ms\":%.0f,\"pages\":%zu,", done + step, (now_s() - start) * 1000, step_pages);
		print_placement(&pl);
		printf("}\n");
	}
	printf("{\"probe\":\"fill\",\"call\":\"done\",\"mib\":%ld}\n", mib);
	return 0;
}

#define HPAGE (2UL << 20)
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << 26)
#endif
static sigjmp_buf sigbus_jump;
static void on_sigbus(int sig) {
	(void)sig;
	siglongjmp(sigbus_jump, 1);
}

/* Each node's surplus 2 MiB huge pages (those a reservation took beyond the pool), as a JSON member. */
static void print_surplus(void) {
	const char *sep = "";
	printf("\"surplus\":{");
	for (int node = 0; node < 1024; node++) {
		char path[112];
		long count;
		snprintf(path, sizeof path, "/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/surplus_hugepages", node);
		FILE *f = fopen(path, "r");
		if (!f) continue;
		if (fscanf(f, "%ld", &count) == 1) {
			printf("%s\"%d\":%ld", sep, node, count);
			sep = ",";
		}
		fclose(f);
	}
	printf("}");
}

/*
 * N huge pages, under a task bind to nodes when n > 0 (set before mmap, as the reservation counts
 * the free huge pages of the task's bind), then touched one by one. A SIGBUS, a reservation the
 * fault could not honour, stops the touching and is reported with how many pages were touched.
 */
static int hugetlb_map(long npages, const int *nodes, int n) {
	if (n > 0 && sys_set_mempolicy(MPOL_BIND, nodes, n) != 0) die("hugetlb-map", "set_mempolicy");
	char *p = mmap(NULL, (size_t)npages * HPAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
	int err = p == MAP_FAILED ? errno : 0;
	open_record("hugetlb-map", "mmap");
	printf("\"pages\":%ld,\"nodes\":", npages);
	print_nodes(nodes, n);
	printf(",");
	print_result(p == MAP_FAILED ? -1 : 0, err);
	printf(",");
	print_surplus();
	printf("}\n");
	if (p == MAP_FAILED) return 0;
	struct sigaction sa = { .sa_handler = on_sigbus };
	sigaction(SIGBUS, &sa, NULL);
	volatile long touched = 0;
	if (!sigsetjmp(sigbus_jump, 1))
		for (; touched < npages; touched++) p[touched * HPAGE] = 1;
	struct placement pl;
	where_stride(0, p, (size_t)touched, HPAGE, &pl);
	open_record("hugetlb-map", "fault");
	printf("\"touched\":%ld,\"sigbus\":%s,", (long)touched, touched < npages ? "true" : "false");
	print_placement(&pl);
	printf(",");
	print_surplus();
	printf("}\n");
	return 0;
}

/*
 * N huge pages mapped with no policy and held untouched: a reservation that stands while the caller
 * makes another beside it (the task is stopped); it goes when the task, continued, exits.
 */
static int hugetlb_hold(long npages) {
	char *p = mmap(NULL, (size_t)npages * HPAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
	int err = p == MAP_FAILED ? errno : 0;
	open_record("hugetlb-hold", "mmap");
	printf("\"pages\":%ld,", npages);
	print_result(p == MAP_FAILED ? -1 : 0, err);
	printf(",");
	print_surplus();
	printf("}\n");
	fflush(stdout);
	if (p != MAP_FAILED) raise(SIGSTOP);
	return 0;
}

/* Slab, SUnreclaim, KernelStack and PageTables (kB) of node, from its meminfo, as JSON members. */
static void print_node_kernel_memory(int node) {
	char path[96], line[256], key[64];
	long kb;
	int n;
	snprintf(path, sizeof path, "/sys/devices/system/node/node%d/meminfo", node);
	FILE *f = fopen(path, "r");
	if (!f) die("slab", "open meminfo");
	const char *sep = "";
	printf("\"meminfo_kb\":{");
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "Node %d %63[^:]: %ld kB", &n, key, &kb) == 3 &&
		    (!strcmp(key, "Slab") || !strcmp(key, "SUnreclaim") || !strcmp(key, "KernelStack") || !strcmp(key, "PageTables"))) {
			printf("%s\"%s\":%ld", sep, key, kb);
			sep = ",";
		}
	printf("}");
	fclose(f);
}

/*
 * Kernel objects made by a task whose policy reaches P where the kernel lets
 * it: slab pages follow the allocating task's policy on a stock kernel.
 */
static int slab(int c, int pnode, int nfiles, const char *dir) {
	int both[2] = {c, pnode}, only[1] = {pnode};
	const int npairs = nfiles / 16; /* two descriptors each, within the default limit of 1024 */
	long ret = sys_set_mempolicy(MPOL_BIND, only, 1);
	const char *policy = "MPOL_BIND";
	int bind_err = ret ? errno : 0;
	if (ret) {
		policy = "MPOL_INTERLEAVE";
		if (sys_set_mempolicy(MPOL_INTERLEAVE, both, 2)) policy = "MPOL_DEFAULT";
	}
	char path[256];
	int made = 0, pairs = 0;
	int *fds = calloc((size_t)npairs * 2, sizeof(int));
	if (!fds) die("slab", "calloc");
	for (; made < nfiles; made++) {
		snprintf(path, sizeof path, "%s/f%d", dir, made);
		int fd = open(path, O_CREAT | O_WRONLY, 0600);
		if (fd < 0) break;
		close(fd);
	}
	for (; pairs < npairs; pairs++)
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds + 2 * pairs)) break;
	open_record("slab", "workload");
	printf("\"policy\":\"%s\",\"bind_errno\":", policy);
	print_errno_value(bind_err);
	printf(",\"files\":%d,\"socketpairs\":%d,\"node\":%d,", made, pairs, pnode);
	print_node_kernel_memory(pnode);
	printf("}\n");
	for (int i = 0; i < 2 * pairs; i++) close(fds[i]);
	for (int i = 0; i < made; i++) {
		snprintf(path, sizeof path, "%s/f%d", dir, i);
		unlink(path);
	}
	return made == nfiles && pairs == npairs ? 0 : 3;
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

long smaps_kb(void *addr, const char *field) {
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f) return -1;
	char line[512], name[64];
	int in = 0;
	long kb = -1, value;
	unsigned long start, end;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) in = start == (unsigned long)addr;
		else if (in && sscanf(line, "%63[^:]: %ld kB", name, &value) == 2 && !strcmp(name, field)) {
			kb = value;
			break;
		}
	}
	fclose(f);
	return kb;
}

/* A 2 MiB-aligned anonymous mapping of len bytes. */
static char *map_aligned(size_t len) {
	const size_t huge = 2UL << 20;
	char *raw = mmap(NULL, len + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) die("probe", "mmap");
	char *p = (char *)(((unsigned long)raw + huge - 1) & ~(huge - 1));
	if (p > raw) munmap(raw, p - raw);
	munmap(p + len, raw + huge - p);
	return p;
}

/*
 * 4 MiB bound to P, anonymous or (shmem) a shared memfd mapping, faulted with MADV_NOHUGEPAGE,
 * then MADV_HUGEPAGE + MADV_COLLAPSE: the huge pages mapped (AnonHugePages, ShmemPmdMapped) and
 * where the pages are, before and after.
 */
static int thp(int pnode, int shmem) {
	const size_t len = 4UL << 20;
	char *p = map_aligned(len);
	if (shmem) {
		int fd = memfd_create("numacage-thp", 0);
		if (fd < 0 || ftruncate(fd, (off_t)len) != 0) die("thp", "memfd_create");
		if (mmap(p, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) die("thp", "mmap");
		close(fd);
	}
	const char *huge_field = shmem ? "ShmemPmdMapped" : "AnonHugePages";
	struct bind_result bound = bind_range(p, len, MPOL_BIND, &pnode, 1);
	madvise(p, len, MADV_NOHUGEPAGE);
	touch(p, len / PAGE);
	struct placement before, after;
	where(p, len / PAGE, &before);
	long huge_before = smaps_kb(p, huge_field);
	madvise(p, len, MADV_HUGEPAGE);
	errno = 0;
	long ret = madvise(p, len, MADV_COLLAPSE);
	int err = ret ? errno : 0;
	where(p, len / PAGE, &after);
	open_record("thp", "madvise");
	printf("\"advice\":\"MADV_COLLAPSE\",\"memory\":\"%s\",\"node\":%d,", shmem ? "shmem" : "anon", pnode);
	print_bind(bound);
	printf(",");
	print_result(ret, err);
	printf(",\"pages\":%zu,\"huge_kb_before\":%ld,\"huge_kb\":%ld", len / PAGE, huge_before, smaps_kb(p, huge_field));
	print_before_after(&before, &after);
	return 0;
}

/* The PFN of the page at addr, from /proc/self/pagemap (0 without CAP_SYS_ADMIN or when not present). */
static unsigned long pfn_of(void *addr) {
	int fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0) return 0;
	unsigned long long entry = 0;
	if (pread(fd, &entry, 8, (off_t)((unsigned long)addr / PAGE * 8)) != 8) entry = 0;
	close(fd);
	return (entry >> 63) & 1 ? (unsigned long)(entry & ((1ULL << 55) - 1)) : 0;
}

/* Two identical pages bound to node; each pair gets its own content so that pairs never merge with each other. */
static char *mergeable_pair(int node, int fill_byte) {
	char *p = map_pages(2);
	if (sys_mbind(p, 2 * PAGE, MPOL_BIND, &node, 1, 0) != 0) die("ksm", "mbind");
	memset(p, fill_byte, 2 * PAGE);
	if (madvise(p, 2 * PAGE, MADV_MERGEABLE) != 0) die("ksm", "madvise");
	return p;
}

/* ksmd's completed scans of everything mergeable, or -1. */
static long ksm_full_scans(void) {
	FILE *f = fopen("/sys/kernel/mm/ksm/full_scans", "r");
	long v = -1;
	if (f && fscanf(f, "%ld", &v) != 1) v = -1;
	if (f) fclose(f);
	return v;
}

/* Waits until the control pair merged and ksmd then made two more full scans (or P's pair merged too). */
static int ksm(int c, int pnode, int secs) {
	char *onp = mergeable_pair(pnode, 0x5a), *onc = mergeable_pair(c, 0xa5);
	struct placement pl, cl;
	where(onp, 2, &pl);
	where(onc, 2, &cl);
	int waited = 0;
	long scans_at_control = -1;
	for (; waited < secs * 10; waited++) {
		int control = pfn_of(onc) && pfn_of(onc) == pfn_of(onc + PAGE);
		if (control && pfn_of(onp) == pfn_of(onp + PAGE)) break;
		if (control) {
			long scans = ksm_full_scans();

			if (scans_at_control < 0)
				scans_at_control = scans;
			else if (scans >= scans_at_control + 2)
				break;
		}
		usleep(100000);
	}
	open_record("ksm", "merge");
	printf("\"waited_ms\":%d,\"pages\":2,\"p_pfns\":[%lu,%lu],\"c_pfns\":[%lu,%lu],", waited * 100,
	       pfn_of(onp), pfn_of(onp + PAGE), pfn_of(onc), pfn_of(onc + PAGE));
	printf("\"control\":{");
	print_placement(&cl);
	printf("},");
	print_placement(&pl);
	printf("}\n");
	return 0;
}

/*
 * KSM across P's boundary, run by two unprivileged tasks, an owner and an unbound one, that the
 * caller (guest/scripts/ksm-cross.sh, ksm-rmap.sh) steps with ksmd one pass or one batch at a time:
 * each task stops itself (SIGSTOP) after each phase's records, and the caller continues it
 * (SIGCONT) for the next. Page i of a set has the same content in both tasks ("numacage-ksm NONCE
 * SET i", the rest a byte of i) and no witness tag, since identical pages are the point;
 * MADV_NOHUGEPAGE keeps them base pages. Sets of pairs hold pair i at pages i and N + i.
 *
 *   owner onto    T, K and S: N pairs each, for ksmd to merge on C. Phase 2 zaps the second page
 *                 of each T and S pair (MADV_DONTNEED: the KSM page is then mapped once, as an
 *                 unprivileged move_pages(2) needs) and moves the first to P. Phase 3 moves each
 *                 first page of S back to C, one call each, and says where everything is.
 *   owner rmap    S alone, as in onto.
 *   owner off     t and k: N single pages. Phase 2 moves t to P. Phase 3 says where they are.
 *   unbound onto  T and K: N pages each, mergeable and untouched; phase 2 writes them (the contents
 *                 of the owner's T and K), phase 3 says where they are.
 *   unbound off   t and k: N pages each, written at once; phase 2 says where they are.
 */
#define KSM_UNSET 12345

static void ksm_content(char *page, const char *nonce, char set, long i) {
	memset(page, 0x11 + (int)(i % 200), PAGE);
	snprintf(page, 64, "numacage-ksm %s %c %ld", nonce, set, i);
}

static void ksm_write(char *p, size_t npages, const char *nonce, char set, long n) {
	for (size_t k = 0; k < npages; k++) ksm_content(p + k * PAGE, nonce, set, (long)(k % (size_t)n));
}

/* npages mergeable base pages, written (as set, page k with index k mod n) when asked. */
static char *ksm_area(size_t npages, int write, const char *nonce, char set, long n) {
	char *p = map_pages(npages);
	if (madvise(p, npages * PAGE, MADV_NOHUGEPAGE) != 0) die("ksm-cross", "madvise");
	if (write) ksm_write(p, npages, nonce, set, n);
	if (madvise(p, npages * PAGE, MADV_MERGEABLE) != 0) die("ksm-cross", "madvise");
	return p;
}

/* This task's pages that KSM merged (its rmap items in the stable tree), or -1 when it cannot be read. */
static long ksm_merging_pages(void) {
	FILE *f = fopen("/proc/self/ksm_merging_pages", "r");
	long v = -1;
	if (f && fscanf(f, "%ld", &v) != 1) v = -1;
	if (f) fclose(f);
	return v;
}

/* ,"NAME":{"pages":N,"placement":{...}} for the npages at p (nothing when p is NULL). */
static void ksm_print_set(const char *name, char *p, size_t npages) {
	struct placement pl;
	if (!p) return;
	where(p, npages, &pl);
	printf(",\"%s\":{\"pages\":%zu,", name, npages);
	print_placement(&pl);
	printf("}");
}

/* Opens a ksm-cross record: {"probe":"ksm-cross","call":CALL,"uid":N,"role":...,"mode":...,"pid":N,"merging":N */
static void ksm_open(const char *call, const char *role, const char *mode) {
	open_record("ksm-cross", call);
	printf("\"role\":\"%s\",\"mode\":\"%s\",\"pid\":%d,\"merging\":%ld", role, mode, (int)getpid(), ksm_merging_pages());
}

static void ksm_stop(void) {
	fflush(stdout);
	raise(SIGSTOP);
}

/* move_pages(2) of the npages at p to node in one call: {"set":NAME,...,"status":{"placement":{node or errno: count}}}. */
static void ksm_move(const char *role, const char *mode, const char *name, char *p, size_t npages, int node) {
	void *pages[CHUNK];
	int nodes[CHUNK], status[CHUNK];
	struct placement st;
	if (!p) return;
	if (npages > CHUNK) npages = CHUNK;
	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < npages; i++) { pages[i] = p + i * PAGE; nodes[i] = node; status[i] = KSM_UNSET; }
	errno = 0;
	long ret = syscall(SYS_move_pages, 0, npages, pages, nodes, status, MPOL_MF_MOVE);
	int err = ret < 0 ? errno : 0;
	long unset = 0;
	for (size_t i = 0; i < npages; i++) {
		if (status[i] == KSM_UNSET) unset++;
		else if (status[i] >= 0 && status[i] < MAXNODE) st.on[status[i]]++;
		else count_error(&st, status[i] < 0 ? -status[i] : EINVAL, 1);
	}
	ksm_open("move", role, mode);
	printf(",\"set\":\"%s\",\"target\":%d,", name, node);
	print_result(ret, err);
	printf(",\"pages\":%zu,\"unset\":%ld,\"status\":{", npages, unset);
	print_placement(&st);
	printf("}");
	ksm_print_set(name, p, npages);
	printf("}\n");
}

/*
 * Each of the npages at p moved to node on its own: moved (ret 0, status node), stuck (a positive
 * return: the kernel could not migrate it), or refused (an errno, for the call or the page).
 */
static void ksm_move_each(const char *role, const char *mode, const char *name, char *p, size_t npages, int node) {
	long moved = 0, stuck = 0;
	struct placement refused;
	if (!p) return;
	memset(&refused, 0, sizeof(refused));
	for (size_t i = 0; i < npages; i++) {
		void *page = p + i * PAGE;
		int target = node, status = KSM_UNSET;
		errno = 0;
		long ret = syscall(SYS_move_pages, 0, 1, &page, &target, &status, MPOL_MF_MOVE);
		if (ret > 0) stuck++;
		else if (ret < 0) count_error(&refused, errno, 1);
		else if (status == node) moved++;
		else count_error(&refused, status < 0 ? -status : EINVAL, 1);
	}
	ksm_open("move-each", role, mode);
	printf(",\"set\":\"%s\",\"target\":%d,\"pages\":%zu,\"moved\":%ld,\"stuck\":%ld,\"refused\":{", name, node, npages, moved,
	       stuck);
	print_placement(&refused);
	printf("}");
	ksm_print_set(name, p, npages);
	printf("}\n");
}

static int ksm_cross_owner(const char *mode, int c, int pnode, const char *nonce, long n) {
	const int off = !strcmp(mode, "off"), rmap = !strcmp(mode, "rmap");
	if (!off && !rmap && strcmp(mode, "onto")) return usage();
	const size_t per = off ? (size_t)n : 2 * (size_t)n, first = (size_t)n;
	char *t = rmap ? NULL : ksm_area(per, 1, nonce, off ? 't' : 'T', n);
	char *k = rmap ? NULL : ksm_area(per, 1, nonce, off ? 'k' : 'K', n);
	char *s = off ? NULL : ksm_area(per, 1, nonce, 'S', n);
	ksm_open("ready", "owner", mode);
	ksm_print_set(off ? "t" : "T", t, per);
	ksm_print_set(off ? "k" : "K", k, per);
	ksm_print_set("S", s, per);
	printf("}\n");
	ksm_stop();

	/* Phase 2: the merged pairs (onto, rmap) or the pages in the unstable tree (off) go to P. */
	ksm_open("phase-2", "owner", mode);
	printf("}\n");
	if (!off) {
		if (t && madvise(t + first * PAGE, first * PAGE, MADV_DONTNEED) != 0) die("ksm-cross", "madvise");
		if (s && madvise(s + first * PAGE, first * PAGE, MADV_DONTNEED) != 0) die("ksm-cross", "madvise");
	}
	ksm_move("owner", mode, off ? "t" : "T", t, first, pnode);
	ksm_move("owner", mode, "S", s, first, pnode);
	ksm_stop();

	/* Phase 3: S back to C, page by page; then where everything is. */
	ksm_move_each("owner", mode, "S", s, first, c);
	ksm_open("result", "owner", mode);
	ksm_print_set(off ? "t" : "T", t, first);
	ksm_print_set(off ? "k" : "K", k, per);
	printf("}\n");
	return 0;
}

static int ksm_cross_unbound(const char *mode, const char *nonce, long n) {
	const int off = !strcmp(mode, "off");
	if (!off && strcmp(mode, "onto")) return usage();
	char *t = ksm_area((size_t)n, off, nonce, off ? 't' : 'T', n);
	char *k = ksm_area((size_t)n, off, nonce, off ? 'k' : 'K', n);
	ksm_open("ready", "unbound", mode);
	/* Untouched pages (onto) have no node to read yet. */
	if (off) {
		ksm_print_set("t", t, (size_t)n);
		ksm_print_set("k", k, (size_t)n);
	}
	printf("}\n");
	ksm_stop();
	if (!off) {
		ksm_write(t, (size_t)n, nonce, 'T', n);
		ksm_write(k, (size_t)n, nonce, 'K', n);
		ksm_open("written", "unbound", mode);
		ksm_print_set("T", t, (size_t)n);
		ksm_print_set("K", k, (size_t)n);
		printf("}\n");
		ksm_stop();
	}
	ksm_open("result", "unbound", mode);
	ksm_print_set(off ? "t" : "T", t, (size_t)n);
	ksm_print_set(off ? "k" : "K", k, (size_t)n);
	printf("}\n");
	return 0;
}

static int ksm_cross(const char *role, const char *mode, int c, int pnode, const char *nonce, long n) {
	if (n <= 0 || n > CHUNK || strlen(nonce) > 32) return usage();
	if (!strcmp(role, "owner")) return ksm_cross_owner(mode, c, pnode, nonce, n);
	if (!strcmp(role, "unbound")) return ksm_cross_unbound(mode, nonce, n);
	return usage();
}

/* A counter from /proc/vmstat, or -1 when the kernel has none by that name. */
static long vmstat(const char *name) {
	FILE *f = fopen("/proc/vmstat", "r");
	if (!f) return -1;
	char key[64];
	long v, found = -1;
	while (fscanf(f, "%63s %ld", key, &v) == 2)
		if (!strcmp(key, name)) { found = v; break; }
	fclose(f);
	return found;
}

/*
 * A passing kernel shows no hinting fault on P's pages, so P alone can never
 * end the wait. Two complete passes of the scanner over the mm (its scan
 * sequence, where the kernel shows it), or two passes' worth of local
 * hinting faults on the control pages on C (where it counts VM events),
 * prove the scanner went over P's pages.
 */
static int numa_balancing(int c, int pnode, int cpu, int secs) {
	enum { N = 64 };
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0) die("numa-balancing", "sched_setaffinity");
	char *p = map_pages(2 * N), *control = p + N * PAGE;
	touch(p, 2 * N);
	void *pages[N];
	int nodes[N], status[N];
	for (size_t i = 0; i < N; i++) { pages[i] = p + i * PAGE; nodes[i] = pnode; }
	long move_ret = syscall(SYS_move_pages, 0, N, pages, nodes, status, MPOL_MF_MOVE);
	struct placement before, control_before, after, control_after;
	where(p, N, &before);
	where(control, N, &control_before);
	const long faults0 = vmstat("numa_hint_faults"), local0 = vmstat("numa_hint_faults_local"), pte0 = vmstat("numa_pte_updates");
	const long seq0 = numa_scan_seq();
	const double start = now_s();
	unsigned long sum = 0;
	long local = 0;
	const char *ended = "timeout";
	for (;;) {
		for (int round = 0; round < 50; round++)
			/* From byte 32 on: the first TAG_BYTES of each page are the witness tag. */
			for (size_t i = 32; i < 2 * N * PAGE; i += 64) sum += (unsigned char)(p[i]++);
		where(p, N, &after);
		local = vmstat("numa_hint_faults_local") - local0;
		if (pages_on(&before, pnode) && pages_on(&after, pnode) < pages_on(&before, pnode)) { ended = "moved"; break; }
		if (local >= 2 * N || (seq0 >= 0 && numa_scan_seq() - seq0 >= 2)) { ended = "scanned"; break; }
		if (now_s() - start > secs) break;
	}
	where(control, N, &control_after);
	open_record("numa-balancing", "hammer");
	printf("\"cpu\":%d,\"control_node\":%d,\"limit_s\":%d,\"seconds\":%.2f,\"ended\":\"%s\",\"move_ret\":%ld,\"pages\":%d,"
	       "\"hint_faults\":%ld,\"hint_faults_local\":%ld,\"pte_updates\":%ld,\"scan_passes\":%ld,\"sum\":%lu,\"control\":{\"before\":{",
	       cpu, c, secs, now_s() - start, ended, move_ret, N, vmstat("numa_hint_faults") - faults0, local,
	       vmstat("numa_pte_updates") - pte0, seq0 >= 0 ? numa_scan_seq() - seq0 : -1, sum);
	print_placement(&control_before);
	printf("},");
	print_placement(&control_after);
	printf("}");
	print_before_after(&before, &after);
	return 0;
}

/* Pages bound to P must stay there across a global compaction (/proc/sys/vm/compact_memory). */
static int compact_pages(int pnode) {
	enum { N = 256 };
	char *p = map_pages(N);
	struct bind_result bound = bind_range(p, N * PAGE, MPOL_BIND, &pnode, 1);
	touch(p, N);
	struct placement before, after;
	where(p, N, &before);
	static unsigned long pfn[N];
	for (int i = 0; i < N; i++) pfn[i] = pfn_of(p + i * PAGE);
	int fd = open("/proc/sys/vm/compact_memory", O_WRONLY);
	int compact_err = fd < 0 || write(fd, "1", 1) != 1 ? errno : 0;
	if (fd >= 0) close(fd);
	where(p, N, &after);
	int moved = 0;
	for (int i = 0; i < N; i++) moved += pfn[i] != pfn_of(p + i * PAGE);
	open_record("compact-pages", "compact_memory");
	printf("\"node\":%d,", pnode);
	print_bind(bound);
	printf(",\"compact_errno\":");
	print_errno_value(compact_err);
	printf(",\"pages\":%d,\"pfns_changed\":%d", N, moved);
	print_before_after(&before, &after);
	return 0;
}

/*
 * Faults half of a mapping bound to P, stops itself so that the caller can
 * take P out of the cpuset, then faults the other half: the policy must be
 * rebound to the cpuset's nodes, never end in SIGBUS.
 */
static int cpuset_drop(int pnode) {
	enum { N = 256 };
	char *p = map_pages(N);
	struct bind_result bound = bind_range(p, N * PAGE, MPOL_BIND, &pnode, 1);
	touch(p, N / 2);
	struct placement first, first_after, second;
	where(p, N / 2, &first);
	fflush(stdout);
	raise(SIGSTOP);
	/* A cgroup v2 cpuset migrates its tasks' pages to new mems: where the first half is now. */
	where(p, N / 2, &first_after);
	touch(p + N / 2 * PAGE, N / 2);
	where(p + N / 2 * PAGE, N / 2, &second);
	open_record("cpuset-drop", "fault");
	printf("\"node\":%d,", pnode);
	print_bind(bound);
	printf(",\"pages\":%d,\"first_half\":{", N / 2);
	print_placement(&first);
	printf("},\"first_half_after\":{");
	print_placement(&first_after);
	printf("},");
	print_placement(&second);
	printf("}\n");
	return 0;
}

/*
 * An interleave policy over {C,P} (a private-node kernel keeps only C), then
 * a stop so that the caller can change the task's cpuset (the policy is
 * rebound to the new mems), then more pages and a pipe's worth of kernel
 * allocations under the rebound policy.
 */
static int interleave_rebind(int c, int pnode) {
	enum { N = 16, PIPE_BYTES = 64 * 1024 };
	int both[2] = {c, pnode}, fds[2];
	static char buf[PIPE_BYTES];
	errno = 0;
	long ret = sys_set_mempolicy(MPOL_INTERLEAVE, both, 2);
	int err = ret ? errno : 0;
	char *p = map_pages(2 * N);
	touch(p, N);
	struct placement first, first_after, second;
	where(p, N, &first);
	if (pipe(fds)) die("interleave-rebind", "pipe");
	fcntl(fds[1], F_SETPIPE_SZ, PIPE_BYTES);
	fflush(stdout);
	raise(SIGSTOP);
	/* The pipe first: a kernel allocation under the rebound policy, before any fault can stall. */
	ssize_t wrote = write(fds[1], buf, sizeof buf);
	printf("{\"probe\":\"interleave-rebind\",\"call\":\"write\",\"uid\":%d,\"pipe_bytes\":%zd}\n", (int)getuid(), wrote);
	fflush(stdout);
	/* A cgroup v2 cpuset migrates its tasks' pages to new mems: where the first half is now. */
	where(p, N, &first_after);
	touch(p + N * PAGE, N);
	where(p + N * PAGE, N, &second);
	open_record("interleave-rebind", "fault");
	printf("\"nodes\":[%d,%d],", c, pnode);
	print_result(ret, err);
	printf(",\"pipe_bytes\":%zd,\"pages\":%d,\"first_half\":{", wrote, N);
	print_placement(&first);
	printf("},\"first_half_after\":{");
	print_placement(&first_after);
	printf("},");
	print_placement(&second);
	printf("}\n");
	return 0;
}

#ifndef SYS_set_mempolicy_home_node
#define SYS_set_mempolicy_home_node 450
#endif

static int mode_of(const char *name) {
	for (int m = MPOL_PREFERRED; m <= MPOL_WEIGHTED_INTERLEAVE; m++)
		if (!strcmp(mode_name(m), name)) return m;
	return -1;
}

/*
 * A fresh mapping under mbind(mode, nodes) and a home node, then faulted.
 * The first record is printed before the fault: a fault that loops in the
 * kernel leaves it alone, and the caller kills the task.
 */
static int home_node(const char *mode_arg, const char *nodes_arg, int home) {
	enum { N = 64 };
	int nodes[MAXNODE], mode = mode_of(mode_arg), n = parse_nodes(nodes_arg, nodes);
	if (mode < 0 || n <= 0) return usage();
	char *p = map_pages(N);
	struct bind_result bound = bind_range(p, N * PAGE, mode, nodes, n);
	errno = 0;
	long ret = syscall(SYS_set_mempolicy_home_node, (unsigned long)p, N * PAGE, home, 0);
	int err = ret ? errno : 0;
	open_record("home-node", "set_mempolicy_home_node");
	printf("\"mode\":\"%s\",\"nodes\":", mode_name(mode));
	print_nodes(nodes, n);
	printf(",\"home\":%d,", home);
	print_bind(bound);
	printf(",");
	print_result(ret, err);
	printf("}\n");
	touch(p, N);
	struct placement pl;
	where(p, N, &pl);
	open_record("home-node", "fault");
	printf("\"pages\":%d,", N);
	print_placement(&pl);
	printf("}\n");
	return 0;
}

/* A long-term pin (FOLL_LONGTERM) of n buffers: a fresh io_uring with them registered as fixed buffers. */
struct pin_result { long ring, ret; int setup_err, err; };

static struct pin_result pin_buffers(const struct iovec *iov, unsigned n) {
	struct io_uring_params params;
	struct pin_result r = { .ret = -1 };
	memset(&params, 0, sizeof(params));
	errno = 0;
	r.ring = syscall(SYS_io_uring_setup, 4, &params);
	r.setup_err = r.err = r.ring < 0 ? errno : 0;
	if (r.ring >= 0 && n > 0) {
		errno = 0;
		r.ret = syscall(SYS_io_uring_register, (int)r.ring, IORING_REGISTER_BUFFERS, iov, n);
		r.err = r.ret ? errno : 0;
	}
	return r;
}

/*
 * 64 pages bound to P and faulted, then registered as one io_uring fixed buffer: a long-term pin
 * (FOLL_LONGTERM) migrates first every page it finds unpinnable (ZONE_MOVABLE, CMA). Where the
 * pages are before the registration and while it holds; the ring is closed at exit.
 */
static int longterm_pin(int pnode) {
	enum { N = 64 };
	char *p = map_pages(N);
	struct bind_result bound = bind_range(p, N * PAGE, MPOL_BIND, &pnode, 1);
	touch(p, N);
	struct placement before, after;
	where(p, N, &before);
	struct iovec iov = { .iov_base = p, .iov_len = N * PAGE };
	struct pin_result pinned = pin_buffers(&iov, 1);
	where(p, N, &after);
	open_record("longterm-pin", "io_uring_register");
	printf("\"node\":%d,", pnode);
	print_bind(bound);
	printf(",\"setup_errno\":");
	print_errno_value(pinned.setup_err);
	printf(",");
	print_result(pinned.ret, pinned.err);
	printf(",\"pages\":%d", N);
	print_before_after(&before, &after);
	return 0;
}

/*
 * Of the npages at p, how many lie in PFNs [base, base + count), read from a pagemap fd opened
 * with CAP_SYS_ADMIN (without it every PFN reads 0); the first up to `want` of them in `in`.
 */
static long pages_in_range(int pagemap, char *p, size_t npages, unsigned long base, unsigned long count,
                           char **in, long want) {
	unsigned long long entry[512];
	long k = 0;
	for (size_t first = 0; first < npages; first += 512) {
		size_t n = npages - first < 512 ? npages - first : 512;
		off_t at = (off_t)((unsigned long)(p + first * PAGE) / PAGE * 8);
		if (pread(pagemap, entry, n * 8, at) != (ssize_t)(n * 8)) die("cma-tenant", "pagemap");
		for (size_t i = 0; i < n; i++) {
			unsigned long pfn = (entry[i] >> 63) & 1 ? (unsigned long)(entry[i] & ((1ULL << 55) - 1)) : 0;
			if (!pfn) die("cma-tenant", "pagemap PFN");
			if (pfn < base || pfn >= base + count) continue;
			if (k < want) in[k] = p + (first + i) * PAGE;
			k++;
		}
	}
	return k;
}

void where_each(char **pages, long n, struct placement *pl) {
	memset(pl, 0, sizeof(*pl));
	count_where(0, (void **)pages, n, pl);
}

/*
 * A tenant of P's CMA area [BASE, BASE + COUNT) (PFNs) under private_node=1,user. Started as root
 * only to open its own pagemap (the fd keeps its opener's right to read PFNs), it becomes UID:GID
 * with no capability left, binds MIB to P and faults it (MADV_NOHUGEPAGE): the area serves much
 * of it. 64 of its pages that lie in the area are then pinned long-term, each as its own io_uring
 * fixed buffer, and unpinned (IORING_UNREGISTER_BUFFERS). It stops itself (SIGSTOP) so that root
 * can claim the area's first CLAIM pages; continued, it says where all its pages are.
 */
static int cma_tenant(int pnode, long mib, int uid, int gid, unsigned long base, unsigned long count,
                      unsigned long claim) {
	enum { PIN = 64 };
	if (mib <= 0 || uid <= 0 || gid <= 0 || !count || !claim || claim > count) return usage();
	int pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap < 0) die("cma-tenant", "open pagemap");
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) die("cma-tenant", "setresuid");
	size_t n = (size_t)mib << 8;
	char *p = map_pages(n);
	struct bind_result bound = bind_range(p, n * PAGE, MPOL_BIND, &pnode, 1);
	if (madvise(p, n * PAGE, MADV_NOHUGEPAGE)) die("cma-tenant", "madvise");
	touch(p, n);
	char *pin[PIN];
	long in_area = pages_in_range(pagemap, p, n, base, count, pin, PIN);
	long in_claim = pages_in_range(pagemap, p, n, base, claim, NULL, 0);
	struct placement held;
	where(p, n, &held);
	open_record("cma-tenant", "hold");
	printf("\"node\":%d,", pnode);
	print_bind(bound);
	printf(",\"pages\":%zu,\"in_area\":%ld,\"in_claim\":%ld,", n, in_area, in_claim);
	print_placement(&held);
	printf("}\n");

	long pinned = in_area < PIN ? in_area : PIN;
	struct iovec iov[PIN];
	for (long i = 0; i < pinned; i++) iov[i] = (struct iovec){ .iov_base = pin[i], .iov_len = PAGE };
	struct placement before, after;
	where_each(pin, pinned, &before);
	struct pin_result r = pin_buffers(iov, (unsigned)pinned);
	where_each(pin, pinned, &after);
	long still_in_area = 0;
	for (long i = 0; i < pinned; i++) still_in_area += pages_in_range(pagemap, pin[i], 1, base, count, NULL, 0);
	if (r.ret == 0 && syscall(SYS_io_uring_register, (int)r.ring, IORING_UNREGISTER_BUFFERS, NULL, 0) != 0)
		die("cma-tenant", "io_uring_unregister");
	open_record("cma-tenant", "pin");
	printf("\"setup_errno\":");
	print_errno_value(r.setup_err);
	printf(",");
	print_result(r.ret, r.err);
	printf(",\"pages\":%ld,\"in_area\":%ld", pinned, still_in_area);
	print_before_after(&before, &after);
	fflush(stdout);
	raise(SIGSTOP);

	where(p, n, &after);
	open_record("cma-tenant", "after");
	printf("\"pages\":%zu,\"in_area\":%ld,\"in_claim\":%ld,", n, pages_in_range(pagemap, p, n, base, count, NULL, 0),
	       pages_in_range(pagemap, p, n, base, claim, NULL, 0));
	print_placement(&after);
	printf("}\n");
	return 0;
}

static int compare_pfn(const void *a, const void *b) {
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
	return x < y ? -1 : x > y;
}

/*
 * N fresh pages under no policy, faulted (on C), then the physical ranges
 * holding them, merged where pages are adjacent, and a stop: the caller
 * points a DAMON scheme at those ranges and continues the probe, which
 * then says where its pages are.
 */
static int damon_target(long n) {
	if (n <= 0 || n > 4096) return usage();
	char *p = map_pages((size_t)n);
	touch(p, (size_t)n);
	unsigned long *pfn = calloc((size_t)n, sizeof(*pfn));
	if (!pfn) die("damon-target", "calloc");
	for (long i = 0; i < n; i++)
		if (!(pfn[i] = pfn_of(p + i * PAGE))) die("damon-target", "pagemap");
	qsort(pfn, (size_t)n, sizeof(*pfn), compare_pfn);
	printf("regions");
	for (long i = 0; i < n;) {
		long j = i;
		while (j + 1 < n && pfn[j + 1] == pfn[j] + 1) j++;
		printf(" %lu %lu", pfn[i] * PAGE, (pfn[j] + 1) * PAGE);
		i = j + 1;
	}
	printf("\n");
	struct placement before, after;
	where(p, (size_t)n, &before);
	fflush(stdout);
	raise(SIGSTOP);
	where(p, (size_t)n, &after);
	open_record("damon-target", "after");
	printf("\"pages\":%ld", n);
	print_before_after(&before, &after);
	return 0;
}

/*
 * MIB written to a new file by write(2): page cache allocated by the filesystem's write path,
 * which a v1 cpuset with memory_spread_page spreads over its mems. The file is then mapped and
 * every page read, which maps the page cache without allocating, so that move_pages can say
 * where each page is. The file is removed at the end.
 */
static int spread_file(const char *path, long mib) {
	if (mib <= 0 || mib > 256) return usage();
	size_t len = (size_t)mib << 20, npages = len / PAGE;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) die("spread-file", "open");
	static char chunk[1 << 16];
	memset(chunk, 0x5a, sizeof(chunk));
	for (size_t done = 0; done < len; done += sizeof(chunk))
		if (write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk)) die("spread-file", "write");
	volatile char *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) die("spread-file", "mmap");
	for (size_t i = 0; i < npages; i++) (void)m[i * PAGE];
	struct placement pl;
	where((char *)m, npages, &pl);
	open_record("spread-file", "write");
	printf("\"pages\":%zu,", npages);
	print_placement(&pl);
	printf("}\n");
	unlink(path);
	return 0;
}

/* Pages of the npages at p that pagemap shows swapped out (bit 62); -1 when pagemap cannot be read. */
long swapped_pages(char *p, size_t npages) {
	int fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0) return -1;
	long swapped = 0;
	uint64_t e[CHUNK];
	for (size_t base = 0; base < npages; base += CHUNK) {
		size_t n = npages - base < CHUNK ? npages - base : CHUNK;
		off_t at = (off_t)(((uintptr_t)p / PAGE + base) * sizeof(uint64_t));
		if (pread(fd, e, n * sizeof(uint64_t), at) != (ssize_t)(n * sizeof(uint64_t))) { close(fd); return -1; }
		for (size_t i = 0; i < n; i++) swapped += (e[i] >> 62) & 1;
	}
	close(fd);
	return swapped;
}

/* Pages of the npages at p in memory (mincore): for a file mapping, its resident page cache. */
long resident_pages(char *p, size_t npages) {
	unsigned char *v = malloc(npages);
	if (!v || mincore(p, npages * PAGE, v) != 0) die("probe", "mincore");
	long n = 0;
	for (size_t i = 0; i < npages; i++) n += v[i] & 1;
	free(v);
	return n;
}

struct reclaim_set { const char *name; char *p; size_t npages; };

/* "NAME":{"pages":N,"placement":{...},"swapped":N,"resident":N} for each set, without faulting any page. */
static void reclaim_print_sets(const struct reclaim_set *sets, int n) {
	printf("\"sets\":{");
	for (int i = 0; i < n; i++) {
		struct placement pl;
		where(sets[i].p, sets[i].npages, &pl);
		printf("%s\"%s\":{\"pages\":%zu,", i ? "," : "", sets[i].name, sets[i].npages);
		print_placement(&pl);
		printf(",\"swapped\":%ld,\"resident\":%ld}", swapped_pages(sets[i].p, sets[i].npages),
		       resident_pages(sets[i].p, sets[i].npages));
	}
	printf("}");
}

static void reclaim_record(const char *call, const struct reclaim_set *sets, int n) {
	open_record("reclaim-owner", call);
	printf("\"pid\":%d,", (int)getpid());
	reclaim_print_sets(sets, n);
	printf("}\n");
}

/* Faults npages at p with touch(), plus a byte that no page has zero: swap keeps no copy of a page of zeroes. */
void touch_swappable(char *p, size_t npages) {
	touch(p, npages);
	for (size_t i = 0; i < npages; i++) p[i * PAGE + TAG_BYTES + 1] = 0x5a;
}

/* npages fresh pages bound to P and faulted (tagged). */
static char *reclaim_bound(int pnode, size_t npages) {
	char *p = map_pages(npages);
	if (sys_mbind(p, npages * PAGE, MPOL_BIND, &pnode, 1, 0) != 0) die("reclaim-owner", "mbind");
	touch_swappable(p, npages);
	return p;
}

/*
 * reclaim-owner P FILE: the owner of five sets of pages on P, for a caller that then presses P with
 * another task and continues it (guest/scripts/reclaim-user.sh):
 *   A  4096 pages bound to P (mbind BIND {P});
 *   B  4096 pages faulted under no policy, moved to P with move_pages(2), tagged only there;
 *   F  FILE (not in the page cache) read under set_mempolicy(BIND, {P}), then mapped and read again;
 *   L  256 pages bound to P and mlock(2)ed: a control, which nothing may take off P;
 *   E  1024 pages bound to P, then MADV_PAGEOUT: the owner's own request, a control that swap works.
 * Prints where each set is ("placed"), stops itself (SIGSTOP); continued, prints where each set is
 * before it touches any page ("before-touch"), reads every page, and prints where they came back
 * ("after-touch"). Placement never faults (move_pages); swapped pages are pagemap's bit 62.
 */
static int reclaim_owner(int pnode, const char *path) {
	enum { A_PAGES = 4096, B_PAGES = 4096, L_PAGES = 256, E_PAGES = 1024 };
	char *a = reclaim_bound(pnode, A_PAGES);

	char *b = map_pages(B_PAGES);
	for (size_t i = 0; i < B_PAGES; i++) b[i * PAGE] = 1;
	for (size_t base = 0; base < B_PAGES; base += CHUNK) {
		void *pages[CHUNK];
		int nodes[CHUNK], status[CHUNK];
		for (size_t i = 0; i < CHUNK; i++) { pages[i] = b + (base + i) * PAGE; nodes[i] = pnode; }
		if (syscall(SYS_move_pages, 0, CHUNK, pages, nodes, status, MPOL_MF_MOVE) != 0) die("reclaim-owner", "move_pages");
	}
	touch_swappable(b, B_PAGES);

	int fd = open(path, O_RDONLY);
	if (fd < 0) die("reclaim-owner", "open");
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size % PAGE) die("reclaim-owner", "fstat");
	size_t f_pages = (size_t)st.st_size / PAGE;
	static char buf[1 << 16];
	if (sys_set_mempolicy(MPOL_BIND, &pnode, 1) != 0) die("reclaim-owner", "set_mempolicy");
	while (read(fd, buf, sizeof(buf)) > 0) {}
	if (sys_set_mempolicy(MPOL_DEFAULT, NULL, 0) != 0) die("reclaim-owner", "set_mempolicy");
	char *f = mmap(NULL, f_pages * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	if (f == MAP_FAILED) die("reclaim-owner", "mmap");
	/* Mapped, so that move_pages(2) can say where the cached pages are; a cached page stays where it is. */
	for (size_t i = 0; i < f_pages; i++) (void)((volatile char *)f)[i * PAGE];

	char *l = reclaim_bound(pnode, L_PAGES);
	if (mlock(l, L_PAGES * PAGE) != 0) die("reclaim-owner", "mlock");
	char *e = reclaim_bound(pnode, E_PAGES);
	if (madvise(e, E_PAGES * PAGE, MADV_PAGEOUT) != 0) die("reclaim-owner", "madvise");

	const struct reclaim_set sets[] = {
		{ "A", a, A_PAGES }, { "B", b, B_PAGES }, { "F", f, f_pages }, { "L", l, L_PAGES }, { "E", e, E_PAGES },
	};
	const int n = sizeof(sets) / sizeof(sets[0]);
	reclaim_record("placed", sets, n);
	fflush(stdout);
	raise(SIGSTOP);

	reclaim_record("before-touch", sets, n);
	for (int i = 0; i < n; i++)
		for (size_t j = 0; j < sets[i].npages; j++) (void)((volatile char *)sets[i].p)[j * PAGE];
	reclaim_record("after-touch", sets, n);
	return 0;
}

static void on_alarm(int sig) { (void)sig; }

/* MemFree of a node in MiB, or -1. */
static long node_free_mib(int node) {
	char path[96], line[256];
	long kb = -1;
	int n;
	snprintf(path, sizeof path, "/sys/devices/system/node/node%d/meminfo", node);
	FILE *f = fopen(path, "r");
	if (!f) return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "Node %d MemFree: %ld kB", &n, &kb) == 2) break;
	fclose(f);
	return kb < 0 ? -1 : kb / 1024;
}

/*
 * Offlines the node's memory blocks while keep_mib would still be free,
 * printing "offlined PATH HOW" for each (HOW onlines it into its zone
 * again). A block whose pages will not migrate away makes the kernel retry
 * forever; a second's alarm interrupts the write and the block is skipped.
 */
static int offline_blocks(int node, long keep_mib) {
	char path[320], zone[64];
	unsigned long block_bytes = 0;
	FILE *f = fopen("/sys/devices/system/memory/block_size_bytes", "r");
	if (!f || fscanf(f, "%lx", &block_bytes) != 1) return 0;
	fclose(f);
	const long block_mib = (long)(block_bytes >> 20);
	long free_mib = node_free_mib(node);
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	snprintf(path, sizeof path, "/sys/devices/system/node/node%d", node);
	DIR *d = opendir(path);
	if (!d) return 0;
	struct dirent *e;
	while ((e = readdir(d)) && free_mib - block_mib >= keep_mib) {
		if (strncmp(e->d_name, "memory", 6) || e->d_name[6] < '0' || e->d_name[6] > '9') continue;
		snprintf(path, sizeof path, "/sys/devices/system/node/node%d/%s/valid_zones", node, e->d_name);
		f = fopen(path, "r");
		if (!f || !fgets(zone, sizeof zone, f)) { if (f) fclose(f); continue; }
		fclose(f);
		snprintf(path, sizeof path, "/sys/devices/system/node/node%d/%s/state", node, e->d_name);
		int fd = open(path, O_WRONLY);
		if (fd < 0) continue;
		alarm(1);
		ssize_t w = write(fd, "offline", 7);
		alarm(0);
		close(fd);
		if (w != 7) continue;
		printf("offlined %s %s\n", path, strncmp(zone, "Movable", 7) ? "online_kernel" : "online_movable");
		free_mib -= block_mib;
	}
	closedir(d);
	return 0;
}

/*
 * Locks, with mlock(2), every page of a regular file that some process maps and that is in the
 * page cache now (mincore(2): nothing is read in), prints how many, then stops itself (SIGSTOP)
 * until the caller kills it, which unlocks them. Without swap, reclaim of a full node can only
 * evict such pages, which their programs fault back at once; locked, they are not reclaimable,
 * and the kernel answers a fill that nothing may serve with the OOM killer without that thrash.
 */
static int lock_resident(void) {
	enum { MAX_FILES = 4096 };
	static struct { dev_t dev; ino_t ino; } seen[MAX_FILES];
	int nseen = 0;
	long pages = 0;
	char path[64], line[4096 + 256];
	DIR *proc = opendir("/proc");
	if (!proc) die("lock-resident", "opendir");
	struct dirent *e;
	while ((e = readdir(proc)) && nseen < MAX_FILES) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
		snprintf(path, sizeof path, "/proc/%.20s/maps", e->d_name);
		FILE *maps = fopen(path, "r");
		if (!maps) continue;
		while (fgets(line, sizeof line, maps) && nseen < MAX_FILES) {
			char *file = strchr(line, '/');
			if (!file) continue;
			file[strcspn(file, "\n")] = 0;
			/* Only a regular file with pages, seen for the first time (stat first: opening a device can block). */
			struct stat st;
			int skip = stat(file, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0;
			for (int i = 0; i < nseen && !skip; i++) skip = seen[i].dev == st.st_dev && seen[i].ino == st.st_ino;
			int fd = skip ? -1 : open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			if (fd < 0) continue;
			char *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
			close(fd);
			if (m == MAP_FAILED) continue;
			seen[nseen].dev = st.st_dev;
			seen[nseen++].ino = st.st_ino;
			size_t n = ((size_t)st.st_size + PAGE - 1) / PAGE, run = 0;
			unsigned char *resident = malloc(n);
			if (!resident || mincore(m, (size_t)st.st_size, resident) != 0) n = 0;
			for (size_t i = 0; i <= n; i++) {
				if (i < n && (resident[i] & 1)) { run++; continue; }
				if (run && mlock(m + (i - run) * PAGE, run * PAGE) == 0) pages += (long)run;
				run = 0;
			}
			free(resident);
		}
		fclose(maps);
	}
	closedir(proc);
	open_record("lock-resident", "mlock");
	printf("\"files\":%d,\"pages\":%ld}\n", nseen, pages);
	fflush(stdout);
	raise(SIGSTOP);
	return 0;
}

static int usage(void) {
	fprintf(stderr, "usage: numacage-probe soft-policy C P | bind P | move-pages P | migrate-pages C P | fill MIB STEP [NODE]"
	                " | slab C P N DIR | thp P [shmem] | ksm C P SECS | numa-balancing C P CPU SECS | compact-pages P | cpuset-drop P"
	                " | interleave-rebind C P | home-node MODE NODES HOME | hugetlb-map N [NODES] | hugetlb-hold N | offline-blocks NODE KEEP_MIB"
	                " | longterm-pin P | cma-tenant P MIB UID GID BASE_PFN COUNT CLAIM | damon-target N | spread-file PATH MIB | lock-resident | net-echo IFACE N SECS"
	                " | ksm-cross owner|unbound onto|off|rmap C P NONCE N | reclaim-owner P FILE | swap-ra 0|1|2|3 P"
	                " | zpool-victim N | zpool-reclaim 0|1 P FILE\n");
	return 2;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) return usage();
	load_tag();
	if (!strcmp(argv[1], "stopped") && argc > 2) {
		raise(SIGSTOP);
		argv++;
		argc--;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "soft-policy") && argc == 4) return soft_policy(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(cmd, "bind") && argc == 3) return bind_to(atoi(argv[2]));
	if (!strcmp(cmd, "move-pages") && argc == 3) return move_pages_to(atoi(argv[2]));
	if (!strcmp(cmd, "migrate-pages") && argc == 4) return migrate_pages_to(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(cmd, "fill") && (argc == 4 || argc == 5)) {
		int nodes[MAXNODE], n = argc == 5 ? parse_nodes(argv[4], nodes) : 0;
		return n < 0 ? usage() : fill(atol(argv[2]), atol(argv[3]), nodes, n);
	}
	if (!strcmp(cmd, "slab") && argc == 6) return slab(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argv[5]);
	if (!strcmp(cmd, "thp") && (argc == 3 || (argc == 4 && !strcmp(argv[3], "shmem"))))
		return thp(atoi(argv[2]), argc == 4);
	if (!strcmp(cmd, "ksm") && argc == 5) return ksm(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	if (!strcmp(cmd, "ksm-cross") && argc == 8)
		return ksm_cross(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), argv[6], atol(argv[7]));
	if (!strcmp(cmd, "numa-balancing") && argc == 6) return numa_balancing(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (!strcmp(cmd, "compact-pages") && argc == 3) return compact_pages(atoi(argv[2]));
	if (!strcmp(cmd, "cpuset-drop") && argc == 3) return cpuset_drop(atoi(argv[2]));
	if (!strcmp(cmd, "interleave-rebind") && argc == 4) return interleave_rebind(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(cmd, "home-node") && argc == 5) return home_node(argv[2], argv[3], atoi(argv[4]));
	if (!strcmp(cmd, "hugetlb-map") && (argc == 3 || argc == 4)) {
		int nodes[MAXNODE], n = argc == 4 ? parse_nodes(argv[3], nodes) : 0;
		return n < 0 ? usage() : hugetlb_map(atol(argv[2]), nodes, n);
	}
	if (!strcmp(cmd, "hugetlb-hold") && argc == 3) return hugetlb_hold(atol(argv[2]));
	if (!strcmp(cmd, "longterm-pin") && argc == 3) return longterm_pin(atoi(argv[2]));
	if (!strcmp(cmd, "cma-tenant") && argc == 9)
		return cma_tenant(atoi(argv[2]), atol(argv[3]), atoi(argv[4]), atoi(argv[5]), strtoul(argv[6], NULL, 10),
		                  strtoul(argv[7], NULL, 10), strtoul(argv[8], NULL, 10));
	if (!strcmp(cmd, "damon-target") && argc == 3) return damon_target(atol(argv[2]));
	if (!strcmp(cmd, "spread-file") && argc == 4) return spread_file(argv[2], atol(argv[3]));
	if (!strcmp(cmd, "reclaim-owner") && argc == 4) return reclaim_owner(atoi(argv[2]), argv[3]);
	if (!strcmp(cmd, "lock-resident") && argc == 2) return lock_resident();
	if (!strcmp(cmd, "offline-blocks") && argc == 4) return offline_blocks(atoi(argv[2]), atol(argv[3]));
	if (!strcmp(cmd, "net-echo") && argc == 5) return net_echo(argv[2], atol(argv[3]), atoi(argv[4]));
	if (!strcmp(cmd, "swap-ra") && argc == 4) return swap_ra(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(cmd, "zpool-victim") && argc == 3) return zpool_victim(atol(argv[2]));
	if (!strcmp(cmd, "zpool-reclaim") && argc == 5) return zpool_reclaim(atoi(argv[2]), atoi(argv[3]), argv[4]);
	return usage();
}
