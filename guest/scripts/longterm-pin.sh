# shellcheck shell=bash
# A long-term pin of pages on P, as the unprivileged user: 64 pages bound to P, registered as an
# io_uring fixed buffer.
echo "### pin"; probe_as_user longterm-pin "$P"
