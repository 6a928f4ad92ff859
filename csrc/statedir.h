/* The state directory's rules: what csrc/front.c (the compiled `pyrunc`)
 * and src/pyrunc/state.py both obey, written once.  setup.py turns every
 * PYRUNC_SD_ define below into a constant of pyrunc/_statedir.py (the
 * name without the prefix), so each define is a plain integer or string
 * literal on one line.
 *
 * <root>/<id>/ is a container's directory; every command on it holds an
 * exclusive flock(2) on the directory itself for as long as it works on
 * it.  A plain container (a process, no poststart or poststop hooks) has a
 * fastpath file, which lets front.c start and delete it without Python:
 *
 *     FASTPATH_MAGIC
 *     PID START_TIME\n
 *     one cgroup directory create made per line, deepest first
 *
 * The init named by PID is alive while /proc/PID/stat field
 * STAT_START_FIELD (its start time) is START_TIME and field
 * STAT_STATE_FIELD (its state) is none of DEAD_STATES: the pid may have
 * been reused meanwhile, a zombie has exited.
 */
#ifndef PYRUNC_STATEDIR_H
#define PYRUNC_STATEDIR_H

#define PYRUNC_SD_DEFAULT_ROOT "/run/pyrunc"
#define PYRUNC_SD_STATE_FILE "state.json"
#define PYRUNC_SD_FIFO "exec.fifo"
#define PYRUNC_SD_CONFIG_FILE "config.json"
#define PYRUNC_SD_FASTPATH "fastpath"
#define PYRUNC_SD_FASTPATH_MAGIC "pyrunc-fastpath 1\n"
#define PYRUNC_SD_FASTPATH_MAX_SIZE 65536
#define PYRUNC_SD_FASTPATH_MAX_CGROUPS 64

/* An id: a letter or digit, then letters, digits and ID_MORE (runc's
 * characters), at most ID_MAX bytes: never "." or "..", never a flag. */
#define PYRUNC_SD_ID_FIRST "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define PYRUNC_SD_ID_MORE "_+-."
#define PYRUNC_SD_ID_MAX 255

#define PYRUNC_SD_STAT_STATE_FIELD 3
#define PYRUNC_SD_STAT_START_FIELD 22
#define PYRUNC_SD_DEAD_STATES "ZX"

#endif
