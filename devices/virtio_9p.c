/* SPDX-License-Identifier: MIT */
/*
 * virtio-9p: a 9P server behind a virtqueue (see devices/virtio_9p.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_9p.h"

#define MOUNT_TAG_BIT 0 /* VIRTIO_9P_MOUNT_TAG */
#define REPLY_MIN 11u   /* an Rlerror */

/* Copy the chain's readable bytes into d->req; their count, or -EIO. */
static int64_t gather(struct virtio_9p *d, struct virtqueue *q)
{
    const struct vq_chain *c = &d->chain;
    uint64_t done = 0;

    if (c->out_bytes > P9_MSIZE_MAX) {
        return -EIO;
    }
    for (unsigned i = 0; i < c->nr && !c->seg[i].write; i++) {
        const uint8_t *p =
            q->mem->map(q->mem_opaque, c->seg[i].gpa, c->seg[i].len);

        if (!p) {
            return -EIO;
        }
        memcpy(d->req + done, p, c->seg[i].len);
        done += c->seg[i].len;
    }
    return (int64_t)done;
}

/* Copy (len) bytes of d->rep into the chain's writable buffers. */
static int scatter(struct virtio_9p *d, struct virtqueue *q, uint64_t len)
{
    const struct vq_chain *c = &d->chain;
    uint64_t done = 0;

    for (unsigned i = 0; i < c->nr && done < len; i++) {
        uint64_t n = c->seg[i].len < len - done ? c->seg[i].len : len - done;
        uint8_t *p;

        if (!c->seg[i].write) {
            continue;
        }
        p = q->mem->map(q->mem_opaque, c->seg[i].gpa, n);
        if (!p) {
            return -EIO;
        }
        memcpy(p, d->rep + done, n);
        done += n;
    }
    return 0;
}

/* A Tread in d->req (in bytes) answered with its data read into the
 * chain's writable buffers past the reply's head, of (cap) bytes in all:
 * 0 with the reply's length in (*out), or -EAGAIN when the copying path
 * is to answer (not a Tread, a read that fails, a buffer map() refuses),
 * or -EIO when the head cannot be written. */
static int read_direct(struct virtio_9p *d, struct virtqueue *q, size_t in,
                       uint64_t cap, size_t *out)
{
    const struct vq_chain *c = &d->chain;
    uint64_t skip = P9_RREAD_HEAD, room = cap - P9_RREAD_HEAD;
    unsigned nr = 0;
    int ret;

    if (in < 5 || d->req[4] != P9_TREAD_TYPE) {
        return -EAGAIN;
    }
    for (unsigned i = 0; i < c->nr && room; i++) {
        uint64_t gpa = c->seg[i].gpa, len = c->seg[i].len;
        uint8_t *p;

        if (!c->seg[i].write) {
            continue;
        }
        if (skip >= len) {
            skip -= len;
            continue;
        }
        gpa += skip;
        len -= skip;
        skip = 0;
        len = len < room ? len : room;
        p = q->mem->map(q->mem_opaque, gpa, len);
        if (!p) {
            return -EAGAIN;
        }
        d->iov[nr++] = (struct iovec){p, (size_t)len};
        room -= len;
    }
    ret = p9_server_read_iov(&d->server, d->req, in, (size_t)cap, d->iov, nr,
                             d->rep, out);
    if (ret < 0) {
        return ret;
    }
    return scatter(d, q, P9_RREAD_HEAD) < 0 ? -EIO : 0;
}

/* Serve d->chain: the reply's length, or -EIO for a chain no reply fits. */
static int64_t serve(struct virtio_9p *d, struct virtqueue *q)
{
    uint64_t cap = d->chain.in_bytes;
    int64_t in = gather(d, q);
    size_t out = 0;
    int ret;

    if (in < 0 || cap < REPLY_MIN) {
        return -EIO;
    }
    if (cap > P9_MSIZE_MAX) {
        cap = P9_MSIZE_MAX;
    }
    ret = read_direct(d, q, (size_t)in, cap, &out);
    if (ret == 0) {
        __atomic_add_fetch(&d->nr_requests, 1, __ATOMIC_RELAXED);
        return (int64_t)out;
    }
    if (ret != -EAGAIN) {
        return ret;
    }
    if (p9_server_handle(&d->server, d->req, (size_t)in, d->rep, (size_t)cap,
                         &out) < 0) {
        return -EIO; /* not a 9P message: nothing to answer */
    }
    if (scatter(d, q, out) < 0) {
        return -EIO;
    }
    __atomic_add_fetch(&d->nr_requests, 1, __ATOMIC_RELAXED);
    return (int64_t)out;
}

