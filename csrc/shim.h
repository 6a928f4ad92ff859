/* pyrunc shim: the code that runs in the container's child between clone()
 * and execve().
 *
 * Python turns config.json into a plan: a flat array of steps ("ops") that
 * the child executes in order.  Everything is computed before clone; the
 * child only makes system calls, never allocates and never returns into
 * Python.  A failing step is reported to the parent over the sync socket as
 * (step index, errno); Python holds the description of each step and prints
 * e.g. `mount "proc" on "/proc": operation not permitted`.
 */
#ifndef PYRUNC_SHIM_H
#define PYRUNC_SHIM_H

#include <stddef.h>

/* Step kinds.  The meaning of the generic slots of struct pyrunc_op is given
 * for each kind; "root path" means a path resolved inside the container's
 * rootfs (openat2 RESOLVE_IN_ROOT), "host path" a path in the runtime's view.
 */
enum pyrunc_op_kind {
    PYRUNC_OP_SETNS = 1,     /* s1 host path of a namespace file, a = nstype */
    PYRUNC_OP_UNSHARE,       /* a = CLONE_NEW* flags */
    PYRUNC_OP_FORK,          /* fork the init into the pid/time namespace;
                                the forking process reports the pid, exits */
    PYRUNC_OP_SYNC,          /* a = sync id: tell the parent, wait for its
                                reply; the reply's payload is kept for hooks */
    PYRUNC_OP_WRITE_HOST,    /* s1 host path, s2 text: write it (timens) */
    PYRUNC_OP_MOUNT_HOST,    /* s1 source, s2 host target, s3 fstype, s4 data,
                                flags: mount(2) on a host path (propagation) */
    PYRUNC_OP_OPEN_ROOT,     /* s1 host path of the rootfs: becomes the root
                                that root paths are resolved in */
    PYRUNC_OP_MOUNT,         /* s1 source, s2 root path target, s3 fstype,
                                s4 data, flags mount flags, a target kind
                                (0 none, 1 dir, 2 file, 3 as the source:
                                create if missing),
                                b remount flags for binds (ro, nosuid, ...),
                                c propagation flags applied after,
                                d bits: 1 no symlink on the way (proc,
                                sysfs), 2 tmpcopyup (fill the new tmpfs
                                with what the directory held), 4 may
                                cover the root of a procfs (procfs on
                                /proc; a bind there must come from a
                                procfs), 8 may cover a file of a procfs
                                (runc's lxcfs list).  Without 4 or 8, a
                                target on a procfs is refused, however
                                the path led there; 16: a tmpfs takes the
                                mode of its mountpoint unless s4 says one
                                (runc); 32: the runtime may have opened the
                                source for us (a user namespace: it is host
                                root): slot d >> 8 of the fds it passed at a
                                sync, used where the source path is denied
                                to us; 64: d >> 8 is an fd the child
                                inherited from the runtime, a detached
                                mount tree (an idmapped bind) to move onto
                                the target */
    PYRUNC_OP_MKNOD,         /* s1 root path, a mode (type|perm), b dev,
                                c uid, d gid */
    PYRUNC_OP_BIND_DEV,      /* s1 host device, s2 root path target, a type
                                bits (S_IFCHR/S_IFBLK), b dev: the source
                                must be that device */
    PYRUNC_OP_SYMLINK,       /* s1 link target text, s2 root path of link */
    PYRUNC_OP_MKDIR,         /* s1 root path, a mode: mkdir -p */
    PYRUNC_OP_MASK,          /* s1 root path: hide it (maskedPaths) */
    PYRUNC_OP_READONLY,      /* s1 root path: bind it read-only */
    PYRUNC_OP_WRITE_PROC,    /* s1 root path under /proc, s2 text: only if
                                the file lives on a real procfs (sysctl) */
    PYRUNC_OP_HOOK,          /* s1 path, v1 args, v2 env (NULL: the
                                runtime's), a timeout s, b payload segment
                                with the state JSON, c 1: run it in the
                                open root's directory (createContainer) */
    PYRUNC_OP_PIVOT_ROOT,    /* pivot_root into the open root */
    PYRUNC_OP_MOVE_ROOT,     /* --no-pivot: MS_MOVE + chroot */
    PYRUNC_OP_REMOUNT_ROOT,  /* a = extra flags (MS_RDONLY): remount "/" */
    PYRUNC_OP_PROPAGATE_ROOT,/* a = propagation flags for "/" */
    PYRUNC_OP_SETHOSTNAME,   /* s1 */
    PYRUNC_OP_SETDOMAINNAME, /* s1 */
    PYRUNC_OP_RLIMIT,        /* a resource, b soft, c hard */
    PYRUNC_OP_CHDIR,         /* s1 path in the (new) root */
    PYRUNC_OP_UMASK,         /* a */
    PYRUNC_OP_BOUNDING,      /* a, b: capability bits 0-63 to keep */
    PYRUNC_OP_USER,          /* a uid, b gid, v1 additional gids as decimal
                                strings (NULL-terminated) */
    PYRUNC_OP_CAPS,          /* a effective, b permitted, c inheritable,
                                d ambient (bit masks) */
    PYRUNC_OP_NO_NEW_PRIVS,
    PYRUNC_OP_LOOKUP,        /* s1 args[0], s2 PATH: find the executable */
    PYRUNC_OP_READY,         /* tell the parent the container is created */
    PYRUNC_OP_WAIT_START,    /* a fd of the exec fifo: block until start */
    PYRUNC_OP_CLOSE_FDS,     /* a first fd to mark close-on-exec */
    PYRUNC_OP_EXEC,          /* v1 argv, v2 envp: execve the looked-up file;
                                a > 0: v2[a - 1] is "LISTEN_PID=" and room
                                for the pid, which is written there first */
    PYRUNC_OP_KEYRING,       /* s1 name: join a new session keyring */
    PYRUNC_OP_CLOSE,         /* a fd: close the child's copy (the state lock) */
    PYRUNC_OP_SECCOMP,       /* s1 BPF program (struct sock_filter[a]),
                                flags SECCOMP_FILTER_FLAG_*: load it; b = 1:
                                it notifies, send the listener fd up */
    PYRUNC_OP_CHROOT,        /* no mount namespace: chroot into the open root */
    PYRUNC_OP_PERSONALITY,   /* a = execution domain | flags */
    PYRUNC_OP_SETNS_FD,      /* a fd (a pidfd), b CLONE_NEW* flags: join
                                those namespaces of that process at once */
    PYRUNC_OP_DETACH,        /* from here on, live on if the runtime dies */
    PYRUNC_OP_REMOUNT,       /* s1 root path, a flags: MS_BIND|MS_REMOUNT
                                of the mount there (never its superblock) */
    PYRUNC_OP_SETSID,        /* a session of the process's own (runc gives
                                every process one, terminal or not) */
    PYRUNC_OP_LOOPBACK,      /* bring "lo" of the new network namespace up */
    PYRUNC_OP_STDIO_OWNER,   /* a uid: chown fds 0-2 to it (gid kept), but
                                /dev/null and what it owns already */
    PYRUNC_OP_HIDE_MOUNT,    /* s1 host path of a procfs or sysfs: detach
                                it, else cover it with a tmpfs (--no-pivot) */
    PYRUNC_OP_STDIO,         /* a, b, c: the fds to become 0, 1, 2 (-1:
                                keep that one): a library caller's pipes */
    PYRUNC_OP_CONSOLE,       /* a rows, b columns (0: leave the size), c 1:
                                bind the pty over /dev/console.  Open the
                                container's /dev/ptmx (a devpts), get the
                                peer with TIOCGPTPEER, send the master up
                                (PYRUNC_MSG_CONSOLE_FD), make the peer the
                                controlling terminal and stdio */
    PYRUNC_OP_MOUNT_SETATTR, /* s1 root path, a attributes to set, b to
                                clear (MOUNT_ATTR_*): mount_setattr(2),
                                AT_RECURSIVE, of the mount there */
    PYRUNC_OP_DUMPABLE,      /* a = 0 or 1: PR_SET_DUMPABLE (1 only while a
                                rootless runtime writes our maps) */
    PYRUNC_OP_SCHED,         /* sched_setattr(2) of the process: a policy,
                                b nice, c priority, d SCHED_FLAG_* bits,
                                v1 runtime, deadline, period (decimal, ns) */
    PYRUNC_OP_IOPRIO,        /* a = ioprio value (class << 13 | level) for
                                the process group (ioprio_set(2)) */
    PYRUNC_OP_MEMPOLICY,     /* a = MPOL_* mode | MPOL_F_* flags, s1 the
                                node mask (unsigned longs) of b bits, or
                                NULL: no nodes (set_mempolicy(2)) */
    PYRUNC_OP_AFFINITY,      /* s1 a CPU mask of a bytes (unsigned longs),
                                or NULL: every CPU the kernel may have
                                (sched_setaffinity(2)) */
};

