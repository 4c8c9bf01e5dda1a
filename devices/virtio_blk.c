/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk over a raw image (see devices/virtio_blk.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/virtio_blk.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/blk_uring.h"
#include "devices/virtio_blk.h"

#define HDR_SIZE 16u
#define RANGE_SIZE 16u
#define BOUNCE_SIZE (1u << 20)

#define F(bit) (UINT64_C(1) << (bit))

/* Where a request's data lies in its chain, and what it asks. */
struct blk_req {
    uint32_t type;
    uint64_t sector;
    /* The data: readable bytes after the header, or writable bytes
     * before the status byte. */
    uint64_t len;
    uint64_t status_gpa;
};

/* One request taken off the queue: its chain, its data's host pieces,
 * and its answer. */
struct blk_slot {
    struct vq_chain chain;
    struct iovec iov[VQ_MAX_SEGS];
    int nr_iov;
    struct blk_req r;
    /* QUEUED while its read or write waits in the ring. */
    uint8_t status;
    /* Bytes written into the chain (status byte included), or -EIO for
     * a chain that is no request. */
    int64_t written;
};

/* Copy (len) bytes at byte (off) of the chain's readable part. */
static int chain_read(struct virtqueue *q, const struct vq_chain *c,
                      uint64_t off, void *buf, uint64_t len)
{
    uint8_t *dst = buf;

    for (unsigned i = 0; i < c->nr && len; i++) {
        const struct vq_seg *s = &c->seg[i];
        uint64_t n;
        const uint8_t *p;

        if (s->write) {
            break;
        }
        if (off >= s->len) {
            off -= s->len;
            continue;
        }
        n = s->len - off < len ? s->len - off : len;
        p = q->mem->map(q->mem_opaque, s->gpa + off, n);
        if (!p) {
            return -EFAULT;
        }
        memcpy(dst, p, n);
        dst += n;
        len -= n;
        off = 0;
    }
    return len ? -EFAULT : 0;
}

/*
 * The host pieces of the chain's bytes [off, off + len) on the readable
 * (write false) or writable side into sl->iov; returns how many, or
 * -EFAULT.
 */
static int chain_iov(struct blk_slot *sl, struct virtqueue *q, bool write,
                     uint64_t off, uint64_t len)
{
    const struct vq_chain *c = &sl->chain;
    int n = 0;

    for (unsigned i = 0; i < c->nr && len; i++) {
        const struct vq_seg *s = &c->seg[i];
        uint64_t take;
        void *p;

        if (s->write != write) {
            continue;
        }
        if (off >= s->len) {
            off -= s->len;
            continue;
        }
        take = s->len - off < len ? s->len - off : len;
        p = q->mem->map(q->mem_opaque, s->gpa + off, take);
        if (!p) {
            return -EFAULT;
        }
        sl->iov[n].iov_base = p;
        sl->iov[n].iov_len = take;
        n++;
        len -= take;
        off = 0;
    }
    return len ? -EFAULT : n;
}

static bool in_disk(const struct virtio_blk *b, uint64_t sector, uint64_t nsec)
{
    return sector <= b->sectors && nsec <= b->sectors - sector;
}

static bool iov_aligned(const struct iovec *iov, int n)
{
    for (int i = 0; i < n; i++) {
        if ((uintptr_t)iov[i].iov_base % VIRTIO_BLK_SECTOR ||
            iov[i].iov_len % VIRTIO_BLK_SECTOR) {
            return false;
        }
    }
    return true;
}

/* Drop the first (r) bytes of (*iov)[0..*n). */
static void iov_advance(struct iovec **iov, int *n, size_t r)
{
    while (*n && r >= (*iov)->iov_len) {
        r -= (*iov)->iov_len;
        (*iov)++;
        (*n)--;
    }
    if (*n) {
        (*iov)->iov_base = (uint8_t *)(*iov)->iov_base + r;
        (*iov)->iov_len -= r;
    }
}

/* preadv/pwritev until all of (len) moved; 0 or -errno. */
static int rw_full(int fd, bool write, struct iovec *iov, int n, off_t pos,
                   uint64_t len)
{
    while (len) {
        ssize_t r = write ? pwritev(fd, iov, n, pos) : preadv(fd, iov, n, pos);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return r < 0 ? -errno : -EIO; /* 0: the image shrank */
        }
        len -= (uint64_t)r;
        pos += r;
        iov_advance(&iov, &n, (size_t)r);
    }
    return 0;
}

