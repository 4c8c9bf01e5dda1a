/* SPDX-License-Identifier: MIT */
/*
 * What `vmm run -- CMD` boots with: the module order from modules.dep
 * (vmm/boot/kmod.c), the newc archive writer (util/cpio.c), and the
 * initramfs run_command_build() makes of a modules directory, read back:
 * the init, the modules in load order, run.conf's records.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest_embed.h"
#include "kmod.h"
#include "run_command.h"
#include "unit.h"
#include "util/cpio.h"

static unsigned unit_failures;

/* ---- kmod ---- */

static const char dep_text[] =
    "kernel/drivers/virtio/virtio_ring.ko:\n"
    "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko "
    "kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/drivers/char/virtio_console.ko.xz: "
    "kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
    "\n"
    "# a comment\n"
    "kernel/fs/netfs/netfs.ko:\n"
    "kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko\n"
    "kernel/net/9p/9pnet.ko:\n"
    "kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/fscache/fscache.ko "
    "kernel/fs/netfs/netfs.ko\n"
    "kernel/net/9p/9pnet_virtio.ko: kernel/drivers/virtio/virtio.ko "
    "kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio_ring.ko\n";

static size_t index_of(const struct kmod_list *l, const char *name)
{
    for (size_t i = 0; i < l->nr; i++) {
        if (strcmp(l->names[i], name) == 0) {
            return i;
        }
    }
    return (size_t)-1;
}

/* Every module comes after what its modules.dep line names. */
static void check_order(const struct kmod_list *l, const char *dep)
{
    for (size_t i = 0; i < l->nr; i++) {
        const char *line = strstr(dep, l->paths[i]);
        const char *eol;

        CHECK(line, "%s not in modules.dep", l->paths[i]);
        if (!line) {
            continue;
        }
        eol = strchr(line, '\n');
        for (size_t j = 0; j < l->nr; j++) {
            const char *p = strstr(line + strlen(l->paths[i]), l->paths[j]);

            if (p && (!eol || p < eol)) {
                CHECK(j < i, "%s loads before its dependency %s", l->names[i],
                      l->names[j]);
            }
        }
    }
}

