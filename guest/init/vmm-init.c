/* SPDX-License-Identifier: MIT */
/*
 * vmm-init: PID 1 of `vmm run --kernel K -- CMD`. vmm packs it into an
 * initramfs with the kernel's modules and /vmm/run.conf, which says what to
 * do as a list of "key\0value\0" records:
 *   mod PATH        load this module (in order; EEXIST is fine)
 *   optmod PATH     the same, but a failure only skips what needs it
 *   root TAG        mount the 9P share TAG read-only as the new root
 *   root_rw 1       ... read-write instead
 *   share TAG       mount 9P share TAG at the next "at" PATH (read-only)
 *   share_rw TAG    ... read-write
 *   at PATH
 *   tmpfs PATH      an empty tmpfs there (mode 1777 for .../tmp)
 *   overlay PATH    the share's PATH with a tmpfs over it (overlayfs; a
 *                   plain tmpfs when the kernel has no overlay, unless
 *                   that would hide the command's directory)
 *   hostname NAME, cwd PATH, uid N, gid N, groups N,N,...,
 *   env K=V, arg WORD   the command: its environment and argv
 *   tty_in 0|1, tty_out 0|1, tty_err 0|1   whether vmm's stdin, stdout,
 *                   stderr are terminals (terminal modes of hvc0, hvc1)
 * Then it mounts what it is told, switches to the new root, runs the
 * command as the user in the directory given, with hvc0 as stdout (and
 * stdin when vmm's is a terminal, else /dev/null) and hvc1 as stderr,
 * waits for it, and reports its status on vmm's run-control port
 * (devices/run_ctl.h), which ends the VM. Every step that fails says what
 * and why on the console (the kernel's, which vmm shows on stderr) and
 * reports a failure instead.
 *
 * Built static: it runs before any library of the share is reachable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "devices/run_ctl_abi.h"

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

#define CONF_PATH "/vmm/run.conf"
#define CONF_MAX RUN_CONF_MAX_BYTES
#define MAX_ITEMS RUN_CONF_MAX_RECORDS
#define NEWROOT "/vmm/root"

static bool have_ctl;
/* The overlay module (an "optmod") loaded, or the kernel has it. */
static bool have_overlay = true;

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    va_list ap;

    fputs("vmm-init: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

static void ctl(uint32_t what, uint32_t value)
{
    if (have_ctl) {
        outl(RUN_CTL_EVENT(what, value), RUN_CTL_PORT);
    }
}

/* Never returns: PID 1 must not exit. */
static void power_off(void)
{
    sync();
    reboot(RB_POWER_OFF);
    for (;;) {
        pause();
    }
}

static void fail(unsigned phase)
{
    /* What was said is still in the console's buffer (a tty's write
     * returns before the UART sends it): let it out before the end. */
    (void)tcdrain(STDERR_FILENO);
    ctl(RUN_CTL_FAILED, phase);
    power_off();
}

struct conf {
    char *buf;
    size_t n;
    char *key[MAX_ITEMS];
    char *val[MAX_ITEMS];
};

static int conf_read(struct conf *c)
{
    int fd = open(CONF_PATH, O_RDONLY | O_CLOEXEC);
    size_t cap = CONF_MAX, len = 0;
    char *p;

    if (fd < 0) {
        say("%s: %s", CONF_PATH, strerror(errno));
        return -1;
    }
    c->buf = malloc(cap);
    if (!c->buf) {
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t r = read(fd, c->buf + len, cap - len);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        len += (size_t)r;
        if (len == cap) {
            say("%s: too large", CONF_PATH);
            close(fd);
            return -1;
        }
    }
    close(fd);
    /* Records are NUL-terminated pairs. */
    for (p = c->buf; p < c->buf + len;) {
        char *k = p, *v, *e;

        e = memchr(k, '\0', (size_t)(c->buf + len - k));
        if (!e) {
            break;
        }
        v = e + 1;
        e = v < c->buf + len ? memchr(v, '\0', (size_t)(c->buf + len - v))
                             : NULL;
        if (!e) {
            break;
        }
        if (c->n == MAX_ITEMS) {
            say("%s: more than %u records", CONF_PATH, MAX_ITEMS);
            return -1;
        }
        c->key[c->n] = k;
        c->val[c->n] = v;
        c->n++;
        p = e + 1;
    }
    return 0;
}

/* The first value of (key), or (def). */
static const char *conf_get(const struct conf *c, const char *key,
                            const char *def)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->key[i], key) == 0) {
            return c->val[i];
        }
    }
    return def;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int load_module(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int flags = ends_with(path, ".ko") ? 0 : MODULE_INIT_COMPRESSED_FILE;
    long r;

    if (fd < 0) {
        say("%s: %s", path, strerror(errno));
        return -1;
    }
    r = syscall(SYS_finit_module, fd, "", flags);
    close(fd);
    if (r < 0 && errno != EEXIST) {
        say("loading %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            (void)mkdir(buf, 0755);
            *p = '/';
        }
    }
    (void)mkdir(buf, mode);
}

