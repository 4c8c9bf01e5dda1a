/* SPDX-License-Identifier: MIT */
/*
 * RAMBlock tests: the anon and memfd backends (contents, flags, seals,
 * sharing, anon 2 MiB alignment and its MADV_HUGEPAGE hint), lookups by
 * host address and by ram_addr at every edge, ram_addr allocation (first
 * fit, alignment, reuse after free), resize and prealloc,
 * option and size validation with its one-line messages, hugetlbfs paths
 * that are missing or not hugetlbfs, huge page pools too small (refused
 * before anything is mapped), concurrent use of the registry and 200
 * alloc/free cycles without fd or mapping growth.
 *
 * Huge page pools are host-wide. Cases that change them run only when
 * /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages is writable
 * (otherwise they print a note and are skipped); the old values are put
 * back at the end, from a signal handler on SIGABRT/SIGTERM/SIGINT, and
 * from the sanitizers' death callback, and a hugetlbfs mount made here is
 * unmounted the same way. Needs no /dev/kvm.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <mntent.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

#include "mem/ramblock.h"
#include "mem/types.h"
#include "unit.h"

static unsigned unit_failures;

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

#define POOL_2M "/sys/kernel/mm/hugepages/hugepages-2048kB"
#define POOL_1G "/sys/kernel/mm/hugepages/hugepages-1048576kB"

static uint64_t page;

/* --- host state that must be put back ------------------------------------ */

/*
 * A sysfs value changed by the test, with its old text. Kept in plain
 * arrays so the restore path can run from a signal handler using only
 * open/write/close.
 */
struct saved_knob {
    volatile sig_atomic_t active;
    char path[160];
    char value[32];
};

static struct saved_knob saved_knobs[4];
static char mount_dir[PATH_MAX];
static volatile sig_atomic_t mount_active;

/* Write (s) to (path). Async-signal-safe. */
static int write_text(const char *path, const char *s)
{
    size_t len = strlen(s);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        return -errno;
    }
    n = write(fd, s, len);
    if (n < 0) {
        int err = -errno;

        close(fd);
        return err;
    }
    close(fd);
    return (size_t)n == len ? 0 : -EIO;
}

/* Unmount and remove the temporary hugetlbfs mount. Async-signal-safe. */
static void unmount_temp(void)
{
    if (mount_active) {
        umount2(mount_dir, MNT_DETACH);
        rmdir(mount_dir);
        mount_active = 0;
    }
}

/* Undo every change to the host this test made. Async-signal-safe. */
static void restore_host(void)
{
    unmount_temp();
    for (size_t i = sizeof(saved_knobs) / sizeof(saved_knobs[0]); i-- > 0;) {
        if (saved_knobs[i].active) {
            write_text(saved_knobs[i].path, saved_knobs[i].value);
            saved_knobs[i].active = 0;
        }
    }
}

static void on_fatal_signal(int sig)
{
    restore_host();
    /* SA_RESETHAND put the default action back. */
    raise(sig);
}

static void install_restore_hooks(void)
{
    static const int sigs[] = {
        SIGABRT,
        SIGTERM,
        SIGINT,
        SIGHUP,
#if !defined(__SANITIZE_ADDRESS__)
        /* ASan reports these itself, then dies
           through the death callback below. */
        SIGSEGV,
        SIGBUS,
#endif
        SIGQUIT
    };
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaction(sigs[i], &sa, NULL);
    }
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_set_death_callback(restore_host);
#endif
}

static int read_u64(const char *path, uint64_t *out)
{
    FILE *f = fopen(path, "re");
    int n;

    if (!f) {
        return -errno;
    }
    n = fscanf(f, "%" SCNu64, out);
    fclose(f);
    return n == 1 ? 0 : -EIO;
}

/*
 * Set the sysfs knob (path) to (v), remembering its old value the first
 * time. Returns 0 or -errno.
 */
static int knob_set(const char *path, uint64_t v)
{
    struct saved_knob *slot = NULL;
    char text[32];
    uint64_t old;
    int ret;

    for (size_t i = 0; i < sizeof(saved_knobs) / sizeof(saved_knobs[0]); i++) {
        if (saved_knobs[i].active && strcmp(saved_knobs[i].path, path) == 0) {
            slot = &saved_knobs[i];
            break;
        }
    }
    if (!slot) {
        ret = read_u64(path, &old);
        if (ret < 0) {
            return ret;
        }
        for (size_t i = 0; i < sizeof(saved_knobs) / sizeof(saved_knobs[0]);
             i++) {
            if (!saved_knobs[i].active) {
                slot = &saved_knobs[i];
                break;
            }
        }
        if (!slot) {
            return -ENOSPC;
        }
        snprintf(slot->path, sizeof(slot->path), "%s", path);
        snprintf(slot->value, sizeof(slot->value), "%" PRIu64 "\n", old);
        slot->active = 1;
    }
    snprintf(text, sizeof(text), "%" PRIu64 "\n", v);
    return write_text(path, text);
}

/* Put back every knob and check that each took its old value again. */
static void knobs_restore_checked(void)
{
    for (size_t i = 0; i < sizeof(saved_knobs) / sizeof(saved_knobs[0]); i++) {
        struct saved_knob *k = &saved_knobs[i];
        uint64_t want, now = 0;

        if (!k->active) {
            continue;
        }
        want = strtoull(k->value, NULL, 10);
        CHECK(write_text(k->path, k->value) == 0, "restore %s", k->path);
        k->active = 0;
        CHECK(read_u64(k->path, &now) == 0 && now == want,
              "%s is %" PRIu64 " after restore, was %" PRIu64, k->path, now,
              want);
    }
}

/* --- helpers ---------------------------------------------------------------
 */

static unsigned count_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    unsigned n = 0;

    if (!d) {
        return 0;
    }
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static unsigned count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "re");
    unsigned n = 0;
    int c;

    if (!f) {
        return 0;
    }
    while ((c = fgetc(f)) != EOF) {
        n += c == '\n';
    }
    fclose(f);
    return n;
}

/*
 * Check a failed allocation: the errno, a message that is one non-empty
 * line containing (needle) (and (needle2) unless NULL), and (out) left
 * alone.
 */
