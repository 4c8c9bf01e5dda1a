/* SPDX-License-Identifier: MIT */
/*
 * fw_cfg, traditional port interface: a table of items selected by key and
 * read byte by byte.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fw_cfg.h"

_Static_assert(sizeof(struct fw_cfg_file) == 64, "fw_cfg_file is 64 bytes");

/* Keys below this (without bit 15) are the generic ones. */
#define FW_CFG_ENTRY_LIMIT 0x4000

static const char fw_cfg_signature[4] = {'Q', 'E', 'M', 'U'};

static void put_le(uint8_t *p, uint64_t v, unsigned size)
{
    for (unsigned i = 0; i < size; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put_be(uint8_t *p, uint64_t v, unsigned size)
{
    for (unsigned i = 0; i < size; i++) {
        p[size - 1 - i] = (uint8_t)(v >> (8 * i));
    }
}

/* The index of the item (key) in (s->items), or SIZE_MAX. */
static size_t find_locked(const struct fw_cfg *s, uint16_t key)
{
    for (size_t i = 0; i < s->nr_items; i++) {
        if (s->items[i].key == key) {
            return i;
        }
    }
    return SIZE_MAX;
}

static bool key_is_file(uint16_t key)
{
    return key >= FW_CFG_FILE_FIRST && key < FW_CFG_ENTRY_LIMIT;
}

/*
 * Set the item (key) to (data), which the table takes over (NULL when len
 * is 0). On failure (data) is still the caller's.
 */
static int set_locked(struct fw_cfg *s, uint16_t key, uint8_t *data,
                      uint32_t len)
{
    size_t i = find_locked(s, key);

    if (i != SIZE_MAX) {
        free(s->items[i].data);
        s->items[i].data = data;
        s->items[i].len = len;
        return 0;
    }
    if (s->nr_items == s->cap_items) {
        size_t cap = s->cap_items ? s->cap_items * 2 : 16;
        struct fw_cfg_item *items = realloc(s->items, cap * sizeof(*s->items));

        if (!items) {
            return -ENOMEM;
        }
        s->items = items;
        s->cap_items = cap;
    }
    s->items[s->nr_items++] = (struct fw_cfg_item){key, len, data};
    return 0;
}

/* A copy of (len) bytes at (data) in (*out); NULL for 0 bytes. */
static int dup_bytes(const void *data, size_t len, uint8_t **out)
{
    uint8_t *copy = NULL;

    if (len > UINT32_MAX) {
        return -EFBIG;
    }
    if (len) {
        copy = malloc(len);
        if (!copy) {
            return -ENOMEM;
        }
        memcpy(copy, data, len);
    }
    *out = copy;
    return 0;
}

/* Store a copy of (data) as (key), whatever the key. */
static int put_item(struct fw_cfg *s, uint16_t key, const void *data,
                    size_t len)
{
    uint8_t *copy;
    int r = dup_bytes(data, len, &copy);

    if (r < 0) {
        return r;
    }
    pthread_mutex_lock(&s->lock);
    r = set_locked(s, key, copy, (uint32_t)len);
    pthread_mutex_unlock(&s->lock);
    if (r < 0) {
        free(copy);
    }
    return r;
}

int fw_cfg_add_bytes(struct fw_cfg *s, uint16_t key, const void *data,
                     size_t len)
{
    if ((key & FW_CFG_WRITE_CHANNEL) || key == FW_CFG_FILE_DIR ||
        key_is_file(key)) {
        return -EINVAL;
    }
    return put_item(s, key, data, len);
}

int fw_cfg_add_u16(struct fw_cfg *s, uint16_t key, uint16_t v)
{
    uint8_t b[2];

    put_le(b, v, sizeof(b));
    return fw_cfg_add_bytes(s, key, b, sizeof(b));
}

int fw_cfg_add_u32(struct fw_cfg *s, uint16_t key, uint32_t v)
{
    uint8_t b[4];

    put_le(b, v, sizeof(b));
    return fw_cfg_add_bytes(s, key, b, sizeof(b));
}

int fw_cfg_add_u64(struct fw_cfg *s, uint16_t key, uint64_t v)
{
    uint8_t b[8];

    put_le(b, v, sizeof(b));
    return fw_cfg_add_bytes(s, key, b, sizeof(b));
}

int fw_cfg_add_cmdline(struct fw_cfg *s, const char *cmdline)
{
    size_t len = strlen(cmdline) + 1;
    int r;

    if (len > UINT32_MAX) {
        return -EFBIG;
    }
    r = fw_cfg_add_u32(s, FW_CFG_CMDLINE_SIZE, (uint32_t)len);
    if (r < 0) {
        return r;
    }
    return fw_cfg_add_bytes(s, FW_CFG_CMDLINE_DATA, cmdline, len);
}

/*
 * The directory for the first (nr) files, as a new buffer of
 * 4 + 64 * nr bytes in (*out).
 */
static int build_dir_locked(const struct fw_cfg *s, unsigned nr, uint8_t **out,
                            uint32_t *out_len)
{
    uint32_t len = 4 + (uint32_t)sizeof(struct fw_cfg_file) * nr;
    uint8_t *dir = calloc(1, len);

    if (!dir) {
        return -ENOMEM;
    }
    put_be(dir, nr, 4);
    for (unsigned i = 0; i < nr; i++) {
        uint8_t *e = dir + 4 + sizeof(struct fw_cfg_file) * i;
        uint16_t key = (uint16_t)(FW_CFG_FILE_FIRST + i);
        size_t idx = find_locked(s, key);

        put_be(e, idx == SIZE_MAX ? 0 : s->items[idx].len, 4);
        put_be(e + 4, key, 2);
        /* Bytes 6-7 reserved; the name is NUL-padded by calloc. */
        memcpy(e + 8, s->files[i], strlen(s->files[i]));
    }
    *out = dir;
    *out_len = len;
    return 0;
}

int fw_cfg_add_file(struct fw_cfg *s, const char *name, const void *data,
                    size_t len)
{
    size_t name_len = strlen(name);
    uint8_t *copy, *dir;
    uint32_t dir_len;
    uint16_t key;
    int r;

    if (name_len == 0) {
        return -EINVAL;
    }
    if (name_len >= FW_CFG_MAX_FILE_PATH) {
        return -ENAMETOOLONG;
    }
    r = dup_bytes(data, len, &copy);
    if (r < 0) {
        return r;
    }
    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < s->nr_files; i++) {
        if (strcmp(s->files[i], name) == 0) {
            r = -EEXIST;
            goto out;
        }
    }
    if (s->nr_files == FW_CFG_FILE_SLOTS) {
        r = -ENOSPC;
        goto out;
    }
    /* The item first: the directory built next includes its size. */
    key = (uint16_t)(FW_CFG_FILE_FIRST + s->nr_files);
    r = set_locked(s, key, copy, (uint32_t)len);
    if (r < 0) {
        goto out;
    }
    /* From here on the table owns (copy). */
    copy = NULL;
    memcpy(s->files[s->nr_files], name, name_len + 1);
    r = build_dir_locked(s, s->nr_files + 1, &dir, &dir_len);
    if (r == 0) {
        r = set_locked(s, FW_CFG_FILE_DIR, dir, dir_len);
        if (r < 0) {
            free(dir);
        }
    }
    if (r == 0) {
        s->nr_files++;
    } else {
        /* The directory does not list it: empty the orphan item, which
         * the next file's item will replace. */
        size_t idx = find_locked(s, key);

        free(s->items[idx].data);
        s->items[idx].data = NULL;
        s->items[idx].len = 0;
        s->files[s->nr_files][0] = '\0';
    }
out:
    pthread_mutex_unlock(&s->lock);
    free(copy);
    return r;
}

static uint8_t data_read_locked(struct fw_cfg *s)
{
    const struct fw_cfg_item *it;

    if (s->cur == SIZE_MAX) {
        return 0;
    }
    it = &s->items[s->cur];
    if (s->offset >= it->len) {
        return 0;
    }
    return it->data[s->offset++];
}

static uint64_t fw_cfg_read(void *opaque, uint64_t offset, unsigned size)
{
    struct fw_cfg *s = opaque;
    uint8_t v;

    (void)offset;
    if (size != 1) {
        /* The selector is write-only: QEMU refuses 16-bit reads. */
        return 0xffff;
    }
    pthread_mutex_lock(&s->lock);
    v = data_read_locked(s);
    pthread_mutex_unlock(&s->lock);
    return v;
}

static void fw_cfg_write(void *opaque, uint64_t offset, uint64_t value,
                         unsigned size)
{
    struct fw_cfg *s = opaque;
    uint16_t key = (uint16_t)value & (uint16_t)~FW_CFG_WRITE_CHANNEL;

    /* 8-bit writes go to the data port, which ignores them; only a 16-bit
     * write (at offset 0, as the dispatcher keeps it aligned) selects. */
    if (size != 2 || offset != FW_CFG_SELECTOR) {
        return;
    }
    pthread_mutex_lock(&s->lock);
    s->cur = find_locked(s, key);
    s->offset = 0;
    pthread_mutex_unlock(&s->lock);
    if (s->hooks->select) {
        s->hooks->select(s->hook_opaque, key);
    }
}

static const struct mr_ops fw_cfg_ops = {
    .read = fw_cfg_read,
    .write = fw_cfg_write,
    .valid = {.min_access_size = 1, .max_access_size = 2},
    .impl = {.min_access_size = 1, .max_access_size = 2},
};

static void free_items(struct fw_cfg *s)
{
    for (size_t i = 0; i < s->nr_items; i++) {
        free(s->items[i].data);
    }
    free(s->items);
    s->items = NULL;
    s->nr_items = 0;
    s->cap_items = 0;
}

int fw_cfg_init(struct fw_cfg *s, const struct fw_cfg_hooks *hooks,
                void *opaque)
{
    static const struct fw_cfg_hooks no_hooks;
    static const uint8_t empty_dir[4];
    int r;

    memset(s, 0, sizeof(*s));
    s->hooks = hooks ? hooks : &no_hooks;
    s->hook_opaque = opaque;
    s->cur = SIZE_MAX;

    r = pthread_mutex_init(&s->lock, NULL);
    if (r != 0) {
        return -r;
    }
    r = put_item(s, FW_CFG_SIGNATURE, fw_cfg_signature,
                 sizeof(fw_cfg_signature));
    if (r < 0) {
        goto err;
    }
    r = fw_cfg_add_u32(s, FW_CFG_ID, FW_CFG_ID_TRADITIONAL);
    if (r < 0) {
        goto err;
    }
    r = put_item(s, FW_CFG_FILE_DIR, empty_dir, sizeof(empty_dir));
    if (r < 0) {
        goto err;
    }
    /* As after a reset: key 0 selected. */
    s->cur = find_locked(s, FW_CFG_SIGNATURE);
    r = mr_init_io(&s->region, "fw_cfg", FW_CFG_IO_SIZE, &fw_cfg_ops, s);
    if (r < 0) {
        goto err;
    }
    return 0;

err:
    free_items(s);
    pthread_mutex_destroy(&s->lock);
    return r;
}

int fw_cfg_destroy(struct fw_cfg *s)
{
    int r = mr_destroy(&s->region);

    if (r < 0) {
        return r;
    }
    free_items(s);
    pthread_mutex_destroy(&s->lock);
    return 0;
}