/* O_DIRECT with guest buffers it cannot take: through the bounce buffer,
 * BOUNCE_SIZE at a time. */
static int rw_bounce(struct virtio_blk *b, bool write, const struct iovec *iov,
                     int n, off_t pos, uint64_t len)
{
    int i = 0;
    size_t in_iov = 0;

    while (len) {
        uint64_t chunk = len < BOUNCE_SIZE ? len : BOUNCE_SIZE;
        uint64_t done = 0;
        struct iovec one = {b->bounce, chunk};
        int ret;

        if (!write) {
            ret = rw_full(b->fd, false, &one, 1, pos, chunk);
            if (ret < 0) {
                return ret;
            }
        }
        while (done < chunk) {
            size_t take = iov[i].iov_len - in_iov;
            uint8_t *g = (uint8_t *)iov[i].iov_base + in_iov;

            if (take > chunk - done) {
                take = chunk - done;
            }
            if (write) {
                memcpy((uint8_t *)b->bounce + done, g, take);
            } else {
                memcpy(g, (uint8_t *)b->bounce + done, take);
            }
            done += take;
            in_iov += take;
            if (in_iov == iov[i].iov_len && i + 1 < n) {
                i++;
                in_iov = 0;
            }
        }
        if (write) {
            one.iov_len = chunk;
            ret = rw_full(b->fd, true, &one, 1, pos, chunk);
            if (ret < 0) {
                return ret;
            }
        }
        pos += (off_t)chunk;
        len -= chunk;
    }
    return 0;
}

/* do_rw()'s answer for a request queued in the ring. */
#define QUEUED 0xffu

static uint8_t do_rw(struct virtio_blk *b, struct virtqueue *q,
                     struct blk_slot *sl, unsigned idx, bool write)
{
    const struct blk_req *r = &sl->r;
    off_t pos = (off_t)(r->sector * VIRTIO_BLK_SECTOR);
    int n;

    if (write && b->readonly) {
        return VIRTIO_BLK_S_IOERR;
    }
    if (r->len % VIRTIO_BLK_SECTOR ||
        !in_disk(b, r->sector, r->len / VIRTIO_BLK_SECTOR)) {
        return VIRTIO_BLK_S_IOERR;
    }
    if (r->len == 0) {
        return VIRTIO_BLK_S_OK;
    }
    n = chain_iov(sl, q, !write, write ? HDR_SIZE : 0, r->len);
    if (n < 0) {
        return VIRTIO_BLK_S_IOERR;
    }
    sl->nr_iov = n;
    if (b->direct && !iov_aligned(sl->iov, n)) {
        return rw_bounce(b, write, sl->iov, n, pos, r->len) < 0
                   ? VIRTIO_BLK_S_IOERR
                   : VIRTIO_BLK_S_OK;
    }
    if (b->uring && blk_uring_add(b->uring, write, sl->iov, n, pos, idx) == 0) {
        return QUEUED;
    }
    return rw_full(b->fd, write, sl->iov, n, pos, r->len) < 0
               ? VIRTIO_BLK_S_IOERR
               : VIRTIO_BLK_S_OK;
}

/* The ring's answer for slot (tag): a short transfer is finished here. */
static void ring_done(void *arg, uint64_t tag, int64_t res)
{
    struct virtio_blk *b = arg;
    struct blk_slot *sl = &b->slots[tag];
    bool write = sl->r.type == VIRTIO_BLK_T_OUT;
    struct iovec *iov = sl->iov;
    int n = sl->nr_iov;

    if (res < 0 || (uint64_t)res > sl->r.len) {
        sl->status = VIRTIO_BLK_S_IOERR;
        return;
    }
    iov_advance(&iov, &n, (size_t)res);
    sl->status = rw_full(b->fd, write, iov, n,
                         (off_t)(sl->r.sector * VIRTIO_BLK_SECTOR + res),
                         sl->r.len - (uint64_t)res) < 0
                     ? VIRTIO_BLK_S_IOERR
                     : VIRTIO_BLK_S_OK;
}

static uint8_t do_get_id(struct virtio_blk *b, struct virtqueue *q,
                         struct blk_slot *sl, int64_t *written)
{
    uint64_t len =
        sl->r.len < VIRTIO_BLK_SERIAL_LEN ? sl->r.len : VIRTIO_BLK_SERIAL_LEN;
    uint64_t left = len;
    int n = chain_iov(sl, q, true, 0, len);

