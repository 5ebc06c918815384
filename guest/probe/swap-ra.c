/*
 * numacage-probe swap-ra ARM P: whether one task's swap readahead brings
 * another task's pages onto node P (docs/design/swap-paths.md §1), as
 * guest/scripts/swap-readahead.sh runs it, as the user, in a memory cgroup.
 *
 * Two tasks, both on CPU 0 so that their swap slots come in turn from one
 * CPU's slot cache: A (this process) and B (its child). A pages out its
 * PRIMER pages in one call; then A and B page out their OWN pages one at a
 * time, in turn, so that the slots run A, B, A, B. Each says how many of its
 * pages pagemap shows swapped ("paged-out"), and A stops itself (SIGSTOP)
 * while root drops the swap cache. Continued, each says how many of its
 * pages are still cached ("dropped"), and A stops again while root turns
 * readahead back on: what the drop swapped out of the tasks' stacks and
 * heaps faults back in without it. Continued, A, in arm 1 under
 * set_mempolicy(BIND, {P}) ("bind"), in arm 0 under no policy, reads its
 * primer in order, which grows the readahead window, then its own pages
 * ("swapped-in"). B then counts its pages that A's faults read into the
 * swap cache ("read-ahead"), reads them all and says where they are
 * ("touched").
 *
 * Arms 2 and 3 turn it round (docs/design/swap-reverse.md §1): B owns pages
 * bound to P and A, unbound, reads. In arm 2 B binds to P before it faults
 * its pages ("bind", "placed"); in arm 3 its pages are a shared memfd
 * mapping, on C, that it binds to P (mbind, a shared policy) only once they
 * are swapped and the cache dropped. What of B's is still in the swap cache
 * after the drop lies on P, which no reclaim visits: arm 2's B reads each
 * such page and pages it out again, which frees a clean cached copy at once
 * and keeps its slot ("settled"). A then reads its primer and only the
 * first half of its own pages, so that about half of B's slots are read
 * ahead (onto C, under A's policy) and half are not. B reads the first
 * half, then the second, and says where each is and how many of its faults
 * were major ("touched": "ahead", "missed"). A then reads the rest of its
 * own pages and says where they are ("rest").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

enum { PRIMER = 32, OWN = 64 };

static int to_a[2], to_b[2];
static int arm, pnode;

static void pass_turn(int fd) {
	char c = 0;
	if (write(fd, &c, 1) != 1) die("swap-ra", "write");
}

/* Waits for the other task's turn; its end (a read of 0 bytes) ends this one too. */
static void await_turn(int fd) {
	char c;
	if (read(fd, &c, 1) != 1) die("swap-ra", "read");
}

static char *swappable(size_t npages) {
	char *p = map_pages(npages);
	if (madvise(p, npages * PAGE, MADV_NOHUGEPAGE) != 0) die("swap-ra", "madvise");
	touch_swappable(p, npages);
	return p;
}

/* npages of a memfd mapped MAP_SHARED: shmem, which B owns and so may page out. */
static char *shared_swappable(size_t npages) {
	int fd = memfd_create("numacage-swap-ra", 0);
	if (fd < 0 || ftruncate(fd, (off_t)(npages * PAGE)) != 0) die("swap-ra", "memfd_create");
	char *p = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) die("swap-ra", "mmap");
	close(fd);
	if (madvise(p, npages * PAGE, MADV_NOHUGEPAGE) != 0) die("swap-ra", "madvise");
	touch_swappable(p, npages);
	return p;
}

static void page_out(char *p, size_t npages) {
	if (madvise(p, npages * PAGE, MADV_PAGEOUT) != 0) die("swap-ra", "madvise");
}

static void read_pages(char *p, size_t npages) {
	for (size_t i = 0; i < npages; i++) (void)((volatile char *)p)[i * PAGE];
}

