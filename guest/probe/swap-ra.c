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
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

enum { PRIMER = 32, OWN = 64 };

static int to_a[2], to_b[2];

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

static int task_b(void) {
	char *own = swappable(OWN);
	pass_turn(to_a[1]);
	for (size_t i = 0; i < OWN; i++) {
		await_turn(to_b[0]);
		page_out(own + i * PAGE, 1);
		pass_turn(to_a[1]);
	}
	count_record("paged-out", "B", OWN, "swapped", swapped_pages(own, OWN));
	pass_turn(to_a[1]);
	await_turn(to_b[0]);
	count_record("dropped", "B", OWN, "cached", resident_pages(own, OWN));
	pass_turn(to_a[1]);
	await_turn(to_b[0]);
	count_record("read-ahead", "B", OWN, "cached", resident_pages(own, OWN));
	read_pages(own, OWN);
	struct placement pl;
	where(own, OWN, &pl);
	open_record("swap-ra", "touched");
	printf("\"role\":\"B\",\"pages\":%d,", OWN);
	print_placement(&pl);
	printf("}\n");
	return 0;
}

int swap_ra(int arm, int pnode) {
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
	if (arm) {
		errno = 0;
		long ret = sys_set_mempolicy(MPOL_BIND, &pnode, 1);
		open_record("swap-ra", "bind");
		printf("\"role\":\"A\",\"node\":%d,", pnode);
		print_result(ret, ret ? errno : 0);
		printf("}\n");
	}
	read_pages(a, PRIMER);
	read_pages(own, OWN);
	struct placement primer, pl;
	where(a, PRIMER, &primer);
	where(own, OWN, &pl);
	open_record("swap-ra", "swapped-in");
	printf("\"role\":\"A\",\"pages\":%d,\"primer\":{\"pages\":%d,", OWN, PRIMER);
	print_placement(&primer);
	printf("},");
	print_placement(&pl);
	printf("}\n");
	fflush(stdout);
	pass_turn(to_b[1]);

	int status;
	if (waitpid(b, &status, 0) != b) die("swap-ra", "waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
