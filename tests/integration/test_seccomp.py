"""linux.seccomp: the filter is compiled by libseccomp and loaded in the
child; the process runs under it."""

import os


def profile(default="SCMP_ACT_ALLOW", **rule):
    return {"defaultAction": default,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [dict({"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
                              **rule)]}


def test_a_blocked_syscall_fails_with_the_configured_errno(env):
    spec = env.spec(["sh", "-c", "grep Seccomp: /proc/self/status; mkdir /tmp/x; echo rc=$?"])
    spec["linux"]["seccomp"] = profile(errnoRet=13)
    r = env.run(spec)
    assert "Seccomp:\t2" in r.stdout
    assert "Permission denied" in r.stderr and "rc=1" in r.stdout


def test_default_errno_is_eperm_and_args_are_compared(env):
    # kill(2) is refused only for signal 10 (SCMP_CMP_EQ on argument 1)
    spec = env.spec(["sh", "-c", "trap 'echo got-usr2' USR2; kill -USR1 $$; echo a=$?; "
                                 "kill -USR2 $$; echo b=$?"])
    spec["linux"]["seccomp"] = profile(args=[{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}])
    spec["linux"]["seccomp"]["syscalls"][0]["names"] = ["kill"]
    r = env.run(spec)
    assert r.stdout.split() == ["a=1", "got-usr2", "b=0"]
    assert "not permitted" in r.stderr


def test_filter_without_no_new_privileges_is_loaded_before_caps_drop(env):
    spec = env.spec(["sh", "-c", "grep -E 'Seccomp:|NoNewPrivs' /proc/self/status"])
    spec["process"]["noNewPrivileges"] = False
    spec["linux"]["seccomp"] = profile()
    out = env.run(spec).stdout
    assert "NoNewPrivs:\t0" in out and "Seccomp:\t2" in out


def test_unknown_syscall_names_are_a_warning(env):
    spec = env.spec(["true"])
    spec["linux"]["seccomp"] = profile()
    spec["linux"]["seccomp"]["syscalls"][0]["names"].append("no_such_syscall")
    r = env.run(spec)
    assert r.returncode == 0 and "no_such_syscall" in r.stderr


def test_kill_action_kills_the_process(env):
    spec = env.spec(["mkdir", "/tmp/k"])
    spec["linux"]["seccomp"] = profile()
    spec["linux"]["seccomp"]["syscalls"][0]["action"] = "SCMP_ACT_KILL_PROCESS"
    r = env.run(spec)
    assert r.returncode == 128 + 31  # SIGSYS


def test_compiled_programs_are_cached_by_profile(env):
    spec = env.spec(["true"])
    spec["linux"]["seccomp"] = profile()
    spec["linux"]["seccomp"]["syscalls"][0]["names"].append("no_such_syscall")
    first = env.run(spec)
    cache = os.path.join(env.state_root, ".seccomp-cache")
    files = os.listdir(cache)
    assert len(files) == 1
    second = env.run(spec)
    assert os.listdir(cache) == files
    # a hit still warns about what was skipped
    assert "no_such_syscall" in first.stderr and "no_such_syscall" in second.stderr
    spec["linux"]["seccomp"]["syscalls"][0]["errnoRet"] = 5
    env.run(spec)
    assert len(os.listdir(cache)) == 2