    if (n < 0) {
        return VIRTIO_BLK_S_IOERR;
    }
    for (int i = 0; i < n; i++) {
        memcpy(sl->iov[i].iov_base, b->serial + (len - left),
               sl->iov[i].iov_len);
        left -= sl->iov[i].iov_len;
    }
    *written = (int64_t)len;
    return VIRTIO_BLK_S_OK;
}

/* Zeroes over [pos, pos + len) when fallocate() cannot make them. */
static int write_zeroes_slow(struct virtio_blk *b, off_t pos, uint64_t len)
{
    memset(b->bounce, 0, BOUNCE_SIZE);
    while (len) {
        uint64_t chunk = len < BOUNCE_SIZE ? len : BOUNCE_SIZE;
        struct iovec one = {b->bounce, chunk};
        int ret = rw_full(b->fd, true, &one, 1, pos, chunk);

        if (ret < 0) {
            return ret;
        }
        pos += (off_t)chunk;
        len -= chunk;
    }
    return 0;
}

static uint8_t do_ranges(struct virtio_blk *b, struct virtqueue *q,
                         const struct blk_slot *sl)
{
    const struct blk_req *r = &sl->r;
    bool zeroes = r->type == VIRTIO_BLK_T_WRITE_ZEROES;

    if (b->readonly) {
        return VIRTIO_BLK_S_IOERR;
    }
    if (r->len == 0 || r->len % RANGE_SIZE ||
        r->len / RANGE_SIZE > VIRTIO_BLK_MAX_RANGES) {
        return VIRTIO_BLK_S_IOERR;
    }
    for (uint64_t off = 0; off < r->len; off += RANGE_SIZE) {
        struct virtio_blk_discard_write_zeroes d;
        off_t pos;
        uint64_t len;
        int ret;

        if (chain_read(q, &sl->chain, HDR_SIZE + off, &d, sizeof(d)) < 0) {
            return VIRTIO_BLK_S_IOERR;
        }
        if (d.num_sectors > VIRTIO_BLK_MAX_RANGE_SECTORS ||
            !in_disk(b, d.sector, d.num_sectors)) {
            return VIRTIO_BLK_S_IOERR;
        }
        /* Discard takes no flags; write-zeroes only UNMAP. */
        if (d.flags & ~(zeroes ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0u)) {
            return VIRTIO_BLK_S_UNSUPP;
        }
        pos = (off_t)(d.sector * VIRTIO_BLK_SECTOR);
        len = (uint64_t)d.num_sectors * VIRTIO_BLK_SECTOR;
        if (!zeroes) {
            /* A hint: a file system that cannot punch keeps the data. */
            (void)fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                            pos, (off_t)len);
            continue;
        }
        ret = fallocate(b->fd,
                        (d.flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP
                             ? FALLOC_FL_PUNCH_HOLE
                             : FALLOC_FL_ZERO_RANGE) |
                            FALLOC_FL_KEEP_SIZE,
                        pos, (off_t)len);
        if (ret < 0 && write_zeroes_slow(b, pos, len) < 0) {
            return VIRTIO_BLK_S_IOERR;
        }
    }
    return VIRTIO_BLK_S_OK;
}

/*
 * Serve slot (idx)'s chain, or queue it in the ring (status QUEUED); a chain
 * that is no request gets sl->written = -EIO.
 */
static void start(struct virtio_blk *b, struct virtqueue *q, unsigned idx)
{
    struct blk_slot *sl = &b->slots[idx];
    const struct vq_chain *c = &sl->chain;
    const struct vq_seg *last = &c->seg[c->nr ? c->nr - 1 : 0];
    struct virtio_blk_outhdr h;
    struct blk_req *r = &sl->r;

    sl->written = 0;
    if (c->out_bytes < HDR_SIZE || c->in_bytes < 1 || !last->write ||
        last->len < 1 || chain_read(q, c, 0, &h, sizeof(h)) < 0) {
        sl->written = -EIO;
        return;
    }
    r->type = h.type;
    r->sector = h.sector;
    r->status_gpa = last->gpa + last->len - 1;
    r->len = r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_GET_ID
                 ? c->in_bytes - 1
                 : c->out_bytes - HDR_SIZE;
    switch (r->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        sl->status = do_rw(b, q, sl, idx, r->type == VIRTIO_BLK_T_OUT);
        break;
    case VIRTIO_BLK_T_FLUSH:
        /* The writes it covers are those the driver saw complete: none
         * of them is still in the ring. */
        sl->status =
            fdatasync(b->fd) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
        break;
    case VIRTIO_BLK_T_GET_ID:
        sl->status = do_get_id(b, q, sl, &sl->written);
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        sl->status = do_ranges(b, q, sl);
        break;
    default:
        sl->status = VIRTIO_BLK_S_UNSUPP;
        break;
    }
}

