/* SPDX-License-Identifier: MIT */
/*
 * Address types shared by every module: guest-physical addresses, host
 * virtual addresses and offsets in the global RAMBlock space, so that a
 * prototype says which space a 64-bit number lives in.
 */
#ifndef MEM_TYPES_H
#define MEM_TYPES_H

#include <stdint.h>

/* A guest-physical address (or an I/O port number in the "io" space). */
typedef uint64_t gpa_t;
/* A host virtual address. */
typedef uintptr_t hva_t;
/* An offset in the single ram_addr space that all RAMBlocks share. */
typedef uint64_t ram_addr_t;

/*
 * Sizes that must express 2^64 (the root of the "memory" space) are kept as
 * unsigned 128-bit integers internally; on the API a size of UINT64_MAX
 * means 2^64, as in QEMU's memory_region_init().
 */
typedef unsigned __int128 mr_size_t;

#define MR_SIZE_2_64 ((mr_size_t)1 << 64)

#endif /* MEM_TYPES_H */