/* {"probe":"swap-ra","call":CALL,"uid":N,"pid":N,"role":ROLE,"pages":N,"NAME":VALUE} */
static void count_record(const char *call, const char *role, size_t npages, const char *name, long value) {
	open_record("swap-ra", call);
	printf("\"pid\":%d,\"role\":\"%s\",\"pages\":%zu,\"%s\":%ld}\n", (int)getpid(), role, npages, name, value);
}

/* {"probe":"swap-ra","call":"bind","uid":N,"role":ROLE,"node":P,"ret":N,"errno":NAME} */
static void bind_record(const char *role, long ret, int err) {
	open_record("swap-ra", "bind");
	printf("\"role\":\"%s\",\"node\":%d,", role, pnode);
	print_result(ret, ret ? err : 0);
	printf("}\n");
}

/* Pages swapped out of the npages at p: pagemap's bit for anonymous ones, smaps' Swap for shmem (no PTE is left). */
static long swapped(char *p, size_t npages) {
	if (arm != 3) return swapped_pages(p, npages);
	long kb = smaps_kb(p, "Swap");
	return kb < 0 ? -1 : kb / (long)(PAGE / 1024);
}

/* Reads each of B's pages still in the swap cache (a hit, clean) and pages it out again: freed at once, same slot. */
static long settle(char *p, size_t npages) {
	unsigned char v[OWN];
	if (mincore(p, npages * PAGE, v) != 0) die("swap-ra", "mincore");
	long settled = 0;
	for (size_t i = 0; i < npages; i++) {
		if (!(v[i] & 1)) continue;
		read_pages(p + i * PAGE, 1);
		page_out(p + i * PAGE, 1);
		settled++;
	}
	return settled;
}

static long major_faults(void) {
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0) die("swap-ra", "getrusage");
	return ru.ru_majflt;
}

/* Reads n scattered pages; how many of the faults were major (a miss: a swap-cache hit is minor). */
static long read_each(char **pages, long n) {
	long before = major_faults();
	for (long i = 0; i < n; i++) (void)*(volatile char *)pages[i];
	return major_faults() - before;
}

static void print_half(const char *name, char **pages, long n, long major) {
	struct placement pl;
	where_each(pages, n, &pl);
	printf("\"%s\":{\"pages\":%ld,\"major\":%ld,", name, n, major);
	print_placement(&pl);
	printf("}");
}

/*
 * B reads its pages in the swap cache now ("ahead"), then the rest ("missed"), and says where each
 * half is and how many of its faults were major: a hit on a page read ahead is a minor fault.
 */
static void touch_split(char *p) {
	unsigned char v[OWN];
	char *ahead[OWN], *missed[OWN];
	long n_ahead = 0, n_missed = 0;
	if (mincore(p, OWN * PAGE, v) != 0) die("swap-ra", "mincore");
	for (size_t i = 0; i < OWN; i++) {
		if (v[i] & 1) ahead[n_ahead++] = p + i * PAGE;
		else missed[n_missed++] = p + i * PAGE;
	}
	long ahead_major = read_each(ahead, n_ahead);
	long missed_major = read_each(missed, n_missed);
	open_record("swap-ra", "touched");
	printf("\"role\":\"B\",\"pages\":%d,", OWN);
	print_half("ahead", ahead, n_ahead, ahead_major);
	printf(",");
	print_half("missed", missed, n_missed, missed_major);
	printf("}\n");
}

