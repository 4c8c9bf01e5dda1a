/* SPDX-License-Identifier: MIT */
/*
 * RAMBlocks: the host memory behind RAM and ROM regions. Each block has a
 * name, a host mapping, an offset in the single ram_addr space, a used and
 * a maximum length (the mapping reserves the maximum so that a resize
 * never moves it) and a page size.
 */
#ifndef MEM_RAMBLOCK_H
#define MEM_RAMBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/types.h"

struct ram_block;

/* How a block was created. */
enum ram_block_flags {
    RAM_BLOCK_SHARED = 1u << 0,
    RAM_BLOCK_HUGETLB = 1u << 1,
    RAM_BLOCK_PREALLOC = 1u << 2,
    RAM_BLOCK_RESIZEABLE = 1u << 3,
};

/*
 * Allocate a block of (size) bytes that may later grow to (max_size)
 * (equal to (size) for a fixed block) from private anonymous memory
 * (MAP_NORESERVE). Both must be non-zero multiples of the host page size.
 */
__attribute__((warn_unused_result)) int
ram_block_alloc_anon(const char *name, uint64_t size, uint64_t max_size,
                     struct ram_block **out);

/* Unmap and free (rb). NULL is ignored. */
void ram_block_free(struct ram_block *rb);

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
 * Change the used length to (size), within the maximum and page-aligned.
 * Memory beyond the new length is discarded when shrinking.
 */
__attribute__((warn_unused_result)) int ram_block_resize(struct ram_block *rb,
                                                         uint64_t size);

#endif /* MEM_RAMBLOCK_H */
