/* The `pyrunc` command in front of the Python CLI.
 *
 * An engine calls the runtime once per step of a container's life, and
 * the interpreter's start-up alone (~8 ms here) costs more than runc's
 * whole `start` or `delete`.  Those two steps do little work, so for a
 * plain container this program does them itself:
 *
 *   start ID          the container is `created` (init alive, exec fifo
 *                     present): write the fifo, unlink it.
 *   delete [-f] ID    the container is `stopped`: remove the cgroups that
 *                     create made and the state directory;
 *                     `delete -f` of a container that does not exist.
 *
 * A container is plain when `create` wrote <root>/<id>/fastpath: it has a
 * process and no poststart or poststop hooks.  Everything else (other
 * commands and flags, --debug, hooks, a running container to delete, any
 * error at all before the point of no return) runs the Python CLI, which
 * does the whole step again from the start and words the errors.  So this
 * file never prints an error the Python CLI would print differently.
 *
 * The state layout and the locking are statedir.h's, which state.py obeys
 * too: flock on <root>/<id>.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "statedir.h"

static int g_argc;
static char **g_argv;

/* Where the package and its interpreter are, found at run time from where
 * this program was installed, never a path of the build machine.  pip puts
 * it in a scripts directory, <prefix>/bin/pyrunc, and the package in
 * <prefix>/lib[64]/pythonX.Y/(site|dist)-packages/pyrunc: that holds for a
 * venv, --user (~/.local), --prefix and the system's prefixes
 * (/usr/local: Debian's dist-packages).  The interpreter is pythonX.Y of
 * the newest such X.Y that has one: in <prefix>/bin (a venv, a Python
 * installed in that prefix), else the first on $PATH, else in
 * /usr/local/bin or /usr/bin. */
struct install {
    char site[PATH_MAX];     /* the directory the package is in */
    char python[PATH_MAX];   /* the interpreter */
};

static int executable(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* pythonX.Y in dir (a directory of $PATH, or <prefix>/bin) into out */
static int python_in(const char *dir, size_t dirlen, const char *name, char *out)
{
    if (dirlen == 0 || dir[0] != '/' ||
        snprintf(out, PATH_MAX, "%.*s/%s", (int)dirlen, dir, name) >= PATH_MAX)
        return 0;
    return executable(out);
}

static int find_python(const char *bindir, const char *name, char *out)
{
    static const char *const fixed[] = {"/usr/local/bin", "/usr/bin"};
    const char *path = getenv("PATH"), *colon;
    size_t i;

    if (python_in(bindir, strlen(bindir), name, out))
        return 1;
    for (; path != NULL && *path != '\0'; path = *colon ? colon + 1 : colon) {
        colon = strchrnul(path, ':');
        if (python_in(path, (size_t)(colon - path), name, out))
            return 1;
    }
    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (python_in(fixed[i], strlen(fixed[i]), name, out))
            return 1;
    return 0;
}

/* The install this program belongs to; 0 if none is found. */
static int find_install(struct install *in)
{
    static const char *const libs[] = {"lib", "lib64"};
    static const char *const sites[] = {"site-packages", "dist-packages"};
    char exe[PATH_MAX], prefix[PATH_MAX], bindir[PATH_MAX], dir[PATH_MAX];
    char site[PATH_MAX], python[PATH_MAX], probe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;
    int best = -1, minor, end;
    size_t l, s;
    DIR *d;
    struct dirent *e;

    if (n <= 0)
        return 0;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (slash == NULL || slash == exe)
        return 0;
    *slash = '\0';
    strcpy(bindir, exe);
    slash = strrchr(exe, '/');
    if (slash == NULL)
        return 0;
    *slash = '\0';
    strcpy(prefix, exe);   /* "" for a program in /bin */
    for (l = 0; l < sizeof(libs) / sizeof(libs[0]); l++) {
        if (snprintf(dir, sizeof(dir), "%s/%s", prefix, libs[l]) >= (int)sizeof(dir))
            continue;
        d = opendir(dir);
        if (d == NULL)
            continue;
        while ((e = readdir(d)) != NULL) {
            /* python3.N: N one to three digits */
            if (strncmp(e->d_name, "python3.", 8) != 0)
                continue;
            end = (int)strspn(e->d_name + 8, "0123456789");
            if (end < 1 || end > 3 || e->d_name[8 + end] != '\0')
                continue;
            minor = atoi(e->d_name + 8);
            if (minor <= best)
                continue;
            for (s = 0; s < sizeof(sites) / sizeof(sites[0]); s++) {
                if (snprintf(site, sizeof(site), "%s/%s/%s", dir, e->d_name, sites[s]) >=
                        (int)sizeof(site) ||
                    snprintf(probe, sizeof(probe), "%s/pyrunc/__init__.py", site) >=
                        (int)sizeof(probe) ||
                    access(probe, R_OK) != 0 || !find_python(bindir, e->d_name, python))
                    continue;
                best = minor;
                strcpy(in->site, site);
                strcpy(in->python, python);
                break;
            }
        }
        closedir(d);
    }
    return best >= 0;
}

/* Hand the whole call to the Python CLI.  -I: neither the environment nor
 * the working directory chooses what the runtime imports.  -S: no site
 * module (1-2 ms of every call: .pth files, sitecustomize); the package's
 * own directory goes on sys.path instead, and cli.boot() runs site after
 * all if the dependencies are not beside it. */
static void __attribute__((noreturn)) python_cli(void)
{
    static struct install in;
    char **args = calloc((size_t)g_argc + 5, sizeof(char *));
    int i, n = 0;

    if (args == NULL) {
        fputs("pyrunc: out of memory\n", stderr);
        exit(1);
    }
    if (!find_install(&in)) {
        fputs("pyrunc: cannot find the pyrunc package and a python3 to run it beside this "
              "program (<prefix>/lib/python3.N/site-packages/pyrunc)\n", stderr);
        exit(1);
    }
    args[n++] = in.python;
    args[n++] = "-I";
    args[n++] = "-S";
    args[n++] = "-c";
    args[n++] = "import os, sys; sys.path.append(os.environ.pop('PYRUNC_PACKAGE_PARENT')); "
                "from pyrunc.cli import boot; boot()";
    if (setenv("PYRUNC_PACKAGE_PARENT", in.site, 1) < 0) {
        fputs("pyrunc: out of memory\n", stderr);
        exit(1);
    }
    for (i = 1; i < g_argc; i++)
        args[n++] = g_argv[i];
    execv(in.python, args);
    fprintf(stderr, "pyrunc: cannot run %s: %s\n", in.python, strerror(errno));
    exit(1);
}

/* statedir.h's id rule. */
static int valid_id(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > PYRUNC_SD_ID_MAX || strchr(PYRUNC_SD_ID_FIRST, id[0]) == NULL)
        return 0;
    return strspn(id + 1, PYRUNC_SD_ID_FIRST PYRUNC_SD_ID_MORE) == n - 1;
}

