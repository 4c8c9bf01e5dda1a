/* SPDX-License-Identifier: MIT */
/*
 * RAMBlocks: host memory behind RAM and ROM regions, its three backends
 * (anonymous, memfd, hugetlbfs), prealloc, the huge page pool check and
 * the process-wide registry that owns the ram_addr space.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <mntent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "mem/dirty.h"
#include "mem/ramblock.h"

/*
 * Values from <linux/magic.h>, <linux/memfd.h> and <asm/mman-common.h>,
 * spelled out here because those headers clash with glibc's definitions
 * of the same flags and older glibc lacks some of them.
 */
#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

/* Prealloc reports progress (and checks for errors) this often. */
#define PREALLOC_CHUNK (128 * MIB)

/* memfd_create() refuses names longer than 249 bytes. */
#define MEMFD_NAME_MAX 200

#define HUGEPAGES_SYSFS "/sys/kernel/mm/hugepages"

struct ram_block {
    char *name;
    void *host;
    ram_addr_t offset;
    uint64_t used_length;
    uint64_t max_length;
    uint64_t page_size;
    int fd;
    unsigned flags;
    enum ram_backend backend;
    /* One bit per 4 KiB page of max_length; fixed for the block's life. */
    struct dirty_bitmap *dirty;
    /* Next block in the registry, in ram_addr order. */
    struct ram_block *next;
};

/*
 * The registry: every live block, sorted by ram_addr offset, so that a
 * first-fit walk finds a free ram_addr range and lookups need no other
 * index (a machine has a handful of blocks). ram_list_lock protects the
 * list links, every block's offset and used_length (written by resize).
 */
static pthread_mutex_t ram_list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ram_block *ram_list;

