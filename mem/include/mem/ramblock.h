/* SPDX-License-Identifier: MIT */
/*
 * RAMBlocks: the host memory behind RAM and ROM regions. Each block has a
 * name, a host mapping, an offset in the single ram_addr space, a used and
 * a maximum length (the mapping reserves the maximum so that a resize
 * never moves it), a page size and, for file-backed memory, an fd. A block
 * comes from one of three backends: private (or shared) anonymous memory,
 * a sealed memfd (optionally hugetlb), or an unlinked file on a hugetlbfs
 * mount. Huge page pools are checked before mapping, so a short pool is a
 * clear error at start-up instead of a SIGBUS in a running guest.
 *
 * Registry: every live block is listed in one process-wide registry (the
 * equivalent of QEMU's ram_list), protected by a mutex, which hands out
 * ram_addr ranges and answers lookups by host address and by ram_addr.
 * Blocks of several machines living in one process therefore share one
 * ram_addr space; ram_block_free() removes a block and gives its range
 * back, so machines created and destroyed one after another leave nothing
 * behind. A pointer returned by a lookup stays valid until its owner
 * frees the block: the registry does not reference-count blocks, and
 * freeing a block that another thread is still using is the owner's bug.
 */
#ifndef MEM_RAMBLOCK_H
#define MEM_RAMBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/types.h"

struct dirty_bitmap;
struct ram_block;

/* How a block was created. */
enum ram_block_flags {
    RAM_BLOCK_SHARED = 1u << 0,
    RAM_BLOCK_HUGETLB = 1u << 1,
    RAM_BLOCK_PREALLOC = 1u << 2,
    RAM_BLOCK_RESIZEABLE = 1u << 3,
};

/* Where a block's memory comes from. */
enum ram_backend {
    /* Anonymous mmap, private unless (shared) is set. */
    RAM_BACKEND_ANON = 0,
    /* memfd_create(), sealed against grow and shrink, mapped shared. */
    RAM_BACKEND_MEMFD,
    /* An unlinked file on a hugetlbfs mount, mapped shared. */
    RAM_BACKEND_HUGETLBFS,
};

/*
 * Called while a block is preallocated: (done) of (total) bytes have been
 * touched. Called after every chunk of at most 128 MiB (rounded up to the
 * page size) and last with done == total. mem/ never prints; the caller
 * decides whether the size is worth a progress line.
 */
typedef void (*ram_block_progress_fn)(void *opaque, uint64_t done,
                                      uint64_t total);

/*
 * How to back a block. A zeroed struct (or NULL opts) means private
 * anonymous memory with 4 KiB pages.
 */
struct ram_block_opts {
    enum ram_backend backend;
    /* ANON only: map MAP_SHARED (memfd and hugetlbfs are always shared). */
    bool shared;
    /* Touch every page of the used length before returning. */
    bool prealloc;
    /* ANON or non-hugetlb MEMFD: ask for transparent huge pages, and fail
     * where the kernel has none (ANON asks anyway, as a mere hint). */
    bool thp;
    /*
     * MEMFD: 0 for normal pages, or 2 MiB / 1 GiB for MFD_HUGETLB.
     * HUGETLBFS: 0 to use any mount, otherwise the mount's page size must
     * match (and the default mount is the first one with this size).
     * ANON: must be 0.
     */
    uint64_t hugepage_size;
    /*
     * HUGETLBFS only: directory on a hugetlbfs mount, or NULL for the
     * first hugetlbfs mount listed in /proc/mounts.
     */
    const char *mem_path;
    /* Optional progress report for prealloc, with its opaque argument. */
    ram_block_progress_fn progress;
    void *progress_opaque;
};

/**
 * ram_block_alloc: create a block and enter it in the registry.
 * @name: block name, copied (also the memfd name)
 * @size: initial used length in bytes, a non-zero multiple of the page size
 * @max_size: maximum length (>= @size, page multiple); the mapping, the
 *            file size and the ram_addr range all reserve this much, and
 *            the block is RAM_BLOCK_RESIZEABLE when it exceeds @size; a
 *            huge page block reserves @max_size worth of pool pages
 * @opts: backend choice, or NULL for private anonymous memory
 * @out: receives the block on success, untouched on failure
 * @why: on failure, receives one line naming what failed and why (for
 *       example the sysfs knob to raise); untouched on success; may be NULL
 * @whylen: size of @why
 *
 * Returns 0 or -errno: -EINVAL for bad sizes or options, -ENOENT when no
 * hugetlbfs mount or huge page pool exists, -ENOMEM when a huge page pool
 * is too small, or the error of the failing system call.
 */