static void check_refused(const char *label, int ret, int want_errno,
                          const char *why, const struct ram_block *out,
                          const struct ram_block *sentinel, const char *needle,
                          const char *needle2)
{
    CHECK(ret == -want_errno, "%s: ret %d, want %d", label, ret, -want_errno);
    CHECK(out == sentinel, "%s: out-param touched on failure", label);
    CHECK(why[0] != '\0', "%s: no message", label);
    CHECK(strchr(why, '\n') == NULL, "%s: message is not one line: %s", label,
          why);
    CHECK(strstr(why, needle) != NULL, "%s: message lacks \"%s\": %s", label,
          needle, why);
    if (needle2) {
        CHECK(strstr(why, needle2) != NULL, "%s: message lacks \"%s\": %s",
              label, needle2, why);
    }
    printf("  %-28s -> %s\n", label, why);
}

/* Fill (len) bytes at (p) with a pattern derived from (seed). */
static void fill(uint8_t *p, uint64_t len, unsigned seed)
{
    for (uint64_t i = 0; i < len; i += 512) {
        p[i] = (uint8_t)(seed + i / 512);
    }
    p[len - 1] = (uint8_t)(seed ^ 0x5a);
}

static bool verify(const uint8_t *p, uint64_t len, unsigned seed)
{
    for (uint64_t i = 0; i < len - 1; i += 512) {
        if (p[i] != (uint8_t)(seed + i / 512)) {
            return false;
        }
    }
    return p[len - 1] == (uint8_t)(seed ^ 0x5a);
}

/* Number of resident pages of [p, p + len). */
static uint64_t resident_pages(const void *p, uint64_t len)
{
    uint64_t n = len / page, count = 0;
    unsigned char *vec = calloc(n, 1);

    if (!vec) {
        return 0;
    }
    if (mincore((void *)(uintptr_t)p, (size_t)len, vec) == 0) {
        for (uint64_t i = 0; i < n; i++) {
            count += vec[i] & 1;
        }
    }
    free(vec);
    return count;
}

/*
 * Check both lookups of (rb) at its start, inside, last byte and end, and
 * that an address just before or past it does not resolve to it.
 */
static void check_lookups(const char *label, struct ram_block *rb)
{
    uint8_t *host = ram_block_host(rb);
    uint64_t used = ram_block_used_length(rb);
    ram_addr_t base = ram_block_offset(rb);
    static const uint64_t inside[] = {0, 1, 4095, 4096};
    struct ram_block *other;
    uint64_t off;

    for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
        uint64_t o = inside[i] < used ? inside[i] : used - 1;

        off = UINT64_MAX;
        CHECK(ram_block_from_host(host + o, &off) == rb && off == o,
              "%s: host+0x%" PRIx64 " -> off 0x%" PRIx64, label, o, off);
        off = UINT64_MAX;
        CHECK(ram_block_from_ram_addr(base + o, &off) == rb && off == o,
              "%s: ram_addr 0x%" PRIx64 " -> off 0x%" PRIx64, label, base + o,
              off);
    }
    off = UINT64_MAX;
    CHECK(ram_block_from_host(host + used - 1, &off) == rb && off == used - 1,
          "%s: last byte by host", label);
    off = UINT64_MAX;
    CHECK(ram_block_from_ram_addr(base + used - 1, &off) == rb &&
              off == used - 1,
          "%s: last byte by ram_addr", label);
    /* Another block may sit right after: only require "not this one". */
    off = 12345;
    other = ram_block_from_host(host + used, &off);
    CHECK(other != rb, "%s: end by host resolves to the block", label);
    CHECK(other != NULL || off == 12345,
          "%s: offset written on a failed lookup", label);
    CHECK(ram_block_from_host(host - 1, NULL) != rb,
          "%s: host-1 resolves to the block", label);
    CHECK(ram_block_from_ram_addr(base + used, NULL) != rb,
          "%s: end by ram_addr resolves to the block", label);
    if (base > 0) {
        CHECK(ram_block_from_ram_addr(base - 1, NULL) != rb,
              "%s: ram_addr-1 resolves to the block", label);
    }
}

/* --- cases ------------------------------------------------------------------
 */

static void test_names(void)
{
    enum ram_backend be = RAM_BACKEND_HUGETLBFS;

    CHECK(ram_backend_from_name("anon", &be) == 0 && be == RAM_BACKEND_ANON,
          "parse anon");
    CHECK(ram_backend_from_name("memfd", &be) == 0 && be == RAM_BACKEND_MEMFD,
          "parse memfd");
    CHECK(ram_backend_from_name("hugetlbfs", &be) == 0 &&
              be == RAM_BACKEND_HUGETLBFS,
          "parse hugetlbfs");
    be = RAM_BACKEND_MEMFD;
    CHECK(ram_backend_from_name("shm", &be) == -EINVAL &&
              be == RAM_BACKEND_MEMFD,
          "bad name accepted or out touched");
    CHECK(ram_backend_from_name(NULL, &be) == -EINVAL, "NULL name");
    CHECK(strcmp(ram_backend_name(RAM_BACKEND_MEMFD), "memfd") == 0, "name");
}

static void test_anon(void)
{
    struct ram_block *rb = NULL;
    char why[256] = "";
    int local;
    uint64_t off = 777;

    CHECK(ram_block_count() == 0, "registry not empty at start");
    CHECK(ram_block_alloc("anon", 16 * page, 16 * page, NULL, &rb, why,
                          sizeof(why)) == 0,
          "anon alloc: %s", why);
    if (!rb) {
        return;
    }
    CHECK(why[0] == '\0', "message written on success: %s", why);
    CHECK(strcmp(ram_block_name(rb), "anon") == 0, "name");
    CHECK(ram_block_fd(rb) == -1, "anon has an fd");
    CHECK(ram_block_page_size(rb) == page, "page size");
    CHECK(ram_block_flags(rb) == 0, "flags 0x%x", ram_block_flags(rb));
    CHECK(ram_block_backend(rb) == RAM_BACKEND_ANON, "backend");
    CHECK(ram_block_offset(rb) == 0, "first block not at ram_addr 0");
    CHECK(ram_block_count() == 1, "count");
    fill(ram_block_host(rb), 16 * page, 3);
    CHECK(verify(ram_block_host(rb), 16 * page, 3), "anon contents");
    check_lookups("anon", rb);
    CHECK(ram_block_from_host(&local, &off) == NULL && off == 777,
          "stack address resolved");
    CHECK(ram_block_from_ram_addr(UINT64_MAX, &off) == NULL && off == 777,
          "ram_addr UINT64_MAX resolved");
    ram_block_free(rb);
    CHECK(ram_block_count() == 0, "count after free");
    ram_block_free(NULL);

    /* The old entry point still works and agrees. */
    rb = NULL;
    CHECK(ram_block_alloc_anon("legacy", page, 2 * page, &rb) == 0,
          "alloc_anon");
    if (rb) {
        CHECK(ram_block_flags(rb) == RAM_BLOCK_RESIZEABLE, "flags 0x%x",
              ram_block_flags(rb));
        ram_block_free(rb);
    }
    CHECK(ram_block_alloc_anon("legacy", 0, 0, &rb) == -EINVAL, "size 0");
}

