/* SPDX-License-Identifier: MIT */
/*
 * Test-guest images built into the vmm binary (library guest_embed): the
 * hello guest, booted by `vmm run` when no --kernel is given. The array is
 * the exact ELF file guest/hello.elf; it is 8-byte aligned.
 */
#ifndef GUEST_EMBED_H
#define GUEST_EMBED_H

#include <stddef.h>

extern const unsigned char guest_hello_elf[];
extern const size_t guest_hello_elf_len;
extern const unsigned char guest_bench_elf[];
extern const size_t guest_bench_elf_len;
/* The dirty-log guest of `vmm bench dirty-log` (guest/dirty.c). */
extern const unsigned char guest_dirty_elf[];
extern const size_t guest_dirty_elf_len;
/* PID 1 of `vmm run -- CMD` (guest/init/vmm-init.c), a static program. */
extern const unsigned char guest_vmm_init[];
extern const size_t guest_vmm_init_len;

#endif /* GUEST_EMBED_H */
