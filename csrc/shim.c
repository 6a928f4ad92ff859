/* pyrunc shim: see shim.h.  Everything below pyrunc_spawn() runs in the
 * child, after clone and before execve: system calls only, no allocation,
 * no stdio, nothing that is not async-signal-safe. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <net/if.h>
#include <linux/capability.h>
#include <linux/magic.h>
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#else
/* kernel headers older than 5.6 (a manylinux image's): openat2's ABI */
struct open_how {
    __u64 flags;
    __u64 mode;
    __u64 resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_IN_ROOT 0x10
#endif
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "shim.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#ifndef PROC_ROOT_INO
#define PROC_ROOT_INO 1
#endif

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef DEVPTS_SUPER_MAGIC
#define DEVPTS_SUPER_MAGIC 0x1cd1
#endif
/* Wheels are built against old kernel headers (manylinux images): what
 * they may lack.  Syscall numbers from 424 on are the same on every
 * architecture. */
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#define PYRUNC_OPEN_TREE_CLONE 1
#define PYRUNC_MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define PYRUNC_MOVE_MOUNT_T_EMPTY_PATH 0x00000040

struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
    uint64_t stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

struct child {
    struct pyrunc_plan *plan;
    int rootfd;                 /* O_PATH fd of the rootfs, or -1 */
    int devnull;                /* the host's /dev/null, verified 1:3 */
    size_t payload_len;
    char exe[PATH_MAX];         /* the executable PYRUNC_OP_LOOKUP found */
    /* bind sources the runtime opened (PYRUNC_OP_MOUNT d bit 32): slot i
     * is srcfd[i] (-1: none came), for i < n_srcfd */
    int n_srcfd;
    int srcfd[PYRUNC_MAX_PASSED_FDS];
};

static long clone3_raw(struct clone_args_v2 *args)
{
    return syscall(SYS_clone3, args, sizeof(*args));
}

/* Fork-like clone: returns 0 in the child, the pid in the parent, -errno. */
static long clone_fork(uint64_t flags, int *pidfd, int cgroup_fd)
{
    struct clone_args_v2 args;
    long pid;

    memset(&args, 0, sizeof(args));
    args.flags = flags;
    args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
    if (pidfd) {
        args.flags |= CLONE_PIDFD;
        args.pidfd = (uint64_t)(uintptr_t)pidfd;
    }
    if (cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgroup_fd;
    }
    pid = clone3_raw(&args);
    if (pid < 0 && errno == ENOSYS && cgroup_fd < 0) {
        /* Kernels before 5.3: the legacy call, without a pidfd. */
        if (pidfd)
            *pidfd = -1;
        pid = syscall(SYS_clone, (unsigned long)(flags & ~(uint64_t)CLONE_PIDFD) |
                      (unsigned long)args.exit_signal, NULL, NULL, NULL, NULL);
    }
    return pid < 0 ? -errno : pid;
}

/* 0, or -1 when the runtime no longer listens (it exits once the
 * container is created). */
static int send_msg(struct child *c, int type, int op, int err, int pid, long long arg)
{
    struct pyrunc_msg m;
    ssize_t n;

    memset(&m, 0, sizeof(m));
    m.type = type;
    m.op = op;
    m.err = err;
    m.pid = pid;
    m.arg = arg;
    do {
        n = send(c->plan->sync_fd, &m, sizeof(m), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : 0;
}

/* strerror(3) goes through the locale (locks, allocation): the words of
 * the errors that steps after `start` meet, in runc's lower case. */
static const char *errno_text(int err)
{
    switch (err) {
    case ENOENT: return "no such file or directory";
    case EACCES: return "permission denied";
    case EPERM: return "operation not permitted";
    case ENOEXEC: return "exec format error";
    case E2BIG: return "argument list too long";
    case ENOMEM: return "cannot allocate memory";
    case ETXTBSY: return "text file busy";
    case ELOOP: return "too many levels of symbolic links";
    case ENOTDIR: return "not a directory";
    case EISDIR: return "is a directory";
    case ENAMETOOLONG: return "file name too long";
    case EINVAL: return "invalid argument";
    case EIO: return "input/output error";
    case EFAULT: return "bad address";
    case EMFILE: return "too many open files";
    case ENFILE: return "too many open files in system";
    case ELIBBAD: return "accessing a corrupted shared library";
    case ETIMEDOUT: return "connection timed out";
    }
    return NULL;
}

/* Copy s, control characters escaped (\xNN): the line stays one line. */
static size_t put_str(char *buf, size_t at, size_t size, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    for (; *s && at + 5 < size; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7f) {
            buf[at++] = '\\';
            buf[at++] = 'x';
            buf[at++] = hex[ch >> 4];
            buf[at++] = hex[ch & 15];
        } else {
            buf[at++] = (char)ch;
        }
    }
    return at;
}

static size_t put_num(char *buf, size_t at, size_t size, long long v)
{
    char digits[24];
    int n = 0;

    if (v < 0) {
        at = put_str(buf, at, size, "-");
        v = -v;
    }
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n > 0 && at + 1 < size)
        buf[at++] = digits[--n];
    return at;
}

/* A step after `start` failed and the runtime is gone: the error goes to
 * the container's stderr, as runc's init writes it (`exec /bin/x: no such
 * file or directory`).  s4 holds the step's words. */
static void report_late(struct child *c, struct pyrunc_op *op, int err, long long detail,
                        int status)
{
    char line[PATH_MAX + 256];
    size_t n = 0;
    const char *text;

    if (op->kind == PYRUNC_OP_EXEC && c->exe[0]) {
        n = put_str(line, n, sizeof(line), "exec ");
        n = put_str(line, n, sizeof(line), c->exe);
    } else {
        n = put_str(line, n, sizeof(line), op->s4);
    }
    n = put_str(line, n, sizeof(line), ": ");
    if (detail == PYRUNC_DETAIL_HOOK_STATUS && WIFSIGNALED(status)) {
        n = put_str(line, n, sizeof(line), "killed by signal ");
        n = put_num(line, n, sizeof(line), WTERMSIG(status));
    } else if (detail == PYRUNC_DETAIL_HOOK_STATUS) {
        n = put_str(line, n, sizeof(line), "exit status ");
        n = put_num(line, n, sizeof(line), WEXITSTATUS(status));
    } else if ((text = errno_text(err)) != NULL) {
        n = put_str(line, n, sizeof(line), text);
    } else {
        n = put_str(line, n, sizeof(line), "errno ");
        n = put_num(line, n, sizeof(line), err);
    }
    line[n++] = '\n';
    (void)!write(2, line, n);
}

static void __attribute__((noreturn)) fail(struct child *c, int op, int err, long long detail, int pid)
{
    if (send_msg(c, PYRUNC_MSG_ERROR, op, err, pid, detail) < 0 && op < c->plan->n_ops &&
        c->plan->ops[op].s4)
        report_late(c, &c->plan->ops[op], err, detail, pid);
    _exit(1);
}

/* "/proc/self/fd/N" without snprintf (not async-signal-safe). */
/* prefix, n in decimal, suffix: into buf (64 bytes: /proc paths) */
static const char *numbered_path(char *buf, const char *prefix, int n, const char *suffix)
{
    char digits[16];
    int k = 0;
    size_t p = strlen(prefix), q = strlen(suffix);

    memcpy(buf, prefix, p);
    do {
        digits[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    while (k > 0)
        buf[p++] = digits[--k];
    memcpy(buf + p, suffix, q + 1);
    return buf;
}

static const char *fdpath(char *buf, int fd)
{
    return numbered_path(buf, "/proc/self/fd/", fd, "");
}

/* Open a path inside the rootfs: symlinks and ".." never leave it
 * (CVE-2021-30465 class). */
static int open_in_root_how(struct child *c, const char *path, int oflags,
                            uint64_t resolve);

static int open_in_root(struct child *c, const char *path, int oflags)
{
    return open_in_root_how(c, path, oflags, 0);
}

/* resolve: more RESOLVE_* flags (RESOLVE_NO_SYMLINKS) */
static int open_in_root_how(struct child *c, const char *path, int oflags,
                            uint64_t resolve)
{
    struct open_how how;
    int fd;

    while (*path == '/')
        path++;
    if (*path == '\0')
        path = ".";
    memset(&how, 0, sizeof(how));
    how.flags = (uint64_t)(oflags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve;
    do {
        fd = (int)syscall(SYS_openat2, c->rootfd, path, &how, sizeof(how));
    } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
    return fd < 0 ? -errno : fd;
}

/* Split "a/b/c" into its parent "a/b" (in buf) and last component. */
static const char *split_last(const char *path, char *buf, size_t size)
{
    size_t len = strlen(path);
    const char *slash;

    if (len >= size)
        return NULL;
    memcpy(buf, path, len + 1);
    while (len > 1 && buf[len - 1] == '/')
        buf[--len] = '\0';
    slash = strrchr(buf, '/');
    if (!slash) {
        memmove(buf + 2, buf, len + 1);
        buf[0] = '.';
        buf[1] = '\0';
        return buf + 2;
    }
    buf[slash - buf] = '\0';
    if (buf[0] == '\0') {
        /* parent is "/": keep "/" and return the name after it */
        memmove(buf + 2, slash + 1, strlen(slash + 1) + 1);
        buf[0] = '/';
        buf[1] = '\0';
        return buf + 2;
    }
    return slash + 1;
}

/* If `name` in `parent` is a symlink, write into out the path it leads to
 * (still to be resolved inside the root): its target, relative to the
 * directory `dir` it is in unless absolute, followed by `rest`. */
static int follow_link(int parent, const char *name, const char *dir, const char *rest,
                       char *out, size_t size)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(parent, name, target, sizeof(target) - 1);
    size_t used = 0;

    if (n < 0)
        return -errno;
    target[n] = '\0';
    if (target[0] != '/') {
        size_t dl = strlen(dir);
        if (dl + 1 >= size)
            return -ENAMETOOLONG;
        memcpy(out, dir, dl);
        out[dl] = '/';
        used = dl + 1;
    }
    if (used + (size_t)n + 1 + strlen(rest) + 1 >= size)
        return -ENAMETOOLONG;
    memcpy(out + used, target, (size_t)n);
    used += (size_t)n;
    if (*rest) {
        out[used++] = '/';
        strcpy(out + used, rest);
    } else {
        out[used] = '\0';
    }
    return 0;
}

/* mkdir -p inside the rootfs; returns an O_PATH fd of the directory.  A
 * symlink on the way is followed inside the root, and what it points to is
 * created there (as runc's MkdirAll in the rootfs does), never outside. */
static int mkdir_in_root_n(struct child *c, const char *path, mode_t mode, int depth)
{
    char buf[PATH_MAX];
    size_t len = strlen(path), i;
    int fd;

    if (len >= sizeof(buf))
        return -ENAMETOOLONG;
    if (depth > 40)
        return -ELOOP;
    fd = open_in_root(c, path, O_PATH | O_DIRECTORY);
    if (fd != -ENOENT)
        return fd;
    memcpy(buf, path, len + 1);
    for (i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        if (buf[i - 1] == '/')
            continue;
        buf[i] = '\0';
        fd = open_in_root(c, buf, O_PATH | O_DIRECTORY);
        if (fd == -ENOENT) {
            char pbuf[PATH_MAX];
            const char *name = split_last(buf, pbuf, sizeof(pbuf));
            int parent;
            if (!name)
                return -ENAMETOOLONG;
            parent = open_in_root(c, pbuf, O_PATH | O_DIRECTORY);
            if (parent < 0)
                return parent;
            if (mkdirat(parent, name, mode) < 0) {
                int err = -errno;
                if (err == -EEXIST) {
                    /* a dangling symlink: go where it points, in the root */
                    char next[PATH_MAX];
                    err = follow_link(parent, name, pbuf, i < len ? buf + i + 1 : "",
                                      next, sizeof(next));
                    close(parent);
                    return err < 0 ? err : mkdir_in_root_n(c, next, mode, depth + 1);
                }
                close(parent);
                return err;
            }
            close(parent);
            fd = open_in_root(c, buf, O_PATH | O_DIRECTORY);
        }
        if (fd < 0)
            return fd;
        if (i < len) {
            close(fd);
            buf[i] = '/';
        } else {
            return fd;
        }
    }
    return -EINVAL;
}

static int mkdir_in_root(struct child *c, const char *path, mode_t mode)
{
    return mkdir_in_root_n(c, path, mode, 0);
}

/* Create the file at a root path if missing (a bind target for a file);
 * a dangling symlink is followed inside the root, as by mkdir_in_root. */
static int mkfile_in_root_n(struct child *c, const char *path, int depth)
{
    char pbuf[PATH_MAX];
    const char *name;
    int parent, fd;

    if (depth > 40)
        return -ELOOP;
    fd = open_in_root(c, path, O_PATH);
    if (fd != -ENOENT)
        return fd;
    name = split_last(path, pbuf, sizeof(pbuf));
    if (!name)
        return -ENAMETOOLONG;
    parent = mkdir_in_root(c, pbuf, 0755);
    if (parent < 0)
        return parent;
    fd = openat(parent, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ELOOP) {
        char next[PATH_MAX];
        int err = follow_link(parent, name, pbuf, "", next, sizeof(next));
        close(parent);
        return err < 0 ? err : mkfile_in_root_n(c, next, depth + 1);
    }
    if (fd < 0 && errno != EEXIST) {
        int err = -errno;
        close(parent);
        return err;
    }
    if (fd >= 0)
        close(fd);
    close(parent);
    return open_in_root(c, path, O_PATH);
}

static int mkfile_in_root(struct child *c, const char *path)
{
    return mkfile_in_root_n(c, path, 0);
}

/* The flags a remount must keep: those locked by a user namespace and the
 * ones we were not asked to change. */
static unsigned long mount_flags_of(int fd)
{
    struct statfs st;
    unsigned long f = 0;

    if (fstatfs(fd, &st) < 0)
        return 0;
    if (st.f_flags & ST_NOSUID) f |= MS_NOSUID;
    if (st.f_flags & ST_NODEV) f |= MS_NODEV;
    if (st.f_flags & ST_NOEXEC) f |= MS_NOEXEC;
    if (st.f_flags & ST_NOATIME) f |= MS_NOATIME;
    if (st.f_flags & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (st.f_flags & ST_RELATIME) f |= MS_RELATIME;
    if (st.f_flags & ST_RDONLY) f |= MS_RDONLY;
    return f;
}

static int remount_bind(struct child *c, const char *path, unsigned long flags)
{
    char p[64];
    int fd = open_in_root(c, path, O_PATH), r = 0;

    if (fd < 0)
        return fd;
    if (mount(NULL, fdpath(p, fd), NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0) {
        /* Flags locked by a user namespace must be repeated. */
        unsigned long locked = mount_flags_of(fd) & ~(unsigned long)MS_RDONLY;
        if (errno != EPERM ||
            mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | flags | locked, NULL) < 0)
            r = -errno;
    }
    close(fd);
    return r;
}

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

#define MOUNT_ATTR_IDMAP_BIT 0x00100000

/* struct mount_attr of mount_setattr(2) */
struct pyrunc_mount_attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static int op_mount_setattr(struct child *c, struct pyrunc_op *op)
{
    struct pyrunc_mount_attr attr;
    int fd = open_in_root(c, op->s1, O_PATH), r = 0;

    if (fd < 0)
        return fd;
    memset(&attr, 0, sizeof(attr));
    attr.attr_set = (uint64_t)op->a;
    attr.attr_clr = (uint64_t)op->b;
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                sizeof(attr)) < 0)
        r = -errno;
    close(fd);
    return r;
}

static int set_propagation(struct child *c, const char *path, unsigned long flags)
{
    char p[64];
    int fd = open_in_root(c, path, O_PATH), r = 0;

    if (fd < 0)
        return fd;
    if (mount(NULL, fdpath(p, fd), NULL, flags, NULL) < 0)
        r = -errno;
    close(fd);
    return r;
}

/* tmpcopyup: copy a directory tree of the image into the tmpfs mounted over
 * it.  Symlinks are copied, never followed; hard links become copies.
 * Recursion is bounded; each level has its own getdents buffer. */
#define COPYUP_DEPTH 32

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int copy_data(int from, int to)
{
    char buf[8192];
    ssize_t n, w, off;

    for (;;) {
        n = read(from, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        for (off = 0; off < n; off += w) {
            w = write(to, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) {
                w = 0;
                continue;
            }
            if (w < 0)
                return -errno;
        }
    }
}

static int copy_tree(int src, int dst, int depth);

static int copy_entry(int src, int dst, const char *name, int depth)
{
    struct stat st;
    struct timespec times[2];
    int r = 0, from, to;

    if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
        int dir = S_ISDIR(st.st_mode);
        if (dir && mkdirat(dst, name, st.st_mode & 07777) < 0 && errno != EEXIST)
            return -errno;
        from = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
        if (from < 0)
            return -errno;
        to = dir ? openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                 : openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                          st.st_mode & 07777);
        if (to < 0) {
            r = -errno;
            close(from);
            return r;
        }
        r = dir ? copy_tree(from, to, depth + 1) : copy_data(from, to);
        if (r == 0 && (fchown(to, st.st_uid, st.st_gid) < 0 ||
                       fchmod(to, st.st_mode & 07777) < 0 || futimens(to, times) < 0))
            r = -errno;
        close(from);
        close(to);
        return r;
    }
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
        if (n < 0)
            return -errno;
        target[n] = '\0';
        if (symlinkat(target, dst, name) < 0 ||
            fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
            return -errno;
        return 0;
    }
    /* fifos, sockets, device nodes */
    if (mknodat(dst, name, st.st_mode, st.st_rdev) < 0 ||
        fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    return 0;
}

static int copy_tree(int src, int dst, int depth)
{
    char buf[4096];
    long n, pos;
    int r;

    if (depth > COPYUP_DEPTH)
        return -ELOOP;
    for (;;) {
        n = syscall(SYS_getdents64, src, buf, sizeof(buf));
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        for (pos = 0; pos < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + pos);
            pos += d->d_reclen;
            if (d->d_name[0] == '.' && (d->d_name[1] == '\0' ||
                                        (d->d_name[1] == '.' && d->d_name[2] == '\0')))
                continue;
            r = copy_entry(src, dst, d->d_name, depth);
            if (r < 0)
                return r;
        }
    }
}

/* After a tmpfs was mounted over a directory of the image (held open as
 * `below`), fill it with that directory's contents. */
static int copy_up(struct child *c, int below, const char *target)
{
    int top = open_in_root(c, target, O_RDONLY | O_DIRECTORY), r;

    if (top < 0)
        return top;
    r = copy_tree(below, top, 0);
    close(top);
    return r;
}

/* runc's /proc rule, on the target as it was resolved (a symlink in the
 * image can lead a mount anywhere in the root, /proc/sys/... included): a
 * target on a procfs is refused unless the op may cover a procfs's root
 * (d & 4: procfs on /proc) or a file of it (d & 8: the lxcfs list).
 * Returns 0 or a PYRUNC_DETAIL_. */
static int check_procfs_target(int fd, long long allow)
{
    struct statfs sfs;
    struct stat st;

    if (fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
        return 0;
    if (fstat(fd, &st) < 0)
        return PYRUNC_DETAIL_IN_PROCFS;
    if (st.st_ino == PROC_ROOT_INO)
        return (allow & 4) ? 0 : PYRUNC_DETAIL_IN_PROCFS;
    return (allow & 8) ? 0 : PYRUNC_DETAIL_IN_PROCFS;
}

/* A bind onto /proc must bring a procfs (runc: "not of type proc"). */
static int check_procfs_source(const char *source)
{
    struct statfs sfs;
    int fd = open(source, O_PATH | O_CLOEXEC), r = 0;

    if (fd < 0)
        return 0;   /* the bind itself reports it */
    if (fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
        r = PYRUNC_DETAIL_SOURCE_NOT_PROCFS;
    close(fd);
    return r;
}

/* d & 16: "mode=MMMM," (the mountpoint's, if it was there before) before a
 * tmpfs's data, as runc gives it (a mode= of the config's comes later and
 * wins); a mountpoint made for it leaves the tmpfs its own 1777. */
static const char *tmpfs_data(struct pyrunc_op *op, int fd, int existed)
{
    static char data[PATH_MAX + 16];
    struct stat st;
    size_t n = 0, len = op->s4 ? strlen(op->s4) : 0;
    int i;

    if (!(op->d & 16) || !existed || fstat(fd, &st) < 0 || len + 12 > sizeof(data))
        return op->s4;
    memcpy(data, "mode=", 5);
    n = 5;
    for (i = 9; i >= 0; i -= 3)
        data[n++] = (char)('0' + ((st.st_mode >> i) & 7));
    if (op->s4) {
        data[n++] = ',';
        memcpy(data + n, op->s4, len);
        n += len;
    }
    data[n] = '\0';
    return data;
}

/* The source fd the runtime passed for a bind (d bit 32), or -1. */
static int source_fd(struct child *c, struct pyrunc_op *op)
{
    long long slot = op->d >> 8;

    if (op->d & 64)
        return (int)slot;   /* an inherited fd: a detached mount tree */
    if (!(op->d & 32) || slot < 0 || slot >= c->n_srcfd)
        return -1;
    return c->srcfd[slot];
}

/* Each source is for one mount: closed once it is done (or failed). */
static void drop_source(struct child *c, struct pyrunc_op *op)
{
    int fd = source_fd(c, op);

    if (fd >= 0) {
        close(fd);
        if (!(op->d & 64))
            c->srcfd[op->d >> 8] = -1;
    }
}

static int mount_one(struct child *c, struct pyrunc_op *op, int index, int srcfd)
{
    char p[64];
    int fd, r = 0;

    int below = -1, existed = 0;

    if (op->d & 16) {
        fd = open_in_root(c, op->s2, O_PATH);
        existed = fd >= 0;
        if (fd >= 0)
            close(fd);
    }
    if (op->d & 1) {
        /* proc and sysfs (CVE-2019-19921 class): no symlink on the way to
         * the target, not even one that stays inside the root */
        fd = open_in_root_how(c, op->s2, O_PATH, RESOLVE_NO_SYMLINKS);
        if (fd == -ELOOP)
            fail(c, index, ELOOP, PYRUNC_DETAIL_SYMLINK_TARGET, 0);
        if (fd >= 0)
            close(fd);
    }
    if (op->a == 3) {
        /* a bind mount: the target takes the kind of the source */
        struct stat st;
        if (stat(op->s1, &st) < 0) {
            r = -errno;
            if (r != -EACCES || srcfd < 0 || fstat(srcfd, &st) < 0)
                return r;
            r = 0;
        }
        fd = S_ISDIR(st.st_mode) ? mkdir_in_root(c, op->s2, 0755) : mkfile_in_root(c, op->s2);
    } else if (op->a == 1)
        fd = mkdir_in_root(c, op->s2, 0755);
    else if (op->a == 2)
        fd = mkfile_in_root(c, op->s2);
    else
        fd = open_in_root(c, op->s2, O_PATH);
    if (fd < 0)
        return fd;
    r = check_procfs_target(fd, op->d);
    if (r == 0 && (op->flags & MS_BIND) && (op->d & 4))
        r = check_procfs_source(op->s1);
    if (r) {
        close(fd);
        fail(c, index, EPERM, r, 0);
    }
    if (op->d & 64) {
        /* an idmapped bind: the runtime made the tree, we attach it */
        r = syscall(SYS_move_mount, srcfd, "", fd, "", PYRUNC_MOVE_MOUNT_F_EMPTY_PATH |
                    PYRUNC_MOVE_MOUNT_T_EMPTY_PATH) < 0 ? -errno : 0;
        close(fd);
        if (r == 0 && op->b)
            r = remount_bind(c, op->s2, (unsigned long)op->b);
    } else if (op->flags & MS_BIND) {
        if (mount(op->s1, fdpath(p, fd), NULL, op->flags & (MS_BIND | MS_REC), NULL) < 0) {
            r = -errno;
            if (r == -EACCES && srcfd >= 0) {
                /* (the runtime opened it as host root, in our mount
                 * namespace: the mount does not walk the path again) */
                char q[64];
                r = mount(fdpath(q, srcfd), fdpath(p, fd), NULL,
                          op->flags & (MS_BIND | MS_REC), NULL) < 0 ? -errno : 0;
            }
        }
        close(fd);
        if (r == 0 && op->b)
            r = remount_bind(c, op->s2, (unsigned long)op->b);
    } else {
        if (op->d & 2) {
            /* tmpcopyup: the image's directory, as it is before the mount */
            below = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (below < 0) {
                r = -errno;
                close(fd);
                return r;
            }
        }
        if (mount(op->s1, fdpath(p, fd), op->s3, op->flags, tmpfs_data(op, fd, existed)) < 0)
            r = -errno;
        close(fd);
        if (below >= 0) {
            if (r == 0)
                r = copy_up(c, below, op->s2);
            close(below);
        }
    }
    if (r == 0 && op->c)
        r = set_propagation(c, op->s2, (unsigned long)op->c);
    return r;
}

static int op_mount(struct child *c, struct pyrunc_op *op, int index)
{
    int r = mount_one(c, op, index, source_fd(c, op));

    drop_source(c, op);
    return r;
}

/* fds a, b, c become 0, 1, 2: first each is copied above 2, so that a
 * swap (stdin given as 1, stdout as 0) takes no fd before it is read. */
static int op_stdio(struct pyrunc_op *op)
{
    long long want[3] = {op->a, op->b, op->c};
    int high[3] = {-1, -1, -1}, i, r = 0;

    for (i = 0; i < 3 && r == 0; i++)
        if (want[i] >= 0 && (high[i] = fcntl((int)want[i], F_DUPFD_CLOEXEC, 3)) < 0)
            r = -errno;
    for (i = 0; i < 3 && r == 0; i++)
        if (high[i] >= 0 && dup2(high[i], i) < 0)
            r = -errno;
    for (i = 0; i < 3; i++)
        if (high[i] >= 0)
            close(high[i]);
    return r;
}

/* A new network namespace has "lo", down: up it goes, as runc does. */
static int op_loopback(void)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, "lo", 3);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        r = -errno;
    } else if (!(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
            r = -errno;
    }
    close(fd);
    return r;
}

static int op_mknod(struct child *c, struct pyrunc_op *op)
{
    char pbuf[PATH_MAX];
    const char *name = split_last(op->s1, pbuf, sizeof(pbuf));
    int parent, r = 0;

    if (!name)
        return -ENAMETOOLONG;
    parent = mkdir_in_root(c, pbuf, 0755);
    if (parent < 0)
        return parent;
    /* O_PATH fds cannot be used with mknodat: reopen the directory. */
    {
        char p[64];
        int dir = open(fdpath(p, parent), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(parent);
        if (dir < 0)
            return -errno;
        parent = dir;
    }
    if (mknodat(parent, name, (mode_t)op->a, (dev_t)op->b) < 0) {
        if (errno != EEXIST)
            r = -errno;
    } else if (op->c || op->d) {
        /* Chown the node just made, checked to be it, never a name that
         * may have been swapped meanwhile (a host file bound there). */
        struct stat st;
        int node = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (node < 0) {
            r = -errno;
        } else {
            if (fstat(node, &st) < 0)
                r = -errno;
            else if ((st.st_mode & S_IFMT) != ((mode_t)op->a & S_IFMT) ||
                     st.st_rdev != (dev_t)op->b)
                r = -EEXIST;
            else if (fchownat(node, "", (uid_t)op->c, (gid_t)op->d, AT_EMPTY_PATH) < 0)
                r = -errno;
            close(node);
        }
    }
    close(parent);
    return r;
}

/* In a user namespace a device is the host's node bound in: it must be that
 * device (a config's "/etc/shadow" of type c is no device to bind), and the
 * target no file of a procfs. */
static int op_bind_dev(struct child *c, struct pyrunc_op *op, int index)
{
    char p[64], q[64];
    struct stat st;
    int src, fd, r = 0;

    src = open(op->s1, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (src < 0)
        return -errno;
    if (fstat(src, &st) < 0 || (st.st_mode & S_IFMT) != (mode_t)op->a ||
        st.st_rdev != (dev_t)op->b) {
        close(src);
        fail(c, index, EINVAL, PYRUNC_DETAIL_NOT_DEVICE, 0);
    }
    fd = mkfile_in_root(c, op->s2);
    if (fd < 0) {
        close(src);
        return fd;
    }
    r = check_procfs_target(fd, 0);
    if (r) {
        close(fd);
        close(src);
        fail(c, index, EPERM, r, 0);
    }
    if (mount(fdpath(q, src), fdpath(p, fd), NULL, MS_BIND, NULL) < 0)
        r = -errno;
    close(fd);
    close(src);
    return r;
}

static int op_symlink(struct child *c, struct pyrunc_op *op)
{
    char pbuf[PATH_MAX], p[64];
    const char *name = split_last(op->s2, pbuf, sizeof(pbuf));
    int parent, dir, r = 0;

    if (!name)
        return -ENAMETOOLONG;
    parent = mkdir_in_root(c, pbuf, 0755);
    if (parent < 0)
        return parent;
    dir = open(fdpath(p, parent), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(parent);
    if (dir < 0)
        return -errno;
    if (symlinkat(op->s1, dir, name) < 0 && errno != EEXIST)
        r = -errno;
    close(dir);
    return r;
}

/* maskedPaths: a directory gets a read-only tmpfs, anything else the host's
 * /dev/null, checked to be the real 1:3 (CVE-2025-31133 class). */
static int op_mask(struct child *c, struct pyrunc_op *op, int index)
{
    char p[64], q[64];
    struct stat st;
    int fd = open_in_root(c, op->s1, O_PATH), r = 0;

    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return fd;
    if (fstat(fd, &st) < 0) {
        r = -errno;
    } else if (S_ISDIR(st.st_mode)) {
        if (mount("tmpfs", fdpath(p, fd), "tmpfs", MS_RDONLY, NULL) < 0)
            r = -errno;
    } else {
        struct stat dn;
        if (c->devnull < 0) {
            c->devnull = open("/dev/null", O_PATH | O_CLOEXEC);
            if (c->devnull < 0) {
                r = -errno;
                goto out;
            }
        }
        if (fstat(c->devnull, &dn) < 0 || !S_ISCHR(dn.st_mode) ||
            dn.st_rdev != makedev(1, 3)) {
            close(fd);
            fail(c, index, EINVAL, PYRUNC_DETAIL_NOT_DEVNULL, 0);
        }
        if (mount(fdpath(q, c->devnull), fdpath(p, fd), NULL, MS_BIND, NULL) < 0)
            r = -errno;
    }
out:
    close(fd);
    return r;
}

static int op_readonly(struct child *c, struct pyrunc_op *op)
{
    char p[64];
    int fd = open_in_root(c, op->s1, O_PATH), r = 0;

    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return fd;
    if (mount(fdpath(p, fd), p, NULL, MS_BIND | MS_REC, NULL) < 0)
        r = -errno;
    close(fd);
    if (r)
        return r;
    fd = open_in_root(c, op->s1, O_PATH);
    if (fd < 0)
        return fd;
    if (mount(NULL, fdpath(p, fd), NULL,
              MS_REMOUNT | MS_BIND | MS_RDONLY | mount_flags_of(fd), NULL) < 0)
        r = -errno;
    close(fd);
    return r;
}

static int write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

/* sysctl: write only through a real procfs (CVE-2019-19921 class). */
static int op_write_proc(struct child *c, struct pyrunc_op *op, int index)
{
    struct open_how how;
    struct statfs st;
    const char *path = op->s1;
    int fd, r;

    char own[PATH_MAX];

    while (*path == '/')
        path++;
    /* No symlink is followed, so "self" is spelled out: our pid in the
     * pid namespace whose procfs the container mounted. */
    if (strncmp(path, "proc/self/", 10) == 0) {
        char digits[16];
        int n = 0, pid = (int)getpid();
        size_t p = 5, rest = strlen(path + 10);
        do {
            digits[n++] = (char)('0' + pid % 10);
            pid /= 10;
        } while (pid > 0);
        if (p + (size_t)n + 1 + rest >= sizeof(own))
            return -ENAMETOOLONG;
        memcpy(own, "proc/", 5);
        while (n > 0)
            own[p++] = digits[--n];
        own[p++] = '/';
        memcpy(own + p, path + 10, rest + 1);
        path = own;
    }
    memset(&how, 0, sizeof(how));
    how.flags = O_WRONLY | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    fd = (int)syscall(SYS_openat2, c->rootfd, path, &how, sizeof(how));
    if (fd < 0)
        return -errno;
    if (fstatfs(fd, &st) < 0 || st.f_type != PROC_SUPER_MAGIC) {
        close(fd);
        fail(c, index, EINVAL, PYRUNC_DETAIL_NOT_PROCFS, 0);
    }
    r = write_all(fd, op->s2, strlen(op->s2));
    close(fd);
    return r;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC), r;
    if (fd < 0)
        return -errno;
    r = write_all(fd, text, strlen(text));
    close(fd);
    return r;
}

static int op_write_host(struct pyrunc_op *op)
{
    return write_file(op->s1, op->s2);
}

static const char *payload_segment(struct child *c, long long k, size_t *len)
{
    const char *s = c->plan->payload, *end = s + c->payload_len;
    while (k-- > 0 && s < end)
        s += strlen(s) + 1;
    if (s >= end) {
        *len = 0;
        return "";
    }
    *len = strlen(s);
    return s;
}

/* createContainer and startContainer hooks run here, in the container's
 * namespaces; the state JSON comes from the parent's sync reply. */
static int op_hook(struct child *c, struct pyrunc_op *op, int index)
{
    size_t len;
    const char *state = payload_segment(c, op->b, &len);
    int pipefd[2], pidfd = -1, status, r;
    long pid;

    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
    if (len >= 65536)
        fcntl(pipefd[1], F_SETPIPE_SZ, (int)len + 1);
    r = write_all(pipefd[1], state, len);
    close(pipefd[1]);
    if (r) {
        close(pipefd[0]);
        return r;
    }
    pid = clone_fork(0, &pidfd, -1);
    if (pid == 0) {
        if (dup2(pipefd[0], 0) < 0)
            _exit(126);
        if (op->c && c->rootfd >= 0 && fchdir(c->rootfd) < 0)
            _exit(126);
        execve(op->s1, op->v1, op->v2 ? op->v2 : environ);
        _exit(127);
    }
    close(pipefd[0]);
    if (pid < 0)
        return (int)pid;
    if (op->a > 0 && pidfd >= 0) {
        /* the timeout in seconds, polled in slices poll(2)'s int of
         * milliseconds can hold */
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
        long long left = op->a * 1000;
        int n;
        do {
            int slice = left > 86400000 ? 86400000 : (int)left;
            n = poll(&pfd, 1, slice);
            if (n == 0)
                left -= slice;
        } while ((n < 0 && errno == EINTR) || (n == 0 && left > 0));
        if (n == 0) {
            kill((pid_t)pid, SIGKILL);
            waitpid((pid_t)pid, &status, 0);
            close(pidfd);
            return -ETIMEDOUT;
        }
    }
    if (pidfd >= 0)
        close(pidfd);
    while (waitpid((pid_t)pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail(c, index, 0, PYRUNC_DETAIL_HOOK_STATUS, status);
    return 0;
}

static int op_pivot_root(struct child *c)
{
    int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);

    if (oldroot < 0)
        return -errno;
    if (fchdir(c->rootfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
        goto err;
    /* The old root is stacked on top of the new one: detach it without
     * letting the unmount propagate to the host. */
    if (fchdir(oldroot) < 0 ||
        mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
        umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        goto err;
    close(oldroot);
    return 0;
err:
    {
        int err = -errno;
        close(oldroot);
        return err;
    }
}

static int op_move_root(struct child *c)
{
    if (fchdir(c->rootfd) < 0 ||
        mount(".", "/", NULL, MS_MOVE, NULL) < 0 ||
        chroot(".") < 0 || chdir("/") < 0)
        return -errno;
    return 0;
}

/* No mount namespace: the rootfs is a private bind the runtime made in the
 * host's mount namespace; only the root directory changes. */
static int op_chroot(struct child *c)
{
    if (fchdir(c->rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
        return -errno;
    return 0;
}

/* CVE-2024-21626 class: a cwd reached through a magic link (a leaked fd's
 * /proc/self/fd/N, also behind a symlink in the rootfs) can lie outside
 * the root.  The kernel then reports it as "(unreachable)...": refuse. */
static int op_chdir(struct child *c, int index, struct pyrunc_op *op)
{
    static char buf[PATH_MAX];
    long n;

    if (chdir(op->s1) < 0)
        return -errno;
    n = syscall(SYS_getcwd, buf, sizeof(buf));
    if (n < 0)
        return -errno;
    if (buf[0] != '/')
        fail(c, index, EXDEV, PYRUNC_DETAIL_CWD_OUTSIDE, 0);
    return 0;
}

/* A number the planner wrote in decimal (a vector slot holds strings). */
static unsigned long long decimal(const char *s)
{
    unsigned long long v = 0;
    for (; *s; s++)
        v = v * 10 + (unsigned long long)(*s - '0');
    return v;
}

/* struct sched_attr of sched_setattr(2), its first version (48 bytes) */
struct pyrunc_sched_attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
};

static int op_sched(struct pyrunc_op *op)
{
    struct pyrunc_sched_attr attr;

    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.policy = (uint32_t)op->a;
    attr.nice = (int32_t)op->b;
    attr.priority = (uint32_t)op->c;
    attr.flags = (uint64_t)op->d;
    if (op->v1 && op->v1[0] && op->v1[1] && op->v1[2]) {
        attr.runtime = decimal(op->v1[0]);
        attr.deadline = decimal(op->v1[1]);
        attr.period = decimal(op->v1[2]);
    }
    return syscall(SYS_sched_setattr, 0, &attr, 0) < 0 ? -errno : 0;
}

static int op_affinity(struct pyrunc_op *op)
{
    /* no mask: all the CPUs a kernel may have (it keeps those it has
     * and the cpuset allows), so that the runtime's own affinity is not
     * inherited (runc resets it so) */
    static unsigned long every[8192 / (8 * sizeof(unsigned long))];
    const void *mask = op->s1;
    size_t len = (size_t)op->a;

    if (!mask) {
        memset(every, 0xff, sizeof(every));
        mask = every;
        len = sizeof(every);
    }
    return syscall(SYS_sched_setaffinity, 0, len, mask) < 0 ? -errno : 0;
}

static int op_user(struct pyrunc_op *op)
{
    static gid_t groups[NGROUPS_MAX > 65536 ? 65536 : NGROUPS_MAX];
    size_t n = 0;

    if (op->v1)
        for (; op->v1[n] && n < sizeof(groups) / sizeof(groups[0]); n++)
            groups[n] = (gid_t)decimal(op->v1[n]);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return -errno;
    if (setgroups(n, groups) < 0 && !(errno == EPERM && n == 0))
        return -errno;
    if (setresgid((gid_t)op->b, (gid_t)op->b, (gid_t)op->b) < 0)
        return -errno;
    if (setresuid((uid_t)op->a, (uid_t)op->a, (uid_t)op->a) < 0)
        return -errno;
    return 0;
}

static int op_bounding(struct pyrunc_op *op)
{
    unsigned long long keep = (unsigned long long)op->a;
    long long cap;

    for (cap = 0; cap <= op->b && cap < 64; cap++) {
        if (keep & (1ULL << cap))
            continue;
        if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0 && errno != EINVAL)
            return -errno;
    }
    return 0;
}

static int op_caps(struct pyrunc_op *op)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    unsigned long long e = (unsigned long long)op->a, p = (unsigned long long)op->b;
    unsigned long long i = (unsigned long long)op->c, amb = (unsigned long long)op->d;
    int cap;

    data[0].effective = (uint32_t)e;
    data[1].effective = (uint32_t)(e >> 32);
    data[0].permitted = (uint32_t)p;
    data[1].permitted = (uint32_t)(p >> 32);
    data[0].inheritable = (uint32_t)i;
    data[1].inheritable = (uint32_t)(i >> 32);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return -errno;
    if (syscall(SYS_capset, &hdr, data) < 0)
        return -errno;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return -errno;
    /* An ambient capability needs to be permitted and inheritable; the
     * planner warned about the others, which the kernel refuses (as runc,
     * this is not fatal). */
    for (cap = 0; cap < 64; cap++)
        if ((amb & (1ULL << cap)) &&
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)cap, 0, 0) < 0 &&
            errno != EPERM)
            return -errno;
    return 0;
}

static int is_executable(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EACCES;
    if (access(path, X_OK) < 0)
        return -errno;
    return 0;
}

/* Find args[0] as execvp would, before the container reports "created", so
 * a missing executable fails `create` (as runc does). */
static int op_lookup(struct child *c, struct pyrunc_op *op)
{
    const char *name = op->s1, *p = op->s2;
    size_t nlen = strlen(name);
    int r, seen_eacces = 0;

    if (nlen == 0)
        return -ENOENT;
    if (strchr(name, '/')) {
        if (nlen >= sizeof(c->exe))
            return -ENAMETOOLONG;
        memcpy(c->exe, name, nlen + 1);
        return is_executable(c->exe);
    }
    while (p) {
        const char *end = strchr(p, ':');
        size_t dlen = end ? (size_t)(end - p) : strlen(p);
        if (dlen == 0) {
            /* empty element: the current directory */
            if (nlen + 1 < sizeof(c->exe)) {
                memcpy(c->exe, name, nlen + 1);
                r = is_executable(c->exe);
                if (r == 0)
                    return 0;
                seen_eacces |= (r == -EACCES);
            }
        } else if (dlen + nlen + 2 < sizeof(c->exe)) {
            memcpy(c->exe, p, dlen);
            c->exe[dlen] = '/';
            memcpy(c->exe + dlen + 1, name, nlen + 1);
            r = is_executable(c->exe);
            if (r == 0)
                return 0;
            seen_eacces |= (r == -EACCES);
        }
        p = end ? end + 1 : NULL;
    }
    return seen_eacces ? -EACCES : -ENOENT;
}

/* An fd for the runtime, sent up the sync socket with SCM_RIGHTS: the
 * seccomp listener (the runtime hands it to listenerPath) or the pty master
 * (to --console-socket).  The child closes its copy afterwards, so the
 * container never holds it. */
static int send_fd(struct child *c, int type, int fd)
{
    struct pyrunc_msg m;
    struct iovec iov;
    struct msghdr msg;
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct cmsghdr *cm;

    memset(&m, 0, sizeof(m));
    m.type = type;
    m.pid = (int)getpid();
    iov.iov_base = &m;
    iov.iov_len = sizeof(m);
    memset(&msg, 0, sizeof(msg));
    memset(&u, 0, sizeof(u));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof(u.buf);
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    while (sendmsg(c->plan->sync_fd, &msg, MSG_NOSIGNAL) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

static int op_seccomp(struct child *c, struct pyrunc_op *op)
{
    struct sock_fprog prog;
    unsigned int flags = (unsigned int)op->flags;
    long fd;
    int r;

    prog.len = (unsigned short)op->a;
    prog.filter = (struct sock_filter *)(uintptr_t)op->s1;
    if (op->b) {
        flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        if (flags & SECCOMP_FILTER_FLAG_TSYNC)
            flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    }
    fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (fd < 0)
        return -errno;
    if (!op->b)
        return 0;
    r = send_fd(c, PYRUNC_MSG_SECCOMP_FD, (int)fd);
    close((int)fd);
    return r;
}

/* Bind the pty peer over /dev/console (created as a file if missing; a
 * symlink there is never followed: CVE-2025-52565 class).  The source is
 * the peer fd itself, not a /dev/pts/N path that could be swapped. */
static int mount_console(int root, int peer)
{
    struct open_how how;
    char p[64], q[64];
    int target, tree, r = 0, dev;

    memset(&how, 0, sizeof(how));
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    dev = (int)syscall(SYS_openat2, root, "dev", &how, sizeof(how));
    if (dev < 0)
        return -errno;
    {
        /* O_PATH fds cannot create: reopen the directory */
        int d = open(fdpath(p, dev), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(dev);
        if (d < 0)
            return -errno;
        dev = d;
    }
    /* reached, never opened: it may be a device node of the image */
    target = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (target < 0 && errno == ENOENT) {
        int f = openat(dev, "console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                       0600);
        if (f >= 0) {
            close(f);
            target = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
        }
    }
    close(dev);
    if (target < 0)
        return -errno;
    {
        struct stat st;
        if (fstat(target, &st) < 0 || S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode)) {
            close(target);
            return -ELOOP;
        }
    }
    tree = (int)syscall(SYS_open_tree, peer, "", PYRUNC_OPEN_TREE_CLONE | O_CLOEXEC |
                        AT_EMPTY_PATH);
    if (tree >= 0) {
        if (syscall(SYS_move_mount, tree, "", target, "", PYRUNC_MOVE_MOUNT_F_EMPTY_PATH |
                    PYRUNC_MOVE_MOUNT_T_EMPTY_PATH) < 0)
            r = -errno;
        close(tree);
    } else if (errno == ENOSYS) {
        if (mount(fdpath(q, peer), fdpath(p, target), NULL, MS_BIND, NULL) < 0)
            r = -errno;
    } else {
        r = -errno;
    }
    close(target);
    return r;
}

static int op_console(struct child *c, struct pyrunc_op *op, int index)
{
    struct open_how how;
    struct statfs sfs;
    struct stat st;
    int root, master, peer, unlock = 0, r, fd;

    root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return -errno;
    memset(&how, 0, sizeof(how));
    how.flags = O_RDWR | O_NOCTTY | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    master = (int)syscall(SYS_openat2, root, "dev/ptmx", &how, sizeof(how));
    if (master < 0) {
        r = -errno;
        close(root);
        return r;
    }
    /* the container's own devpts, not a node the image put there */
    if (fstatfs(master, &sfs) < 0 || fstat(master, &st) < 0 ||
        sfs.f_type != DEVPTS_SUPER_MAGIC || !S_ISCHR(st.st_mode)) {
        close(master);
        close(root);
        fail(c, index, EINVAL, PYRUNC_DETAIL_NOT_DEVPTS, 0);
    }
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
        goto err;
    peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (peer < 0)
        goto err;
    if (op->a > 0 && op->b > 0) {
        struct winsize ws;
        memset(&ws, 0, sizeof(ws));
        ws.ws_row = (unsigned short)op->a;
        ws.ws_col = (unsigned short)op->b;
        if (ioctl(peer, TIOCSWINSZ, &ws) < 0)
            goto err_peer;
    }
    if (op->c && (r = mount_console(root, peer)) < 0) {
        errno = -r;
        goto err_peer;
    }
    close(root);
    r = send_fd(c, PYRUNC_MSG_CONSOLE_FD, master);
    close(master);
    if (r < 0) {
        close(peer);
        return r;
    }
    /* the pty becomes the controlling terminal of a new session */
    if (setsid() < 0 && errno != EPERM) {
        r = -errno;
        close(peer);
        return r;
    }
    if (ioctl(peer, TIOCSCTTY, 0) < 0) {
        r = -errno;
        close(peer);
        return r;
    }
    for (fd = 0; fd < 3; fd++)
        if (dup2(peer, fd) < 0) {
            r = -errno;
            close(peer);
            return r;
        }
    if (peer > 2)
        close(peer);
    return 0;
err_peer:
    r = -errno;
    close(peer);
    close(master);
    close(root);
    return r;
err:
    r = -errno;
    close(master);
    close(root);
    return r;
}

/* Room for the SCM_RIGHTS fds of one message, aligned for cmsghdr. */
union fds_control {
    char buf[CMSG_SPACE(sizeof(int) * PYRUNC_MAX_PASSED_FDS)];
    struct cmsghdr align;
};

/* Receive one message on a SOCK_SEQPACKET socket, and the fds that came
 * with it (SCM_RIGHTS, close-on-exec): the first max go into fds (*n_fds of
 * them), any more are closed.  The message's length or -errno.  The
 * child's sync replies and the runtime's messages from the child. */
static ssize_t recv_with_fds(int sock, void *buf, size_t len, int *fds, int max, int *n_fds)
{
    union fds_control u;
    struct iovec iov;
    struct msghdr msg;
    struct cmsghdr *cm;
    ssize_t n;
    size_t i, count;
    int fd;

    *n_fds = 0;
    do {
        iov.iov_base = buf;
        iov.iov_len = len;
        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = u.buf;
        msg.msg_controllen = sizeof(u.buf);
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (i = 0; i < count; i++) {
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (*n_fds < max)
                fds[(*n_fds)++] = fd;
            else
                close(fd);
        }
    }
    return n;
}

/* The fds of a sync reply: its payload holds one byte per slot, non-zero
 * where the next fd is that slot's (the bind sources the runtime opened). */
static void take_passed_fds(struct child *c, const int *fds, int n)
{
    int used = 0, i;

    if (n == 0)
        return;
    c->n_srcfd = 0;
    for (i = 0; i < (int)c->payload_len && i < PYRUNC_MAX_PASSED_FDS; i++)
        c->srcfd[c->n_srcfd++] = c->plan->payload[i] && used < n ? fds[used++] : -1;
    while (used < n)
        close(fds[used++]);
}

static int op_sync(struct child *c, struct pyrunc_op *op)
{
    int fds[PYRUNC_MAX_PASSED_FDS], n_fds;
    ssize_t n;

    send_msg(c, PYRUNC_MSG_SYNC, 0, 0, (int)getpid(), op->a);
    n = recv_with_fds(c->plan->sync_fd, c->plan->payload, c->plan->payload_size, fds,
                      PYRUNC_MAX_PASSED_FDS, &n_fds);
    if (n <= 0)
        _exit(1);   /* the parent went away: nothing to report to */
    c->payload_len = (size_t)n;
    take_passed_fds(c, fds, n_fds);
    return 0;
}

static int op_fork(struct child *c)
{
    long pid = clone_fork(CLONE_PARENT, NULL, -1);

    if (pid < 0)
        return (int)pid;
    if (pid > 0) {
        send_msg(c, PYRUNC_MSG_PID, 0, 0, (int)pid, 0);
        _exit(0);
    }
    /* The init: a child of the runtime, like its parent was. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    return 0;
}

/* Socket activation: the pid the process has in its pid namespace, into
 * the "LISTEN_PID=" entry the planner made room in (no allocation). */
static void put_listen_pid(char *entry)
{
    char digits[16];
    char *p = entry + sizeof("LISTEN_PID=") - 1;
    long pid = (long)getpid();
    int n = 0;

    do {
        digits[n++] = (char)('0' + pid % 10);
        pid /= 10;
    } while (pid > 0);
    while (n > 0)
        *p++ = digits[--n];
    *p = '\0';
}

static int run_op(struct child *c, struct pyrunc_op *op, int index)
{
    switch (op->kind) {
    case PYRUNC_OP_SETNS: {
        int fd = open(op->s1, O_RDONLY | O_CLOEXEC), r = 0;
        if (fd < 0)
            return -errno;
        if (setns(fd, (int)op->a) < 0)
            r = -errno;
        close(fd);
        return r;
    }
    case PYRUNC_OP_SETNS_FD:
        return setns((int)op->a, (int)op->b) < 0 ? -errno : 0;
    case PYRUNC_OP_DETACH:
        prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        return 0;
    case PYRUNC_OP_STDIO:
        return op_stdio(op);
    case PYRUNC_OP_CONSOLE:
        return op_console(c, op, index);
    case PYRUNC_OP_SECCOMP:
        return op_seccomp(c, op);
    case PYRUNC_OP_CLOSE:
        close((int)op->a);
        return 0;
    case PYRUNC_OP_KEYRING:
        /* A session keyring of the container's own, as runc makes. */
        if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, op->s1) < 0 &&
            errno != ENOSYS)
            return -errno;
        return 0;
    case PYRUNC_OP_UNSHARE:
        return unshare((int)op->a) < 0 ? -errno : 0;
    case PYRUNC_OP_FORK:
        return op_fork(c);
    case PYRUNC_OP_SYNC:
        return op_sync(c, op);
    case PYRUNC_OP_WRITE_HOST:
        return op_write_host(op);
    case PYRUNC_OP_MOUNT_HOST:
        return mount(op->s1, op->s2, op->s3, op->flags, op->s4) < 0 ? -errno : 0;
    case PYRUNC_OP_OPEN_ROOT:
        c->rootfd = open(op->s1, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return c->rootfd < 0 ? -errno : 0;
    case PYRUNC_OP_MOUNT:
        return op_mount(c, op, index);
    case PYRUNC_OP_MKNOD:
        return op_mknod(c, op);
    case PYRUNC_OP_BIND_DEV:
        return op_bind_dev(c, op, index);
    case PYRUNC_OP_SYMLINK:
        return op_symlink(c, op);
    case PYRUNC_OP_MKDIR: {
        int fd = mkdir_in_root(c, op->s1, (mode_t)op->a);
        if (fd < 0)
            return fd;
        close(fd);
        return 0;
    }
    case PYRUNC_OP_REMOUNT:
        return remount_bind(c, op->s1, (unsigned long)op->a);
    case PYRUNC_OP_SETSID:
        /* EPERM: it leads a process group, a session is there already */
        return setsid() < 0 && errno != EPERM ? -errno : 0;
    case PYRUNC_OP_LOOPBACK:
        return op_loopback();
    case PYRUNC_OP_HIDE_MOUNT:
        /* (in our own namespace, "/" rslave: nothing reaches the host) */
        if (umount2(op->s1, MNT_DETACH) == 0)
            return 0;
        if (errno == ENOENT)
            return 0;   /* a parent went already */
        if (errno != EINVAL && errno != EPERM)
            return -errno;
        return mount("tmpfs", op->s1, "tmpfs", 0, NULL) < 0 && errno != ENOENT ? -errno : 0;
    case PYRUNC_OP_STDIO_OWNER: {
        /* runc's fixStdioPermissions: an fd the kernel will not let us
         * give (its owner or group not mapped, a read-only /dev) is left */
        int fd;
        for (fd = 0; fd < 3; fd++) {
            struct stat st;
            if (fstat(fd, &st) < 0 || st.st_uid == (uid_t)op->a ||
                (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)))
                continue;
            if (fchown(fd, (uid_t)op->a, (gid_t)-1) < 0 && errno != EINVAL &&
                errno != EPERM && errno != EROFS)
                return -errno;
        }
        return 0;
    }
    case PYRUNC_OP_MASK:
        return op_mask(c, op, index);
    case PYRUNC_OP_READONLY:
        return op_readonly(c, op);
    case PYRUNC_OP_WRITE_PROC:
        return op_write_proc(c, op, index);
    case PYRUNC_OP_HOOK:
        return op_hook(c, op, index);
    case PYRUNC_OP_PIVOT_ROOT:
        return op_pivot_root(c);
    case PYRUNC_OP_MOVE_ROOT:
        return op_move_root(c);
    case PYRUNC_OP_CHROOT:
        return op_chroot(c);
    case PYRUNC_OP_PERSONALITY:
        return personality((unsigned long)op->a) < 0 ? -errno : 0;
    case PYRUNC_OP_MOUNT_SETATTR:
        return op_mount_setattr(c, op);
    case PYRUNC_OP_DUMPABLE:
        return prctl(PR_SET_DUMPABLE, (unsigned long)op->a, 0, 0, 0) < 0 ? -errno : 0;
    case PYRUNC_OP_SCHED:
        return op_sched(op);
    case PYRUNC_OP_IOPRIO:
        /* 2: IOPRIO_WHO_PGRP, 0: the caller's group */
        return syscall(SYS_ioprio_set, 2, 0, (int)op->a) < 0 ? -errno : 0;
    case PYRUNC_OP_MEMPOLICY:
        /* (the kernel reads maxnode - 1 bits of the mask) */
        return syscall(SYS_set_mempolicy, (int)op->a, op->s1,
                       op->s1 ? (unsigned long)op->b + 1 : 0UL) < 0 ? -errno : 0;
    case PYRUNC_OP_AFFINITY:
        return op_affinity(op);
    case PYRUNC_OP_REMOUNT_ROOT: {
        int fd = open("/", O_PATH | O_CLOEXEC), r = 0;
        unsigned long keep;
        if (fd < 0)
            return -errno;
        keep = mount_flags_of(fd);
        close(fd);
        if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | keep | (unsigned long)op->a, NULL) < 0)
            r = -errno;
        return r;
    }
    case PYRUNC_OP_PROPAGATE_ROOT:
        return mount(NULL, "/", NULL, (unsigned long)op->a, NULL) < 0 ? -errno : 0;
    case PYRUNC_OP_SETHOSTNAME:
        return sethostname(op->s1, strlen(op->s1)) < 0 ? -errno : 0;
    case PYRUNC_OP_SETDOMAINNAME:
        return setdomainname(op->s1, strlen(op->s1)) < 0 ? -errno : 0;
    case PYRUNC_OP_RLIMIT: {
        struct rlimit rl = { (rlim_t)op->b, (rlim_t)op->c };
        return setrlimit((int)op->a, &rl) < 0 ? -errno : 0;
    }
    case PYRUNC_OP_CHDIR:
        return op_chdir(c, index, op);
    case PYRUNC_OP_UMASK:
        umask((mode_t)op->a);
        return 0;
    case PYRUNC_OP_BOUNDING:
        return op_bounding(op);
    case PYRUNC_OP_USER:
        return op_user(op);
    case PYRUNC_OP_CAPS:
        return op_caps(op);
    case PYRUNC_OP_NO_NEW_PRIVS:
        return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
    case PYRUNC_OP_LOOKUP:
        return op_lookup(c, op);
    case PYRUNC_OP_READY:
        /* From here the runtime process may exit: do not die with it. */
        prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        send_msg(c, PYRUNC_MSG_READY, index, 0, 0, 0);
        return 0;
    case PYRUNC_OP_WAIT_START: {
        char byte;
        ssize_t n;
        do {
            n = read((int)op->a, &byte, 1);
        } while (n < 0 && errno == EINTR);
        if (n < 0)
            return -errno;
        /* The fifo stays open (close-on-exec): `start` waits for it to
         * close, i.e. for execve, before it runs poststart hooks. */
        return 0;
    }
    case PYRUNC_OP_CLOSE_FDS:
        /* CVE-2024-21626 class: nothing of the runtime's survives execve. */
        if (syscall(SYS_close_range, (unsigned int)op->a, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
            int fd;
            for (fd = (int)op->a; fd < 4096; fd++)
                fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        return 0;
    case PYRUNC_OP_EXEC:
        if (op->a > 0)
            put_listen_pid(op->v2[op->a - 1]);
        execve(c->exe, op->v1, op->v2);
        return -errno;
    }
    return -ENOSYS;
}

static void reset_signals(void)
{
    struct sigaction sa;
    sigset_t all;
    int sig;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (sig = 1; sig < _NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &sa, NULL);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
}

static void __attribute__((noreturn)) child_main(struct pyrunc_plan *plan)
{
    struct child c;
    int i, r;

    c.plan = plan;
    close(plan->sync_peer_fd);
    c.rootfd = -1;
    c.devnull = -1;
    c.payload_len = 0;
    c.exe[0] = '\0';
    c.n_srcfd = 0;
    /* Python ignores SIGPIPE and SIGXFSZ; the container must not inherit
     * that, nor the runtime's handlers. */
    reset_signals();
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    /* CVE-2019-5736 class: nothing in the container may open our
     * /proc/<pid>/exe or fds; execve makes the user process dumpable. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    umask(0);
    for (i = 0; i < plan->n_ops; i++) {
        r = run_op(&c, &plan->ops[i], i);
        if (r < 0)
            fail(&c, i, -r, 0, 0);
    }
    fail(&c, plan->n_ops, ENOEXEC, 0, 0);
}

int pyrunc_spawn(struct pyrunc_plan *plan, int *pidfd)
{
    long pid;

    *pidfd = -1;
    pid = clone_fork(plan->clone_flags, pidfd, plan->cgroup_fd);
    if (pid == 0)
        child_main(plan);
    return (int)pid;
}

int pyrunc_socketpair(int fds[2])
{
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0 ? -errno : 0;
}

int pyrunc_has_openat2(void)
{
    struct open_how how;
    int fd;

    memset(&how, 0, sizeof(how));
    how.flags = O_PATH | O_CLOEXEC;
    fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

int pyrunc_open_in_root(int dirfd, const char *path, int flags)
{
    struct child c;

    memset(&c, 0, sizeof(c));
    c.rootfd = dirfd;
    return open_in_root(&c, path, flags);
}

int pyrunc_send_fds(int sock, const void *buf, size_t len, const int *fds, int n)
{
    union fds_control u;
    struct iovec iov;
    struct msghdr msg;
    struct cmsghdr *cm;

    if (n < 0 || n > PYRUNC_MAX_PASSED_FDS)
        return -EINVAL;
    iov.iov_base = (void *)buf;
    iov.iov_len = len;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (n > 0) {
        memset(&u, 0, sizeof(u));
        msg.msg_control = u.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
    }
    while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

int pyrunc_recv_fd(int sock, void *buf, size_t len, int *fd)
{
    int n_fds;
    ssize_t n = recv_with_fds(sock, buf, len, fd, 1, &n_fds);

    if (n_fds == 0)
        *fd = -1;
    return (int)n;
}

int pyrunc_bind_private(const char *path)
{
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
        return -errno;
    if (mount(NULL, path, NULL, MS_PRIVATE | MS_REC, NULL) < 0) {
        int err = -errno;
        umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
        return err;
    }
    return 0;
}

int pyrunc_userns_fd(const char *uid_map, const char *gid_map)
{
    int gate[2], fd = -1, r = 0;
    char path[64];
    pid_t pid;

    if (pipe2(gate, O_CLOEXEC) < 0)
        return -errno;
    /* (a process for the namespace to be made with: it waits on the pipe
     * until its maps are written and the namespace is opened) */
    pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        char byte;
        close(gate[1]);
        while (read(gate[0], &byte, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    if (pid < 0) {
        r = -errno;
        close(gate[0]);
        close(gate[1]);
        return r;
    }
    close(gate[0]);
    r = write_file(numbered_path(path, "/proc/", (int)pid, "/uid_map"), uid_map);
    if (r == 0)
        r = write_file(numbered_path(path, "/proc/", (int)pid, "/gid_map"), gid_map);
    if (r == 0) {
        fd = open(numbered_path(path, "/proc/", (int)pid, "/ns/user"), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            r = -errno;
    }
    close(gate[1]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return r < 0 ? r : fd;
}

int pyrunc_idmapped_tree(const char *path, int clone_recursive, int idmap_recursive,
                         int userns_fd)
{
    struct pyrunc_mount_attr attr;
    int tree, r;

    tree = (int)syscall(SYS_open_tree, AT_FDCWD, path, PYRUNC_OPEN_TREE_CLONE | O_CLOEXEC |
                        (clone_recursive ? AT_RECURSIVE : 0));
    if (tree < 0)
        return -errno;
    memset(&attr, 0, sizeof(attr));
    attr.attr_set = MOUNT_ATTR_IDMAP_BIT;
    attr.userns_fd = (uint64_t)userns_fd;
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH |
                (idmap_recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0) {
        r = -errno;
        close(tree);
        return r;
    }
    return tree;
}

int pyrunc_umount_detach(const char *path)
{
    return umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 ? -errno : 0;
}

int pyrunc_set_child_subreaper(void)
{
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 ? -errno : 0;
}

static int bpf_call(int cmd, union bpf_attr *attr)
{
    return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

int pyrunc_attach_device_filter(const char *cgroup_dir, const void *insns, int n_insns)
{
    union bpf_attr attr;
    uint32_t old[64];
    uint32_t n_old = 0, i;
    int prog, cg, r = 0;

    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = (uint32_t)n_insns;
    attr.license = (uint64_t)(uintptr_t)"Apache-2.0";
    prog = bpf_call(BPF_PROG_LOAD, &attr);
    if (prog < 0)
        return -errno;
    cg = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cg < 0) {
        r = -errno;
        close(prog);
        return r;
    }
    /* The programs attached to this cgroup itself so far (an update's
     * predecessors): they go once the new one is attached.  Meanwhile both
     * apply, which only ever allows less. */
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = (uint32_t)cg;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uint64_t)(uintptr_t)old;
    attr.query.prog_cnt = sizeof(old) / sizeof(old[0]);
    if (bpf_call(BPF_PROG_QUERY, &attr) == 0)
        n_old = attr.query.prog_cnt;
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)cg;
    attr.attach_bpf_fd = (uint32_t)prog;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpf_call(BPF_PROG_ATTACH, &attr) < 0)
        r = -errno;
    for (i = 0; r == 0 && i < n_old; i++) {
        int fd;
        memset(&attr, 0, sizeof(attr));
        attr.prog_id = old[i];
        fd = bpf_call(BPF_PROG_GET_FD_BY_ID, &attr);
        if (fd < 0)
            continue;   /* gone meanwhile */
        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (uint32_t)cg;
        attr.attach_bpf_fd = (uint32_t)fd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        if (bpf_call(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
            r = -errno;
        close(fd);
    }
    close(cg);
    close(prog);   /* the attachment keeps it, as long as the cgroup lives */
    return r;
}