/* Write (v) at (p) in a child process; true if the child exited 0. */
static bool child_write(uint8_t *p, uint8_t v)
{
    pid_t pid = fork();
    int status;

    if (pid == 0) {
        *p = v;
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        return false;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_anon_shared_thp(void)
{
    struct ram_block_opts o = {.backend = RAM_BACKEND_ANON};
    struct ram_block *rb = NULL;
    char why[256] = "";
    uint8_t *h;

    /* Private: a child's write stays in the child. */
    CHECK(ram_block_alloc("priv", page, page, &o, &rb, why, sizeof(why)) == 0,
          "%s", why);
    if (rb) {
        h = ram_block_host(rb);
        h[0] = 1;
        CHECK(child_write(h, 2) && h[0] == 1, "private write leaked");
        ram_block_free(rb);
    }
    /* Shared: the parent sees it. */
    o.shared = true;
    rb = NULL;
    CHECK(ram_block_alloc("shared", page, page, &o, &rb, why, sizeof(why)) == 0,
          "%s", why);
    if (rb) {
        h = ram_block_host(rb);
        h[0] = 1;
        CHECK(child_write(h, 2) && h[0] == 2, "shared write not seen");
        CHECK(ram_block_flags(rb) == RAM_BLOCK_SHARED, "flags 0x%x",
              ram_block_flags(rb));
        ram_block_free(rb);
    }
    /* THP: accepted for anon and for (non-hugetlb) memfd. */
    o.shared = false;
    o.thp = true;
    rb = NULL;
    CHECK(ram_block_alloc("thp", 4 * MIB, 4 * MIB, &o, &rb, why, sizeof(why)) ==
              0,
          "anon thp: %s", why);
    if (rb) {
        fill(ram_block_host(rb), 4 * MIB, 9);
        CHECK(verify(ram_block_host(rb), 4 * MIB, 9), "thp contents");
        ram_block_free(rb);
    }
    o.backend = RAM_BACKEND_MEMFD;
    rb = NULL;
    CHECK(ram_block_alloc("thp-memfd", 4 * MIB, 4 * MIB, &o, &rb, why,
                          sizeof(why)) == 0,
          "memfd thp: %s", why);
    ram_block_free(rb);
}

/* True when all of [addr, addr + len) is mapped (msync says ENOMEM where
 * some of it is not). */
static bool mapped(void *addr, size_t len)
{
    return msync(addr, len, MS_ASYNC) == 0;
}

/* 1 when the mapping holding addr has the two-letter VmFlags flag in
 * /proc/self/smaps, 0 when not, -1 when no mapping holds addr. */
static int vm_flag(const void *addr, const char *flag)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    char line[512];
    bool in = false;
    int ret = -1;

    if (!f) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;

        /* A mapping's first line: "lo-hi perms ..."; no field's name
         * ("Size:", "VmFlags:") reads as two hex numbers. */
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
            continue;
        }
        if (in && strncmp(line, "VmFlags:", 8) == 0) {
            char want[8];

            snprintf(want, sizeof(want), " %s", flag);
            ret = strstr(line + 8, want) ? 1 : 0;
            break;
        }
    }
    fclose(f);
    return ret;
}

/*
 * Anonymous blocks from 2 MiB up start at a 2 MiB boundary (KVM maps a
 * guest huge page only where host and guest addresses agree modulo
 * 2 MiB), the over-allocation made to align them is given back, and they
 * are advised MADV_HUGEPAGE without asking.
 */
static void test_anon_aligned(void)
{
    static const uint64_t sizes[] = {2 * MIB, 6 * MIB + 4096, 64 * MIB};
    bool thp = access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0;

    for (int shared = 0; shared < 2; shared++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            struct ram_block_opts o = {.backend = RAM_BACKEND_ANON,
                                       .shared = shared};
            struct ram_block *rb = NULL;
            char why[256] = "";
            uint64_t size = sizes[i];
            uint8_t *h;

            CHECK(ram_block_alloc("aligned", size, size, &o, &rb, why,
                                  sizeof(why)) == 0,
                  "%s", why);
            if (!rb) {
                continue;
            }
            h = ram_block_host(rb);
            CHECK(((uintptr_t)h & (2 * MIB - 1)) == 0,
                  "%s %" PRIu64 " bytes at %p: not 2 MiB-aligned",
                  shared ? "shared" : "private", size, (void *)h);
            CHECK(mapped(h, size), "block not mapped whole");
            /* At least the page after the block was part of the larger
             * mapping: it must be gone. */
            CHECK(!mapped(h + size, (size_t)page),
                  "%s %" PRIu64 ": the page after the block is still mapped",
                  shared ? "shared" : "private", size);
            if (thp) {
                CHECK(vm_flag(h, "hg") == 1,
                      "%s %" PRIu64 ": no MADV_HUGEPAGE (VmFlags hg)",
                      shared ? "shared" : "private", size);
            }
            fill(h, size, 3);
            CHECK(verify(h, size, 3), "contents");
            ram_block_free(rb);
            CHECK(!mapped(h, (size_t)page), "block still mapped after free");
        }
    }
}

