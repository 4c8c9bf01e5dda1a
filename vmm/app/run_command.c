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

#include "devices/run_ctl_abi.h"
#include "guest_embed.h"
#include "kmod.h"
#include "loader_bzimage.h"
#include "loader_pvh.h"
#include "run_command.h"
#include "util/cpio.h"
#include "util/file.h"

/* What the guest needs: virtio-mmio, the consoles, the share; overlay
 * makes /var writable (a plain tmpfs does without). */
static const char *const wanted[] = {"virtio_mmio", "virtio_console",
                                     "9pnet_virtio", "9p", "?overlay"};
#define MODULE_MAX (256ull << 20)
#define DEP_MAX (64ull << 20)
/* The init reads less than a full buffer: one byte spare. */
#define CONF_MAX (RUN_CONF_MAX_BYTES - 1)

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
    size_t len, cap, records;
    bool full;
};

static void conf_put(struct conf *c, const char *key, const char *val)
{
    size_t kl = strlen(key) + 1, vl = strlen(val) + 1;

    if (c->full || kl + vl > c->cap - c->len ||
        c->records == RUN_CONF_MAX_RECORDS) {
        c->full = true;
        return;
    }
    c->records++;
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

/* A kernel build tree: (kernel_path) is <tree>/arch/x86/boot/bzImage or
 * <tree>/vmlinux (or a link to either) and <tree>/modules.order lists the
 * modules it built. */
static bool build_tree(const char *kernel_path, char *tree, size_t len)
{
    static const char *const tails[] = {"/arch/x86/boot/bzImage", "/vmlinux"};
    char real[PATH_MAX], order[PATH_MAX + 16];
    size_t n, i;

    if (!kernel_path || !realpath(kernel_path, real)) {
        return false;
    }
    n = strlen(real);
    for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        size_t tl = strlen(tails[i]);

        if (n > tl && strcmp(real + n - tl, tails[i]) == 0) {
            real[n - tl] = '\0';
            break;
        }
    }
    if (i == sizeof(tails) / sizeof(tails[0])) {
        return false;
    }
    snprintf(order, sizeof(order), "%s/modules.order", real);
    if (access(order, R_OK) < 0 || strlen(real) >= len) {
        return false;
    }
    snprintf(tree, len, "%s", real);
    return true;
}

/* The modules directory: --modules, else /lib/modules/<release> when it
 * has a modules.dep, else the build tree the kernel is in; "" when there
 * is none (built-in drivers). */
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
    snprintf(dep, sizeof(dep), "/lib/modules/%s/modules.dep", out->release);
    if (out->release[0] && access(dep, R_OK) == 0) {
        snprintf(out->modules_dir, sizeof(out->modules_dir), "/lib/modules/%s",
                 out->release);
        return 0;
    }
    out->tree =
        build_tree(in->kernel_path, out->modules_dir, sizeof(out->modules_dir));
    return 0;
}

/* A growing text. */
struct text {
    char *s;
    size_t len, cap;
    bool oom;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->oom) {
        return;
    }
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *p = realloc(t->s, cap);

        if (!p) {
            t->oom = true;
            return;
        }
        t->s = p;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

/* The index of module (name) in modules.order's lists, or (nr). */
static size_t order_find(char *const *names, size_t nr, const char *name)
{
    size_t i = 0;

    while (i < nr && strcmp(names[i], name) != 0) {
        i++;
    }
    return i;
}

/* A build tree's modules.order: each module's path (NAME.ko, relative to
 * the tree) and name, (*nr) of them; 0 with none when there is no such
 * file. The caller frees both lists' strings. */
static int order_read(const char *tree, char **paths, char **names, size_t max,
                      size_t *nr, char *why, size_t whylen)
{
    char path[PATH_MAX + 64], *order = NULL;
    size_t order_len;
    int ret;

    *nr = 0;
    snprintf(path, sizeof(path), "%s/modules.order", tree);
    ret =
        file_read_all(path, DEP_MAX, (void **)&order, &order_len, why, whylen);
    if (ret < 0) {
        return ret == -ENOEXEC ? 0 : ret;
    }
    /* One path per line; newer trees write the object (.o), older the
     * module (.ko): both mean NAME.ko. */
    for (char *p = order; p < order + order_len && ret == 0;) {
        char *eol = memchr(p, '\n', (size_t)(order + order_len - p));
        size_t n;
        char name[64];

        eol = eol ? eol : order + order_len;
        n = (size_t)(eol - p);
        if (n > 2 && strncmp(eol - 2, ".o", 2) == 0) {
            n -= 2;
        } else if (n > 3 && strncmp(eol - 3, ".ko", 3) == 0) {
            n -= 3;
        }
        if (n && *nr == max) {
            snprintf(why, whylen, "%s: more than %zu modules", path, max);
            ret = -E2BIG;
        } else if (n) {
            paths[*nr] = malloc(n + 4);
            kmod_name(p, n, name, sizeof(name));
            names[*nr] = strdup(name);
            if (!paths[*nr] || !names[*nr]) {
                free(paths[*nr]);
                free(names[*nr]);
                snprintf(why, whylen, "%s: out of memory", path);
                ret = -ENOMEM;
                break;
            }
            memcpy(paths[*nr], p, n);
            memcpy(paths[*nr] + n, ".ko", 4);
            (*nr)++;
        }
        p = eol + 1;
    }
    free(order);
    return ret;
}