static void test_kmod(void)
{
    static const char *const want[] = {"virtio-mmio", "virtio_console",
                                       "9pnet_virtio", "9p", "?overlay"};
    static const char *const want_missing[] = {"virtio_mmio", "ext4"};
    static const char *const want_cycle[] = {"a"};
    struct kmod_list l;
    char why[256] = "", name[16];
    int rc;

    kmod_name("kernel/fs/9p/9p.ko.xz", 21, name, sizeof(name));
    CHECK(strcmp(name, "9p") == 0, "name of 9p.ko.xz: %s", name);
    kmod_name("virtio-mmio.ko", 14, name, sizeof(name));
    CHECK(strcmp(name, "virtio_mmio") == 0, "name of virtio-mmio: %s", name);
    kmod_name("a/very_long_module_name_indeed.ko", 33, name, 8);
    CHECK(strcmp(name, "very_lo") == 0, "cut name: %s", name);

    rc = kmod_resolve(dep_text, strlen(dep_text), NULL, 0, want, 5, &l, why,
                      sizeof(why));
    CHECK(rc == 0, "resolve: %d %s", rc, why);
    CHECK(l.nr == 9, "9 modules, got %zu", l.nr);
    check_order(&l, dep_text);
    CHECK(index_of(&l, "virtio_ring") == 0, "virtio_ring first");
    CHECK(index_of(&l, "virtio_console") != (size_t)-1 &&
              strstr(l.paths[index_of(&l, "virtio_console")], ".ko.xz"),
          "the compressed file's path kept");
    CHECK(index_of(&l, "overlay") == (size_t)-1, "absent optional skipped");
    for (size_t i = 0; i < l.nr; i++) {
        CHECK(!l.optional[i], "%s marked optional", l.names[i]);
    }
    kmod_list_free(&l);
    CHECK(l.nr == 0 && !l.paths, "freed");

    /* A required module neither in modules.dep nor built in. */
    rc = kmod_resolve(dep_text, strlen(dep_text), "kernel/fs/ext2.ko\n", 18,
                      want_missing, 2, &l, why, sizeof(why));
    CHECK(rc == -ENOENT && strstr(why, "no module ext4"), "missing: %d %s", rc,
          why);
    CHECK(l.nr == 0 && !l.paths, "nothing left after a failure");
    /* Built in: skipped; no modules.builtin: assumed built in. */
    rc = kmod_resolve(dep_text, strlen(dep_text), "kernel/fs/ext4/ext4.ko\n",
                      23, want_missing, 2, &l, why, sizeof(why));
    CHECK(rc == 0 && l.nr == 3 && index_of(&l, "ext4") == (size_t)-1,
          "built-in ext4: %d, %zu modules", rc, l.nr);
    kmod_list_free(&l);
    rc = kmod_resolve(dep_text, strlen(dep_text), NULL, 0, want_missing, 2, &l,
                      why, sizeof(why));
    CHECK(rc == 0 && l.nr == 3, "no modules.builtin: %d", rc);
    kmod_list_free(&l);
    /* An optional module pulling in a required one's dependency: the
     * shared one stays required. */
    {
        static const char *const w[] = {"?9p", "9pnet_virtio"};

        rc = kmod_resolve(dep_text, strlen(dep_text), NULL, 0, w, 2, &l, why,
                          sizeof(why));
        CHECK(rc == 0, "optional 9p: %d", rc);
        CHECK(l.nr > 0 && l.optional[index_of(&l, "netfs")],
              "netfs only for the optional 9p");
        CHECK(!l.optional[index_of(&l, "9pnet")], "9pnet needed by both");
        check_order(&l, dep_text);
        kmod_list_free(&l);
    }
    /* Broken input: a line without ':', cycles (refused at once, no
     * hang), nesting deeper than 64. */
    rc = kmod_resolve("a.ko b.ko\n", 10, NULL, 0, want_cycle, 1, &l, why,
                      sizeof(why));
    CHECK(rc == -EINVAL, "no colon: %d", rc);
    {
        static const char cyc[] = "a.ko: b.ko\nb.ko: a.ko\n";

        /* Every module on every other: explored naively, 2^64 paths. */
        static const char branchy[] = "a.ko: b.ko c.ko\nb.ko: a.ko c.ko\n"
                                      "c.ko: a.ko b.ko\n";

        rc = kmod_resolve(cyc, strlen(cyc), NULL, 0, want_cycle, 1, &l, why,
                          sizeof(why));
        CHECK(rc == -ELOOP && strstr(why, "depends on itself") && l.nr == 0,
              "cycle: %d %s", rc, why);
        rc = kmod_resolve(branchy, strlen(branchy), NULL, 0, want_cycle, 1, &l,
                          why, sizeof(why));
        CHECK(rc == -ELOOP, "branching cycle: %d", rc);
    }
    {
        char deep[100 * 32] = "";

        for (int i = 0; i < 80; i++) {
            size_t n = strlen(deep);

            snprintf(deep + n, sizeof(deep) - n, "m%d.ko: m%d.ko\n", i, i + 1);
        }
        rc = kmod_resolve(deep, strlen(deep), NULL, 0,
                          (const char *const[]){"m0"}, 1, &l, why, sizeof(why));
        CHECK(rc == -ELOOP, "80 deep: %d", rc);
    }
}

/* A 64-bit ELF relocatable with sections null, .shstrtab and .modinfo
 * holding (info) ((info_len) bytes) into (buf); its size. */
static size_t make_ko(uint8_t *buf, size_t cap, const char *info,
                      size_t info_len)
{
    static const char strtab[] = "\0.shstrtab\0.modinfo";
    size_t str_off = 0x40, info_off = str_off + sizeof(strtab);
    size_t sh_off = (info_off + info_len + 7) & ~(size_t)7;
    size_t size = sh_off + 3 * 0x40;

    if (size > cap) {
        return 0;
    }
    memset(buf, 0, size);
    memcpy(buf, "\177ELF\2\1\1", 7);
    buf[0x10] = 1; /* ET_REL */
    buf[0x12] = 62;
    memcpy(buf + 0x28, &sh_off, 8);
    buf[0x34] = 0x40;
    buf[0x3a] = 0x40;
    buf[0x3c] = 3;
    buf[0x3e] = 1;
    memcpy(buf + str_off, strtab, sizeof(strtab));
    memcpy(buf + info_off, info, info_len);
    /* Section 1: .shstrtab; section 2: .modinfo. */
    buf[sh_off + 0x40] = 1;
    memcpy(buf + sh_off + 0x40 + 0x18, &str_off, 8);
    {
        uint64_t n = sizeof(strtab);

        memcpy(buf + sh_off + 0x40 + 0x20, &n, 8);
    }
    buf[sh_off + 0x80] = 11;
    memcpy(buf + sh_off + 0x80 + 0x18, &info_off, 8);
    memcpy(buf + sh_off + 0x80 + 0x20, &(uint64_t){info_len}, 8);
    return size;
}

