/* SPDX-License-Identifier: MIT */
/*
 * fw_cfg (devices/fw_cfg.h) at port 0x510 of an "io" space: the input
 * mixes guest accesses around the two ports with the machine's calls
 * (fw_cfg_add_bytes/u16/u32/u64/cmdline/file with keys, names and data
 * from the input). A model holds every item as the header describes it
 * (signature, ID, the big-endian file directory, files from key 0x20 in
 * the order added) and predicts each add's result, each byte the data
 * port gives (the selected item from the current offset, 0 past its end
 * or for unknown keys, all-ones for a 16-bit read) and each select hook
 * call.
 *
 * Input: a flags byte (bit 0: no hooks), then records: an op byte (bits
 * 0-1 the size 1 << n, bit 2 a write) with an offset byte and, for a
 * write, the value; or op 0xe0-0xef: select a key (2 bytes); 0xf0-0xf7:
 * an add (op & 7: bytes, u16, u32, u64, cmdline, file) with its key or
 * name and data; 0xf8-0xff: read a burst of bytes (count in a byte).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fw_cfg.h"
#include "fuzz.h"
#include "fuzz_dev.h"

#define PORT 0x510
#define WINDOW_LO (PORT - 6)
#define WINDOW_SPAN (FW_CFG_IO_SIZE + 12)
/* The most items the model holds: the device's three, files, the rest. */
#define MAX_ITEMS 128
#define MAX_USER_ITEMS 64
#define MAX_DATA 4096
#define MAX_SELECTS 4
/* Keys at or above this (without bit 15) are not generic ones. */
#define ENTRY_LIMIT 0x4000

struct item {
    uint16_t key;
    uint32_t len;
    uint8_t *data;
};

struct model {
    bool hooked;
    struct item items[MAX_ITEMS];
    unsigned nr;
    char files[FW_CFG_FILE_SLOTS][FW_CFG_MAX_FILE_PATH];
    unsigned nr_files;
    /* The selected key, or -1 when it named no item at selection. */
    int sel;
    uint32_t off;
    /* Keys the select hook saw during the current access. */
    uint16_t seen[MAX_SELECTS];
    unsigned nr_seen;
    unsigned nr_matched;
};

static void hook_select(void *opaque, uint16_t key)
{
    struct model *m = opaque;

    FUZZ_CHECK(m->nr_seen < MAX_SELECTS);
    m->seen[m->nr_seen++] = key;
}

static const struct fw_cfg_hooks hooks = {.select = hook_select};

static struct item *find(struct model *m, uint16_t key)
{
    for (unsigned i = 0; i < m->nr; i++) {
        if (m->items[i].key == key) {
            return &m->items[i];
        }
    }
    return NULL;
}

/* Set item (key) to a copy of (data). */
static void set_item(struct model *m, uint16_t key, const void *data,
                     size_t len)
{
    struct item *it = find(m, key);
    uint8_t *copy = malloc(len ? len : 1);

    FUZZ_CHECK(copy != NULL);
    if (len) {
        memcpy(copy, data, len);
    }
    if (!it) {
        FUZZ_CHECK(m->nr < MAX_ITEMS);
        it = &m->items[m->nr++];
        it->key = key;
    } else {
        free(it->data);
    }
    it->data = copy;
    it->len = (uint32_t)len;
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        p[n - 1 - i] = (uint8_t)(v >> (8 * i));
    }
}

/* FW_CFG_FILE_DIR for the files so far. */
static void build_dir(struct model *m)
{
    static uint8_t dir[4 + FW_CFG_FILE_SLOTS * sizeof(struct fw_cfg_file)];
    size_t len = 4 + m->nr_files * sizeof(struct fw_cfg_file);

    memset(dir, 0, sizeof(dir));
    put_be(dir, m->nr_files, 4);
    for (unsigned i = 0; i < m->nr_files; i++) {
        uint8_t *e = dir + 4 + i * sizeof(struct fw_cfg_file);
        const struct item *it = find(m, (uint16_t)(FW_CFG_FILE_FIRST + i));

        put_be(e, it ? it->len : 0, 4);
        put_be(e + 4, FW_CFG_FILE_FIRST + i, 2);
        memcpy(e + 8, m->files[i], strlen(m->files[i]));
    }
    set_item(m, FW_CFG_FILE_DIR, dir, len);
}