/* Write slot (sl)'s status byte and count it; sl->written becomes what
 * the used element says (the status byte included). */
static void finish(struct virtio_blk *b, struct virtqueue *q,
                   struct blk_slot *sl)
{
    uint8_t *sp;

    if (sl->written < 0) {
        return;
    }
    if (sl->r.type == VIRTIO_BLK_T_IN && sl->status == VIRTIO_BLK_S_OK) {
        sl->written = (int64_t)sl->r.len;
    }
    sp = q->mem->map(q->mem_opaque, sl->r.status_gpa, 1);
    if (!sp) {
        sl->written = -EIO;
        return;
    }
    *sp = sl->status;
    sl->written++;
    __atomic_add_fetch(sl->status == VIRTIO_BLK_S_OK      ? &b->nr_ok
                       : sl->status == VIRTIO_BLK_S_IOERR ? &b->nr_ioerr
                                                          : &b->nr_unsupp,
                       1, __ATOMIC_RELAXED);
}

/*
 * Take up to nr_slots chains, serve them (the ring's reads and writes all
 * in flight together), answer them. The transport's lock is dropped while
 * they are served; a reset meanwhile (the epoch moved) drops the answers.
 */
static void blk_notify(void *opaque, unsigned qi)
{
    struct virtio_blk *b = opaque;
    struct virtio_mmio *t = &b->transport;
    struct virtqueue *q;

    virtio_mmio_lock(t);
    while ((q = virtio_mmio_queue(t, qi))) {
        unsigned n = 0;
        uint32_t epoch;

        while (n < b->nr_slots && vq_pop_or_arm(q, &b->slots[n].chain) == 1) {
            n++;
        }
        if (n == 0) {
            break;
        }
        epoch = virtio_mmio_epoch_locked(t);
        virtio_mmio_unlock(t);
        for (unsigned i = 0; i < n; i++) {
            start(b, q, i);
        }
        if (b->uring) {
            /* A failed ring answered its requests -EIO (IOERR) and is
             * used no more: later requests take the system calls. */
            if (blk_uring_run(b->uring, ring_done, b) < 0) {
                blk_uring_free(b->uring);
                b->uring = NULL;
            }
        }
        for (unsigned i = 0; i < n; i++) {
            finish(b, q, &b->slots[i]);
        }
        virtio_mmio_lock(t);
        if (virtio_mmio_epoch_locked(t) != epoch) {
            continue; /* reset meanwhile: the answers have no ring */
        }
        for (unsigned i = 0; i < n && !q->broken; i++) {
            if (b->slots[i].written < 0) {
                q->broken = true;
            } else {
                (void)vq_push(q, &b->slots[i].chain,
                              (uint32_t)b->slots[i].written);
            }
        }
        virtio_mmio_used_locked(t, qi);
        if (q->broken) {
            break;
        }
    }
    /* A ring that broke in vq_pop(): DEVICE_NEEDS_RESET now. */
    q = virtio_mmio_queue(t, qi);
    if (q && q->broken) {
        virtio_mmio_used_locked(t, qi);
    }
    virtio_mmio_unlock(t);
}

static void blk_config_read(void *opaque, uint32_t off, void *buf, unsigned len)
{
    struct virtio_blk *b = opaque;

    memcpy(buf, b->config + off, len);
}

static const struct virtio_dev_ops blk_ops = {
    .device_id = VIRTIO_ID_BLOCK,
    .features = F(VIRTIO_F_INDIRECT_DESC) | F(VIRTIO_F_EVENT_IDX) |
                F(VIRTIO_BLK_F_SEG_MAX) | F(VIRTIO_BLK_F_BLK_SIZE) |
                F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_BLK_F_DISCARD) |
                F(VIRTIO_BLK_F_WRITE_ZEROES),
    .nr_queues = 1,
    .queue_max = VIRTIO_BLK_QUEUE_MAX,
    .config_size = sizeof(struct virtio_blk_config),
    .config_read = blk_config_read,
    .notify = blk_notify,
};