static void test_modinfo(void)
{
    static const char info[] = "license=GPL\0depends=virtio,virtio_ring\0"
                               "name=virtio_mmio\0";
    static uint8_t ko[1024];
    size_t size = make_ko(ko, sizeof(ko), info, sizeof(info));
    char buf[64];
    int rc;

    rc = kmod_modinfo_depends(ko, size, buf, sizeof(buf));
    CHECK(rc == 0 && strcmp(buf, "virtio,virtio_ring") == 0, "depends: %d %s",
          rc, buf);
    rc = kmod_modinfo_depends(ko, size, buf, 10);
    CHECK(rc == -ENOSPC, "too small: %d", rc);
    /* No depends=: needs nothing. */
    size = make_ko(ko, sizeof(ko), "license=GPL", 12);
    rc = kmod_modinfo_depends(ko, size, buf, sizeof(buf));
    CHECK(rc == 0 && buf[0] == '\0', "no depends: %d '%s'", rc, buf);
    /* Truncated before the section table, a section past the end, not an
     * ELF, 32-bit, no .modinfo. */
    rc = kmod_modinfo_depends(ko, size - 1, buf, sizeof(buf));
    CHECK(rc == -ENOEXEC, "cut: %d", rc);
    {
        size_t sh_off;
        uint64_t big = 1u << 20;

        memcpy(&sh_off, ko + 0x28, 8);
        memcpy(ko + sh_off + 0x80 + 0x20, &big, 8);
        rc = kmod_modinfo_depends(ko, size, buf, sizeof(buf));
        CHECK(rc == -ENOEXEC, "section past the end: %d", rc);
        size = make_ko(ko, sizeof(ko), "x", 2);
        memcpy(&sh_off, ko + 0x28, 8);
        ko[4] = 1;
        rc = kmod_modinfo_depends(ko, size, buf, sizeof(buf));
        CHECK(rc == -ENOEXEC, "32-bit: %d", rc);
        ko[4] = 2;
        ko[sh_off + 0x80] = 2; /* the name ".shstrtab"+1: "shstrtab" */
        rc = kmod_modinfo_depends(ko, size, buf, sizeof(buf));
        CHECK(rc == -ENOENT, "no .modinfo: %d", rc);
    }
    rc = kmod_modinfo_depends("hello", 5, buf, sizeof(buf));
    CHECK(rc == -ENOEXEC, "not ELF: %d", rc);
}

/* ---- cpio ---- */

struct entry {
    char name[256];
    unsigned mode, major, minor;
    const uint8_t *data;
    size_t size;
};

static unsigned hex8(const uint8_t *p)
{
    char b[9];

    memcpy(b, p, 8);
    b[8] = '\0';
    return (unsigned)strtoul(b, NULL, 16);
}

/* Read entry (*off) of (buf); false at the trailer or on a bad header. */
static bool next_entry(const uint8_t *buf, size_t len, size_t *off,
                       struct entry *e)
{
    const uint8_t *h = buf + *off;
    size_t namesize, at;

    if (*off + 110 > len || memcmp(h, "070701", 6) != 0) {
        CHECK(0, "bad header at %zu", *off);
        return false;
    }
    e->mode = hex8(h + 14);
    e->size = hex8(h + 54);
    e->major = hex8(h + 78);
    e->minor = hex8(h + 86);
    namesize = hex8(h + 94);
    CHECK(*off % 4 == 0, "header at %zu not aligned", *off);
    if (namesize == 0 || namesize > sizeof(e->name) ||
        *off + 110 + namesize > len) {
        CHECK(0, "bad name size %zu", namesize);
        return false;
    }
    memcpy(e->name, h + 110, namesize);
    CHECK(e->name[namesize - 1] == '\0', "name not terminated");
    at = (*off + 110 + namesize + 3) & ~(size_t)3;
    e->data = buf + at;
    *off = (at + e->size + 3) & ~(size_t)3;
    return strcmp(e->name, "TRAILER!!!") != 0;
}

