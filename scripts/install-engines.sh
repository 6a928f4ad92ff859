#!/bin/sh
# The container engines the end-to-end tests (tests/e2e) drive with pyrunc
# as their runtime, from Debian 12, as root.  The tests start and stop the
# daemons themselves, with private roots: the packages' own services are
# not started (policy-rc.d says no during the install).
set -eu
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq docker.io containerd podman conmon docker-compose >/dev/null