static void test_memfd(void)
{
    struct ram_block_opts o = {.backend = RAM_BACKEND_MEMFD};
    struct ram_block *rb = NULL;
    char why[256] = "";
    uint8_t buf[4];
    int fd, seals;

    CHECK(ram_block_alloc("memfd", 8 * page, 8 * page, &o, &rb, why,
                          sizeof(why)) == 0,
          "memfd alloc: %s", why);
    if (!rb) {
        return;
    }
    fd = ram_block_fd(rb);
    CHECK(fd >= 0, "memfd has no fd");
    CHECK(ram_block_flags(rb) == RAM_BLOCK_SHARED, "flags 0x%x",
          ram_block_flags(rb));
    CHECK(ram_block_backend(rb) == RAM_BACKEND_MEMFD, "backend");
    fill(ram_block_host(rb), 8 * page, 5);
    CHECK(verify(ram_block_host(rb), 8 * page, 5), "memfd contents");
    /* The mapping is the file: a write shows up through the fd. */
    ((uint8_t *)ram_block_host(rb))[3 * page + 7] = 0xab;
    CHECK(pread(fd, buf, 1, (off_t)(3 * page + 7)) == 1 && buf[0] == 0xab,
          "memfd mapping not backed by the fd");
    seals = fcntl(fd, F_GET_SEALS);
    CHECK(seals == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), "seals 0x%x",
          seals);
    CHECK(ftruncate(fd, (off_t)page) < 0 && errno == EPERM,
          "sealed memfd shrank");
    CHECK(ftruncate(fd, (off_t)(16 * page)) < 0 && errno == EPERM,
          "sealed memfd grew");
    CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) < 0 && errno == EPERM,
          "seals not sealed");
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC, "memfd not close-on-exec");
    check_lookups("memfd", rb);
    ram_block_free(rb);
}

static void test_ram_addr_alloc(void)
{
    struct ram_block *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
    struct ram_block_opts mfd = {.backend = RAM_BACKEND_MEMFD};
    struct ram_block *all[4];
    uint64_t off;

    CHECK(ram_block_count() == 0, "registry not empty at start");
    CHECK(ram_block_alloc("a", page, page, NULL, &a, NULL, 0) == 0, "a");
    CHECK(ram_block_alloc("b", 3 * page, 3 * page, &mfd, &b, NULL, 0) == 0,
          "b");
    /* c uses 2 pages and reserves 5 for growth. */
    CHECK(ram_block_alloc("c", 2 * page, 5 * page, NULL, &c, NULL, 0) == 0,
          "c");
    if (!a || !b || !c) {
        goto out;
    }
    /* First fit in an empty registry packs them in order. */
    CHECK(ram_block_offset(a) == 0, "a at 0x%" PRIx64, ram_block_offset(a));
    CHECK(ram_block_offset(b) == page, "b at 0x%" PRIx64, ram_block_offset(b));
    CHECK(ram_block_offset(c) == 4 * page, "c at 0x%" PRIx64,
          ram_block_offset(c));
    CHECK(ram_block_flags(c) & RAM_BLOCK_RESIZEABLE, "c not resizeable");
    check_lookups("a", a);
    check_lookups("b", b);
    check_lookups("c", c);

    /* c's reserved tail has a ram_addr but no memory yet. */
    CHECK(ram_block_from_ram_addr(4 * page + 2 * page, NULL) == NULL,
          "unused tail of c resolves");
    CHECK(ram_block_from_ram_addr(9 * page, NULL) == NULL, "past c resolves");
    CHECK(ram_block_resize(c, 5 * page) == 0, "grow c");
    off = 0;
    CHECK(ram_block_from_ram_addr(8 * page + 1, &off) == c &&
              off == 4 * page + 1,
          "grown c lookup");
    CHECK(ram_block_from_host((uint8_t *)ram_block_host(c) + 4 * page, NULL) ==
              c,
          "grown c host lookup");
    ((uint8_t *)ram_block_host(c))[5 * page - 1] = 1;
    CHECK(ram_block_resize(c, 6 * page) == -EINVAL, "grow past max");
    CHECK(ram_block_resize(c, 0) == -EINVAL, "resize to 0");
    CHECK(ram_block_resize(c, page + 1) == -EINVAL, "unaligned resize");
    CHECK(ram_block_resize(c, 2 * page) == 0, "shrink c");
    CHECK(ram_block_from_ram_addr(6 * page, NULL) == NULL,
          "shrunk tail resolves");
    CHECK(ram_block_resize(c, 5 * page) == 0 &&
              ((uint8_t *)ram_block_host(c))[5 * page - 1] == 0,
          "shrink did not discard the tail");

    /* Free b: its hole is reused by a block that fits... */
    ram_block_free(b);
    b = NULL;
    CHECK(ram_block_from_ram_addr(page, NULL) == NULL, "freed b resolves");
    CHECK(ram_block_alloc("d", 2 * page, 2 * page, NULL, &d, NULL, 0) == 0,
          "d");
    CHECK(d && ram_block_offset(d) == page, "d not in b's hole: 0x%" PRIx64,
          d ? ram_block_offset(d) : 0);
    /* ...and one that does not fit goes after c's reservation. */
    CHECK(ram_block_alloc("e", 2 * page, 2 * page, NULL, &e, NULL, 0) == 0,
          "e");
    CHECK(e && ram_block_offset(e) == 9 * page, "e at 0x%" PRIx64,
          e ? ram_block_offset(e) : 0);
    if (!d || !e) {
        goto out;
    }

    /* No two reservations overlap. */
    all[0] = a;
    all[1] = c;
    all[2] = d;
    all[3] = e;
    for (int i = 0; i < 4; i++) {
        for (int j = i + 1; j < 4; j++) {
            uint64_t s1 = ram_block_offset(all[i]);
            uint64_t e1 = s1 + ram_block_max_length(all[i]);
            uint64_t s2 = ram_block_offset(all[j]);
            uint64_t e2 = s2 + ram_block_max_length(all[j]);

            CHECK(e1 <= s2 || e2 <= s1, "%s and %s overlap",
                  ram_block_name(all[i]), ram_block_name(all[j]));
        }
    }
    CHECK(ram_block_count() == 4, "count %zu", ram_block_count());
out:
    ram_block_free(a);
    ram_block_free(b);
    ram_block_free(c);
    ram_block_free(d);
    ram_block_free(e);
    CHECK(ram_block_count() == 0, "registry not empty at end");
}