/* --name VALUE or --name=VALUE at argv[*i]. */
static int global_opt(const char *name, int *i, const char **value)
{
    const char *a = g_argv[*i];
    size_t n = strlen(name);

    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        *i += 1;
        return 1;
    }
    if (a[n] == '\0' && *i + 1 < g_argc) {
        *value = g_argv[*i + 1];
        *i += 2;
        return 1;
    }
    return 0;
}

struct fastpath {
    long pid;
    unsigned long long start_time;
    char *cgroups[PYRUNC_SD_FASTPATH_MAX_CGROUPS];  /* create's, deepest first */
    int n_cgroups;
    char buf[PYRUNC_SD_FASTPATH_MAX_SIZE];
};

/* statedir.h's fastpath file.  Anything unexpected: not plain. */
static int read_fastpath(int dfd, struct fastpath *fp)
{
    int fd = openat(dfd, PYRUNC_SD_FASTPATH, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    ssize_t n, total = 0;
    char *p, *end, *nl;

    if (fd < 0)
        return -1;
    while ((n = read(fd, fp->buf + total, sizeof(fp->buf) - 1 - total)) > 0)
        total += n;
    close(fd);
    if (n < 0 || total == (ssize_t)sizeof(fp->buf) - 1)
        return -1;
    fp->buf[total] = '\0';
    if (strncmp(fp->buf, PYRUNC_SD_FASTPATH_MAGIC, strlen(PYRUNC_SD_FASTPATH_MAGIC)) != 0)
        return -1;
    p = fp->buf + strlen(PYRUNC_SD_FASTPATH_MAGIC);
    if (sscanf(p, "%ld %llu\n", &fp->pid, &fp->start_time) != 2 || fp->pid <= 0)
        return -1;
    p = strchr(p, '\n');
    if (p == NULL)
        return -1;
    p++;
    end = fp->buf + total;
    fp->n_cgroups = 0;
    while (p < end) {
        nl = strchr(p, '\n');
        if (nl == NULL || *p != '/' || fp->n_cgroups == PYRUNC_SD_FASTPATH_MAX_CGROUPS)
            return -1;
        *nl = '\0';
        fp->cgroups[fp->n_cgroups++] = p;
        p = nl + 1;
    }
    return 0;
}

/* statedir.h's liveness: the pid still names the process create
 * started, and it has not exited. */
static int init_alive(const struct fastpath *fp)
{
    char path[64], buf[1024], *p, *save = NULL, *tok;
    int fd, field;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%ld/stat", fp->pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ')
        return 0;
    /* (the fields after the command's, which may hold spaces, start at 3) */
    for (field = 3, tok = strtok_r(p + 2, " ", &save); tok != NULL;
         field++, tok = strtok_r(NULL, " ", &save)) {
        if (field == PYRUNC_SD_STAT_STATE_FIELD && strchr(PYRUNC_SD_DEAD_STATES, tok[0]))
            return 0;
        if (field == PYRUNC_SD_STAT_START_FIELD)
            return strtoull(tok, NULL, 10) == fp->start_time;
    }
    return 0;
}

/* Open and lock <root>/<id>; -1 with errno set if it cannot. */
static int lock_container(const char *root, const char *id)
{
    int rfd, dfd;

    rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return -1;
    dfd = openat(rfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    close(rfd);
    if (dfd < 0)
        return -1;
    if (flock(dfd, LOCK_EX) < 0) {
        close(dfd);
        return -1;
    }
    return dfd;
}

static void start(const char *root, const char *id)
{
    static struct fastpath fp;
    int dfd = lock_container(root, id), fifo;

    if (dfd < 0 || read_fastpath(dfd, &fp) < 0 || !init_alive(&fp))
        python_cli();
    fifo = openat(dfd, PYRUNC_SD_FIFO, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fifo < 0)
        python_cli();
    if (write(fifo, "0", 1) != 1)
        python_cli();
    /* the init runs the user process now: no way back from here */
    if (unlinkat(dfd, PYRUNC_SD_FIFO, 0) < 0 && errno != ENOENT) {
        fprintf(stderr, "pyrunc: unlink %s/%s/" PYRUNC_SD_FIFO ": %s\n", root, id,
                strerror(errno));
        exit(1);
    }
    exit(0);
}

/* Remove what pyrunc put in the state directory, then the directory. */
static int remove_state_dir(const char *root, const char *id, int dfd)
{
    DIR *d;
    struct dirent *e;
    int rfd, copy = dup(dfd), ret = 0;

    if (copy < 0)
        return -1;
    d = fdopendir(copy);
    if (d == NULL) {
        close(copy);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dfd, e->d_name, 0) < 0 && errno != ENOENT)
            ret = -1;
    }
    closedir(d);
    if (ret < 0)
        return -1;
    rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return -1;
    ret = unlinkat(rfd, id, AT_REMOVEDIR);
    close(rfd);
    return ret < 0 && errno != ENOENT ? -1 : 0;
}

