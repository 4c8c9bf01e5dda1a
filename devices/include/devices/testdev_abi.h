/* SPDX-License-Identifier: MIT */
/*
 * The test-device ABI: the platform contract between the freestanding test
 * guests in guest/ and the VMM. It says where the machine places the test
 * device and its test regions in guest-physical memory, what each register
 * of the device does, how RAM is laid out, which low memory the VMM keeps
 * for its boot structures, and the ELF note that marks an image as a test
 * guest. Plain C with <stdint.h> only, so that both a freestanding guest and
 * the VMM can include it.
 *
 * Registers: the device is an MMIO region of TESTDEV_SIZE bytes at
 * TESTDEV_BASE. Every register is 64 bits wide at an 8-byte aligned offset.
 * Reads of 1, 2, 4 or 8 bytes return the matching little-endian bytes of
 * the register; an access must be naturally aligned. A write acts only when
 * it starts at the register's offset; registers that take an address or an
 * encoded command want a full 8-byte write. Unknown offsets read as 0 and
 * ignore writes. Each access is one VM exit (about 25 us on the PVM host),
 * so guests batch console output with TESTDEV_REG_CONSOLE_BUF.
 */
#ifndef DEVICES_TESTDEV_ABI_H
#define DEVICES_TESTDEV_ABI_H

#include <stdint.h>

/* Version of this ABI, carried in the ELF note and TESTDEV_REG_VERSION. */
#define TESTDEV_ABI_VERSION 1u

/* ---- Guest-physical layout -------------------------------------------- */

/*
 * RAM: the first min(ram, 3 GiB) bytes at GPA 0, the rest (if any) from
 * 4 GiB. The hole [3 GiB, 4 GiB) holds devices.
 */
#define TESTDEV_RAM_LOW_MAX 0xc0000000ull
#define TESTDEV_RAM_HIGH_BASE 0x100000000ull

/*
 * Low memory [0, TESTDEV_GUEST_MIN_GPA) belongs to the VMM: GDT, TSS and
 * identity page tables (vmm/vcpu_x86_64.h has the exact addresses). Test
 * guests are linked at TESTDEV_GUEST_MIN_GPA and must not touch the low
 * part; everything from the end of the guest image to the end of RAM is
 * theirs.
 */
#define TESTDEV_GUEST_MIN_GPA 0x200000ull

/* The register block. */
#define TESTDEV_BASE 0xfeb00000ull
#define TESTDEV_SIZE 0x1000ull

/*
 * Test regions (all in the hole, below TESTDEV_BASE). Each has an id used
 * by TESTDEV_REG_REGION_CMD.
 *
 * ROM: 4 KiB, byte i holds testdev_pattern_byte(TESTDEV_SEED_ROM, i).
 * Guest writes do not change it; they reach the device's write op, which
 * records them (TESTDEV_REG_ROM_*).
 */
#define TESTDEV_ROM_BASE 0xfe000000ull
#define TESTDEV_ROM_SIZE 0x1000ull
/* RAM: 8 KiB, byte i starts as testdev_pattern_byte(TESTDEV_SEED_RAM, i). */
#define TESTDEV_RAM_BASE 0xfe010000ull
#define TESTDEV_RAM_SIZE 0x2000ull
/*
 * Alias: a 4 KiB window onto the test RAM at offset TESTDEV_ALIAS_OFFSET,
 * so alias byte i is test-RAM byte TESTDEV_ALIAS_OFFSET + i (reads and
 * writes).
 */
#define TESTDEV_ALIAS_BASE 0xfe020000ull
#define TESTDEV_ALIAS_SIZE 0x1000ull
#define TESTDEV_ALIAS_OFFSET 0x1000ull
/*
 * Scratch: 8 bytes of I/O-region storage (starts as zero). Any naturally
 * aligned access of 1, 2, 4 or 8 bytes reads or writes the matching bytes.
 */
