"""Attacks from inside a real container, one per runc CVE class (the
symlink-escape class, CVE-2021-30465, is in test_rootfs_escapes.py).  Each
test names the defence it checks; the note on the security issue says how
each was shown to fail with its defence removed."""
import os
import subprocess

from .conftest import PYRUNC, readline
from .test_cli import assert_clean_failure
from .test_lifecycle import wait_exit


def created(env, spec):
    cid = env.cid()
    r = env.pyrunc("create", "-b", env.bundle(spec), cid)
    assert r.returncode == 0, r.stderr
    return cid, env.state(cid)["pid"]


# -- CVE-2019-5736: the runtime's binary through /proc/<pid>/exe ------------

def test_a_container_process_cannot_reach_the_exe_of_an_entering_process(env):
    """While `created`, the init is still the runtime's image (the Python
    interpreter).  A process of the container, in its pid namespace and
    without CAP_SYS_PTRACE, must get neither /proc/1/exe nor /proc/1/fd:
    the runtime's child is non-dumpable until execve."""
    victim, pid = created(env, env.spec(["true"]))
    assert os.path.realpath("/proc/%d/exe" % pid) == os.path.realpath(
        "/proc/%d/exe" % os.getpid()) or "python" in os.readlink("/proc/%d/exe" % pid)
    spec = env.spec(["sh", "-c",
                     "readlink /proc/1/exe && echo EXE-LINK; "
                     "cat /proc/1/exe >/dev/null && echo EXE-READ; "
                     "ls /proc/1/fd | grep -q . || echo NO-FDS; "
                     "for f in /proc/1/fd/*; do readlink $f && echo FD-LINK; "
                     "(exec 4<$f) && echo FD-OPEN; done; "
                     "(exec 3>>/proc/1/exe) && echo EXE-WRITE; "
                     "grep -c . /proc/1/cmdline"])
    spec["linux"]["namespaces"] = [
        ns if ns["type"] != "pid" else {"type": "pid", "path": "/proc/%d/ns/pid" % pid}
        for ns in spec["linux"]["namespaces"]]
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    # pid 1 is the waiting init, and it is visible: the attack is possible
    assert r.stdout.split()[-1] == "1"
    # (the fd numbers can be listed, as for any root-owned process; what
    # they point to, among them the host's exec fifo, cannot be reached)
    assert "NO-FDS" not in r.stdout
    for leak in ("EXE-LINK", "EXE-READ", "FD-LINK", "FD-OPEN", "EXE-WRITE"):
        assert leak not in r.stdout, r.stdout
    assert "Permission denied" in r.stderr or "Operation not permitted" in r.stderr
    assert env.pyrunc("delete", "-f", victim).returncode == 0
    wait_exit(pid)


# A process of the container that spins on /proc/<pid>/exe of the pids the
# next `exec` calls will get, and reports every link that is not the
# container's own busybox.
EXE_WATCHER = r"""
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int first = atoi(argv[1]), count = atoi(argv[2]), pid, fd;
    long loops = 0, denied = 0, seen = 0;
    char path[64], buf[4096];
    ssize_t n;

    printf("READY\n");
    fflush(stdout);
    for (;;) {
        for (pid = first; pid < first + count; pid++) {
            snprintf(path, sizeof(path), "/proc/%d/exe", pid);
            n = readlink(path, buf, sizeof(buf) - 1);
            if (n < 0) {
                if (errno == EACCES || errno == EPERM)
                    denied++;
                continue;
            }
            buf[n] = 0;
            seen++;
            if (strcmp(buf, "/bin/busybox") != 0) {
                fd = open(path, O_RDONLY);
                printf("LEAK %d %s%s\n", pid, buf, fd >= 0 ? " OPENED" : "");
                fflush(stdout);
                if (fd >= 0)
                    close(fd);
            }
        }
        if (++loops % 256 == 0 && access(argv[3], F_OK) == 0)
            break;
    }
    printf("DONE denied=%ld seen=%ld\n", denied, seen);
    return 0;
}
"""