static void delete(const char *root, const char *id, int force)
{
    static struct fastpath fp;
    int dfd = lock_container(root, id), i;

    if (dfd < 0) {
        /* containerd deletes with --force what may be gone already */
        if (force && errno == ENOENT)
            exit(0);
        python_cli();
    }
    if (read_fastpath(dfd, &fp) < 0 || init_alive(&fp))
        python_cli();
    /* From here the Python CLI can take over at any point: it removes
     * what is left and tolerates what is gone. */
    for (i = 0; i < fp.n_cgroups; i++)
        if (rmdir(fp.cgroups[i]) < 0 && errno != ENOENT)
            python_cli();   /* it warns about a cgroup it cannot remove */
    if (remove_state_dir(root, id, dfd) < 0)
        python_cli();
    exit(0);
}

int main(int argc, char **argv)
{
    const char *root = NULL, *log_format = "text", *ignored, *verb;
    int i = 1, force = 0;

    g_argc = argc;
    g_argv = argv;
    while (i < argc && argv[i][0] == '-') {
        if (global_opt("--root", &i, &root) || global_opt("--log", &i, &ignored) ||
            global_opt("--log-format", &i, &log_format))
            continue;
        python_cli();
    }
    if (root == NULL) {
        /* not root, or $XDG_RUNTIME_DIR set: the default may be under it
         * (state.default_root's rule) */
        if (geteuid() != 0 || getenv("XDG_RUNTIME_DIR"))
            python_cli();
        root = PYRUNC_SD_DEFAULT_ROOT;
    }
    if (i >= argc || root[0] == '\0' ||
        (strcmp(log_format, "text") != 0 && strcmp(log_format, "json") != 0))
        python_cli();
    verb = argv[i++];
    if (strcmp(verb, "delete") == 0)
        for (; i < argc && (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--force") == 0); i++)
            force = 1;
    else if (strcmp(verb, "start") != 0)
        python_cli();
    if (i != argc - 1 || !valid_id(argv[i]))
        python_cli();
    if (verb[0] == 's')
        start(root, argv[i]);
    delete(root, argv[i], force);
    return 1;
}