#define TESTDEV_SCRATCH_BASE 0xfe030000ull
#define TESTDEV_SCRATCH_SIZE 8ull
/*
 * Toggle: 4 KiB of RAM, byte i starts as
 * testdev_pattern_byte(TESTDEV_SEED_TOGGLE, i). The guest enables,
 * disables and moves it with TESTDEV_REG_REGION_CMD; while disabled its
 * addresses are unassigned (reads give all-ones, writes are dropped) and
 * its contents are kept. TESTDEV_TOGGLE_ALT_BASE is a free page in the hole
 * meant as the target of a move.
 */
#define TESTDEV_TOGGLE_BASE 0xfe040000ull
#define TESTDEV_TOGGLE_SIZE 0x1000ull
#define TESTDEV_TOGGLE_ALT_BASE 0xfe050000ull

/* Region ids for TESTDEV_REG_REGION_CMD. */
#define TESTDEV_REGION_ROM 1u
#define TESTDEV_REGION_RAM 2u
#define TESTDEV_REGION_ALIAS 3u
#define TESTDEV_REGION_SCRATCH 4u
#define TESTDEV_REGION_TOGGLE 5u

/* Seeds of the fill patterns. */
#define TESTDEV_SEED_ROM 1u
#define TESTDEV_SEED_RAM 2u
#define TESTDEV_SEED_TOGGLE 3u

/* ---- Registers (offsets from TESTDEV_BASE) ----------------------------- */

/* R: TESTDEV_MAGIC. */
#define TESTDEV_REG_MAGIC 0x00u
/* R: TESTDEV_ABI_VERSION. */
#define TESTDEV_REG_VERSION 0x08u
/* W: the low byte of the value goes to the console. */
#define TESTDEV_REG_CONSOLE_PUTC 0x10u
/*
 * W (8 bytes): print a buffer from guest memory. The value is
 * TESTDEV_CONSOLE_BUF(gpa, len): the GPA in bits 0-47 and the length in
 * bits 48-63. One write carries the whole pair, so vCPUs cannot mix up
 * each other's halves. Lengths above TESTDEV_CONSOLE_BUF_MAX and buffers
 * the VMM cannot read are dropped.
 */
#define TESTDEV_REG_CONSOLE_BUF 0x18u
/* W: end the VM; the low 32 bits are the exit status. */
#define TESTDEV_REG_EXIT 0x20u
/* R: guest RAM size in bytes (low and high parts together). */
#define TESTDEV_REG_RAM_SIZE 0x28u
/* R: the id of the vCPU doing the read (0 for the boot vCPU). */
#define TESTDEV_REG_VCPU_ID 0x30u
/* R: nanoseconds on a monotonic clock since the device was created. */
#define TESTDEV_REG_TIMESTAMP 0x38u
/*
 * W (8 bytes): change the memory map. The value is
 * TESTDEV_REGION_CMD(op, region, addr): the op in bits 0-3, the region id
 * in bits 4-11 and, for TESTDEV_OP_MOVE, the new page-aligned GPA in bits
 * 12-63. The change is committed when the write completes: the next guest
 * instruction sees the new map. The result goes to
 * TESTDEV_REG_REGION_STATUS.
 */
#define TESTDEV_REG_REGION_CMD 0x40u
/*
 * R: result of the latest region command of any vCPU: 0, or a negative
 * errno as a two's complement 64-bit value (-22 for a bad command).
 */
#define TESTDEV_REG_REGION_STATUS 0x48u
/* R: number of guest writes the ROM's write op has seen. */
#define TESTDEV_REG_ROM_WRITES 0x50u
/* R: offset in the ROM, value and size (bytes) of the latest such write. */
#define TESTDEV_REG_ROM_LAST_OFFSET 0x58u
#define TESTDEV_REG_ROM_LAST_VALUE 0x60u
#define TESTDEV_REG_ROM_LAST_SIZE 0x68u
/*
 * W: does nothing but count (a cheap exit for benchmarks). R: the count.
 */