static const struct virtio_dev_ops blk_ro_ops = {
    .device_id = VIRTIO_ID_BLOCK,
    .features = F(VIRTIO_F_INDIRECT_DESC) | F(VIRTIO_F_EVENT_IDX) |
                F(VIRTIO_BLK_F_SEG_MAX) | F(VIRTIO_BLK_F_BLK_SIZE) |
                F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_BLK_F_RO),
    .nr_queues = 1,
    .queue_max = VIRTIO_BLK_QUEUE_MAX,
    .config_size = sizeof(struct virtio_blk_config),
    .config_read = blk_config_read,
    .notify = blk_notify,
};

_Static_assert(sizeof(struct virtio_blk_config) <=
                   sizeof(((struct virtio_blk *)0)->config),
               "the config copy holds the whole layout");

static void fill_config(struct virtio_blk *b)
{
    struct virtio_blk_config cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.capacity = b->sectors;
    cfg.seg_max = VIRTIO_BLK_SEG_MAX;
    cfg.blk_size = VIRTIO_BLK_SECTOR;
    cfg.num_queues = 1;
    cfg.max_discard_sectors = VIRTIO_BLK_MAX_RANGE_SECTORS;
    cfg.max_discard_seg = VIRTIO_BLK_MAX_RANGES;
    cfg.discard_sector_alignment = 1;
    cfg.max_write_zeroes_sectors = VIRTIO_BLK_MAX_RANGE_SECTORS;
    cfg.max_write_zeroes_seg = VIRTIO_BLK_MAX_RANGES;
    cfg.write_zeroes_may_unmap = 1;
    memcpy(b->config, &cfg, sizeof(cfg));
}

int virtio_blk_init(struct virtio_blk *b, const struct virtio_blk_opts *o,
                    const struct vq_mem_ops *mem, void *mem_opaque,
                    const struct virtio_mmio_hooks *hooks, void *hook_opaque)
{
    size_t slen = o->serial ? strlen(o->serial) : 0;
    int ret;

    if (o->size < VIRTIO_BLK_SECTOR) {
        return -EINVAL;
    }
    memset(b->serial, 0, sizeof(b->serial));
    memcpy(b->serial, o->serial ? o->serial : "",
           slen < VIRTIO_BLK_SERIAL_LEN ? slen : VIRTIO_BLK_SERIAL_LEN);
    b->fd = o->fd;
    b->sectors = o->size / VIRTIO_BLK_SECTOR;
    b->readonly = o->readonly;
    b->direct = o->direct;
    b->nr_ok = b->nr_ioerr = b->nr_unsupp = 0;
    fill_config(b);
    b->bounce = NULL;
    b->slots = NULL;
    b->uring = NULL;
    b->uring_err = 0;
    if (o->aio != VIRTIO_BLK_AIO_THREADS) {
        ret = blk_uring_new(o->fd, VIRTIO_BLK_BATCH, &b->uring);
        if (ret < 0 && o->aio == VIRTIO_BLK_AIO_IO_URING) {
            return ret;
        }
        b->uring_err = ret < 0 ? ret : 0;
    }
    b->nr_slots = b->uring ? VIRTIO_BLK_BATCH : 1;
    b->slots = calloc(b->nr_slots, sizeof(*b->slots));
    if (!b->slots || posix_memalign(&b->bounce, 4096, BOUNCE_SIZE) != 0) {
        ret = -ENOMEM;
        goto out_free;
    }
    ret = virtio_mmio_init(&b->transport, "virtio-blk",
                           o->readonly ? &blk_ro_ops : &blk_ops, b, mem,
                           mem_opaque, hooks, hook_opaque);
    if (ret == 0) {
        return 0;
    }
out_free:
    free(b->bounce);
    free(b->slots);
    blk_uring_free(b->uring);
    b->bounce = NULL;
    b->slots = NULL;
    b->uring = NULL;
    return ret;
}

const char *virtio_blk_aio_name(const struct virtio_blk *b)
{
    return b->uring ? "io_uring" : "threads";
}

int virtio_blk_destroy(struct virtio_blk *b)
{
    int ret = virtio_mmio_destroy(&b->transport);

    if (ret == 0) {
        blk_uring_free(b->uring);
        free(b->slots);
        free(b->bounce);
        b->uring = NULL;
        b->slots = NULL;
        b->bounce = NULL;
    }
    return ret;
}