/* A hugetlb block's ram_addr is aligned to its page size. */
static void check_aligned(struct ram_block *rb)
{
    CHECK(ram_block_offset(rb) % ram_block_page_size(rb) == 0,
          "ram_addr 0x%" PRIx64 " not aligned to 0x%" PRIx64,
          ram_block_offset(rb), ram_block_page_size(rb));
}

struct progress_log {
    unsigned calls;
    uint64_t last_done;
    uint64_t total;
    bool monotonic;
};

static void progress_cb(void *opaque, uint64_t done, uint64_t total)
{
    struct progress_log *log = opaque;

    if (done < log->last_done || done > total) {
        log->monotonic = false;
    }
    log->calls++;
    log->last_done = done;
    log->total = total;
}

static void test_prealloc(void)
{
    struct progress_log log = {.monotonic = true};
    struct ram_block_opts o = {
        .prealloc = true,
        .progress = progress_cb,
        .progress_opaque = &log,
    };
    uint64_t size = 130 * MIB;
    struct ram_block *rb = NULL;
    char why[256] = "";

    CHECK(ram_block_alloc("pre", size, size, &o, &rb, why, sizeof(why)) == 0,
          "prealloc: %s", why);
    if (rb) {
        CHECK(ram_block_flags(rb) & RAM_BLOCK_PREALLOC, "PREALLOC flag");
        CHECK(resident_pages(ram_block_host(rb), size) == size / page,
              "prealloc left %" PRIu64 " of %" PRIu64 " pages unmapped",
              size / page - resident_pages(ram_block_host(rb), size),
              size / page);
        ram_block_free(rb);
    }
    CHECK(log.calls == 2 && log.last_done == size && log.total == size &&
              log.monotonic,
          "progress: %u calls, last %" PRIu64 "/%" PRIu64, log.calls,
          log.last_done, log.total);

    /* Growing a prealloc memfd block touches the new part; shrinking
       punches it out of the file. */
    o.backend = RAM_BACKEND_MEMFD;
    o.progress = NULL;
    rb = NULL;
    CHECK(ram_block_alloc("pre-memfd", page, 8 * page, &o, &rb, why,
                          sizeof(why)) == 0,
          "prealloc memfd: %s", why);
    if (rb) {
        uint8_t *h = ram_block_host(rb);

        CHECK(resident_pages(h, page) == 1, "first page not resident");
        CHECK(resident_pages(h, 8 * page) == 1, "tail resident before grow");
        CHECK(ram_block_resize(rb, 8 * page) == 0, "grow");
        CHECK(resident_pages(h, 8 * page) == 8, "grown part not touched");
        CHECK(ram_block_resize(rb, 2 * page) == 0, "shrink");
        CHECK(resident_pages(h, 8 * page) == 2, "shrunk tail still resident");
        ram_block_free(rb);
    }
}