static void test_cpio(void)
{
    struct cpio c = {0};
    struct entry e;
    size_t off = 0;
    int rc;

    rc = cpio_add(&c, "dir", S_IFDIR | 0755, NULL, 0, 0, 0);
    rc = rc ? rc : cpio_add(&c, "dir/f", S_IFREG | 0644, "hello", 5, 0, 0);
    rc = rc ? rc : cpio_add(&c, "dev/console", S_IFCHR | 0600, NULL, 0, 5, 1);
    CHECK(rc == 0, "adds: %d", rc);
    CHECK(cpio_add(&c, "", S_IFREG, NULL, 0, 0, 0) == -EINVAL, "empty name");
    CHECK(cpio_add(&c, "/abs", S_IFREG, NULL, 0, 0, 0) == -EINVAL,
          "absolute name");
    CHECK(cpio_add(&c, "d", S_IFDIR | 0755, "x", 1, 0, 0) == -EINVAL,
          "data for a directory");
    rc = cpio_finish(&c);
    CHECK(rc == 0, "finish: %d", rc);
    CHECK(c.len % 4 == 0, "length %zu", c.len);
    CHECK(next_entry(c.buf, c.len, &off, &e) && strcmp(e.name, "dir") == 0 &&
              e.mode == (S_IFDIR | 0755),
          "dir");
    CHECK(next_entry(c.buf, c.len, &off, &e) && strcmp(e.name, "dir/f") == 0 &&
              e.size == 5 && memcmp(e.data, "hello", 5) == 0,
          "file");
    CHECK(next_entry(c.buf, c.len, &off, &e) && e.major == 5 && e.minor == 1,
          "console node");
    CHECK(!next_entry(c.buf, c.len, &off, &e) && off == c.len,
          "trailer last, at %zu of %zu", off, c.len);
    cpio_free(&c);
}

/* ---- run_command_build ---- */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    CHECK(f, "%s", path);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* run.conf's value after (key) number (nth), or NULL. */
static const char *conf_value(const struct entry *conf, const char *key,
                              unsigned nth)
{
    const char *p = (const char *)conf->data, *end = p + conf->size;

    while (p < end) {
        const char *k = p, *v = k + strlen(k) + 1;

        p = v + strlen(v) + 1;
        if (strcmp(k, key) == 0 && nth-- == 0) {
            return v;
        }
    }
    return NULL;
}