#define TESTDEV_REG_NOP 0x70u
/* R: a parameter the VMM chose (e.g. a benchmark's iteration count). */
#define TESTDEV_REG_ARG 0x78u
/*
 * W (8 bytes): the GPA of the guest's mailbox: a 4 KiB-aligned page of its
 * RAM below TESTDEV_RAM_LOW_MAX that a controller on the VMM side (a
 * benchmark, a test) reads and writes while the guest runs, so that the
 * two talk without an exit per message. Unaligned values and narrower
 * writes are ignored. R: the latest GPA written, 0 if none. What the page
 * holds is a contract between a guest and its controller (for the dirty
 * guest: struct testdev_dirty_mailbox below).
 */
#define TESTDEV_REG_MAILBOX 0x80u

/* "VMMT", as read from TESTDEV_REG_MAGIC. */
#define TESTDEV_MAGIC 0x544d4d56u

/* Console buffers: at most this many bytes per write. */
#define TESTDEV_CONSOLE_BUF_MAX 4096u
#define TESTDEV_CONSOLE_BUF_GPA_MASK 0x0000ffffffffffffull
#define TESTDEV_CONSOLE_BUF(gpa, len)                                          \
    ((TESTDEV_CONSOLE_BUF_GPA_MASK & (uint64_t)(gpa)) | ((uint64_t)(len) << 48))

/* Region command ops. */
#define TESTDEV_OP_ENABLE 1u
#define TESTDEV_OP_DISABLE 2u
#define TESTDEV_OP_MOVE 3u
#define TESTDEV_REGION_CMD(op, region, addr)                                   \
    (((uint64_t)(addr) & ~0xfffull) | ((0xffull & (uint64_t)(region)) << 4) |  \
     (0xfull & (uint64_t)(op)))

/* ---- The dirty-log guest (guest/dirty.c) and its controller ------------ */

/*
 * The guest fills in the first fields of a struct testdev_dirty_mailbox,
 * gives its GPA to TESTDEV_REG_MAILBOX and waits for commands on every
 * vCPU (up to TESTDEV_DIRTY_MAX_VCPUS). The controller writes a command's
 * parameters, then cmd = TESTDEV_DIRTY_CMD(seq, op) with seq one above the
 * previous command's (parameters first: release order). Each vCPU taking
 * part (id < nr_vcpus) carries the command out and then stores seq in its
 * done field; vCPUs not taking part do nothing. RUN lasts until the next
 * command; every other op is finished when all taking part (MOVE: vCPU 0)
 * report done == seq. Both sides use atomic 64-bit loads and stores on
 * the shared fields.
 *
 * The working set is ws_pages 4 KiB pages from ws_base; of n vCPUs taking
 * part, vCPU k owns pages [ws_pages * k / n, ws_pages * (k + 1) / n) and
 * writes one 64-bit word (at offset 0) per page.
 */
#define TESTDEV_DIRTY_MAGIC 0x5954524944ull /* "DIRTY" */
#define TESTDEV_DIRTY_MAX_VCPUS 8u
/* RUN publishes its write count every this many pages. */
#define TESTDEV_DIRTY_BATCH 256u

/* Stop writing; done at once. */
#define TESTDEV_DIRTY_OP_IDLE 0u
/* Write each page of the vCPU's part once. */
#define TESTDEV_DIRTY_OP_SWEEP 1u
/* Write as fast as possible in (pattern) over the vCPU's part, counting
 * the writes in (writes), until the next command. */
#define TESTDEV_DIRTY_OP_RUN 2u
/* Write page testdev_dirty_verify_page(seed, i, ws_pages) for each
 * i < count; of n vCPUs, vCPU k takes the i with i % n == k. */
#define TESTDEV_DIRTY_OP_VERIFY 3u
/* vCPU 0, (count) rounds r = 1, 2, ...: write a word of the toggle region,
 * move the region to its other address (TESTDEV_TOGGLE_BASE <->
 * TESTDEV_TOGGLE_ALT_BASE), store r in (step), wait for step_ack == r.
 * The other vCPUs taking part RUN meanwhile. A failed move ends the op
 * with the region command's status in (error). */
