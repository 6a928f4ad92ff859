#!/bin/sh
# Install pyrunc and what it needs on Debian 12, as root:
#   apt packages (compiler, headers, libseccomp, busybox-static for the demo
#   bundle and the tests), a venv at $PYRUNC_VENV (default /opt/pyrunc) with
#   pyrunc and its test dependencies, and /usr/local/bin/pyrunc.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${PYRUNC_VENV:-/opt/pyrunc}
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# (uidmap: newuidmap and newgidmap, for a rootless user's several id ranges)
apt-get install -y -qq python3 python3-venv python3-dev gcc libseccomp-dev \
    busybox-static iproute2 strace uidmap >/dev/null
# Where the kernel enforces AppArmor, its tools load the profiles that
# containers are given (and that the tests load)
if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]; then
    apt-get install -y -qq apparmor >/dev/null
fi
# A venv of its own: the interpreter starts without other site-packages'
# .pth files, which matters when a runtime is started for every command.
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q --upgrade "$repo[test]"
# setuptools is only needed to build (pip builds in an isolated env); in the
# venv its distutils-precedence.pth costs ~1 ms on every pyrunc call.
"$venv/bin/pip" uninstall -y -q setuptools 2>/dev/null || true
# The command on PATH is the venv's pyrunc, the compiled front-end
# (csrc/front.c): it starts and deletes plain containers without the
# interpreter's start-up and runs the venv's python for everything else.
ln -sf "$venv/bin/pyrunc" /usr/local/bin/pyrunc
pyrunc --version
