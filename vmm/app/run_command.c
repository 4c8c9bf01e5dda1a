/* SPDX-License-Identifier: MIT */
/*
 * The initramfs of `vmm run -- CMD` (run_command.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "guest_embed.h"
#include "kmod.h"
#include "loader_bzimage.h"
#include "run_command.h"
#include "util/cpio.h"
#include "util/file.h"

/* What the guest needs: virtio-mmio, the consoles, the share; overlay
 * makes /var writable (a plain tmpfs does without). */
static const char *const wanted[] = {"virtio_mmio", "virtio_console",
                                     "9pnet_virtio", "9p", "?overlay"};
#define MODULE_MAX (256ull << 20)
#define DEP_MAX (64ull << 20)
#define CONF_MAX (1u << 20)

const char *const run_command_env_names[] = {
    "PATH", "HOME",     "USER",   "LOGNAME", "SHELL", "TERM",
    "LANG", "LANGUAGE", "LC_ALL", "TZ",      NULL,
};

/* Writable places: the share's own with a tmpfs over it (overlayfs), so
 * that a directory there (the caller's, say) stays visible. */
static const char *const overlay_dirs[] = {"/tmp", "/run", "/var"};

/* run.conf: "key\0value\0" records. */
struct conf {
    char *buf;
    size_t len, cap;
    bool full;
};

static void conf_put(struct conf *c, const char *key, const char *val)
{
    size_t kl = strlen(key) + 1, vl = strlen(val) + 1;

    if (c->full || kl + vl > c->cap - c->len) {
        c->full = true;
        return;
    }
    memcpy(c->buf + c->len, key, kl);
    memcpy(c->buf + c->len + kl, val, vl);
    c->len += kl + vl;
}

static void conf_put_u(struct conf *c, const char *key, unsigned long long v)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%llu", v);
    conf_put(c, key, buf);
}

/* The modules directory: --modules, else /lib/modules/<release> when it
 * has a modules.dep; "" when there is none (built-in drivers). */
static int find_modules_dir(const struct run_command_in *in,
                            struct run_command *out, char *why, size_t whylen)
{
    char dep[4200];

    if (in->modules_dir) {
        snprintf(dep, sizeof(dep), "%s/modules.dep", in->modules_dir);
        if (access(dep, R_OK) < 0) {
            snprintf(why, whylen, "--modules %s: no readable modules.dep (%s)",
                     in->modules_dir, strerror(errno));
            return -ENOENT;
        }
        snprintf(out->modules_dir, sizeof(out->modules_dir), "%s",
                 in->modules_dir);
        return 0;
    }
    if (!out->release[0]) {
        return 0;
    }
    snprintf(dep, sizeof(dep), "/lib/modules/%s/modules.dep", out->release);
    if (access(dep, R_OK) == 0) {
        snprintf(out->modules_dir, sizeof(out->modules_dir), "/lib/modules/%s",
                 out->release);
    }
    return 0;
}

/* "vmm/mod/NN-name.ko[.xz]" for module (i) at (path). */
static void module_entry(char *buf, size_t len, size_t i, const char *name,
                         const char *path)
{
    const char *ko = strstr(path, ".ko");

    snprintf(buf, len, "vmm/mod/%02zu-%s%s", i, name, ko ? ko : ".ko");
}

/* Resolve, read and pack the modules; their records into (c). */
static int add_modules(const struct run_command *out, struct cpio *cp,
                       struct conf *c, size_t *nr, char *why, size_t whylen)
{
    char path[8192];
    void *dep = NULL, *builtin = NULL;
    size_t dep_len = 0, builtin_len = 0;
    struct kmod_list l;
    char sub[512];
    int ret;

    *nr = 0;
    if (!out->modules_dir[0]) {
        return 0;
    }
    snprintf(path, sizeof(path), "%s/modules.dep", out->modules_dir);
    ret = file_read_all(path, DEP_MAX, &dep, &dep_len, sub, sizeof(sub));
    if (ret == -ENOEXEC) {
        dep_len = 0; /* empty: nothing is a module */
    } else if (ret < 0) {
        snprintf(why, whylen, "modules: %s", sub);
        return ret;
    }
    snprintf(path, sizeof(path), "%s/modules.builtin", out->modules_dir);
    ret =
        file_read_all(path, DEP_MAX, &builtin, &builtin_len, sub, sizeof(sub));
    if (ret == -ENOEXEC) {
        builtin = strdup(""); /* empty: nothing is built in */
    } else if (ret < 0) {
        builtin = NULL; /* none: cannot tell */
        builtin_len = 0;
    }
    ret =
        kmod_resolve(dep, dep_len, builtin, builtin_len, wanted,
                     sizeof(wanted) / sizeof(wanted[0]), &l, sub, sizeof(sub));
    free(dep);
    free(builtin);
    if (ret < 0) {
        snprintf(why, whylen, "modules %s: %s", out->modules_dir, sub);
        return ret;
    }
    for (size_t i = 0; i < l.nr && ret == 0; i++) {
        void *data;
        size_t size;
        char entry[256];

        snprintf(path, sizeof(path), "%s/%s", out->modules_dir, l.paths[i]);
        ret = file_read_all(path, MODULE_MAX, &data, &size, why, whylen);
        if (ret < 0) {
            break;
        }
        module_entry(entry, sizeof(entry), i, l.names[i], l.paths[i]);
        ret = cpio_add(cp, entry, S_IFREG | 0644, data, size, 0, 0);
        free(data);
        if (ret < 0) {
            snprintf(why, whylen, "initramfs: %s", strerror(-ret));
            break;
        }
        snprintf(path, sizeof(path), "/%s", entry);
        conf_put(c, l.optional[i] ? "optmod" : "mod", path);
        (*nr)++;
    }
    kmod_list_free(&l);
    return ret;
}