static void test_build(void)
{
    char dir[] = "/tmp/test_run_command.XXXXXX";
    const char *argv[] = {"sh", "-c", "exit 7"};
    const char *envp[] = {"PATH=/usr/bin:/bin", "HOME=/home/me", NULL};
    struct machine_share shares[] = {{"/", RUN_COMMAND_ROOT_TAG, false},
                                     {"/home/me/src", "share0", false},
                                     {"/home/me/out", "share1", true}};
    struct run_command_who who = {.uid = 1000,
                                  .gid = 100,
                                  .groups = {100, 27},
                                  .nr_groups = 2,
                                  .cwd = "/home/me/src",
                                  .hostname = "box",
                                  .tty_out = true};
    struct run_command_in in = {.kernel = "not a bzImage",
                                .kernel_size = 13,
                                .argv = argv,
                                .argc = 3,
                                .shares = shares,
                                .nr_shares = 3,
                                .envp = envp,
                                .who = &who};
    struct run_command rc;
    struct entry e, conf = {0};
    char mods[16][sizeof(e.name)];
    size_t nmods = 0, off = 0;
    bool have_init = false;
    char why[256] = "";
    int ret;

    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    write_file(dir, "modules.dep",
               "virtio_ring.ko:\nvirtio.ko: virtio_ring.ko\n"
               "virtio_mmio.ko: virtio.ko virtio_ring.ko\n"
               "9pnet.ko:\n9p.ko: 9pnet.ko\n"
               "9pnet_virtio.ko: virtio.ko 9pnet.ko virtio_ring.ko\n"
               "overlay.ko:\n");
    write_file(dir, "modules.builtin",
               "kernel/drivers/char/virtio_console.ko\n");
    write_file(dir, "virtio_ring.ko", "ring");
    write_file(dir, "virtio.ko", "virtio");
    write_file(dir, "virtio_mmio.ko", "mmio");
    write_file(dir, "9pnet.ko", "9pnet");
    write_file(dir, "9p.ko", "9p");
    write_file(dir, "9pnet_virtio.ko", "9pv");
    write_file(dir, "overlay.ko", "ovl");
    in.modules_dir = dir;
    ret = run_command_build(&in, &rc, why, sizeof(why));
    CHECK(ret == 0, "build: %d %s", ret, why);
    CHECK(ret != 0 || rc.nr_modules == 7, "7 modules: %zu", rc.nr_modules);
    CHECK(ret != 0 || rc.release[0] == '\0', "no release in a non-bzImage");
    while (ret == 0 && next_entry(rc.initrd, rc.initrd_size, &off, &e)) {
        if (strcmp(e.name, "init") == 0) {
            have_init = e.size == guest_vmm_init_len &&
                        memcmp(e.data, guest_vmm_init, e.size) == 0 &&
                        (e.mode & 0111);
        } else if (strcmp(e.name, "vmm/run.conf") == 0) {
            conf = e;
        } else if (strncmp(e.name, "vmm/mod/", 8) == 0 && nmods < 16) {
            snprintf(mods[nmods++], sizeof(mods[0]), "%.200s", e.name + 8);
        }
    }
    CHECK(have_init, "the embedded init, executable");
    CHECK(nmods == 7, "%zu module files", nmods);
    CHECK(nmods == 7 && strcmp(mods[0], "00-virtio_ring.ko") == 0 &&
              strcmp(mods[6], "06-overlay.ko") == 0,
          "module order");
    CHECK(conf.data != NULL, "run.conf");
    if (conf.data) {
        CHECK(strcmp(conf_value(&conf, "mod", 0),
                     "/vmm/mod/00-virtio_ring.ko") == 0,
              "first mod record");
        CHECK(conf_value(&conf, "optmod", 0) &&
                  strcmp(conf_value(&conf, "optmod", 0),
                         "/vmm/mod/06-overlay.ko") == 0,
              "overlay optional");
        CHECK(strcmp(conf_value(&conf, "root", 0), "root") == 0, "root tag");
        CHECK(strcmp(conf_value(&conf, "share", 0), "share0") == 0 &&
                  strcmp(conf_value(&conf, "at", 0), "/home/me/src") == 0 &&
                  !conf_value(&conf, "share", 1),
              "one read-only extra share at its path");
        CHECK(conf_value(&conf, "share_rw", 0) &&
                  strcmp(conf_value(&conf, "share_rw", 0), "share1") == 0 &&
                  strcmp(conf_value(&conf, "at", 1), "/home/me/out") == 0 &&
                  !conf_value(&conf, "share_rw", 1) &&
                  !conf_value(&conf, "root_rw", 0),
              "one writable share at its path; the root read-only");
        CHECK(strcmp(conf_value(&conf, "overlay", 0), "/tmp") == 0, "/tmp");
        CHECK(strcmp(conf_value(&conf, "uid", 0), "1000") == 0 &&
                  strcmp(conf_value(&conf, "gid", 0), "100") == 0 &&
                  strcmp(conf_value(&conf, "groups", 0), "100,27") == 0,
              "ids");
        CHECK(strcmp(conf_value(&conf, "cwd", 0), "/home/me/src") == 0, "cwd");
        CHECK(strcmp(conf_value(&conf, "tty_out", 0), "1") == 0 &&
                  strcmp(conf_value(&conf, "tty_in", 0), "0") == 0,
              "terminals");
        CHECK(strcmp(conf_value(&conf, "arg", 2), "exit 7") == 0 &&
                  !conf_value(&conf, "arg", 3),
              "argv");
        CHECK(strcmp(conf_value(&conf, "env", 1), "HOME=/home/me") == 0, "env");
    }
    if (ret == 0) {
        run_command_free(&rc);
    }
    /* --share /,rw: the root mounted read-write. */
    shares[0].writable = true;
    ret = run_command_build(&in, &rc, why, sizeof(why));
    CHECK(ret == 0, "build with a writable root: %d %s", ret, why);
    conf.data = NULL;
    off = 0;
    while (ret == 0 && next_entry(rc.initrd, rc.initrd_size, &off, &e)) {
        if (strcmp(e.name, "vmm/run.conf") == 0) {
            conf = e;
        }
    }
    CHECK(conf.data && conf_value(&conf, "root_rw", 0) &&
              strcmp(conf_value(&conf, "root_rw", 0), "1") == 0,
          "a writable root: root_rw 1");
    if (ret == 0) {
        run_command_free(&rc);
    }
    shares[0].writable = false;

    /* A required module missing, a module file missing, no modules.dep,
     * no command. */
    write_file(dir, "modules.builtin", "");
    ret = run_command_build(&in, &rc, why, sizeof(why));
    CHECK(ret == -ENOENT && strstr(why, "virtio_console"),
          "virtio_console neither module nor built in: %d %s", ret, why);
    write_file(dir, "modules.builtin",
               "kernel/drivers/char/virtio_console.ko\n");
    {
        char p[512];

        snprintf(p, sizeof(p), "%s/9p.ko", dir);
        unlink(p);
        ret = run_command_build(&in, &rc, why, sizeof(why));
        CHECK(ret == -ENOENT && strstr(why, "9p.ko"), "9p.ko gone: %d %s", ret,
              why);
        snprintf(p, sizeof(p), "%s/modules.dep", dir);
        unlink(p);
        ret = run_command_build(&in, &rc, why, sizeof(why));
        CHECK(ret == -ENOENT && strstr(why, "modules.dep"),
              "no modules.dep: %d %s", ret, why);
    }
    /* modules.dep that cannot be read (a directory) is an error, not an
     * empty list. */
    {
        char p[512];

        snprintf(p, sizeof(p), "%s/modules.dep", dir);
        CHECK(mkdir(p, 0755) == 0, "mkdir %s", p);
        ret = run_command_build(&in, &rc, why, sizeof(why));
        CHECK(ret < 0 && strstr(why, "modules.dep"),
              "modules.dep a directory: %d %s", ret, why);
        rmdir(p);
    }
    /* More words than the init reads: refused, not cut. */
    {
        static const char *many[5000];

        for (size_t i = 0; i < 5000; i++) {
            many[i] = "x";
        }
        in.modules_dir = NULL;
        in.argv = many;
        in.argc = 5000;
        ret = run_command_build(&in, &rc, why, sizeof(why));
        CHECK(ret == -E2BIG && strstr(why, "words"), "5000 words: %d %s", ret,
              why);
        in.argv = argv;
    }
    in.argc = 0;
    in.modules_dir = NULL;
    ret = run_command_build(&in, &rc, why, sizeof(why));
    CHECK(ret == -EINVAL, "no command: %d", ret);
    {
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0, "cleanup");
    }
}