static int do_mount(const char *src, const char *dst, const char *type,
                    unsigned long flags, const char *data)
{
    if (mount(src, dst, type, flags, data) < 0) {
        say("mount %s %s on %s: %s", type ? type : "--move", src, dst,
            strerror(errno));
        return -1;
    }
    return 0;
}

/* A 9P share from vmm at (dst). */
static int mount_share(const char *tag, const char *dst, bool rw)
{
    return do_mount(tag, dst, "9p", (rw ? 0 : MS_RDONLY) | MS_NODEV,
                    "trans=virtio,version=9p2000.L,msize=131072,cache=loose");
}

/* (path) inside the new root. */
static const char *in_root(const char *path, char *buf, size_t len)
{
    snprintf(buf, len, NEWROOT "%s", path);
    return buf;
}

static int mount_tmpfs(const char *path)
{
    char dst[4096];
    const char *mode = ends_with(path, "/tmp") ? "mode=1777" : "mode=0755";

    return do_mount("tmpfs", in_root(path, dst, sizeof(dst)), "tmpfs",
                    MS_NOSUID | MS_NODEV, mode);
}

/* (dir) is (path) or under it. */
static bool inside(const char *dir, const char *path)
{
    size_t n = strlen(path);

    return strncmp(dir, path, n) == 0 && (dir[n] == '\0' || dir[n] == '/');
}

/* The share's (path) made writable: overlayfs over a tmpfs, or a plain
 * tmpfs (which hides what was there) when that fails; (cwd) stays
 * visible. */
static int mount_overlay(const char *path, unsigned idx, const char *cwd)
{
    char dst[4096], work[256], opts[3 * 4096 + 64];

    in_root(path, dst, sizeof(dst));
    if (have_overlay) {
        snprintf(work, sizeof(work), "/vmm/ovl%u", idx);
        mkdir_p(work, 0755);
        if (do_mount("tmpfs", work, "tmpfs", 0, "mode=0755") == 0) {
            char up[4096], wk[4096];

            snprintf(up, sizeof(up), "%s/upper", work);
            snprintf(wk, sizeof(wk), "%s/work", work);
            mkdir_p(up, 0755);
            mkdir_p(wk, 0755);
            snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s",
                     dst, up, wk);
            if (mount("overlay", dst, "overlay", 0, opts) == 0) {
                return 0;
            }
            say("overlay on %s: %s", path, strerror(errno));
        }
    }
    if (inside(cwd, path)) {
        say("%s stays read-only: a tmpfs there would hide %s", path, cwd);
        return 0;
    }
    return mount_tmpfs(path);
}

