/* SPDX-License-Identifier: MIT */
/*
 * QEMU's firmware configuration device (fw_cfg), traditional I/O port
 * interface only (no DMA): the guest writes a 16-bit key to the selector
 * and reads the item byte by byte from the data port. Keys, the file
 * directory layout and the integer encodings are those of QEMU's
 * docs/specs/fw_cfg.rst, so guests and tools written for QEMU work.
 *
 * One region of FW_CFG_IO_SIZE (2) bytes, placed by the machine at port
 * 0x510: offset 0 is the selector (0x510), offset 1 the data port (0x511).
 * As in QEMU's port interface, which is one 2-byte region too:
 * - a 16-bit write at offset 0 selects a key and rewinds the item;
 * - an 8-bit read at either offset returns the next byte of the item
 *   (0 past its end, where the offset stops) and advances;
 * - an 8-bit write at either offset is a write to the data port, which
 *   QEMU ignores since 2.4: it does not select (a guest must use outw);
 * - a 16-bit read (QEMU refuses it) returns all-ones and changes nothing.
 * The selector's bit 14 (write channel) is ignored; bit 15 selects the
 * architecture-specific keys, which are items like any other.
 * Unknown keys read as 0. After init, key 0 (the signature) is selected.
 *
 * At init the device holds FW_CFG_SIGNATURE ("QEMU"), FW_CFG_ID
 * (FW_CFG_ID_TRADITIONAL) and an empty FW_CFG_FILE_DIR; the machine adds
 * the rest (RAM size, CPU counts, command line, files) with the
 * fw_cfg_add_*() calls, normally before the vCPUs run.
 *
 * Threads: the ops and the fw_cfg_add_*() calls may run on any thread at
 * once; state is guarded by fw_cfg.lock, which is not held while the
 * select hook runs.
 */
#ifndef DEVICES_FW_CFG_H
#define DEVICES_FW_CFG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/region.h"

/* Size of the region: selector at 0, data at 1. */
#define FW_CFG_IO_SIZE 2
/* Offsets in the region. */
#define FW_CFG_SELECTOR 0
#define FW_CFG_DATA 1

/* Keys (QEMU's numbering). */
#define FW_CFG_SIGNATURE 0x00      /* "QEMU" */
#define FW_CFG_ID 0x01             /* feature bitmap, le32 */
#define FW_CFG_UUID 0x02           /* 16 bytes */
#define FW_CFG_RAM_SIZE 0x03       /* le64 */
#define FW_CFG_NOGRAPHIC 0x04      /* le16 */
#define FW_CFG_NB_CPUS 0x05        /* le16: CPUs present at boot */
#define FW_CFG_MACHINE_ID 0x06     /* le32 */
#define FW_CFG_KERNEL_ADDR 0x07    /* le32 */
#define FW_CFG_KERNEL_SIZE 0x08    /* le32 */
#define FW_CFG_KERNEL_CMDLINE 0x09 /* le32: address */
#define FW_CFG_INITRD_ADDR 0x0a    /* le32 */
#define FW_CFG_INITRD_SIZE 0x0b    /* le32 */
#define FW_CFG_BOOT_DEVICE 0x0c    /* le16 */
#define FW_CFG_NUMA 0x0d           /* le64 array */
#define FW_CFG_BOOT_MENU 0x0e      /* le16 */
#define FW_CFG_MAX_CPUS 0x0f       /* le16 */
#define FW_CFG_KERNEL_ENTRY 0x10   /* le32 */
#define FW_CFG_KERNEL_DATA 0x11    /* bytes */
#define FW_CFG_INITRD_DATA 0x12    /* bytes */
#define FW_CFG_CMDLINE_ADDR 0x13   /* le32 */
#define FW_CFG_CMDLINE_SIZE 0x14   /* le32, including the NUL */
#define FW_CFG_CMDLINE_DATA 0x15   /* the command line and its NUL */
#define FW_CFG_SETUP_ADDR 0x16     /* le32 */
#define FW_CFG_SETUP_SIZE 0x17     /* le32 */
#define FW_CFG_SETUP_DATA 0x18     /* bytes */
#define FW_CFG_FILE_DIR 0x19       /* the file directory, big-endian */
/* Files get keys from here up, in the order they are added. */
#define FW_CFG_FILE_FIRST 0x20
/* How many files fit (QEMU's default file slots). */
#define FW_CFG_FILE_SLOTS 0x20
/* Selector bits. */
#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ARCH_LOCAL 0x8000

/* FW_CFG_ID bits. */
#define FW_CFG_ID_TRADITIONAL 0x01
#define FW_CFG_ID_DMA 0x02

/* Size of a file name in a directory entry, including its NUL. */
#define FW_CFG_MAX_FILE_PATH 56