/* A kernel build tree: modules.order, .modinfo, modules.builtin. */
static void test_build_tree(void)
{
    char dir[] = "/tmp/test_run_tree.XXXXXX";
    static const struct {
        const char *path, *depends;
    } mods[] = {
        {"drivers/virtio/virtio_ring", ""},
        {"drivers/virtio/virtio", "virtio_ring"},
        {"drivers/virtio/virtio_mmio", "virtio,virtio_ring"},
        {"net/9p/9pnet", ""},
        {"net/9p/9pnet_virtio", "virtio,9pnet,virtio_ring"},
        {"fs/9p/9p", "9pnet"},
        {"fs/ext4/ext4", ""},
    };
    const char *argv[] = {"true"};
    struct run_command_who who = {.cwd = "/"};
    struct machine_share root = {"/", RUN_COMMAND_ROOT_TAG, false};
    char path[512], kernel[512], why[256] = "";
    struct run_command rc;
    struct run_command_in in = {.kernel = "x",
                                .kernel_size = 1,
                                .argv = argv,
                                .argc = 1,
                                .shares = &root,
                                .nr_shares = 1,
                                .who = &who};
    FILE *order;
    int ret;

    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    snprintf(path, sizeof(path),
             "mkdir -p %s/arch/x86/boot %s/drivers/virtio "
             "%s/net/9p %s/fs/9p %s/fs/ext4",
             dir, dir, dir, dir, dir);
    CHECK(system(path) == 0, "mkdir");
    snprintf(kernel, sizeof(kernel), "%s/arch/x86/boot/bzImage", dir);
    write_file(dir, "arch/x86/boot/bzImage", "kernel");
    write_file(dir, "modules.builtin",
               "kernel/drivers/char/virtio_console.ko\n");
    snprintf(path, sizeof(path), "%s/modules.order", dir);
    order = fopen(path, "w");
    for (size_t i = 0; order && i < sizeof(mods) / sizeof(mods[0]); i++) {
        static uint8_t ko[1024];
        char info[128];
        int n = snprintf(info, sizeof(info), "depends=%s", mods[i].depends);
        size_t size = make_ko(ko, sizeof(ko), info, (size_t)n + 1);
        FILE *f;

        /* Newer trees write the object's name. */
        fprintf(order, "%s.o\n", mods[i].path);
        snprintf(path, sizeof(path), "%s/%s.ko", dir, mods[i].path);
        f = fopen(path, "w");
        CHECK(f && fwrite(ko, 1, size, f) == size, "%s", path);
        if (f) {
            fclose(f);
        }
    }
    if (order) {
        fclose(order);
    }
    in.kernel_path = kernel;
    ret = run_command_build(&in, &rc, why, sizeof(why));
    CHECK(ret == 0, "tree: %d %s", ret, why);
    if (ret == 0) {
        CHECK(rc.tree && strcmp(rc.modules_dir, dir) == 0, "tree found: %s",
              rc.modules_dir);
        /* virtio_ring, virtio, virtio_mmio, 9pnet, 9pnet_virtio, 9p: not
         * ext4, which nothing needs; virtio_console is built in. */
        CHECK(rc.nr_modules == 6, "6 modules, got %zu", rc.nr_modules);
        run_command_free(&rc);
    }
    /* 9p's file broken: named. */
    write_file(dir, "fs/9p/9p.ko", "not an ELF");
    ret = run_command_build(&in, &rc, why, sizeof(why));
    CHECK(ret == -ENOEXEC && strstr(why, "9p.ko"), "broken 9p.ko: %d %s", ret,
          why);
    /* 9p mended: the tree's vmlinux finds it too; a vmlinux elsewhere
     * does not. */
    snprintf(path, sizeof(path), "%s/fs/9p/9p.ko", dir);
    {
        static uint8_t ko[1024];
        size_t size = make_ko(ko, sizeof(ko), "depends=9pnet", 14);
        FILE *f = fopen(path, "w");

        CHECK(f && fwrite(ko, 1, size, f) == size, "%s", path);
        if (f) {
            fclose(f);
        }
    }
    snprintf(kernel, sizeof(kernel), "%s/vmlinux", dir);
    write_file(dir, "vmlinux", "kernel");
    ret = run_command_build(&in, &rc, why, sizeof(why));
    CHECK(ret == 0 && rc.tree && strcmp(rc.modules_dir, dir) == 0 &&
              rc.nr_modules == 6,
          "vmlinux's tree: %d %s %s %zu", ret, why, rc.modules_dir,
          rc.nr_modules);
    if (ret == 0) {
        run_command_free(&rc);
    }
    snprintf(kernel, sizeof(kernel), "%s/fs/vmlinux", dir);
    write_file(dir, "fs/vmlinux", "kernel");
    ret = run_command_build(&in, &rc, why, sizeof(why));
    CHECK(ret == 0 && !rc.tree && rc.nr_modules == 0,
          "a vmlinux not at a tree's top: %d %s", ret, why);
    if (ret == 0) {
        run_command_free(&rc);
    }
    snprintf(kernel, sizeof(kernel), "%s/arch/x86/boot/bzImage", dir);
    /* Not a tree: no modules at all (built-in drivers assumed). */
    snprintf(path, sizeof(path), "%s/modules.order", dir);
    unlink(path);
    ret = run_command_build(&in, &rc, why, sizeof(why));
    CHECK(ret == 0 && !rc.tree && rc.nr_modules == 0, "no tree: %d %s", ret,
          why);
    if (ret == 0) {
        run_command_free(&rc);
    }
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    CHECK(system(path) == 0, "cleanup");
}

int main(void)
{
    test_kmod();
    test_modinfo();
    test_build_tree();
    test_cpio();
    test_build();
    printf("test_run_command: %u failures\n", unit_failures);
    return unit_failures ? 1 : 0;
}
