#!/bin/sh
# The container engines the end-to-end tests (tests/e2e) drive with pyrunc
# as their runtime, from Debian 12, as root.  The tests start and stop the
# daemons themselves, with private roots: nothing is enabled here.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq docker.io containerd podman conmon docker-compose >/dev/null
