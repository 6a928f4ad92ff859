#!/bin/sh
# Run the test suite inside the pure cgroup v2 VM that ../shared/v2lab boots
# (Debian 12, kernel 6.1, cgroup_no_v1=all).  The wheel is built here (the
# guest compiles ~10x slower) and installed in a venv in the guest.
#   scripts/test-in-v2vm.sh [PYTEST ARGS...]      (default: the whole suite)
#   V2_SYSTEMD=1 scripts/test-in-v2vm.sh ...       (systemd as init)
#   V2_E2E_RUNTIME=/usr/sbin/runc ...              (the e2e group against another runtime)
#   V2_APT="podman dbus-user-session" ...           (more Debian packages: the
#                                                    rootless Podman e2e tests)
# Needs root and `run-in-v2vm.sh --setup` once per machine.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
v2lab=${V2LAB:-$repo/../shared/v2lab/run-in-v2vm.sh}
python=${PYRUNC_VENV:-/opt/pyrunc}/bin/python
work=$(mktemp -d /tmp/pyrunc-v2.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$python" -m pip wheel -q --no-deps -w "$work/dist" "$repo"
# (the tests read the examples, the docs and the sources too)
cp -r "$repo/tests" "$repo/pyproject.toml" "$repo/examples" "$repo/docs" "$repo/scripts" \
    "$repo/csrc" "$repo/src" "$work/"
args=${*:-tests}
# V2_SYSTEMD=1 boots the VM with systemd as init (the systemd cgroup driver)
"$v2lab" ${V2_SYSTEMD:+--systemd} --timeout "${V2_TIMEOUT:-2400}" --share "$work" -- sh -c "
    set -e; cd '$work'
    apt-get update -qq && apt-get install -y -qq strace apparmor uidmap ${V2_APT:-} >/dev/null
    python3 -m venv /tmp/venv
    /tmp/venv/bin/pip install -q dist/*.whl pytest mypy types-jsonschema
    # (the e2e group runs the runtime installed here)
    export PYRUNC_E2E_RUNTIME=${V2_E2E_RUNTIME:-/tmp/venv/bin/pyrunc}
    /tmp/venv/bin/python -m pytest -q -p no:cacheprovider $args"