static int mount_all(const struct conf *c)
{
    const char *root = conf_get(c, "root", NULL);
    unsigned nov = 0;
    char dst[4096];

    if (!root) {
        say("no root share in " CONF_PATH);
        return -1;
    }
    mkdir_p(NEWROOT, 0755);
    if (mount_share(root, NEWROOT,
                    strcmp(conf_get(c, "root_rw", "0"), "1") == 0) < 0) {
        say("is 9p (9p, 9pnet_virtio, virtio_mmio) in the kernel or in "
            "--modules?");
        return -1;
    }
    for (size_t i = 0; i < c->n; i++) {
        const char *k = c->key[i], *v = c->val[i];

        if ((strcmp(k, "share") == 0 || strcmp(k, "share_rw") == 0) &&
            i + 1 < c->n && strcmp(c->key[i + 1], "at") == 0) {
            /* A tmpfs put there may not have the directory. */
            mkdir_p(in_root(c->val[i + 1], dst, sizeof(dst)), 0755);
            if (mount_share(v, dst, strcmp(k, "share_rw") == 0) < 0) {
                return -1;
            }
        } else if (strcmp(k, "tmpfs") == 0) {
            if (mount_tmpfs(v) < 0) {
                return -1;
            }
        } else if (strcmp(k, "overlay") == 0) {
            if (mount_overlay(v, nov++, conf_get(c, "cwd", "/")) < 0) {
                return -1;
            }
        }
    }
    if (do_mount("/dev", in_root("/dev", dst, sizeof(dst)), NULL, MS_MOVE,
                 NULL) < 0 ||
        do_mount("/proc", in_root("/proc", dst, sizeof(dst)), NULL, MS_MOVE,
                 NULL) < 0 ||
        do_mount("/sys", in_root("/sys", dst, sizeof(dst)), NULL, MS_MOVE,
                 NULL) < 0) {
        return -1;
    }
    mkdir(NEWROOT "/dev/pts", 0755);
    mkdir(NEWROOT "/dev/shm", 01777);
    (void)mount("devpts", NEWROOT "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                "gid=5,mode=620,ptmxmode=666");
    (void)mount("tmpfs", NEWROOT "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
                "mode=1777");
    if (chdir(NEWROOT) < 0 || do_mount(".", "/", NULL, MS_MOVE, NULL) < 0 ||
        chroot(".") < 0 || chdir("/") < 0) {
        say("switching to the share's root: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void loopback_up(void)
{
    struct ifreq ifr = {0};
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (s < 0) {
        return;
    }
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        (void)ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
}

/* Open /dev/(name), waiting up to 2 s for it to appear. */
static int open_tty(const char *name)
{
    char path[64];

    snprintf(path, sizeof(path), "/dev/%s", name);
    for (int i = 0; i < 200; i++) {
        int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);

        if (fd >= 0 || errno != ENOENT) {
            if (fd < 0) {
                say("%s: %s", path, strerror(errno));
            }
            return fd;
        }
        usleep(10000);
    }
    say("%s: no such device (is virtio_console in the kernel?)", path);
    return -1;
}

/* Raw bytes, unless the other end is a terminal: then output gets the
 * usual newline translation and input (in_tty) is cooked, as in ssh -t. */
static void set_modes(int fd, bool out_tty, bool in_tty)
{
    struct termios t;

    if (tcgetattr(fd, &t) < 0) {
        return;
    }
    if (!in_tty) {
        t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR |
                                 IGNCR | ICRNL | IXON);
        t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    }
    if (out_tty) {
        t.c_oflag |= OPOST | ONLCR;
    } else {
        t.c_oflag &= ~(tcflag_t)OPOST;
    }
    (void)tcsetattr(fd, TCSANOW, &t);
}

static int list_groups(const char *s, gid_t *g, int max)
{
    int n = 0;

    while (s && *s && n < max) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);

        if (end == s) {
            break;
        }
        g[n++] = (gid_t)v;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

/* The child: become the user, go to the directory, run the command. */
static void run_child(const struct conf *c, int out, int err, bool in_tty)
{
    static char *argv[MAX_ITEMS + 1];
    static char *envp[MAX_ITEMS + 1];
    size_t na = 0, ne = 0;
    gid_t groups[256];
    int ng = list_groups(conf_get(c, "groups", ""), groups, 256);
    uid_t uid = (uid_t)strtoul(conf_get(c, "uid", "0"), NULL, 10);
    gid_t gid = (gid_t)strtoul(conf_get(c, "gid", "0"), NULL, 10);
    const char *cwd = conf_get(c, "cwd", "/");
    int in;

    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->key[i], "arg") == 0) {
            argv[na++] = c->val[i];
        } else if (strcmp(c->key[i], "env") == 0) {
            envp[ne++] = c->val[i];
        }
    }
    argv[na] = NULL;
    envp[ne] = NULL;
    setsid();
    in = in_tty ? out : open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) {
        _exit(126);
    }
    if (!in_tty) {
        close(in);
    }
    if (in_tty) {
        (void)ioctl(0, TIOCSCTTY, 0);
    }
    if (setgroups((size_t)ng, groups) < 0 || setgid(gid) < 0 ||
        setuid(uid) < 0) {
        say("becoming uid %u gid %u: %s", (unsigned)uid, (unsigned)gid,
            strerror(errno));
        _exit(126);
    }
    if (chdir(cwd) < 0) {
        say("%s: %s; running in /", cwd, strerror(errno));
        (void)chdir("/");
    }
    if (na == 0) {
        say("no command");
        _exit(126);
    }
    environ = envp;
    execvp(argv[0], argv);
    {
        int e = errno;

        say("%s: %s", argv[0], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
}

int main(void)
{
    static struct conf c;
    int out, err, st = 0;
    bool in_tty, out_tty, err_tty;
    pid_t child;

    mkdir("/dev", 0755);
    mkdir("/proc", 0555);
    mkdir("/sys", 0555);
    (void)mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
    (void)mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                NULL);
    (void)mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                NULL);
    if (fcntl(2, F_GETFD) < 0) {
        int fd = open("/dev/console", O_RDWR | O_NOCTTY);

        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
    }
    have_ctl = ioperm(RUN_CTL_PORT, RUN_CTL_SIZE, 1) == 0 &&
               inl(RUN_CTL_PORT) == RUN_CTL_MAGIC;
    if (!have_ctl) {
        say("no vmm run-control port at 0x%x: statuses go to the console",
            RUN_CTL_PORT);
    }
    ctl(RUN_CTL_PHASE, RUN_CTL_PHASE_INIT);
    if (conf_read(&c) < 0) {
        fail(RUN_CTL_PHASE_MOUNTED);
    }
    for (size_t i = 0; i < c.n; i++) {
        if (strcmp(c.key[i], "mod") == 0 && load_module(c.val[i]) < 0) {
            fail(RUN_CTL_PHASE_MOUNTED);
        }
        if (strcmp(c.key[i], "optmod") == 0 && load_module(c.val[i]) < 0 &&
            strstr(c.val[i], "overlay")) {
            have_overlay = false;
        }
    }
    if (mount_all(&c) < 0) {
        fail(RUN_CTL_PHASE_MOUNTED);
    }
    {
        const char *h = conf_get(&c, "hostname", NULL);

        if (h) {
            (void)sethostname(h, strlen(h));
        }
    }
    loopback_up();
    ctl(RUN_CTL_PHASE, RUN_CTL_PHASE_MOUNTED);
    out = open_tty("hvc0");
    err = open_tty("hvc1");
    if (out < 0 || err < 0) {
        fail(RUN_CTL_PHASE_COMMAND);
    }
    in_tty = strcmp(conf_get(&c, "tty_in", "0"), "1") == 0;
    out_tty = strcmp(conf_get(&c, "tty_out", "0"), "1") == 0;
    err_tty = strcmp(conf_get(&c, "tty_err", "0"), "1") == 0;
    set_modes(out, out_tty, in_tty);
    set_modes(err, err_tty, false);
    child = fork();
    if (child < 0) {
        say("fork: %s", strerror(errno));
        fail(RUN_CTL_PHASE_COMMAND);
    }
    if (child == 0) {
        run_child(&c, out, err, in_tty);
    }
    ctl(RUN_CTL_PHASE, RUN_CTL_PHASE_COMMAND);
    /* PID 1 reaps every orphan; the command's end is the one that counts. */
    for (;;) {
        pid_t p = waitpid(-1, &st, 0);

        if (p == child) {
            break;
        }
        if (p < 0 && errno != EINTR) {
            say("waitpid: %s", strerror(errno));
            fail(RUN_CTL_PHASE_COMMAND);
        }
    }
    /* Everything written is with vmm before the status ends the VM. */
    (void)tcdrain(out);
    (void)tcdrain(err);
    sync();
    if (WIFSIGNALED(st)) {
        ctl(RUN_CTL_STATUS, RUN_CTL_SIGNALED | (uint32_t)WTERMSIG(st));
        if (!have_ctl) {
            say("command killed by signal %d", WTERMSIG(st));
        }
    } else {
        ctl(RUN_CTL_STATUS, (uint32_t)WEXITSTATUS(st));
        if (!have_ctl) {
            say("command exited with %d", WEXITSTATUS(st));
        }
    }
    power_off();
}
