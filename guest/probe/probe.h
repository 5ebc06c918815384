/* What the probe's source files share. */
#ifndef NUMACAGE_PROBE_H
#define NUMACAGE_PROBE_H

#include <stddef.h>

#define MPOL_DEFAULT 0
#define MPOL_PREFERRED 1
#define MPOL_BIND 2
#define MPOL_INTERLEAVE 3
#define MPOL_PREFERRED_MANY 5
#define MPOL_WEIGHTED_INTERLEAVE 6
#define MPOL_MF_STRICT (1 << 0)
#define MPOL_MF_MOVE (1 << 1)
#define MAXNODE 64
#define CHUNK 64
#define PAGE 4096UL
#define NERRNO 16

/* Pages per node, and per errno for pages whose node could not be read (the whole chunk when the call failed). */
struct placement { long on[MAXNODE]; long err[NERRNO]; const char *err_name[NERRNO]; };

/* The errno's name ("ENOMEM"), or NULL for one the probe does not name. */
const char *errno_name(int e);
/* Prints a record saying which call failed, and exits: the host sees a probe that could not do its job. */
void die(const char *probe, const char *call);
long sys_set_mempolicy(int mode, const int *nodes, int n);
long sys_mbind(void *addr, size_t len, int mode, const int *nodes, int n, unsigned flags);
char *map_pages(size_t npages);
/* Faults npages at p, each page tagged for the host's witness (probe.c). */
void touch(char *p, size_t npages);
/* touch(), plus a byte that no page has zero: swap keeps no copy of a page of zeroes. */
void touch_swappable(char *p, size_t npages);
/* Where the npages at p are (move_pages(2), which faults nothing). */
void where(char *p, size_t npages, struct placement *pl);
/* Where each of n scattered pages is. */
void where_each(char **pages, long n, struct placement *pl);
void print_placement(const struct placement *pl);
/* "ret":N,"errno":NAME or null */
void print_result(long ret, int err);
/* Opens a record: {"probe":NAME,"call":CALL,"uid":N, */
void open_record(const char *probe, const char *call);
/* Of the npages at p: how many pagemap shows swapped out (-1: unreadable), how many are in memory (mincore). */
long swapped_pages(char *p, size_t npages);
long resident_pages(char *p, size_t npages);
/* A kB field of /proc/self/smaps (AnonHugePages, Swap) for the mapping that starts at addr, or -1. */
long smaps_kb(void *addr, const char *field);

int net_echo(const char *ifname, long count, int secs);
int swap_ra(int arm, int pnode);
int zpool_victim(long npages);
int zpool_reclaim(int arm, int pnode, const char *path);

#endif