/* At most this many fds come with one sync reply (the kernel's
 * SCM_MAX_FD): bind sources past it are left to the child's own lookup. */
enum pyrunc_limits { PYRUNC_MAX_PASSED_FDS = 253 };

/* What a failure was, beyond errno: sent in msg.arg with PYRUNC_MSG_ERROR
 * (spawn.py words each one). */
enum pyrunc_detail {
    PYRUNC_DETAIL_NONE = 0,
    PYRUNC_DETAIL_NOT_PROCFS,      /* a sysctl or LSM file is not on a procfs */
    PYRUNC_DETAIL_NOT_DEVNULL,     /* /dev/null is not the null device */
    PYRUNC_DETAIL_HOOK_STATUS,     /* err = 0, pid = the hook's wait status */
    PYRUNC_DETAIL_CWD_OUTSIDE,     /* the cwd is outside the root */
    PYRUNC_DETAIL_SYMLINK_TARGET,  /* a symlink on the way to proc/sysfs */
    PYRUNC_DETAIL_NOT_DEVPTS,      /* /dev/ptmx is not on a devpts */
    PYRUNC_DETAIL_IN_PROCFS,       /* a mount target lies on a procfs */
    PYRUNC_DETAIL_SOURCE_NOT_PROCFS, /* a bind onto /proc of no procfs */
    PYRUNC_DETAIL_NOT_DEVICE,      /* a device bind's source is not it */
};