def test_an_exec_process_is_not_reachable_through_proc_exe_before_execve(env, own_rootfs,
                                                                         tmp_path):
    """The process `exec` puts into the container is the runtime (Python)
    until its execve.  A process of the container spins on the
    /proc/<pid>/exe of the pids those processes get: it must meet them
    (EACCES: non-dumpable) but never read a link other than the
    container's own binary."""
    src = tmp_path / "watcher.c"
    src.write_text(EXE_WATCHER)
    subprocess.run(["gcc", "-static", "-O2", "-o", str(own_rootfs / "watcher"), str(src)],
                   check=True)
    spec = env.spec(["sleep", "1000"])
    spec["root"]["path"] = str(own_rootfs)
    cid = env.cid()
    assert env.pyrunc("run", "-d", "-b", env.bundle(spec), cid).returncode == 0
    stop = own_rootfs / "tmp" / "stop"
    execs = 20
    # the init is pid 1, the watcher 2, then the execs (up to two pids each)
    watcher = subprocess.Popen(PYRUNC + ["--root", env.state_root, "exec", cid, "/watcher",
                                         "3", str(2 * execs + 4), "/tmp/stop"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert readline(watcher.stdout) == "READY\n"
        for _ in range(execs):
            r = env.pyrunc("exec", cid, "/bin/true")
            assert r.returncode == 0, r.stderr
    finally:
        stop.write_text("")
        out = watcher.communicate(timeout=30)[0]
    assert "LEAK" not in out, out
    denied, seen = (int(x.split("=")[1]) for x in out.split("DONE")[1].split())
    assert denied > 0, "the watcher never met an entering process: " + out
    assert seen > 0, out
    assert env.pyrunc("delete", "-f", cid).returncode == 0


# -- CVE-2024-21626: a cwd through a leaked fd -------------------------------

def test_a_cwd_under_proc_fd_is_refused(env):
    spec = env.spec(["pwd"])
    spec["process"]["cwd"] = "/proc/self/fd/3"
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
    assert_clean_failure(env, r, "process.cwd: '/proc/self/fd/3' is a file descriptor link")


def test_a_cwd_reaching_a_host_directory_through_a_symlink_is_refused(env, own_rootfs,
                                                                      tmp_path):
    """The rootfs holds a symlink to /proc/self/fd/3 and fd 3 is a host
    directory that the caller passes on (--preserve-fds): a chdir through
    it would land outside the root.  Paths in the root are resolved without
    magic links, so creating the cwd already refuses it (and the chdir
    itself checks that the cwd is reachable from the root)."""
    host = tmp_path / "host-secret"
    host.mkdir()
    (host / "secret").write_text("host data")
    os.symlink("/proc/self/fd/3", own_rootfs / "work")
    env.rootfs = own_rootfs
    spec = env.spec(["sh", "-c", "pwd; cat secret"])
    spec["process"]["cwd"] = "/work"
    with_fd3 = ["sh", "-c", 'exec 3<"$0" && exec "$@"', str(host)] + PYRUNC
    r = env.pyrunc("run", "--preserve-fds", "1", "-b", env.bundle(spec), env.cid(),
                   command=with_fd3)
    assert "host data" not in r.stdout
    assert_clean_failure(env, r, "mkdir cwd '/work': too many levels of symbolic links")
    assert os.listdir(host) == ["secret"]


def test_the_process_cwd_is_inside_the_root(env):
    spec = env.spec(["sh", "-c", "cd .. && cd .. && pwd && ls /proc/self/cwd/bin/busybox"])
    spec["process"]["cwd"] = "/tmp"
    r = env.run(spec)
    assert r.stdout.split() == ["/", "/proc/self/cwd/bin/busybox"], r.stderr


# -- CVE-2019-19921 / CVE-2023-27561 / CVE-2025-52881: a fake /proc ----------

def test_a_proc_mount_on_a_symlink_is_refused(env, own_rootfs, tmp_path):
    """/proc in the rootfs is a symlink: procfs is not mounted through it
    (wherever it points, also inside the root)."""
    victim = tmp_path / "victim"
    victim.mkdir()
    os.rmdir(own_rootfs / "proc")
    os.symlink(str(victim), own_rootfs / "proc")
    env.rootfs = own_rootfs
    spec = env.spec(["true"])
    spec["root"]["readonly"] = False
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
    assert_clean_failure(env, r, 'mount "proc" on "/proc": filesystem "proc" must be mounted '
                                 'on ordinary directory (a symlink is on the way to the '
                                 'target: refused)')
    assert os.listdir(victim) == []


# -- CVE-2025-31133: /dev/null swapped before masking ------------------------

def test_masked_paths_are_masked_with_the_real_null_device(env, tmp_path):
    """The container's /dev (bound from a directory it controls) has a
    /dev/null that is a symlink to a file of its choice (in the real attack,
    a host sysctl under its /proc: never written here).  maskedPaths must
    still be covered by the null device."""
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "chosen").write_text("")
    os.symlink("/dev/chosen", dev / "null")
    spec = env.spec(["stat", "-c", "%t:%T %F", "/proc/keys", "/proc/timer_list"])
    spec["mounts"] = [m for m in spec["mounts"] if not m["destination"].startswith("/dev")]
    spec["mounts"].append({"destination": "/dev", "type": "bind", "source": str(dev),
                           "options": ["rbind", "ro"]})
    spec["linux"]["maskedPaths"] = ["/proc/keys", "/proc/timer_list"]
    r = env.run(spec)
    assert r.stdout.splitlines() == ["1:3 character special file"] * 2, (r.stdout, r.stderr)


def test_create_refuses_to_mask_with_a_dev_null_that_is_not_the_null_device(env, tmp_path):
    """If the runtime's own /dev/null is not the null device (here a file
    bound over it in a private mount namespace of the test), masking is
    refused rather than done with it."""
    fake = tmp_path / "not-null"
    fake.write_text("")
    spec = env.spec(["true"])
    spec["linux"]["maskedPaths"] = ["/proc/keys"]
    cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
           'mount --bind "$0" /dev/null && exec "$@"', str(fake)] + PYRUNC
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid(), command=cmd)
    assert_clean_failure(env, r, 'mask /proc/keys: /dev/null is not the null device')
    assert subprocess.run(["stat", "-c", "%t:%T", "/dev/null"], capture_output=True,
                          text=True).stdout == "1:3\n"