static void model_free(struct model *m)
{
    for (unsigned i = 0; i < m->nr; i++) {
        free(m->items[i].data);
    }
}

/* The result fw_cfg_add_bytes() must give for (key). */
static int add_bytes_result(uint16_t key)
{
    if ((key & FW_CFG_WRITE_CHANNEL) || key == FW_CFG_FILE_DIR ||
        (key >= FW_CFG_FILE_FIRST && key < ENTRY_LIMIT)) {
        return -EINVAL;
    }
    return 0;
}

static uint8_t data_byte(struct model *m)
{
    const struct item *it;

    if (m->sel < 0) {
        return 0;
    }
    it = find(m, (uint16_t)m->sel);
    FUZZ_CHECK(it != NULL);
    if (m->off >= it->len) {
        return 0;
    }
    return it->data[m->off++];
}

static uint64_t model_piece(void *opaque, unsigned idx, uint64_t offset,
                            unsigned size, bool write, uint64_t value,
                            uint64_t *known)
{
    struct model *m = opaque;
    uint16_t key;

    (void)idx;
    *known = UINT64_MAX;
    if (!write) {
        /* 16-bit reads are refused by the device, not the dispatcher. */
        return size == 1 ? data_byte(m) : 0xffff;
    }
    if (size != 2 || offset != FW_CFG_SELECTOR) {
        /* The data port ignores writes. */
        return 0;
    }
    key = (uint16_t)value & (uint16_t)~FW_CFG_WRITE_CHANNEL;
    m->sel = find(m, key) ? key : -1;
    m->off = 0;
    if (m->hooked) {
        FUZZ_CHECK(m->nr_matched < m->nr_seen);
        FUZZ_CHECK(m->seen[m->nr_matched] == key);
        m->nr_matched++;
    }
    return 0;
}

/* Keys: half anything, half the generic range with bits 14 and 15. */
static uint16_t pick_key(struct fuzz_in *in)
{
    uint16_t k = (uint16_t)fuzz_take(in, 2);

    return (k & 0x2000) ? k : (uint16_t)((k & 0xc000) | (k & 0x3f));
}

static size_t take_bytes(struct fuzz_in *in, uint8_t *buf, size_t max)
{
    size_t n = (size_t)fuzz_take(in, 1);

    if (n & 0x80) {
        n = (n & 0x7f) * 32;
    }
    n = n < max ? n : max;
    for (size_t i = 0; i < n; i++) {
        buf[i] = (uint8_t)fuzz_take(in, 1);
    }
    return n;
}

