# shellcheck shell=bash
# migrate_pages(0, {C}, {P}), as the unprivileged user.
probe_as_user migrate-pages "$C" "$P"