static int task_b(void) {
	if (arm == 2) {
		long ret = sys_set_mempolicy(MPOL_BIND, &pnode, 1);
		bind_record("B", ret, errno);
	}
	char *own = arm == 3 ? shared_swappable(OWN) : swappable(OWN);
	struct placement pl;
	if (arm == 2) {
		where(own, OWN, &pl);
		open_record("swap-ra", "placed");
		printf("\"role\":\"B\",\"pages\":%d,", OWN);
		print_placement(&pl);
		printf("}\n");
	}
	pass_turn(to_a[1]);
	for (size_t i = 0; i < OWN; i++) {
		await_turn(to_b[0]);
		page_out(own + i * PAGE, 1);
		pass_turn(to_a[1]);
	}
	count_record("paged-out", "B", OWN, "swapped", swapped(own, OWN));
	pass_turn(to_a[1]);
	await_turn(to_b[0]);
	if (arm == 2) count_record("settled", "B", OWN, "settled", settle(own, OWN));
	if (arm == 3) {
		long ret = sys_mbind(own, OWN * PAGE, MPOL_BIND, &pnode, 1, 0);
		bind_record("B", ret, errno);
	}
	count_record("dropped", "B", OWN, "cached", resident_pages(own, OWN));
	pass_turn(to_a[1]);
	await_turn(to_b[0]);
	count_record("read-ahead", "B", OWN, "cached", resident_pages(own, OWN));
	if (arm >= 2) {
		touch_split(own);
		return 0;
	}
	read_pages(own, OWN);
	where(own, OWN, &pl);
	open_record("swap-ra", "touched");
	printf("\"role\":\"B\",\"pages\":%d,", OWN);
	print_placement(&pl);
	printf("}\n");
	return 0;
}

int swap_ra(int which, int p) {
	if (which < 0 || which > 3) {
		fprintf(stderr, "swap-ra: ARM is 0, 1, 2 or 3, not %d\n", which);
		return 2;
	}
	arm = which;
	pnode = p;
	cpu_set_t cpu0;
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	if (sched_setaffinity(0, sizeof(cpu0), &cpu0) != 0) die("swap-ra", "sched_setaffinity");
	if (pipe(to_a) != 0 || pipe(to_b) != 0) die("swap-ra", "pipe");
	fflush(stdout);
	pid_t b = fork();
	if (b < 0) die("swap-ra", "fork");
	if (b == 0) {
		close(to_a[0]);
		close(to_b[1]);
		exit(task_b());
	}
	close(to_a[1]);
	close(to_b[0]);

	char *a = swappable(PRIMER + OWN), *own = a + PRIMER * PAGE;
	await_turn(to_a[0]);
	page_out(a, PRIMER);
	for (size_t i = 0; i < OWN; i++) {
		page_out(own + i * PAGE, 1);
		pass_turn(to_b[1]);
		await_turn(to_a[0]);
	}
	await_turn(to_a[0]);
	count_record("paged-out", "A", PRIMER + OWN, "swapped", swapped_pages(a, PRIMER + OWN));
	fflush(stdout);
	raise(SIGSTOP);

	count_record("dropped", "A", PRIMER + OWN, "cached", resident_pages(a, PRIMER + OWN));
	pass_turn(to_b[1]);
	await_turn(to_a[0]);
	raise(SIGSTOP);
	if (arm == 1) {
		long ret = sys_set_mempolicy(MPOL_BIND, &pnode, 1);
		bind_record("A", ret, errno);
	}
	/* In arms 2 and 3 only half: B's slots between A's other half are the ones B misses. */
	const size_t reads = arm >= 2 ? OWN / 2 : OWN;
	read_pages(a, PRIMER);
	read_pages(own, reads);
	struct placement primer, pl;
	where(a, PRIMER, &primer);
	where(own, reads, &pl);
	open_record("swap-ra", "swapped-in");
	printf("\"role\":\"A\",\"pages\":%zu,\"primer\":{\"pages\":%d,", reads, PRIMER);
	print_placement(&primer);
	printf("},");
	print_placement(&pl);
	printf("}\n");
	fflush(stdout);
	pass_turn(to_b[1]);

	int status;
	if (waitpid(b, &status, 0) != b) die("swap-ra", "waitpid");
	if (reads < OWN) {
		/* The pages A left for B's turn: where B's own swap-ins put them, for the host's witness. */
		read_pages(own + reads * PAGE, OWN - reads);
		where(own + reads * PAGE, OWN - reads, &pl);
		open_record("swap-ra", "rest");
		printf("\"role\":\"A\",\"pages\":%zu,", OWN - reads);
		print_placement(&pl);
		printf("}\n");
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