static void host_add(struct fw_cfg *dev, struct model *m, struct fuzz_in *in,
                     unsigned what)
{
    static uint8_t buf[MAX_DATA + 1];
    char name[64];
    uint16_t key;
    size_t len;
    uint64_t v;
    int ret, want;

    if (what < 5 && m->nr >= MAX_USER_ITEMS) {
        return;
    }
    switch (what) {
    case 0:
        key = pick_key(in);
        len = take_bytes(in, buf, MAX_DATA);
        want = add_bytes_result(key);
        ret = fw_cfg_add_bytes(dev, key, buf, len);
        break;
    case 1:
    case 2:
    case 3:
        key = pick_key(in);
        len = 2u << (what - 1);
        v = fuzz_take(in, (unsigned)len);
        for (size_t i = 0; i < len; i++) {
            buf[i] = (uint8_t)(v >> (8 * i));
        }
        want = add_bytes_result(key);
        ret = what == 1   ? fw_cfg_add_u16(dev, key, (uint16_t)v)
              : what == 2 ? fw_cfg_add_u32(dev, key, (uint32_t)v)
                          : fw_cfg_add_u64(dev, key, v);
        break;
    case 4:
        len = take_bytes(in, buf, MAX_DATA);
        buf[len] = '\0';
        len = strlen((const char *)buf);
        ret = fw_cfg_add_cmdline(dev, (const char *)buf);
        FUZZ_CHECK(ret == 0);
        v = len + 1;
        set_item(m, FW_CFG_CMDLINE_SIZE,
                 (uint8_t[4]){(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                              (uint8_t)(v >> 24)},
                 4);
        set_item(m, FW_CFG_CMDLINE_DATA, buf, len + 1);
        return;
    default: {
        /* Names from a small alphabet, so that some are added twice. */
        size_t nlen = (size_t)fuzz_take(in, 1) % sizeof(name);
        bool dup = false;

        for (size_t i = 0; i < nlen; i++) {
            name[i] = "ab/."[fuzz_take(in, 1) & 3];
        }
        name[nlen] = '\0';
        len = take_bytes(in, buf, MAX_DATA);
        for (unsigned i = 0; i < m->nr_files; i++) {
            dup |= strcmp(m->files[i], name) == 0;
        }
        ret = fw_cfg_add_file(dev, name, buf, len);
        if (nlen == 0) {
            FUZZ_CHECK(ret == -EINVAL);
        } else if (nlen >= FW_CFG_MAX_FILE_PATH) {
            FUZZ_CHECK(ret == -ENAMETOOLONG);
        } else if (dup && m->nr_files == FW_CFG_FILE_SLOTS) {
            /* Either reason will do. */
            FUZZ_CHECK(ret == -EEXIST || ret == -ENOSPC);
        } else if (dup) {
            FUZZ_CHECK(ret == -EEXIST);
        } else if (m->nr_files == FW_CFG_FILE_SLOTS) {
            FUZZ_CHECK(ret == -ENOSPC);
        } else {
            FUZZ_CHECK(ret == 0);
            memcpy(m->files[m->nr_files], name, nlen + 1);
            set_item(m, (uint16_t)(FW_CFG_FILE_FIRST + m->nr_files), buf, len);
            m->nr_files++;
            build_dir(m);
        }
        return;
    }
    }
    FUZZ_CHECK(ret == want);
    if (ret == 0) {
        set_item(m, key, buf, len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t id[4] = {FW_CFG_ID_TRADITIONAL, 0, 0, 0};
    static const uint8_t empty_dir[4];
    struct fuzz_in in = {data, size};
    struct fw_cfg dev;
    struct fuzz_dev d;
    struct model *m = calloc(1, sizeof(*m));
    unsigned flags = (unsigned)fuzz_take(&in, 1);

    FUZZ_CHECK(m != NULL);
    m->hooked = !(flags & 1);
    set_item(m, FW_CFG_SIGNATURE, "QEMU", 4);
    set_item(m, FW_CFG_ID, id, sizeof(id));
    set_item(m, FW_CFG_FILE_DIR, empty_dir, sizeof(empty_dir));
    m->sel = FW_CFG_SIGNATURE;
    FUZZ_CHECK(fw_cfg_init(&dev, m->hooked ? &hooks : NULL, m) == 0);
    fuzz_dev_init(&d, "io", 0x10000, model_piece, m);
    fuzz_dev_add(&d, &dev.region, FUZZ_DEV_IO, PORT, 0, 1, 2, false);
    fuzz_dev_place(&d);
    while (in.n) {
        unsigned op = (unsigned)fuzz_take(&in, 1);
        gpa_t addr;
        unsigned sz;
        bool write;
        uint64_t value;

        m->nr_seen = 0;
        m->nr_matched = 0;
        if (op >= 0xf8) {
            unsigned n = (unsigned)fuzz_take(&in, 1);

            for (unsigned i = 0; i < n; i++) {
                fuzz_dev_access(&d, PORT + FW_CFG_DATA, 1, false, 0);
            }
        } else if (op >= 0xf0) {
            host_add(&dev, m, &in, op & 7);
        } else if (op >= 0xe0) {
            fuzz_dev_access(&d, PORT + FW_CFG_SELECTOR, 2, true, pick_key(&in));
        } else {
            fuzz_dev_take_access(&in, op, WINDOW_LO, WINDOW_SPAN, &addr, &sz,
                                 &write, &value);
            fuzz_dev_access(&d, addr, sz, write, value);
        }
        FUZZ_CHECK(m->nr_matched == m->nr_seen);
    }
    fuzz_dev_remove(&d);
    FUZZ_CHECK(fw_cfg_destroy(&dev) == 0);
    model_free(m);
    free(m);
    return 0;
}
