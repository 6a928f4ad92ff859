"""cffi builder for pyrunc._shim (listed in setup.py's cffi_modules).

The C lives in shim.c / shim.h next to this file; the cdef below only
declares what Python calls.  Constants are declared with `...` so that cffi
takes their values from the system headers at build time.
"""
from cffi import FFI

# setuptools wants paths relative to setup.py, which runs from the top.
CSRC = "csrc"

CDEF = """
enum pyrunc_op_kind {
    PYRUNC_OP_SETNS, PYRUNC_OP_UNSHARE, PYRUNC_OP_FORK, PYRUNC_OP_SYNC,
    PYRUNC_OP_WRITE_HOST, PYRUNC_OP_MOUNT_HOST, PYRUNC_OP_OPEN_ROOT,
    PYRUNC_OP_MOUNT, PYRUNC_OP_MKNOD, PYRUNC_OP_BIND_DEV, PYRUNC_OP_SYMLINK,
    PYRUNC_OP_MKDIR, PYRUNC_OP_MASK, PYRUNC_OP_READONLY, PYRUNC_OP_WRITE_PROC,
    PYRUNC_OP_HOOK, PYRUNC_OP_PIVOT_ROOT, PYRUNC_OP_MOVE_ROOT,
    PYRUNC_OP_REMOUNT_ROOT, PYRUNC_OP_PROPAGATE_ROOT, PYRUNC_OP_SETHOSTNAME,
    PYRUNC_OP_SETDOMAINNAME, PYRUNC_OP_RLIMIT, PYRUNC_OP_CHDIR,
    PYRUNC_OP_UMASK, PYRUNC_OP_BOUNDING, PYRUNC_OP_USER, PYRUNC_OP_CAPS,
    PYRUNC_OP_NO_NEW_PRIVS, PYRUNC_OP_LOOKUP, PYRUNC_OP_READY,
    PYRUNC_OP_WAIT_START, PYRUNC_OP_CLOSE_FDS, PYRUNC_OP_EXEC,
    PYRUNC_OP_KEYRING, PYRUNC_OP_CLOSE, PYRUNC_OP_SECCOMP, PYRUNC_OP_CHROOT,
    PYRUNC_OP_PERSONALITY, PYRUNC_OP_SETNS_FD, PYRUNC_OP_DETACH,
    PYRUNC_OP_CONSOLE, PYRUNC_OP_REMOUNT, PYRUNC_OP_SETSID, PYRUNC_OP_LOOPBACK,
    PYRUNC_OP_STDIO_OWNER, PYRUNC_OP_HIDE_MOUNT, PYRUNC_OP_STDIO, ...
};

enum pyrunc_detail {
    PYRUNC_DETAIL_NONE, PYRUNC_DETAIL_NOT_PROCFS, PYRUNC_DETAIL_NOT_DEVNULL,
    PYRUNC_DETAIL_HOOK_STATUS, PYRUNC_DETAIL_CWD_OUTSIDE, PYRUNC_DETAIL_SYMLINK_TARGET,
    PYRUNC_DETAIL_NOT_DEVPTS, PYRUNC_DETAIL_IN_PROCFS, PYRUNC_DETAIL_SOURCE_NOT_PROCFS,
    PYRUNC_DETAIL_NOT_DEVICE, ...
};

enum pyrunc_limits { PYRUNC_MAX_PASSED_FDS, ... };

enum pyrunc_msg_type {
    PYRUNC_MSG_SYNC, PYRUNC_MSG_PID, PYRUNC_MSG_ERROR, PYRUNC_MSG_READY,
    PYRUNC_MSG_SECCOMP_FD, PYRUNC_MSG_CONSOLE_FD, ...
};

struct pyrunc_op {
    int kind;
    unsigned long flags;
    long long a, b, c, d;
    const char *s1, *s2, *s3, *s4;
    char *const *v1, *const *v2;
};

struct pyrunc_plan {
    unsigned long clone_flags;
    int sync_fd;
    int sync_peer_fd;
    int cgroup_fd;
    int n_ops;
    struct pyrunc_op *ops;
    char *payload;
    size_t payload_size;
};

struct pyrunc_msg {
    int type;
    int op;
    int err;
    int pid;
    long long arg;
};

int pyrunc_spawn(struct pyrunc_plan *plan, int *pidfd);
int pyrunc_socketpair(int fds[2]);
int pyrunc_has_openat2(void);
int pyrunc_bind_private(const char *path);
int pyrunc_open_in_root(int dirfd, const char *path, int flags);
int pyrunc_send_fds(int sock, const void *buf, size_t len, const int *fds, int n);
int pyrunc_umount_detach(const char *path);
int pyrunc_set_child_subreaper(void);
int pyrunc_attach_device_filter(const char *cgroup_dir, const void *insns, int n_insns);

#define MS_RDONLY ...
#define MS_NOSUID ...
#define MS_NODEV ...
#define MS_NOEXEC ...
#define MS_SYNCHRONOUS ...
#define MS_REMOUNT ...
#define MS_MANDLOCK ...
#define MS_DIRSYNC ...
#define MS_NOATIME ...
#define MS_NODIRATIME ...
#define MS_BIND ...
#define MS_MOVE ...
#define MS_REC ...
#define MS_SILENT ...
#define MS_UNBINDABLE ...
#define MS_PRIVATE ...
#define MS_SLAVE ...
#define MS_SHARED ...
#define MS_RELATIME ...
#define MS_STRICTATIME ...
#define MS_LAZYTIME ...

#define CLONE_NEWNS ...
#define CLONE_NEWUTS ...
#define CLONE_NEWIPC ...
#define CLONE_NEWUSER ...
#define CLONE_NEWPID ...
#define CLONE_NEWNET ...
#define CLONE_NEWCGROUP ...
#define CLONE_NEWTIME ...

/* libseccomp: the filter is compiled in the parent (seccomp.py); the child
 * only loads the exported BPF program with seccomp(2). */
typedef void *scmp_filter_ctx;
typedef uint64_t scmp_datum_t;
enum scmp_compare { SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE,
                    SCMP_CMP_GT, SCMP_CMP_MASKED_EQ, ... };
struct scmp_arg_cmp {
    unsigned int arg;
    enum scmp_compare op;
    scmp_datum_t datum_a;
    scmp_datum_t datum_b;
};
struct scmp_version { unsigned int major; unsigned int minor; unsigned int micro; };
const struct scmp_version *seccomp_version(void);
scmp_filter_ctx seccomp_init(uint32_t def_action);
void seccomp_release(scmp_filter_ctx ctx);
uint32_t seccomp_arch_resolve_name(const char *arch_name);
int seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token);
int seccomp_syscall_resolve_name(const char *name);
int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
                           unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array);
int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd);
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "pyrunc._shim",
    '#include "shim.h"\n#include <sched.h>\n#include <sys/mount.h>\n#include <seccomp.h>\n'
    "#ifndef CLONE_NEWTIME\n#define CLONE_NEWTIME 0x00000080\n#endif\n"
    "#ifndef MS_LAZYTIME\n#define MS_LAZYTIME (1 << 25)\n#endif\n",
    sources=[CSRC + "/shim.c"],
    depends=[CSRC + "/shim.h"],
    include_dirs=[CSRC],
    libraries=["seccomp"],
    define_macros=[("_GNU_SOURCE", "1")],
    extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    py_limited_api=True,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
