# shellcheck shell=bash
# move_pages(2) of pages faulted on C to P, as the unprivileged user.
probe_as_user move-pages "$P"