static uint64_t host_page_size(void)
{
    return (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Write one line into (why) (if given), formatted like printf. */
__attribute__((format(printf, 3, 4))) static void
set_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (!why || whylen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* "4 KiB", "2 MiB", "1 GiB" or "12345 bytes" for (v) into (buf). */
static const char *fmt_size(char *buf, size_t len, uint64_t v)
{
    if (v != 0 && v % GIB == 0) {
        snprintf(buf, len, "%" PRIu64 " GiB", v / GIB);
    } else if (v != 0 && v % MIB == 0) {
        snprintf(buf, len, "%" PRIu64 " MiB", v / MIB);
    } else if (v != 0 && v % KIB == 0) {
        snprintf(buf, len, "%" PRIu64 " KiB", v / KIB);
    } else {
        snprintf(buf, len, "%" PRIu64 " bytes", v);
    }
    return buf;
}

/* Round (v) up to a multiple of the power of two (align); false on wrap. */
static bool align_up(uint64_t v, uint64_t align, uint64_t *out)
{
    uint64_t r;

    if (__builtin_add_overflow(v, align - 1, &r)) {
        return false;
    }
    *out = r & ~(align - 1);
    return true;
}

const char *ram_backend_name(enum ram_backend backend)
{
    switch (backend) {
    case RAM_BACKEND_ANON:
        return "anon";
    case RAM_BACKEND_MEMFD:
        return "memfd";
    case RAM_BACKEND_HUGETLBFS:
        return "hugetlbfs";
    }
    return "?";
}

int ram_backend_from_name(const char *s, enum ram_backend *out)
{
    static const enum ram_backend all[] = {
        RAM_BACKEND_ANON,
        RAM_BACKEND_MEMFD,
        RAM_BACKEND_HUGETLBFS,
    };

    if (!s) {
        return -EINVAL;
    }
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(s, ram_backend_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    }
    return -EINVAL;
}

/* --- registry ----------------------------------------------------------- */

/*
 * Give (rb) the first ram_addr range, aligned to its page size, that holds
 * its maximum length, and link it in order. Called with ram_list_lock held.
 */
static int ram_list_insert_locked(struct ram_block *rb)
{
    struct ram_block **link;
    ram_addr_t cand = 0;
    uint64_t last;

    for (link = &ram_list; *link; link = &(*link)->next) {
        const struct ram_block *b = *link;
        uint64_t end;

        if (cand <= b->offset && b->offset - cand >= rb->max_length) {
            break;
        }
        /* b's range ends at offset + max_length, which cannot wrap. */
        end = b->offset + b->max_length;
        if (!align_up(end, rb->page_size, &cand)) {
            return -ENOSPC;
        }
    }
    if (__builtin_add_overflow(cand, rb->max_length - 1, &last)) {
        return -ENOSPC;
    }
    rb->offset = cand;
    rb->next = *link;
    *link = rb;
    return 0;
}

/* Unlink (rb). Called with ram_list_lock held. */
static void ram_list_remove_locked(struct ram_block *rb)
{
    for (struct ram_block **link = &ram_list; *link; link = &(*link)->next) {
        if (*link == rb) {
            *link = rb->next;
            rb->next = NULL;
            return;
        }
    }
}

struct ram_block *ram_block_from_host(const void *host, uint64_t *offset)
{
    uintptr_t h = (uintptr_t)host;
    struct ram_block *found = NULL;
    uint64_t off = 0;

    pthread_mutex_lock(&ram_list_lock);
    for (struct ram_block *b = ram_list; b; b = b->next) {
        uintptr_t start = (uintptr_t)b->host;

        if (h >= start && (uint64_t)(h - start) < b->used_length) {
            found = b;
            off = (uint64_t)(h - start);
            break;
        }
    }
    pthread_mutex_unlock(&ram_list_lock);
    if (found && offset) {
        *offset = off;
    }
    return found;
}

struct ram_block *ram_block_from_ram_addr(ram_addr_t addr, uint64_t *offset)
{
    struct ram_block *found = NULL;
    uint64_t off = 0;

    pthread_mutex_lock(&ram_list_lock);
    for (struct ram_block *b = ram_list; b; b = b->next) {
        if (addr < b->offset) {
            /* Sorted: no later block can hold (addr). */
            break;
        }
        if (addr - b->offset < b->used_length) {
            found = b;
            off = addr - b->offset;
            break;
        }
    }
    pthread_mutex_unlock(&ram_list_lock);
    if (found && offset) {
        *offset = off;
    }
    return found;
}

size_t ram_block_count(void)
{
    size_t n = 0;

    pthread_mutex_lock(&ram_list_lock);
    for (const struct ram_block *b = ram_list; b; b = b->next) {
        n++;
    }
    pthread_mutex_unlock(&ram_list_lock);
    return n;
}

/* --- huge page pools and hugetlbfs mounts -------------------------------- */

/* Read one unsigned decimal number from the sysfs file (path). */
static int read_sysfs_u64(const char *path, uint64_t *out)
{
    FILE *f = fopen(path, "re");
    uint64_t v;
    int n;

    if (!f) {
        return -errno;
    }
    n = fscanf(f, "%" SCNu64, &v);
    fclose(f);
    if (n != 1) {
        return -EIO;
    }
    *out = v;
    return 0;
}

/*
 * Check that the pool of (page)-sized huge pages can supply (needed) pages
 * now: free minus reserved, plus whatever overcommit may still add. A
 * shared hugetlb mapping reserves its pages at mmap time, so this is the
 * number that decides between a working mapping and ENOMEM (or a SIGBUS
 * later for mappings that cannot reserve).
 */
static int hugepage_pool_check(const char *what, uint64_t page, uint64_t needed,
                               char *why, size_t whylen)
{
    char dir[128], path[192], sz[32];
    uint64_t nr_free = 0, resv = 0, overcommit = 0, surplus = 0, avail;
    struct stat st;
    int ret;

    fmt_size(sz, sizeof(sz), page);
    snprintf(dir, sizeof(dir), HUGEPAGES_SYSFS "/hugepages-%" PRIu64 "kB",
             page / KIB);
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        set_why(why, whylen,
                "%s: no %s huge page pool on this host (%s does not exist)",
                what, sz, dir);
        return -ENOENT;
    }
    snprintf(path, sizeof(path), "%s/free_hugepages", dir);
    ret = read_sysfs_u64(path, &nr_free);
    if (ret == 0) {
        snprintf(path, sizeof(path), "%s/resv_hugepages", dir);
        ret = read_sysfs_u64(path, &resv);
    }
    if (ret < 0) {
        set_why(why, whylen, "%s: cannot read %s: %s", what, path,
                strerror(-ret));
        return ret;
    }
    /* Overcommit is optional information: absent means none. */
    snprintf(path, sizeof(path), "%s/nr_overcommit_hugepages", dir);
    if (read_sysfs_u64(path, &overcommit) < 0) {
        overcommit = 0;
    }
    snprintf(path, sizeof(path), "%s/surplus_hugepages", dir);
    if (read_sysfs_u64(path, &surplus) < 0) {
        surplus = 0;
    }
    avail = nr_free > resv ? nr_free - resv : 0;
    if (overcommit > surplus) {
        avail += overcommit - surplus;
    }
    if (needed > avail) {
        set_why(why, whylen,
                "%s: %" PRIu64 " free %s pages needed, %" PRIu64
                " available: raise %s/nr_hugepages",
                what, needed, sz, avail, dir);
        return -ENOMEM;
    }
    return 0;
}

/*
 * Find the first hugetlbfs mount in /proc/mounts (with page size (page)
 * unless it is 0) and copy its path into (buf).
 */
static int hugetlbfs_find_mount(const char *name, uint64_t page, char *buf,
                                size_t len, char *why, size_t whylen)
{
    char line[4096], sz[32];
    struct mntent ent;
    bool any = false;
    FILE *f;

    f = setmntent("/proc/mounts", "re");
    if (!f) {
        int err = -errno;

        set_why(why, whylen,
                "ram block \"%s\": hugetlbfs: cannot read /proc/mounts: %s",
                name, strerror(-err));
        return err;
    }
    while (getmntent_r(f, &ent, line, sizeof(line))) {
        struct statfs sfs;

        if (strcmp(ent.mnt_type, "hugetlbfs") != 0) {
            continue;
        }
        any = true;
        if (page != 0 &&
            (statfs(ent.mnt_dir, &sfs) < 0 || (uint64_t)sfs.f_bsize != page)) {
            continue;
        }
        if ((size_t)snprintf(buf, len, "%s", ent.mnt_dir) >= len) {
            continue;
        }
        endmntent(f);
        return 0;
    }
    endmntent(f);
    if (any) {
        set_why(why, whylen,
                "ram block \"%s\": hugetlbfs: no hugetlbfs mount with %s "
                "pages in /proc/mounts: mount one (mount -t hugetlbfs -o "
                "pagesize=%s none DIR) or give a mem_path",
                name, fmt_size(sz, sizeof(sz), page), sz);
    } else {
        set_why(why, whylen,
                "ram block \"%s\": hugetlbfs: no hugetlbfs mount in "
                "/proc/mounts: mount one (mount -t hugetlbfs none DIR) or "
                "give a mem_path",
                name);
    }
    return -ENOENT;
}

/* Check that (dir) is on hugetlbfs and return its page size in *page. */
static int hugetlbfs_page_size(const char *name, const char *dir,
                               uint64_t *page, char *why, size_t whylen)
{
    struct statfs sfs;
    uint64_t bsize;

    if (statfs(dir, &sfs) < 0) {
        int err = -errno;

        set_why(why, whylen, "ram block \"%s\": hugetlbfs mem path %s: %s",
                name, dir, strerror(-err));
        return err;
    }
    if ((uint64_t)sfs.f_type != HUGETLBFS_MAGIC) {
        set_why(why, whylen,
                "ram block \"%s\": hugetlbfs mem path %s is not a hugetlbfs "
                "mount (filesystem type 0x%" PRIx64 ")",
                name, dir, (uint64_t)sfs.f_type);
        return -EINVAL;
    }
    bsize = (uint64_t)sfs.f_bsize;
    if (bsize == 0 || (bsize & (bsize - 1)) != 0) {
        set_why(why, whylen,
                "ram block \"%s\": hugetlbfs: %s reports page size %" PRIu64,
                name, dir, bsize);
        return -EINVAL;
    }
    *page = bsize;
    return 0;
}

/* --- backends ------------------------------------------------------------ */

/* Everything ram_block_alloc() works out before it maps anything. */
struct ram_plan {
    const struct ram_block_opts *opts;
    const char *name;
    uint64_t size;
    uint64_t max_size;
    uint64_t page;
    bool hugetlb;
    /* HUGETLBFS: the directory the file goes in. */
    char dir[PATH_MAX];
};

/* Check the option combination and work out the page size. */
static int ram_plan_options(struct ram_plan *p, char *why, size_t whylen)
{
    const struct ram_block_opts *o = p->opts;
    const char *be = ram_backend_name(o->backend);
    int ret;

    if (o->backend != RAM_BACKEND_ANON && o->backend != RAM_BACKEND_MEMFD &&
        o->backend != RAM_BACKEND_HUGETLBFS) {
        set_why(why, whylen, "ram block \"%s\": unknown backend %d", p->name,
                (int)o->backend);
        return -EINVAL;
    }
    if (o->hugepage_size != 0 && o->hugepage_size != 2 * MIB &&
        o->hugepage_size != GIB) {
        char sz[32];

        set_why(why, whylen,
                "ram block \"%s\": huge page size %s is not supported (use "
                "2M or 1G)",
                p->name, fmt_size(sz, sizeof(sz), o->hugepage_size));
        return -EINVAL;
    }
    if (o->backend == RAM_BACKEND_ANON && o->hugepage_size != 0) {
        set_why(why, whylen,
                "ram block \"%s\": a huge page size needs the memfd or "
                "hugetlbfs backend (anon memory can use thp instead)",
                p->name);
        return -EINVAL;
    }
    if (o->thp &&
        (o->backend == RAM_BACKEND_HUGETLBFS || o->hugepage_size != 0)) {
        set_why(why, whylen,
                "ram block \"%s\": thp and hugetlb pages exclude each other",
                p->name);
        return -EINVAL;
    }
    if (o->mem_path && o->backend != RAM_BACKEND_HUGETLBFS) {
        set_why(why, whylen,
                "ram block \"%s\": a mem path needs the hugetlbfs backend, "
                "not %s",
                p->name, be);
        return -EINVAL;
    }

    p->page = host_page_size();
    if (o->backend == RAM_BACKEND_MEMFD && o->hugepage_size != 0) {
        p->page = o->hugepage_size;
        p->hugetlb = true;
    } else if (o->backend == RAM_BACKEND_HUGETLBFS) {
        if (o->mem_path) {
            if ((size_t)snprintf(p->dir, sizeof(p->dir), "%s", o->mem_path) >=
                sizeof(p->dir)) {
                set_why(why, whylen,
                        "ram block \"%s\": hugetlbfs: mem path too long",
                        p->name);
                return -ENAMETOOLONG;
            }
        } else {
            ret = hugetlbfs_find_mount(p->name, o->hugepage_size, p->dir,
                                       sizeof(p->dir), why, whylen);
            if (ret < 0) {
                return ret;
            }
        }
        ret = hugetlbfs_page_size(p->name, p->dir, &p->page, why, whylen);
        if (ret < 0) {
            return ret;
        }
        if (o->hugepage_size != 0 && o->hugepage_size != p->page) {
            char want[32], have[32];

            set_why(why, whylen,
                    "ram block \"%s\": hugetlbfs mem path %s has %s pages, "
                    "but %s pages were asked for",
                    p->name, p->dir, fmt_size(have, sizeof(have), p->page),
                    fmt_size(want, sizeof(want), o->hugepage_size));
            return -EINVAL;
        }
        p->hugetlb = true;
    }
    return 0;
}

/* Check the sizes against each other and the page size. */
static int ram_plan_sizes(const struct ram_plan *p, char *why, size_t whylen)
{
    char pg[32], sz[32];

    fmt_size(pg, sizeof(pg), p->page);
    if (p->size == 0) {
        set_why(why, whylen, "ram block \"%s\": size is 0", p->name);
        return -EINVAL;
    }
    if (p->max_size < p->size) {
        set_why(why, whylen,
                "ram block \"%s\": maximum size 0x%" PRIx64
                " is below the size 0x%" PRIx64,
                p->name, p->max_size, p->size);
        return -EINVAL;
    }
    if (p->size % p->page != 0) {
        set_why(why, whylen,
                "ram block \"%s\": size %s (0x%" PRIx64
                ") is not a multiple of the %s page size",
                p->name, fmt_size(sz, sizeof(sz), p->size), p->size, pg);
        return -EINVAL;
    }
    if (p->max_size % p->page != 0) {
        set_why(why, whylen,
                "ram block \"%s\": maximum size %s (0x%" PRIx64
                ") is not a multiple of the %s page size",
                p->name, fmt_size(sz, sizeof(sz), p->max_size), p->max_size,
                pg);
        return -EINVAL;
    }
    if (p->max_size > SIZE_MAX || p->max_size > (uint64_t)INT64_MAX) {
        set_why(why, whylen,
                "ram block \"%s\": maximum size 0x%" PRIx64 " is too large",
                p->name, p->max_size);
        return -EINVAL;
    }
    return 0;
}

/*
 * Private or shared anonymous memory; from 2 MiB up, 2 MiB-aligned. KVM
 * maps a guest range with a huge page only where the host's huge page
 * lines up with the guest's (their addresses agree modulo 2 MiB), and a
 * guest's RAM starts at a 2 MiB boundary: an unaligned mapping would get
 * 4 KiB guest mappings alone, a fault for each.
 */
static int ram_map_anon(const struct ram_plan *p, struct ram_block *rb,
                        char *why, size_t whylen)
{
    int flags = MAP_ANONYMOUS | MAP_NORESERVE;
    size_t len = (size_t)p->max_size;
    size_t align = len >= 2 * MIB ? 2 * MIB : 0;
    size_t head = 0;
    uint8_t *host;

    flags |= p->opts->shared ? MAP_SHARED : MAP_PRIVATE;
    host = mmap(NULL, len + align, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (host == MAP_FAILED) {
        int err = -errno;

        set_why(why, whylen,
                "ram block \"%s\": anon: mmap of 0x%" PRIx64 " bytes: %s",
                p->name, p->max_size, strerror(-err));
        return err;
    }
    if (align) {
        /* Keep the aligned part of the larger mapping. */
        head = (align - ((uintptr_t)host & (align - 1))) & (align - 1);
        if (head) {
            munmap(host, head);
        }
        munmap(host + head + len, align - head); /* head < align */
    }
    rb->host = host + head;
    return 0;
}

/* A sealed memfd, optionally hugetlb, sized to the maximum. */
static int ram_map_memfd(const struct ram_plan *p, struct ram_block *rb,
                         char *why, size_t whylen)
{
    unsigned mfd = MFD_CLOEXEC | MFD_ALLOW_SEALING;
    char fdname[MEMFD_NAME_MAX + 1];
    void *host;
    int fd, err;

    if (p->hugetlb) {
        /* MFD_HUGE_2MB and MFD_HUGE_1GB encode log2 of the page size. */
        mfd |= MFD_HUGETLB |
               ((unsigned)__builtin_ctzll(p->page) << MFD_HUGE_SHIFT);
    }
    snprintf(fdname, sizeof(fdname), "%s", p->name);
    fd = memfd_create(fdname, mfd);
    if (fd < 0) {
        err = -errno;
        set_why(why, whylen, "ram block \"%s\": memfd_create%s: %s", p->name,
                p->hugetlb ? " (MFD_HUGETLB)" : "", strerror(-err));
        return err;
    }
    if (ftruncate(fd, (off_t)p->max_size) < 0) {
        err = -errno;
        set_why(why, whylen,
                "ram block \"%s\": memfd: ftruncate to 0x%" PRIx64 ": %s",
                p->name, p->max_size, strerror(-err));
        goto err_close;
    }
    /*
     * Fix the size for good: nobody holding the fd can shrink the file
     * under the guest (which would SIGBUS the VMM) or grow it.
     */
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        err = -errno;
        set_why(why, whylen, "ram block \"%s\": memfd: F_ADD_SEALS: %s",
                p->name, strerror(-err));
        goto err_close;
    }
    host = mmap(NULL, (size_t)p->max_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                fd, 0);
    if (host == MAP_FAILED) {
        err = -errno;
        set_why(why, whylen,
                "ram block \"%s\": memfd: mmap of 0x%" PRIx64 " bytes: %s",
                p->name, p->max_size, strerror(-err));
        goto err_close;
    }
    rb->host = host;
    rb->fd = fd;
    return 0;

err_close:
    close(fd);
    return err;
}

/* An unlinked file in a hugetlbfs directory, sized to the maximum. */
static int ram_map_hugetlbfs(const struct ram_plan *p, struct ram_block *rb,
                             char *why, size_t whylen)
{
    char path[PATH_MAX];
    void *host;
    int fd, err;

    if ((size_t)snprintf(path, sizeof(path), "%s/vmm-ram.XXXXXX", p->dir) >=
        sizeof(path)) {
        set_why(why, whylen, "ram block \"%s\": hugetlbfs: %s: path too long",
                p->name, p->dir);
        return -ENAMETOOLONG;
    }
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        err = -errno;
        set_why(why, whylen,
                "ram block \"%s\": hugetlbfs: cannot create a "
                "file in %s: %s",
                p->name, p->dir, strerror(-err));
        return err;
    }
    /* The fd keeps the file alive; no name is left behind on any exit. */
    unlink(path);
    if (ftruncate(fd, (off_t)p->max_size) < 0) {
        err = -errno;
        set_why(why, whylen,
                "ram block \"%s\": hugetlbfs: ftruncate to 0x%" PRIx64 ": %s",
                p->name, p->max_size, strerror(-err));
        goto err_close;
    }
    host = mmap(NULL, (size_t)p->max_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                fd, 0);
    if (host == MAP_FAILED) {
        err = -errno;
        set_why(why, whylen,
                "ram block \"%s\": hugetlbfs: mmap of 0x%" PRIx64
                " bytes in %s: %s",
                p->name, p->max_size, p->dir, strerror(-err));
        goto err_close;
    }
    rb->host = host;
    rb->fd = fd;
    return 0;

err_close:
    close(fd);
    return err;
}

/*
 * Touch [start, start + len) of (rb) for writing, so that every page is
 * allocated now. MADV_POPULATE_WRITE (Linux 5.14) does it in the kernel
 * and reports a short pool as an error; older kernels get one write per
 * page that keeps the byte's value.
 */
static int ram_block_populate(struct ram_block *rb, uint64_t start,
                              uint64_t len, ram_block_progress_fn progress,
                              void *opaque, char *why, size_t whylen)
{
    uint64_t chunk = PREALLOC_CHUNK;
    bool use_madvise = true;
    uint64_t done = 0;

    if (chunk < rb->page_size) {
        chunk = rb->page_size;
    }
    while (done < len) {
        uint64_t n = len - done < chunk ? len - done : chunk;
        uint8_t *p = (uint8_t *)rb->host + start + done;

        if (use_madvise && madvise(p, (size_t)n, MADV_POPULATE_WRITE) < 0) {
            int err = -errno;

            if (err != -EINVAL) {
                set_why(why, whylen,
                        "ram block \"%s\": prealloc at offset 0x%" PRIx64
                        ": %s",
                        rb->name, start + done, strerror(-err));
                return err;
            }
            /* Kernel without MADV_POPULATE_WRITE: touch instead. */
            use_madvise = false;
        }
        if (!use_madvise) {
            for (uint64_t off = 0; off < n; off += rb->page_size) {
                /* A locked or with 0: one write fault, value kept. */
                __atomic_fetch_or(p + off, 0, __ATOMIC_RELAXED);
            }
        }
        done += n;
        if (progress) {
            progress(opaque, done, len);
        }
    }
    return 0;
}

/* Give [start, start + len) of (rb) back to the kernel. */
static void ram_block_discard(struct ram_block *rb, uint64_t start,
                              uint64_t len)
{
    uint8_t *p = (uint8_t *)rb->host + start;

    /*
     * Best effort: the length change has already happened, and a failed
     * discard only leaves memory resident. MADV_DONTNEED alone would keep
     * the pages of a file (or shared anon memory) allocated.
     */
    if (rb->fd >= 0) {
        if (fallocate(rb->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      (off_t)start, (off_t)len) == 0) {
            return;
        }
    } else if (rb->flags & RAM_BLOCK_SHARED) {
        if (madvise(p, (size_t)len, MADV_REMOVE) == 0) {
            return;
        }
    }
    madvise(p, (size_t)len, MADV_DONTNEED);
}

/* --- public API ---------------------------------------------------------- */

/* Undo a backend's mapping: the memory and, for file backends, the fd. */
static void ram_block_unmap(struct ram_block *rb)
{
    munmap(rb->host, (size_t)rb->max_length);
    if (rb->fd >= 0) {
        close(rb->fd);
        rb->fd = -1;
    }
}

/*
 * The plan for a block: options checked, sizes rounded to the backend's
 * page, and the huge page pool checked before anything is mapped.
 */
static int ram_plan_make(const char *name, uint64_t size, uint64_t max_size,
                         const struct ram_block_opts *opts,
                         struct ram_plan **out, char *why, size_t whylen)
{
    static const struct ram_block_opts defaults;
    struct ram_plan *plan;
    int ret;

    /* The plan holds a PATH_MAX buffer: keep it off the stack. */
    plan = calloc(1, sizeof(*plan));
    if (!plan) {
        set_why(why, whylen, "ram block: out of memory");
        return -ENOMEM;
    }
    plan->opts = opts ? opts : &defaults;
    plan->name = name ? name : "";
    plan->size = size;
    plan->max_size = max_size;

    ret = ram_plan_options(plan, why, whylen);
    if (ret == 0) {
        ret = ram_plan_sizes(plan, why, whylen);
    }
    if (ret == 0 && plan->hugetlb) {
        char what[128];

        /* A shared hugetlb mapping reserves its whole length at mmap. */
        snprintf(what, sizeof(what), "ram block \"%.64s\": %s", plan->name,
                 ram_backend_name(plan->opts->backend));
        ret = hugepage_pool_check(what, plan->page, plan->max_size / plan->page,
                                  why, whylen);
    }
    if (ret < 0) {
        free(plan);
        return ret;
    }
    *out = plan;
    return 0;
}

/* A block for (plan), not yet mapped: name, dirty bitmap, sizes, flags. */
static int ram_block_new(const struct ram_plan *plan, struct ram_block **out,
                         char *why, size_t whylen)
{
    struct ram_block *rb = calloc(1, sizeof(*rb));
    int ret = -ENOMEM;

    if (rb) {
        rb->name = strdup(plan->name);
    }
    if (rb && rb->name) {
        ret = dirty_bitmap_new(plan->max_size >> DIRTY_PAGE_SHIFT, &rb->dirty);
    }
    if (ret < 0) {
        set_why(why, whylen, "ram block \"%s\": out of memory", plan->name);
        if (rb) {
            free(rb->name);
        }
        free(rb);
        return ret;
    }
    rb->fd = -1;
    rb->used_length = plan->size;
    rb->max_length = plan->max_size;
    rb->page_size = plan->page;
    rb->backend = plan->opts->backend;
    if (plan->max_size > plan->size) {
        rb->flags |= RAM_BLOCK_RESIZEABLE;
    }
    if (plan->hugetlb) {
        rb->flags |= RAM_BLOCK_HUGETLB;
    }
    if (plan->opts->shared || rb->backend != RAM_BACKEND_ANON) {
        rb->flags |= RAM_BLOCK_SHARED;
    }
    *out = rb;
    return 0;
}

/* Map (rb) with its backend, then THP advice and preallocation if asked;
 * on failure nothing stays mapped or open. */
static int ram_block_map(struct ram_plan *plan, struct ram_block *rb, char *why,
                         size_t whylen)
{
    int ret = -EINVAL;

    switch (rb->backend) {
    case RAM_BACKEND_ANON:
        ret = ram_map_anon(plan, rb, why, whylen);
        break;
    case RAM_BACKEND_MEMFD:
        ret = ram_map_memfd(plan, rb, why, whylen);
        break;
    case RAM_BACKEND_HUGETLBFS:
        ret = ram_map_hugetlbfs(plan, rb, why, whylen);
        break;
    }
    if (ret < 0) {
        return ret;
    }
    /* Huge pages: --mem-thp insists on them (a kernel without THP is an
     * error); anonymous memory asks anyway, as a hint (as QEMU's RAM
     * does): where THP is "madvise" it gets them at all, and where it is
     * "always" (with the default defrag setting) the kernel compacts for
     * them at a fault instead of falling back to 4 KiB pages once memory
     * is fragmented. A refused hint loses nothing. */
    if ((plan->opts->thp || rb->backend == RAM_BACKEND_ANON) &&
        madvise(rb->host, (size_t)rb->max_length, MADV_HUGEPAGE) < 0 &&
        plan->opts->thp) {
        ret = -errno;
        set_why(why, whylen,
                "ram block \"%s\": thp: madvise(MADV_HUGEPAGE): %s (kernel "
                "without transparent huge pages?)",
                plan->name, strerror(-ret));
    } else if (plan->opts->prealloc) {
        rb->flags |= RAM_BLOCK_PREALLOC;
        ret = ram_block_populate(rb, 0, rb->used_length, plan->opts->progress,
                                 plan->opts->progress_opaque, why, whylen);
    }
    if (ret < 0) {
        ram_block_unmap(rb);
    }
    return ret;
}

int ram_block_alloc(const char *name, uint64_t size, uint64_t max_size,
                    const struct ram_block_opts *opts, struct ram_block **out,
                    char *why, size_t whylen)
{
    struct ram_plan *plan;
    struct ram_block *rb = NULL;
    int ret;

    ret = ram_plan_make(name, size, max_size, opts, &plan, why, whylen);
    if (ret < 0) {
        return ret;
    }
    ret = ram_block_new(plan, &rb, why, whylen);
    if (ret == 0) {
        ret = ram_block_map(plan, rb, why, whylen);
        if (ret < 0) {
            dirty_bitmap_free(rb->dirty);
            free(rb->name);
            free(rb);
            rb = NULL;
        }
    }
    if (rb) {
        pthread_mutex_lock(&ram_list_lock);
        ret = ram_list_insert_locked(rb);
        pthread_mutex_unlock(&ram_list_lock);
        if (ret < 0) {
            set_why(why, whylen,
                    "ram block \"%s\": no room for 0x%" PRIx64
                    " bytes in the ram_addr space",
                    plan->name, max_size);
            ram_block_unmap(rb);
            dirty_bitmap_free(rb->dirty);
            free(rb->name);
            free(rb);
        } else {
            *out = rb;
        }
    }
    free(plan);
    return ret;
}

int ram_block_alloc_anon(const char *name, uint64_t size, uint64_t max_size,
                         struct ram_block **out)
{
    return ram_block_alloc(name, size, max_size, NULL, out, NULL, 0);
}

void ram_block_free(struct ram_block *rb)
{
    if (!rb) {
        return;
    }
    pthread_mutex_lock(&ram_list_lock);
    ram_list_remove_locked(rb);
    pthread_mutex_unlock(&ram_list_lock);
    munmap(rb->host, (size_t)rb->max_length);
    if (rb->fd >= 0) {
        close(rb->fd);
    }
    dirty_bitmap_free(rb->dirty);
    free(rb->name);
    free(rb);
}

void *ram_block_host(const struct ram_block *rb)
{
    return rb->host;
}

uint64_t ram_block_used_length(const struct ram_block *rb)
{
    return rb->used_length;
}

uint64_t ram_block_max_length(const struct ram_block *rb)
{
    return rb->max_length;
}

uint64_t ram_block_page_size(const struct ram_block *rb)
{
    return rb->page_size;
}

ram_addr_t ram_block_offset(const struct ram_block *rb)
{
    return rb->offset;
}

const char *ram_block_name(const struct ram_block *rb)
{
    return rb->name;
}

unsigned ram_block_flags(const struct ram_block *rb)
{
    return rb->flags;
}

int ram_block_fd(const struct ram_block *rb)
{
    return rb->fd;
}

enum ram_backend ram_block_backend(const struct ram_block *rb)
{
    return rb->backend;
}

struct dirty_bitmap *ram_block_dirty(const struct ram_block *rb)
{
    return rb->dirty;
}

int ram_block_mark_dirty(struct ram_block *rb, uint64_t offset, uint64_t len)
{
    uint64_t first, last;

    if (len == 0) {
        return 0;
    }
    if (offset >= rb->max_length || len > rb->max_length - offset) {
        return -ERANGE;
    }
    first = offset >> DIRTY_PAGE_SHIFT;
    last = (offset + len - 1) >> DIRTY_PAGE_SHIFT;
    return dirty_bitmap_set(rb->dirty, first, last - first + 1);
}

int ram_block_resize(struct ram_block *rb, uint64_t size)
{
    uint64_t old = rb->used_length;
    int ret;

    if (size == 0 || size > rb->max_length || size % rb->page_size) {
        return -EINVAL;
    }
    if (size == old) {
        return 0;
    }
    if (size < old) {
        /* Hide the tail from lookups before its memory goes away. */
        pthread_mutex_lock(&ram_list_lock);
        rb->used_length = size;
        pthread_mutex_unlock(&ram_list_lock);
        ram_block_discard(rb, size, old - size);
        return 0;
    }
    if (rb->flags & RAM_BLOCK_PREALLOC) {
        ret = ram_block_populate(rb, old, size - old, NULL, NULL, NULL, 0);
        if (ret < 0) {
            /* Give back what was touched; the block keeps its length. */
            ram_block_discard(rb, old, size - old);
            return ret;
        }
    }
    pthread_mutex_lock(&ram_list_lock);
    rb->used_length = size;
    pthread_mutex_unlock(&ram_list_lock);
    return 0;
}