static void test_bad_options(void)
{
    struct ram_block *const sentinel = (struct ram_block *)&unit_failures;
    static const struct {
        const char *label;
        uint64_t size, max;
        struct ram_block_opts o;
        int err;
        const char *needle;
        const char *needle2;
    } cases[] = {
        {"size 0", 0, 0, {0}, EINVAL, "size is 0", "\"bad\""},
        {"max below size", 2 * 4096, 4096, {0}, EINVAL, "below the size", NULL},
        {"max 0", 4096, 0, {0}, EINVAL, "below the size", NULL},
        {"size unaligned", 4097, 8192, {0}, EINVAL, "not a multiple", "4 KiB"},
        {"max unaligned",
         4096,
         8193,
         {0},
         EINVAL,
         "maximum size 8193 bytes (0x2001)",
         "not a multiple"},
        {"max huge", 4096, UINT64_MAX - 4095, {0}, EINVAL, "too large", NULL},
        {"memfd size unaligned",
         4096 + 512,
         8192,
         {.backend = RAM_BACKEND_MEMFD},
         EINVAL,
         "not a multiple",
         NULL},
        /* Checked before the pool, so no pool is needed. */
        {"memfd 2M, 4K size",
         4096,
         4096,
         {.backend = RAM_BACKEND_MEMFD, .hugepage_size = 2 * MIB},
         EINVAL,
         "not a multiple of the 2 MiB page size",
         NULL},
        {"memfd 1G, 2M size",
         2 * MIB,
         2 * MIB,
         {.backend = RAM_BACKEND_MEMFD, .hugepage_size = GIB},
         EINVAL,
         "not a multiple of the 1 GiB page size",
         NULL},
        {"hugepage size 4M",
         4 * MIB,
         4 * MIB,
         {.backend = RAM_BACKEND_MEMFD, .hugepage_size = 4 * MIB},
         EINVAL,
         "not supported",
         "2M or 1G"},
        {"anon with hugepage size",
         2 * MIB,
         2 * MIB,
         {.hugepage_size = 2 * MIB},
         EINVAL,
         "memfd or hugetlbfs",
         NULL},
        {"thp with hugetlb memfd",
         2 * MIB,
         2 * MIB,
         {.backend = RAM_BACKEND_MEMFD, .hugepage_size = 2 * MIB, .thp = true},
         EINVAL,
         "thp",
         NULL},
        {"mem_path with anon",
         4096,
         4096,
         {.mem_path = "/dev/hugepages"},
         EINVAL,
         "hugetlbfs backend",
         NULL},
        {"unknown backend",
         4096,
         4096,
         {.backend = (enum ram_backend)42},
         EINVAL,
         "unknown backend",
         NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ram_block *rb = sentinel;
        char why[256] = "";
        int ret;

        ret = ram_block_alloc("bad", cases[i].size, cases[i].max, &cases[i].o,
                              &rb, why, sizeof(why));
        check_refused(cases[i].label, ret, cases[i].err, why, rb, sentinel,
                      cases[i].needle, cases[i].needle2);
        if (ret == 0 && rb != sentinel) {
            ram_block_free(rb);
        }
    }
    /* A NULL or short message buffer is fine. */
    {
        struct ram_block *rb = sentinel;
        char tiny[8];

        CHECK(ram_block_alloc("bad", 0, 0, NULL, &rb, NULL, 0) == -EINVAL,
              "NULL why");
        CHECK(ram_block_alloc("bad", 0, 0, NULL, &rb, tiny, sizeof(tiny)) ==
                      -EINVAL &&
                  strlen(tiny) == sizeof(tiny) - 1,
              "short why");
        CHECK(rb == sentinel, "out touched");
    }
    CHECK(ram_block_count() == 0, "refused blocks left in the registry");
}

static bool has_hugetlbfs_mount(void)
{
    FILE *f = setmntent("/proc/mounts", "re");
    struct mntent *m;
    bool any = false;

    if (!f) {
        return false;
    }
    while ((m = getmntent(f))) {
        any |= strcmp(m->mnt_type, "hugetlbfs") == 0;
    }
    endmntent(f);
    return any;
}

static void test_hugetlbfs_paths(void)
{
    struct ram_block *const sentinel = (struct ram_block *)&unit_failures;
    struct ram_block_opts o = {.backend = RAM_BACKEND_HUGETLBFS};
    struct ram_block *rb = sentinel;
    char dir[] = "/tmp/vmm-rb-XXXXXX";
    char why[512] = "";
    int ret;

    o.mem_path = "/nonexistent/vmm-hugepages";
    ret = ram_block_alloc("hp", 2 * MIB, 2 * MIB, &o, &rb, why, sizeof(why));
    check_refused("hugetlbfs missing dir", ret, ENOENT, why, rb, sentinel,
                  "/nonexistent/vmm-hugepages", "No such file");

    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    o.mem_path = dir;
    why[0] = '\0';
    ret = ram_block_alloc("hp", 2 * MIB, 2 * MIB, &o, &rb, why, sizeof(why));
    check_refused("hugetlbfs on tmp dir", ret, EINVAL, why, rb, sentinel,
                  "not a hugetlbfs mount", dir);
    CHECK(count_dir(dir) == 0, "file left in %s", dir);
    rmdir(dir);

    if (!has_hugetlbfs_mount()) {
        o.mem_path = NULL;
        why[0] = '\0';
        ret =
            ram_block_alloc("hp", 2 * MIB, 2 * MIB, &o, &rb, why, sizeof(why));
        check_refused("hugetlbfs no mount", ret, ENOENT, why, rb, sentinel,
                      "no hugetlbfs mount", "mem_path");
    } else {
        printf("  note: a hugetlbfs mount exists; \"no mount\" case skipped\n");
    }
}

/*
 * Ask for one page more than a pool can give now: refused with the knob
 * named, whatever the pool holds, without changing anything on the host.
 */
static void test_pool_short(const char *pool, uint64_t psize)
{
    struct ram_block *const sentinel = (struct ram_block *)&unit_failures;
    struct ram_block_opts o = {.backend = RAM_BACKEND_MEMFD,
                               .hugepage_size = psize};
    uint64_t nr_free = 0, resv = 0, over = 0, surplus = 0, avail;
    struct ram_block *rb = sentinel;
    char path[192], why[512] = "", label[64];
    struct stat st;
    int ret;

    snprintf(label, sizeof(label), "pool %" PRIu64 "%s short",
             psize >= GIB ? psize / GIB : psize / MIB,
             psize >= GIB ? "G" : "M");
    if (stat(pool, &st) < 0) {
        ret = ram_block_alloc("hp", psize, psize, &o, &rb, why, sizeof(why));
        check_refused(label, ret, ENOENT, why, rb, sentinel, "no ", pool);
        return;
    }
    snprintf(path, sizeof(path), "%s/free_hugepages", pool);
    CHECK(read_u64(path, &nr_free) == 0, "read %s", path);
    snprintf(path, sizeof(path), "%s/resv_hugepages", pool);
    CHECK(read_u64(path, &resv) == 0, "read %s", path);
    snprintf(path, sizeof(path), "%s/nr_overcommit_hugepages", pool);
    (void)read_u64(path, &over);
    snprintf(path, sizeof(path), "%s/surplus_hugepages", pool);
    (void)read_u64(path, &surplus);
    avail = (nr_free > resv ? nr_free - resv : 0) +
            (over > surplus ? over - surplus : 0);
    if ((avail + 1) > UINT64_MAX / psize / 2) {
        printf("  note: %s overcommits without limit; skipped\n", pool);
        return;
    }
    ret = ram_block_alloc("hp", (avail + 1) * psize, (avail + 1) * psize, &o,
                          &rb, why, sizeof(why));
    snprintf(path, sizeof(path), "%s/nr_hugepages", pool);
    check_refused(label, ret, ENOMEM, why, rb, sentinel, path, "needed");
}

/*
 * Empty the 2 MiB pool (if its knob is writable) and check that memfd
 * hugetlb is refused before mapping, with the knob named.
 */
static void test_pool_zero(void)
{
    struct ram_block *const sentinel = (struct ram_block *)&unit_failures;
    struct ram_block_opts o = {.backend = RAM_BACKEND_MEMFD,
                               .hugepage_size = 2 * MIB};
    struct ram_block *rb = sentinel;
    unsigned maps_before;
    char why[512] = "";
    uint64_t nr;
    int ret;

    if (access(POOL_2M "/nr_hugepages", W_OK) < 0) {
        printf("  note: " POOL_2M "/nr_hugepages not writable (%s); "
               "zero-pool case skipped\n",
               strerror(errno));
        return;
    }
    if (knob_set(POOL_2M "/nr_overcommit_hugepages", 0) < 0 ||
        knob_set(POOL_2M "/nr_hugepages", 0) < 0) {
        printf("  note: cannot empty the 2 MiB pool; zero-pool case "
               "skipped\n");
        return;
    }
    CHECK(read_u64(POOL_2M "/nr_hugepages", &nr) == 0, "read nr_hugepages");
    maps_before = count_maps();
    ret = ram_block_alloc("hp", 8 * MIB, 8 * MIB, &o, &rb, why, sizeof(why));
    check_refused("memfd 2M, zero pool", ret, ENOMEM, why, rb, sentinel,
                  "4 free 2 MiB pages needed, 0 available",
                  POOL_2M "/nr_hugepages");
    CHECK(count_maps() == maps_before, "a mapping was made or left");
}

/* Mount hugetlbfs (2 MiB pages) in a temporary directory. */
static bool mount_hugetlbfs(void)
{
    snprintf(mount_dir, sizeof(mount_dir), "/tmp/vmm-rb-hugetlbfs-XXXXXX");
    if (!mkdtemp(mount_dir)) {
        printf("  note: mkdtemp: %s\n", strerror(errno));
        return false;
    }
    if (mount("none", mount_dir, "hugetlbfs", 0, "pagesize=2M") < 0) {
        printf("  note: mount -t hugetlbfs: %s; hugetlbfs cases skipped\n",
               strerror(errno));
        rmdir(mount_dir);
        return false;
    }
    mount_active = 1;
    return true;
}

static void hugetlb_block_checks(const char *label, struct ram_block *rb,
                                 uint64_t size)
{
    CHECK(ram_block_page_size(rb) == 2 * MIB, "%s: page size 0x%" PRIx64, label,
          ram_block_page_size(rb));
    CHECK(ram_block_flags(rb) & RAM_BLOCK_HUGETLB, "%s: no HUGETLB flag",
          label);
    CHECK(ram_block_flags(rb) & RAM_BLOCK_SHARED, "%s: no SHARED flag", label);
    CHECK(ram_block_fd(rb) >= 0, "%s: no fd", label);
    check_aligned(rb);
    fill(ram_block_host(rb), size, 11);
    CHECK(verify(ram_block_host(rb), size, 11), "%s: contents", label);
    check_lookups(label, rb);
}

/*
 * With a 4-page 2 MiB pool: memfd hugetlb and a hugetlbfs file, prealloc
 * on huge pages, a request one page too big, and the zero pool for the
 * hugetlbfs backend. Root only.
 */
static void test_hugetlb_small_pool(void)
{
    struct ram_block *const sentinel = (struct ram_block *)&unit_failures;
    struct ram_block_opts o = {.backend = RAM_BACKEND_MEMFD,
                               .hugepage_size = 2 * MIB};
    struct ram_block *rb = NULL, *anon = NULL;
    char why[512] = "";
    uint64_t nr = 0, nr_free = 0;
    int ret;

    if (access(POOL_2M "/nr_hugepages", W_OK) < 0) {
        printf("  note: cannot set the 2 MiB pool; hugetlb cases skipped\n");
        return;
    }
    if (knob_set(POOL_2M "/nr_overcommit_hugepages", 0) < 0 ||
        knob_set(POOL_2M "/nr_hugepages", 4) < 0 ||
        read_u64(POOL_2M "/nr_hugepages", &nr) < 0 ||
        read_u64(POOL_2M "/free_hugepages", &nr_free) < 0 || nr != 4 ||
        nr_free != 4) {
        printf("  note: the 2 MiB pool did not become 4 free pages (%" PRIu64
               " of %" PRIu64 "); hugetlb cases skipped\n",
               nr_free, nr);
        return;
    }

    /*
     * A 4 KiB block first, so that first fit must skip to the next 2 MiB
     * boundary of the ram_addr space for the hugetlb block.
     */
    CHECK(ram_block_alloc("small", page, page, NULL, &anon, NULL, 0) == 0,
          "anon before hugetlb");
    /* memfd hugetlb: 2 pages. */
    CHECK(ram_block_alloc("hp-memfd", 4 * MIB, 4 * MIB, &o, &rb, why,
                          sizeof(why)) == 0,
          "memfd hugetlb: %s", why);
    if (rb) {
        int seals = fcntl(ram_block_fd(rb), F_GET_SEALS);

        CHECK(seals == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
              "hugetlb memfd seals 0x%x", seals);
        CHECK(ram_block_offset(rb) == 2 * MIB,
              "hugetlb block at ram_addr 0x%" PRIx64, ram_block_offset(rb));
        hugetlb_block_checks("hugetlb memfd", rb, 4 * MIB);
        ram_block_free(rb);
        rb = NULL;
    }
    o.prealloc = true;
    CHECK(ram_block_alloc("hp-pre", 6 * MIB, 6 * MIB, &o, &rb, why,
                          sizeof(why)) == 0,
          "memfd hugetlb prealloc: %s", why);
    if (rb) {
        CHECK(read_u64(POOL_2M "/free_hugepages", &nr_free) == 0 &&
                  nr_free == 1,
              "prealloc took %" PRIu64 " pages, want 3", 4 - nr_free);
        ram_block_free(rb);
        rb = NULL;
    }
    o.prealloc = false;
    /* One page more than the pool. */
    rb = sentinel;
    ret = ram_block_alloc("hp", 10 * MIB, 10 * MIB, &o, &rb, why, sizeof(why));
    check_refused("memfd 2M, pool of 4", ret, ENOMEM, why, rb, sentinel,
                  "5 free 2 MiB pages needed, 4 available", "nr_hugepages");
    /* The whole pool. */
    rb = NULL;
    CHECK(ram_block_alloc("hp-all", 8 * MIB, 8 * MIB, &o, &rb, why,
                          sizeof(why)) == 0,
          "whole pool: %s", why);
    ram_block_free(rb);
    rb = NULL;

    /* hugetlbfs file backend. */
    if (mount_hugetlbfs()) {
        struct ram_block_opts h = {.backend = RAM_BACKEND_HUGETLBFS,
                                   .mem_path = mount_dir};

        CHECK(ram_block_alloc("hp-file", 4 * MIB, 8 * MIB, &h, &rb, why,
                              sizeof(why)) == 0,
              "hugetlbfs: %s", why);
        if (rb) {
            CHECK(ram_block_backend(rb) == RAM_BACKEND_HUGETLBFS, "backend");
            CHECK(ram_block_flags(rb) & RAM_BLOCK_RESIZEABLE, "resizeable");
            CHECK(count_dir(mount_dir) == 0, "file not unlinked");
            hugetlb_block_checks("hugetlbfs", rb, 4 * MIB);
            CHECK(ram_block_resize(rb, 8 * MIB) == 0, "hugetlbfs grow");
            CHECK(ram_block_resize(rb, 8 * MIB - page) == -EINVAL,
                  "hugetlbfs resize to a 4K multiple");
            CHECK(ram_block_resize(rb, 2 * MIB) == 0, "hugetlbfs shrink");
            ram_block_free(rb);
            rb = NULL;
        }
        /* Default mount, chosen by page size. */
        h.mem_path = NULL;
        h.hugepage_size = 2 * MIB;
        CHECK(ram_block_alloc("hp-file2", 2 * MIB, 2 * MIB, &h, &rb, why,
                              sizeof(why)) == 0,
              "hugetlbfs default mount: %s", why);
        ram_block_free(rb);
        rb = NULL;
        /* A mount with other pages than asked for. */
        h.mem_path = mount_dir;
        h.hugepage_size = GIB;
        rb = sentinel;
        ret = ram_block_alloc("hp", GIB, GIB, &h, &rb, why, sizeof(why));
        check_refused("hugetlbfs page size clash", ret, EINVAL, why, rb,
                      sentinel, "2 MiB pages", "1 GiB");
        h.hugepage_size = 0;
        ret =
            ram_block_alloc("hp", 3 * MIB, 4 * MIB, &h, &rb, why, sizeof(why));
        check_refused("hugetlbfs 3M", ret, EINVAL, why, rb, sentinel,
                      "not a multiple of the 2 MiB page size", NULL);
        /* Zero pool, hugetlbfs backend. */
        CHECK(knob_set(POOL_2M "/nr_hugepages", 0) == 0, "empty the pool");
        ret =
            ram_block_alloc("hp", 2 * MIB, 2 * MIB, &h, &rb, why, sizeof(why));
        check_refused("hugetlbfs zero pool", ret, ENOMEM, why, rb, sentinel,
                      "1 free 2 MiB pages needed, 0 available",
                      POOL_2M "/nr_hugepages");
        CHECK(count_dir(mount_dir) == 0, "refused alloc left a file");
        CHECK(umount2(mount_dir, 0) == 0, "umount %s: %s", mount_dir,
              strerror(errno));
        rmdir(mount_dir);
        mount_active = 0;
    }
    ram_block_free(anon);
}

struct worker {
    pthread_t thread;
    unsigned id;
    unsigned errors;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct ram_block_opts o = {.backend = w->id % 2 ? RAM_BACKEND_MEMFD
                                                    : RAM_BACKEND_ANON};

    for (unsigned i = 0; i < 100; i++) {
        uint64_t size = (1 + (i + w->id) % 4) * page;
        struct ram_block *rb = NULL;
        uint64_t off = 0;
        uint8_t *h;

        if (ram_block_alloc("worker", size, size, &o, &rb, NULL, 0) < 0) {
            w->errors++;
            continue;
        }
        h = ram_block_host(rb);
        h[size - 1] = (uint8_t)w->id;
        if (ram_block_from_host(h + size - 1, &off) != rb || off != size - 1 ||
            ram_block_from_ram_addr(ram_block_offset(rb) + 1, &off) != rb ||
            off != 1) {
            w->errors++;
        }
        ram_block_free(rb);
    }
    return NULL;
}

static void test_threads(void)
{
    struct worker w[4];

    for (unsigned i = 0; i < 4; i++) {
        w[i].id = i;
        w[i].errors = 0;
        CHECK(pthread_create(&w[i].thread, NULL, worker_main, &w[i]) == 0,
              "pthread_create");
    }
    for (unsigned i = 0; i < 4; i++) {
        pthread_join(w[i].thread, NULL);
        CHECK(w[i].errors == 0, "worker %u: %u errors", i, w[i].errors);
    }
    CHECK(ram_block_count() == 0, "registry not empty after threads");
}

static void test_soak(void)
{
    struct ram_block_opts mfd = {.backend = RAM_BACKEND_MEMFD};
    unsigned fds_before = count_dir("/proc/self/fd");
    unsigned maps_before = count_maps();
    unsigned failures = 0;

    for (unsigned i = 0; i < 200; i++) {
        struct ram_block *ram = NULL, *rom = NULL, *hi = NULL;

        /* One "VM": RAM (memfd), a ROM and a resizeable block. */
        if (ram_block_alloc("pc.ram", 2 * MIB, 2 * MIB, &mfd, &ram, NULL, 0) <
                0 ||
            ram_block_alloc_anon("pc.bios", 64 * KIB, 64 * KIB, &rom) < 0 ||
            ram_block_alloc("hi", page, 16 * page, NULL, &hi, NULL, 0) < 0) {
            failures++;
        }
        if (ram) {
            ((uint8_t *)ram_block_host(ram))[i] = 1;
        }
        if (ram && ram_block_offset(ram) != 0) {
            failures++;
        }
        ram_block_free(hi);
        ram_block_free(rom);
        ram_block_free(ram);
    }
    CHECK(failures == 0, "%u failed cycles", failures);
    CHECK(ram_block_count() == 0, "blocks left after soak");
    CHECK(count_dir("/proc/self/fd") == fds_before,
          "fds grew from %u to %u over 200 cycles", fds_before,
          count_dir("/proc/self/fd"));
    CHECK(count_maps() == maps_before,
          "mappings grew from %u to %u over 200 cycles", maps_before,
          count_maps());
}

int main(void)
{
    page = (uint64_t)sysconf(_SC_PAGESIZE);
    install_restore_hooks();
    setvbuf(stdout, NULL, _IOLBF, 0);

    printf("names\n");
    test_names();
    printf("anon\n");
    test_anon();
    printf("anon shared/thp\n");
    test_anon_shared_thp();
    test_anon_aligned();
    printf("memfd\n");
    test_memfd();
    printf("ram_addr allocation\n");
    test_ram_addr_alloc();
    printf("prealloc\n");
    test_prealloc();
    printf("bad options\n");
    test_bad_options();
    printf("hugetlbfs paths\n");
    test_hugetlbfs_paths();
    printf("short pools\n");
    test_pool_short(POOL_2M, 2 * MIB);
    test_pool_short(POOL_1G, GIB);
    printf("zero pool\n");
    test_pool_zero();
    printf("hugetlb with a small pool\n");
    if (geteuid() == 0) {
        test_hugetlb_small_pool();
    } else {
        printf("  note: not root; hugetlb cases skipped\n");
    }
    unmount_temp();
    knobs_restore_checked();
    printf("threads\n");
    test_threads();
    printf("soak\n");
    test_soak();

    printf("test_ramblock: %s (%u failures)\n", unit_failures ? "FAIL" : "ok",
           unit_failures);
    return unit_failures ? 1 : 0;
}