struct pyrunc_op {
    int kind;
    unsigned long flags;
    long long a, b, c, d;
    const char *s1, *s2, *s3, *s4;
    char *const *v1, *const *v2;
};

struct pyrunc_plan {
    unsigned long clone_flags;   /* namespaces the first clone creates */
    int sync_fd;                 /* the child's end of the socketpair */
    int sync_peer_fd;            /* the runtime's end: the child closes its
                                    copy first, so that its messages fail
                                    once the runtime is gone */
    int cgroup_fd;               /* -1, or a cgroup2 dir for CLONE_INTO_CGROUP */
    int n_ops;
    struct pyrunc_op *ops;
    char *payload;               /* buffer for the parent's sync replies */
    size_t payload_size;
};

/* Messages from the child (SOCK_SEQPACKET, one per send). */
enum pyrunc_msg_type {
    PYRUNC_MSG_SYNC = 1,   /* arg = sync id, pid = sender */
    PYRUNC_MSG_PID,        /* pid = the init, forked by PYRUNC_OP_FORK */
    PYRUNC_MSG_ERROR,      /* op = failing step, err = errno */
    PYRUNC_MSG_READY,      /* created: blocked before the user process */
    PYRUNC_MSG_SECCOMP_FD, /* with SCM_RIGHTS: the seccomp notify listener */
    PYRUNC_MSG_CONSOLE_FD, /* with SCM_RIGHTS: the pty master */
};

struct pyrunc_msg {
    int type;
    int op;
    int err;
    int pid;
    long long arg;
};

/* Start the child: returns its pid (>0) or -errno.  *pidfd receives a pidfd
 * for it, or -1 when the kernel has none. */
int pyrunc_spawn(struct pyrunc_plan *plan, int *pidfd);

/* Small wrappers the Python side needs and the stdlib lacks. */
int pyrunc_socketpair(int fds[2]);
int pyrunc_has_openat2(void);
/* For a container without a mount namespace: bind path onto itself and make
 * the bind (recursively) private, so that what is mounted under it stays
 * there; and detach it again on delete.  0 or -errno. */
int pyrunc_bind_private(const char *path);
/* openat2(dirfd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): a
 * path of a container's rootfs, symlinks followed without leaving it.  An
 * fd or -errno. */
int pyrunc_open_in_root(int dirfd, const char *path, int flags);
/* Send buf with fds[0..n) (SCM_RIGHTS) on a SOCK_SEQPACKET socket. */
int pyrunc_send_fds(int sock, const void *buf, size_t len, const int *fds, int n);
/* Receive one message (at most len bytes) on a SOCK_SEQPACKET socket, and
 * in *fd the fd that came with it (SCM_RIGHTS, close-on-exec) or -1; any
 * further fds are closed.  The message's length (0: the peer is gone) or
 * -errno. */
int pyrunc_recv_fd(int sock, void *buf, size_t len, int *fd);
int pyrunc_umount_detach(const char *path);
/* A new user namespace with these uid_map and gid_map texts, held by the
 * fd returned (its short-lived first process is gone), or -errno. */
int pyrunc_userns_fd(const char *uid_map, const char *gid_map);
/* A detached copy (open_tree OPEN_TREE_CLONE, with its submounts if
 * clone_recursive) of the mount at path, idmapped through the user
 * namespace userns_fd (mount_setattr MOUNT_ATTR_IDMAP, on the submounts
 * too if idmap_recursive): an fd (close-on-exec) to move_mount, or
 * -errno. */
int pyrunc_idmapped_tree(const char *path, int clone_recursive, int idmap_recursive,
                         int userns_fd);
/* cgroup v2 device rules: load a BPF_PROG_TYPE_CGROUP_DEVICE program of
 * n_insns instructions, attach it to the cgroup directory and detach the
 * device programs attached there before it (update replaces the rules).
 * 0 or -errno. */
/* PR_SET_CHILD_SUBREAPER for the foreground run/exec.  0 or -errno. */
int pyrunc_set_child_subreaper(void);
int pyrunc_attach_device_filter(const char *cgroup_dir, const void *insns, int n_insns);

#endif
