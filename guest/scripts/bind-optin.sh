# shellcheck shell=bash
# mbind(MPOL_BIND, {P}) on a fresh mapping and with MOVE|STRICT, as the unprivileged user.
probe_as_user bind "$P"