static void p9_notify(void *opaque, unsigned qi)
{
    struct virtio_9p *d = opaque;
    struct virtio_mmio *t = &d->transport;
    struct virtqueue *q;

    virtio_mmio_lock(t);
    while ((q = virtio_mmio_queue(t, qi)) && vq_pop_or_arm(q, &d->chain) == 1) {
        uint32_t epoch = virtio_mmio_epoch_locked(t);
        int64_t written;

        virtio_mmio_unlock(t);
        if (epoch != d->session_epoch) {
            /* The driver reset the device (or took its queue away) since
             * the last request: close what the old session opened, and
             * the new one starts with a Tversion. Here, on the one thread
             * that serves, not in a reset hook: that runs under the
             * transport's lock, maybe while serve() is answering. */
            p9_server_reset(&d->server);
            d->session_epoch = epoch;
        }
        written = serve(d, q);
        virtio_mmio_lock(t);
        if (virtio_mmio_epoch_locked(t) != epoch) {
            continue; /* reset meanwhile: the answer has no ring */
        }
        if (written < 0) {
            q->broken = true;
        } else {
            (void)vq_push(q, &d->chain, (uint32_t)written);
        }
        virtio_mmio_used_locked(t, qi);
        if (q->broken) {
            break;
        }
    }
    q = virtio_mmio_queue(t, qi);
    if (q && q->broken) {
        virtio_mmio_used_locked(t, qi);
    }
    virtio_mmio_unlock(t);
}

static void p9_config_read(void *opaque, uint32_t off, void *buf, unsigned len)
{
    struct virtio_9p *d = opaque;

    memcpy(buf, d->config + off, len);
}

static const struct virtio_dev_ops p9_ops = {
    .device_id = VIRTIO_ID_9P,
    .features = (UINT64_C(1) << VIRTIO_F_INDIRECT_DESC) |
                (UINT64_C(1) << VIRTIO_F_EVENT_IDX) |
                (UINT64_C(1) << MOUNT_TAG_BIT),
    .nr_queues = 1,
    .queue_max = 128,
    .config_size = sizeof(((struct virtio_9p *)0)->config),
    .config_read = p9_config_read,
    .notify = p9_notify,
};

int virtio_9p_init(struct virtio_9p *d, const char *dir, const char *tag,
                   bool writable, const struct vq_mem_ops *mem,
                   void *mem_opaque, const struct virtio_mmio_hooks *hooks,
                   void *hook_opaque)
{
    size_t tlen = tag ? strlen(tag) : 0;
    int ret;

    if (tlen == 0 || tlen > VIRTIO_9P_TAG_MAX) {
        return -EINVAL;
    }
    memset(d->config, 0, sizeof(d->config));
    d->config[0] = (uint8_t)tlen;
    memcpy(d->config + 2, tag, tlen);
    d->nr_requests = 0;
    d->session_epoch = 0; /* a reset of the empty server is harmless */
    d->req = malloc(P9_MSIZE_MAX);
    d->rep = malloc(P9_MSIZE_MAX);
    if (!d->req || !d->rep) {
        ret = -ENOMEM;
        goto out_free;
    }
    ret = p9_server_init(&d->server, dir, writable);
    if (ret < 0) {
        goto out_free;
    }
    ret = virtio_mmio_init(&d->transport, "virtio-9p", &p9_ops, d, mem,
                           mem_opaque, hooks, hook_opaque);
    if (ret == 0) {
        return 0;
    }
    p9_server_destroy(&d->server);
out_free:
    free(d->req);
    free(d->rep);
    d->req = d->rep = NULL;
    return ret;
}

int virtio_9p_destroy(struct virtio_9p *d)
{
    int ret = virtio_mmio_destroy(&d->transport);

    if (ret == 0) {
        p9_server_destroy(&d->server);
        free(d->req);
        free(d->rep);
        d->req = d->rep = NULL;
    }
    return ret;
}