/* modules.dep's text for a build tree, which has none before
 * modules_install: the wanted modules and what they need, each module's
 * needs read from its .modinfo. */
static int tree_dep(const char *tree, struct text *dep, char *why,
                    size_t whylen)
{
    char path[PATH_MAX + 64], *paths[8192], *names[8192];
    const char *queue[256];
    bool *seen;
    size_t nq = 0, nr;
    int ret;

    ret = order_read(tree, paths, names, 8192, &nr, why, whylen);
    seen = calloc(nr ? nr : 1, sizeof(*seen));
    if (!seen && ret == 0) {
        snprintf(why, whylen, "modules of %s: out of memory", tree);
        ret = -ENOMEM;
    }
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
        queue[nq++] = wanted[i] + (wanted[i][0] == '?');
    }
    for (size_t q = 0; q < nq && ret == 0; q++) {
        size_t at = order_find(names, nr, queue[q]);
        const char *rel = at < nr ? paths[at] : NULL;
        char deps[1024], *save = NULL;
        void *ko;
        size_t size;

        /* Not built as a module (built in, or absent: the resolver
         * tells which), or seen already. */
        if (!rel || seen[at]) {
            continue;
        }
        seen[at] = true;
        snprintf(path, sizeof(path), "%s/%s", tree, rel);
        ret = file_read_all(path, MODULE_MAX, &ko, &size, why, whylen);
        if (ret < 0) {
            break;
        }
        ret = kmod_modinfo_depends(ko, size, deps, sizeof(deps));
        free(ko);
        if (ret < 0) {
            snprintf(why, whylen, "%s: no module information (%s)", path,
                     strerror(-ret));
            break;
        }
        text_add(dep, rel, strlen(rel));
        text_add(dep, ":", 1);
        for (char *d = strtok_r(deps, ",", &save); d;
             d = strtok_r(NULL, ",", &save)) {
            size_t j = order_find(names, nr, d);

            /* A dependency the tree did not build: its name, which the
             * read of it will then name. */
            text_add(dep, " ", 1);
            text_add(dep, j < nr ? paths[j] : d, strlen(j < nr ? paths[j] : d));
            if (j < nr && nq == 256) {
                snprintf(why, whylen, "%s: over 256 modules needed", tree);
                ret = -E2BIG;
                break;
            }
            if (j < nr) {
                queue[nq++] = names[j];
            }
        }
        text_add(dep, "\n", 1);
    }
    for (size_t i = 0; i < nr; i++) {
        free(paths[i]);
        free(names[i]);
    }
    free(seen);
    if (ret == 0 && dep->oom) {
        snprintf(why, whylen, "modules of %s: out of memory", tree);
        ret = -ENOMEM;
    }
    return ret;
}

/* "vmm/mod/NN-name.ko[.xz]" for module (i) at (path). */
static void module_entry(char *buf, size_t len, size_t i, const char *name,
                         const char *path)
{
    const char *base = strrchr(path, '/');
    const char *ko = strstr(base ? base + 1 : path, ".ko");

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
    if (out->tree) {
        struct text t = {0};

        ret = tree_dep(out->modules_dir, &t, why, whylen);
        if (ret < 0) {
            free(t.s);
            return ret;
        }
        dep = t.s;
        dep_len = t.len;
    } else {
        ret = file_read_all(path, DEP_MAX, &dep, &dep_len, sub, sizeof(sub));
    }
    if (ret == -ENOEXEC || (ret == 0 && !dep)) {
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
    char groups[sizeof(w->groups) / sizeof(w->groups[0]) * 12] = "";

    conf_put(c, "root", RUN_COMMAND_ROOT_TAG);
    for (size_t i = 0; i < in->nr_shares; i++) {
        if (strcmp(in->shares[i].tag, RUN_COMMAND_ROOT_TAG) == 0 &&
            in->shares[i].writable) {
            conf_put(c, "root_rw", "1");
        }
    }
    for (size_t i = 0; i < sizeof(overlay_dirs) / sizeof(overlay_dirs[0]);
         i++) {
        conf_put(c, "overlay", overlay_dirs[i]);
    }
    for (size_t i = 0; i < in->nr_shares; i++) {
        if (strcmp(in->shares[i].tag, RUN_COMMAND_ROOT_TAG) != 0) {
            conf_put(c, in->shares[i].writable ? "share_rw" : "share",
                     in->shares[i].tag);
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
                               sizeof(out->release)) < 0 &&
        loader_pvh_release(in->kernel, in->kernel_size, out->release,
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
                     "%u KiB or %u words",
                     RUN_CONF_MAX_BYTES >> 10, RUN_CONF_MAX_RECORDS);
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
    if (n < 0) {
        snprintf(why, whylen, "your supplementary groups: %s (more than %zu?)",
                 strerror(errno), sizeof(who->groups) / sizeof(who->groups[0]));
        return -errno;
    }
    who->nr_groups = (size_t)n;
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