#define TESTDEV_DIRTY_OP_MOVE 4u
/* vCPU 0 ends the VM with status (count). */
#define TESTDEV_DIRTY_OP_EXIT 5u

/* RUN patterns: ascending pages, wrapping; or a pseudo-random walk. */
#define TESTDEV_DIRTY_PATTERN_SEQ 0u
#define TESTDEV_DIRTY_PATTERN_RANDOM 1u

#define TESTDEV_DIRTY_CMD(seq, op) (((uint64_t)(seq) << 8) | (0xffu & (op)))
#define TESTDEV_DIRTY_CMD_SEQ(cmd) ((uint64_t)(cmd) >> 8)
#define TESTDEV_DIRTY_CMD_OP(cmd) ((unsigned)(0xffu & (cmd)))

/* One vCPU's reports, alone in its cache line. */
struct testdev_dirty_vcpu {
    uint64_t done;   /* seq of the last command finished */
    uint64_t writes; /* pages written by RUN so far */
    uint64_t reserved[6];
};

struct testdev_dirty_mailbox {
    /* Guest, before it publishes the mailbox. */
    uint64_t magic;        /* TESTDEV_DIRTY_MAGIC */
    uint64_t ws_base;      /* GPA of the first page it may use */
    uint64_t ws_max_pages; /* pages it may use from ws_base */
    int64_t error;         /* 0, or why an op failed (negative errno) */
    /* Controller: parameters, then cmd. */
    uint64_t cmd;
    uint64_t nr_vcpus; /* vCPUs taking part: ids below this */
    uint64_t ws_pages; /* at most ws_max_pages */
    uint64_t pattern;  /* TESTDEV_DIRTY_PATTERN_* */
    uint64_t seed;     /* VERIFY: the page set; RUN: the random walk */
    uint64_t count;    /* VERIFY: pages; MOVE: rounds; EXIT: status */
    /* MOVE: the guest's round, and the controller's answer. */
    uint64_t step;
    uint64_t step_ack;
    uint64_t reserved[4];
    struct testdev_dirty_vcpu vcpu[TESTDEV_DIRTY_MAX_VCPUS];
};

/* SplitMix64's output function: a well-mixed 64-bit value of (x). */
static inline uint64_t testdev_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/*
 * The page (an index below ws_pages) that VERIFY writes as its (i)th, for
 * (seed). Indexes may repeat; the controller recomputes the same set.
 */
static inline uint64_t testdev_dirty_verify_page(uint64_t seed, uint64_t i,
                                                 uint64_t ws_pages)
{
    uint64_t x = testdev_mix64(seed ^ (i * 0xd1342543de82ef95ull));

    return (uint64_t)(((unsigned __int128)x * ws_pages) >> 64);
}

/* ---- ELF note that marks a test guest ---------------------------------- */

/*
 * A PT_NOTE with name "VMMGUEST" (namesz 9, with the NUL), type
 * TESTDEV_NOTE_TYPE and a 4-byte descriptor holding TESTDEV_ABI_VERSION.
 */
#define TESTDEV_NOTE_NAME "VMMGUEST"
#define TESTDEV_NOTE_TYPE 1u

/* ---- Fill patterns ------------------------------------------------------ */

/*
 * Byte (off) of the pattern with (seed): cheap, different for every byte
 * of a page and for each seed, so that a read from the wrong region or the
 * wrong offset shows.
 */
static inline uint8_t testdev_pattern_byte(uint32_t seed, uint64_t off)
{
    uint32_t x = (uint32_t)off * 0x9e3779b1u + seed * 0x85ebca6bu;

    return (uint8_t)(x >> 24 ^ x >> 8 ^ (uint32_t)(off >> 8));
}

#endif /* DEVICES_TESTDEV_ABI_H */
