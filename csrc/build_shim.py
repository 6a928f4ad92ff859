"""cffi builder for pyrunc._shim (listed in setup.py's cffi_modules).

The C lives in shim.c / shim.h next to this file; the cdef is shim.h
itself, plus the system constants and libseccomp functions Python uses
(declared with `...` where cffi takes the values from the system headers
at build time).
"""
from cffi import FFI

# setuptools wants paths relative to setup.py, which runs from the top.
CSRC = "csrc"


def header_cdef(path):
    """shim.h as cffi's cdef takes it: the header is the one declaration of
    the ops, the plan and the functions, for the C and for Python (cffi
    drops the comments; the include guard and #include lines go here)."""
    with open(path) as f:
        return "".join(line for line in f if not line.startswith("#"))


# What the system headers define and Python needs too: `...` takes the
# values from them at build time.
SYSTEM_CDEF = """
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
ffibuilder.cdef(header_cdef(CSRC + "/shim.h") + SYSTEM_CDEF)
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