/* Everything but the modules: mounts, user, directory, command. */
static void add_plan(const struct run_command_in *in, struct conf *c)
{
    const struct run_command_who *w = in->who;
    char groups[64 * 12] = "";

    conf_put(c, "root", RUN_COMMAND_ROOT_TAG);
    for (size_t i = 0; i < sizeof(overlay_dirs) / sizeof(overlay_dirs[0]);
         i++) {
        conf_put(c, "overlay", overlay_dirs[i]);
    }
    for (size_t i = 0; i < in->nr_shares; i++) {
        if (strcmp(in->shares[i].tag, RUN_COMMAND_ROOT_TAG) != 0) {
            conf_put(c, "share", in->shares[i].tag);
            conf_put(c, "at", in->shares[i].path);
        }
    }
    conf_put(c, "hostname", w->hostname);
    conf_put(c, "cwd", w->cwd);
    conf_put_u(c, "uid", w->uid);
    conf_put_u(c, "gid", w->gid);
    for (size_t i = 0; i < w->nr_groups; i++) {
        size_t n = strlen(groups);

        snprintf(groups + n, sizeof(groups) - n, "%s%u", i ? "," : "",
                 (unsigned)w->groups[i]);
    }
    conf_put(c, "groups", groups);
    conf_put(c, "tty_in", w->tty_in ? "1" : "0");
    conf_put(c, "tty_out", w->tty_out ? "1" : "0");
    conf_put(c, "tty_err", w->tty_err ? "1" : "0");
    for (size_t i = 0; in->envp && in->envp[i]; i++) {
        conf_put(c, "env", in->envp[i]);
    }
    for (size_t i = 0; i < in->argc; i++) {
        conf_put(c, "arg", in->argv[i]);
    }
}

static int add_skeleton(struct cpio *cp)
{
    static const char *const dirs[] = {"dev", "proc", "sys", "vmm", "vmm/mod"};
    int ret = 0;

    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && ret == 0; i++) {
        ret = cpio_add(cp, dirs[i], S_IFDIR | 0755, NULL, 0, 0, 0);
    }
    if (ret == 0) {
        ret = cpio_add(cp, "dev/console", S_IFCHR | 0600, NULL, 0, 5, 1);
    }
    if (ret == 0) {
        ret = cpio_add(cp, "init", S_IFREG | 0755, guest_vmm_init,
                       guest_vmm_init_len, 0, 0);
    }
    return ret;
}

int run_command_build(const struct run_command_in *in, struct run_command *out,
                      char *why, size_t whylen)
{
    struct cpio cp = {0};
    struct conf c = {.cap = CONF_MAX};
    int ret;

    memset(out, 0, sizeof(*out));
    if (in->argc == 0) {
        snprintf(why, whylen, "--: no command after it");
        return -EINVAL;
    }
    if (loader_bzimage_release(in->kernel, in->kernel_size, out->release,
                               sizeof(out->release)) < 0) {
        out->release[0] = '\0'; /* no /lib/modules default then */
    }
    ret = find_modules_dir(in, out, why, whylen);
    if (ret < 0) {
        return ret;
    }
    c.buf = malloc(c.cap);
    if (!c.buf) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    ret = add_skeleton(&cp);
    if (ret < 0) {
        snprintf(why, whylen, "initramfs: %s", strerror(-ret));
    }
    if (ret == 0) {
        ret = add_modules(out, &cp, &c, &out->nr_modules, why, whylen);
    }
    if (ret == 0) {
        add_plan(in, &c);
        if (c.full) {
            snprintf(why, whylen,
                     "--: the command, its environment and the plan exceed "
                     "%u KiB",
                     CONF_MAX >> 10);
            ret = -E2BIG;
        }
    }
    if (ret == 0) {
        ret = cpio_add(&cp, "vmm/run.conf", S_IFREG | 0644, c.buf, c.len, 0, 0);
        ret = ret ? ret : cpio_finish(&cp);
        if (ret < 0) {
            snprintf(why, whylen, "initramfs: %s", strerror(-ret));
        }
    }
    free(c.buf);
    if (ret < 0) {
        cpio_free(&cp);
        return ret;
    }
    out->initrd = cp.buf;
    out->initrd_size = cp.len;
    return 0;
}

void run_command_free(struct run_command *rc)
{
    free(rc->initrd);
    memset(rc, 0, sizeof(*rc));
}

int run_command_who_self(struct run_command_who *who, char *why, size_t whylen)
{
    struct utsname u;
    int n;

    memset(who, 0, sizeof(*who));
    who->uid = getuid();
    who->gid = getgid();
    n = getgroups((int)(sizeof(who->groups) / sizeof(who->groups[0])),
                  who->groups);
    who->nr_groups = n > 0 ? (size_t)n : 0;
    if (!getcwd(who->cwd, sizeof(who->cwd))) {
        snprintf(why, whylen, "the current directory: %s", strerror(errno));
        return -errno;
    }
    if (uname(&u) == 0) {
        snprintf(who->hostname, sizeof(who->hostname), "%s", u.nodename);
    }
    who->tty_in = isatty(STDIN_FILENO);
    who->tty_out = isatty(STDOUT_FILENO);
    who->tty_err = isatty(STDERR_FILENO);
    return 0;
}
