# shellcheck shell=bash
# The soft memory policies over {C,P} and {P}, as the unprivileged user.
probe_as_user soft-policy "$C" "$P"
