/* What the probe's source files share. */
#ifndef NUMACAGE_PROBE_H
#define NUMACAGE_PROBE_H

/* The errno's name ("ENOMEM"), or NULL for one the probe does not name. */
const char *errno_name(int e);

int net_echo(const char *ifname, long count, int secs);

#endif