/*
 * The file directory (FW_CFG_FILE_DIR): a be32 count, then this entry per
 * file, every field big-endian.
 */
struct fw_cfg_file {
    uint32_t size;
    uint16_t select;
    uint16_t reserved;
    char name[FW_CFG_MAX_FILE_PATH];
};

/*
 * What the machine may provide. The hook runs on the vCPU thread that
 * wrote the selector, outside the device lock; NULL means no notice.
 */
struct fw_cfg_hooks {
    /* The guest selected (key) (bit 14 cleared), e.g. for tracing. */
    void (*select)(void *opaque, uint16_t key);
};

/* One item; private to devices/fw_cfg.c. */
struct fw_cfg_item {
    uint16_t key;
    uint32_t len;
    uint8_t *data;
};

/*
 * The device. (region) is public so that the machine can place it; every
 * other field is private to devices/fw_cfg.c.
 */
struct fw_cfg {
    struct mem_region region;

    /* Private. */
    const struct fw_cfg_hooks *hooks;
    void *hook_opaque;
    pthread_mutex_t lock;
    /* Guarded by (lock). */
    struct fw_cfg_item *items;
    size_t nr_items;
    size_t cap_items;
    /* The selected item's index in (items), or SIZE_MAX for none. */
    size_t cur;
    /* The next byte of it that the data port returns. */
    uint32_t offset;
    /* File names in key order (file i has key FW_CFG_FILE_FIRST + i). */
    char files[FW_CFG_FILE_SLOTS][FW_CFG_MAX_FILE_PATH];
    unsigned nr_files;
};

/*
 * Initialise (s) with the signature, ID and an empty file directory, and
 * its region, not yet placed anywhere. (hooks) (may be NULL) and (opaque)
 * must outlive the device. Returns 0, or -errno (-ENOMEM) with nothing
 * left to undo.
 */
__attribute__((warn_unused_result)) int
fw_cfg_init(struct fw_cfg *s, const struct fw_cfg_hooks *hooks, void *opaque);

/*
 * Set the item (key) to a copy of the (len) bytes at (data) (NULL when len
 * is 0), replacing any earlier item of that key; a guest in the middle of
 * reading it continues at its offset in the new data. Returns 0, -EINVAL
 * for the keys the device manages (FW_CFG_FILE_DIR and the file keys
 * FW_CFG_FILE_FIRST..0x3fff, see fw_cfg_add_file()) and for keys with bit
 * 14 set, -EFBIG when (len) exceeds UINT32_MAX, -ENOMEM.
 */
__attribute__((warn_unused_result)) int
fw_cfg_add_bytes(struct fw_cfg *s, uint16_t key, const void *data, size_t len);

/* Set the item (key) to (v) as little-endian 16, 32 or 64 bits; as above. */
__attribute__((warn_unused_result)) int
fw_cfg_add_u16(struct fw_cfg *s, uint16_t key, uint16_t v);
__attribute__((warn_unused_result)) int
fw_cfg_add_u32(struct fw_cfg *s, uint16_t key, uint32_t v);
__attribute__((warn_unused_result)) int
fw_cfg_add_u64(struct fw_cfg *s, uint16_t key, uint64_t v);

/*
 * Set the kernel command line as QEMU does: FW_CFG_CMDLINE_SIZE (le32) is
 * strlen(cmdline) + 1 and FW_CFG_CMDLINE_DATA holds the string with its
 * terminating NUL. Errors as fw_cfg_add_bytes().
 */
__attribute__((warn_unused_result)) int fw_cfg_add_cmdline(struct fw_cfg *s,
                                                           const char *cmdline);

/*
 * Add the file (name) holding a copy of the (len) bytes at (data): it gets
 * the next free key from FW_CFG_FILE_FIRST up and an entry in
 * FW_CFG_FILE_DIR (in the order files are added; QEMU sorts by name, and
 * guests look files up by name). Returns 0, -EINVAL for an empty name,
 * -ENAMETOOLONG when (name) does not fit FW_CFG_MAX_FILE_PATH with its NUL,
 * -EEXIST for a name already added, -ENOSPC after FW_CFG_FILE_SLOTS files,
 * -EFBIG, -ENOMEM.
 */
__attribute__((warn_unused_result)) int fw_cfg_add_file(struct fw_cfg *s,
                                                        const char *name,
                                                        const void *data,
                                                        size_t len);

/*
 * Release (s) and every item. The machine must have removed the region
 * from its container and let readers finish (mem_sys_synchronize()) first;
 * otherwise returns -EBUSY and changes nothing.
 */
__attribute__((warn_unused_result)) int fw_cfg_destroy(struct fw_cfg *s);

#endif /* DEVICES_FW_CFG_H */