__attribute__((warn_unused_result)) int
ram_block_alloc(const char *name, uint64_t size, uint64_t max_size,
                const struct ram_block_opts *opts, struct ram_block **out,
                char *why, size_t whylen);

/*
 * Allocate a block of (size) bytes that may later grow to (max_size)
 * (equal to (size) for a fixed block) from private anonymous memory
 * (MAP_NORESERVE). Both must be non-zero multiples of the host page size.
 * Same as ram_block_alloc() with NULL opts and no message.
 */
__attribute__((warn_unused_result)) int
ram_block_alloc_anon(const char *name, uint64_t size, uint64_t max_size,
                     struct ram_block **out);

/*
 * Remove (rb) from the registry, release its ram_addr range, unmap it and
 * close its fd. NULL is ignored.
 */
void ram_block_free(struct ram_block *rb);

/*
 * The block whose used length contains the host address (host), or NULL.
 * On success *offset (if offset is not NULL) receives the offset of
 * (host) in the block; on failure it is untouched. Takes the registry lock.
 */
struct ram_block *ram_block_from_host(const void *host, uint64_t *offset);

/*
 * The block whose used length contains (addr) in the ram_addr space, or
 * NULL. On success *offset (if not NULL) receives the offset of (addr) in
 * the block; on failure it is untouched. Takes the registry lock.
 */
struct ram_block *ram_block_from_ram_addr(ram_addr_t addr, uint64_t *offset);

/* Number of blocks in the registry (for leak checks). */
size_t ram_block_count(void);

/* The block's host mapping. */
void *ram_block_host(const struct ram_block *rb);

/* Bytes in use, and the most the block may grow to. */
uint64_t ram_block_used_length(const struct ram_block *rb);
uint64_t ram_block_max_length(const struct ram_block *rb);

/* The block's page size in bytes. */
uint64_t ram_block_page_size(const struct ram_block *rb);

/* The block's offset in the ram_addr space. */
ram_addr_t ram_block_offset(const struct ram_block *rb);

/* The block's name. */
const char *ram_block_name(const struct ram_block *rb);

/* Flags (enum ram_block_flags) of the block. */
unsigned ram_block_flags(const struct ram_block *rb);

/*
 * The fd behind the block (memfd or hugetlbfs file), or -1 for anonymous
 * memory. Owned by the block: do not close it.
 */
int ram_block_fd(const struct ram_block *rb);

/* The backend the block was created with. */
enum ram_backend ram_block_backend(const struct ram_block *rb);

/*
 * Change the used length to (size), within the maximum and page-aligned.
 * Memory beyond the new length is discarded when shrinking (and given back
 * to the file or pool for memfd and hugetlbfs blocks); a grown part of a
 * prealloc block is touched before returning. The new length is published
 * under the registry lock (a shrink before its memory is discarded, a grow
 * after it is ready), so lookups never resolve into a discarded tail; the
 * block's owner must still stop using the tail itself (commit the memory
 * map first). Returns 0 or -EINVAL for a bad size, or the prealloc error.
 */
__attribute__((warn_unused_result)) int ram_block_resize(struct ram_block *rb,
                                                         uint64_t size);

/*
 * The block's dirty bitmap (mem/dirty.h): one bit per 4 KiB page of its
 * maximum length, clean at first, allocated and freed with the block, so
 * that it never moves while the block lives. Dirty-log syncs fold KVM's
 * pages into it; memory-API writes to ranges with logging on set bits in
 * it (see as_write()); consumers test-and-clear it.
 */
struct dirty_bitmap *ram_block_dirty(const struct ram_block *rb);

/*
 * Mark every 4 KiB page that [offset, offset + len) of (rb) touches as
 * dirty. len == 0 is a no-op. -ERANGE when the range leaves the block's
 * maximum length.
 */
__attribute__((warn_unused_result)) int
ram_block_mark_dirty(struct ram_block *rb, uint64_t offset, uint64_t len);

/* "anon", "memfd" or "hugetlbfs"; "?" for an unknown value. */
const char *ram_backend_name(enum ram_backend backend);

/*
 * Parse (s) ("anon", "memfd" or "hugetlbfs") into *out.
 * Returns 0, or -EINVAL with *out untouched.
 */
__attribute__((warn_unused_result)) int
ram_backend_from_name(const char *s, enum ram_backend *out);

#endif /* MEM_RAMBLOCK_H */
