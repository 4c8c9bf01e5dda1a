/* SPDX-License-Identifier: MIT */
/*
 * The PC's virtio-mmio devices (see machine-internal.h): each a transport
 * region in the MMIO hole at PC_VIRTIO_BASE + i * VIRTIO_MMIO_SIZE, an ISA
 * interrupt, and a worker thread that does the device's work.
 *
 * Why a worker and eventfds: a queue notification written by the guest
 * would otherwise be an MMIO exit to this process and the I/O done on the
 * vCPU thread, which then runs no guest code until the disk answers; on
 * nested KVM each such exit costs tens of microseconds. With KVM_IOEVENTFD
 * the kernel turns the QueueNotify write into an eventfd signal without
 * leaving KVM, and with KVM_IRQFD the worker raises the interrupt in the
 * in-kernel I/O APIC without a vCPU. Where either ioctl fails the same
 * eventfds are served by hand (the transport's kick hook writes the
 * queue's eventfd; the interrupt goes through KVM_IRQ_LINE), so the
 * device works the same, only slower.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "machine-internal.h"
#include "mem/address_space.h"

/* Free ISA interrupts of this PC (the UART has 4, the RTC 8, the SCI 9,
 * the i8042 1 and 12, the PIT 0): Linux maps all 16 at boot, so the
 * command-line form of a device finds its IRQ without ACPI. */
static const uint8_t pc_virtio_irqs[PC_VIRTIO_MAX] = {5, 6, 7, 10, 11, 14, 15};

enum { VDEV_BLK, VDEV_RNG, VDEV_CONSOLE, VDEV_9P };

struct pc_vdev {
    struct machine *m;
    int kind;
    union {
        struct virtio_blk blk;
        struct virtio_rng rng;
        struct virtio_console con;
        struct virtio_9p p9;
    } u;
    struct virtio_mmio *t;
    uint64_t base;
    unsigned irq;
    unsigned nr_queues;
    int kick[VIRTIO_MMIO_MAX_QUEUES];
    bool ioeventfd[VIRTIO_MMIO_MAX_QUEUES];
    int call;
    bool irqfd;
    int stop;
    pthread_t thread;
    bool have_dev, have_thread;
    /* Counters (machine_virtio_stats), atomic. */
    uint64_t kicks_by_exit, queue_runs;
};

/* Guest RAM for the queues: below 4 GiB, then from RAM_HIGH_BASE. */
static void *ram_map(void *opaque, uint64_t gpa, uint64_t len)
{
    struct machine *m = opaque;
    uint64_t low = m->ram_low_size, high = m->cfg->mem_size - low;

    if (gpa <= low && len <= low - gpa) {
        return mr_ram_ptr(&m->ram, gpa);
    }
    if (gpa >= RAM_HIGH_BASE && gpa - RAM_HIGH_BASE <= high &&
        len <= high - (gpa - RAM_HIGH_BASE)) {
        return mr_ram_ptr(&m->ram, low + (gpa - RAM_HIGH_BASE));
    }
    return NULL;
}

/* A device wrote guest RAM: the dirty log must see it as a guest write
 * (KVM logs only the vCPUs'). */
static void ram_written(void *opaque, uint64_t gpa, uint64_t len)
{
    struct machine *m = opaque;

    as_mark_written(m->as_mem, gpa, len);
}

static const struct vq_mem_ops pc_ram_ops = {.map = ram_map,
                                             .written = ram_written};

static void vdev_irq(void *opaque, bool level)
{
    struct pc_vdev *d = opaque;
    uint64_t one = 1;
    struct kvm_irq_level up = {.irq = d->irq, .level = 1};
    struct kvm_irq_level down = {.irq = d->irq, .level = 0};

    if (!level) {
        return; /* edges: nothing to lower */
    }
    if (d->irqfd) {
        if (write(d->call, &one, sizeof(one)) < 0) {
            /* The counter is full: interrupts are pending already. */
        }
        return;
    }
    (void)kvm_ioctl(d->m->vm_fd, KVM_IRQ_LINE, &up);
    (void)kvm_ioctl(d->m->vm_fd, KVM_IRQ_LINE, &down);
}

/* A QueueNotify that reached us (no ioeventfd, or a value it did not
 * match): hand it to the worker. */
static void vdev_kick(void *opaque, unsigned q)
{
    struct pc_vdev *d = opaque;
    uint64_t one = 1;

    __atomic_add_fetch(&d->kicks_by_exit, 1, __ATOMIC_RELAXED);
    if (q < d->nr_queues && write(d->kick[q], &one, sizeof(one)) < 0) {
        /* Full counter: a kick is pending already. */
    }
}

static const struct virtio_mmio_hooks vdev_hooks = {
    .irq = vdev_irq,
    .kick = vdev_kick,
};

static void *vdev_worker(void *opaque)
{
    struct pc_vdev *d = opaque;
    struct pollfd p[VIRTIO_MMIO_MAX_QUEUES + 1];

    for (unsigned q = 0; q < d->nr_queues; q++) {
        p[q] = (struct pollfd){.fd = d->kick[q], .events = POLLIN};
    }
    p[d->nr_queues] = (struct pollfd){.fd = d->stop, .events = POLLIN};
    for (;;) {
        if (poll(p, d->nr_queues + 1, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (p[d->nr_queues].revents) {
            break;
        }
        for (unsigned q = 0; q < d->nr_queues; q++) {
            uint64_t n;

            if (!(p[q].revents & POLLIN) ||
                read(d->kick[q], &n, sizeof(n)) != sizeof(n)) {
                continue;
            }
            __atomic_add_fetch(&d->queue_runs, 1, __ATOMIC_RELAXED);
            virtio_mmio_run_queue(d->t, q);
        }
    }
    return NULL;
}

static void con_output(void *opaque, const uint8_t *buf, size_t len)
{
    struct machine *m = opaque;

    console_write(&m->console, buf, len);
}

static const struct virtio_console_hooks con_hooks = {.output = con_output};

/* The command's stderr (machine_config.command's hvc1): straight to ours. */
static void err_output(void *opaque, const uint8_t *buf, size_t len)
{
    (void)opaque;
    while (len) {
        ssize_t n = write(STDERR_FILENO, buf, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = STDERR_FILENO, .events = POLLOUT};

            (void)poll(&p, 1, 1000);
            continue;
        }
        if (n <= 0) {
            return; /* stderr is gone: nowhere to say so either */
        }
        buf += n;
        len -= (size_t)n;
    }
}

static const struct virtio_console_hooks err_hooks = {.output = err_output};

/* The virtio-consoles: --console virtio's one, or the command's two. */
static unsigned nr_consoles(const struct machine_config *cfg)
{
    return cfg->command ? 2u : cfg->console_virtio ? 1u : 0u;
}

static int vdev_make(struct pc_vdev *d, const struct machine_config *cfg,
                     unsigned i)
{
    struct machine *m = d->m;

    if (i < cfg->nr_disks) {
        const struct machine_disk *k = &cfg->disks[i];
        const struct virtio_blk_opts o = {
            .fd = k->fd,
            .size = k->size,
            .readonly = k->readonly,
            .direct = k->direct,
            .serial = k->serial,
            .aio = k->aio == MACHINE_DISK_AIO_IO_URING ? VIRTIO_BLK_AIO_IO_URING
                   : k->aio == MACHINE_DISK_AIO_THREADS ? VIRTIO_BLK_AIO_THREADS
                                                        : VIRTIO_BLK_AIO_AUTO,
        };

        d->kind = VDEV_BLK;
        d->t = &d->u.blk.transport;
        return virtio_blk_init(&d->u.blk, &o, &pc_ram_ops, m, &vdev_hooks, d);
    }
    if (cfg->virtio_rng && i == cfg->nr_disks) {
        d->kind = VDEV_RNG;
        d->t = &d->u.rng.transport;
        return virtio_rng_init(&d->u.rng, &pc_ram_ops, m, &vdev_hooks, d);
    }
    i -= (unsigned)cfg->nr_disks + (cfg->virtio_rng ? 1u : 0u);
    if (i < nr_consoles(cfg)) {
        d->kind = VDEV_CONSOLE;
        d->t = &d->u.con.transport;
        return virtio_console_init(&d->u.con, i == 0 ? &con_hooks : &err_hooks,
                                   m, &pc_ram_ops, m, &vdev_hooks, d);
    }
    i -= nr_consoles(cfg);
    d->kind = VDEV_9P;
    d->t = &d->u.p9.transport;
    return virtio_9p_init(&d->u.p9, cfg->shares[i].path, cfg->shares[i].tag,
                          cfg->shares[i].writable, &pc_ram_ops, m, &vdev_hooks,
                          d);
}

/* Eventfds, and KVM's ioeventfds and irqfd where it takes them. */
static int vdev_wire(struct pc_vdev *d)
{
    struct kvm_irqfd irqfd = {.flags = 0};
    int vm = d->m->vm_fd;

    d->nr_queues = virtio_mmio_dev(d->t)->nr_queues;
    d->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    d->stop = eventfd(0, EFD_CLOEXEC);
    if (d->call < 0 || d->stop < 0) {
        return -errno;
    }
    for (unsigned q = 0; q < d->nr_queues; q++) {
        struct kvm_ioeventfd io = {
            .datamatch = q,
            .addr = d->base + VMMIO_QUEUE_NOTIFY,
            .len = 4,
            .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
        };

        d->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->kick[q] < 0) {
            return -errno;
        }
        io.fd = d->kick[q];
        d->ioeventfd[q] = kvm_ioctl_quiet(vm, KVM_IOEVENTFD, &io) == 0;
    }
    irqfd.fd = (uint32_t)d->call;
    irqfd.gsi = d->irq;
    d->irqfd = kvm_ioctl_quiet(vm, KVM_IRQFD, &irqfd) == 0;
    return 0;
}

static void vdev_unwire(struct pc_vdev *d)
{
    int vm = d->m->vm_fd;

    for (unsigned q = 0; q < d->nr_queues; q++) {
        if (d->ioeventfd[q]) {
            struct kvm_ioeventfd io = {
                .datamatch = q,
                .addr = d->base + VMMIO_QUEUE_NOTIFY,
                .len = 4,
                .fd = d->kick[q],
                .flags =
                    KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_DEASSIGN,
            };

            (void)kvm_ioctl(vm, KVM_IOEVENTFD, &io);
        }
        if (d->kick[q] >= 0) {
            close(d->kick[q]);
        }
    }
    if (d->irqfd) {
        struct kvm_irqfd irqfd = {.fd = (uint32_t)d->call,
                                  .gsi = d->irq,
                                  .flags = KVM_IRQFD_FLAG_DEASSIGN};

        (void)kvm_ioctl(vm, KVM_IRQFD, &irqfd);
    }
    if (d->call >= 0) {
        close(d->call);
    }
    if (d->stop >= 0) {
        close(d->stop);
    }
}

static int vdev_destroy_dev(struct pc_vdev *d)
{
    switch (d->kind) {
    case VDEV_BLK:
        return virtio_blk_destroy(&d->u.blk);
    case VDEV_RNG:
        return virtio_rng_destroy(&d->u.rng);
    case VDEV_9P:
        return virtio_9p_destroy(&d->u.p9);
    default:
        return virtio_console_destroy(&d->u.con);
    }
}

/* Stop and release one device; its region is out of the tree already. */
static void vdev_free(struct pc_vdev *d)
{
    if (d->have_thread) {
        uint64_t one = 1;

        if (write(d->stop, &one, sizeof(one)) != sizeof(one)) {
            fprintf(stderr, "vmm: warning: cannot stop a virtio worker\n");
        } else {
            pthread_join(d->thread, NULL);
        }
    }
    vdev_unwire(d);
    if (d->have_dev && vdev_destroy_dev(d) < 0) {
        fprintf(stderr, "vmm: warning: virtio device teardown incomplete\n");
    }
    free(d);
}

static int vdev_new(struct machine *m, unsigned i, struct pc_vdev **out)
{
    struct pc_vdev *d = calloc(1, sizeof(*d));
    int ret;

    *out = d;
    if (!d) {
        return -ENOMEM;
    }
    d->m = m;
    d->base = PC_VIRTIO_BASE + (uint64_t)i * VIRTIO_MMIO_SIZE;
    d->irq = pc_virtio_irqs[i];
    d->call = d->stop = -1;
    for (unsigned q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++) {
        d->kick[q] = -1;
    }
    ret = vdev_make(d, m->cfg, i);
    if (ret < 0) {
        return ret;
    }
    d->have_dev = true;
    ret = vdev_wire(d);
    if (ret < 0) {
        return ret;
    }
    ret = -pthread_create(&d->thread, NULL, vdev_worker, d);
    d->have_thread = ret == 0;
    return ret;
}

unsigned pc_virtio_count(const struct machine_config *cfg)
{
    return (unsigned)cfg->nr_disks + (cfg->virtio_rng ? 1u : 0u) +
           nr_consoles(cfg) + (unsigned)cfg->nr_shares;
}

int pc_virtio_init(struct machine *m, char *why, size_t whylen)
{
    struct pc_devices *pc = m->pc_dev;
    unsigned n = pc_virtio_count(m->cfg);
    int ret = 0;

    if (n > PC_VIRTIO_MAX) {
        snprintf(why, whylen, "%u virtio devices: this PC has room for %u", n,
                 PC_VIRTIO_MAX);
        return -EINVAL;
    }
    for (unsigned i = 0; i < n && ret == 0; i++) {
        ret = vdev_new(m, i, &pc->virtio[i]);
        if (pc->virtio[i]) {
            pc->nr_virtio = i + 1;
        }
        if (ret < 0 && i < m->cfg->nr_disks) {
            const struct machine_disk *k = &m->cfg->disks[i];

            snprintf(why, whylen, "--disk %s: %s%s", k->path,
                     k->aio == MACHINE_DISK_AIO_IO_URING
                         ? "aio=io_uring: io_uring not available: "
                         : "",
                     strerror(-ret));
            return ret;
        }
        if (ret < 0 && pc->virtio[i] && pc->virtio[i]->kind == VDEV_9P) {
            const struct machine_share *sh =
                &m->cfg->shares[i + m->cfg->nr_shares - n];

            snprintf(why, whylen, "--share %s: %s", sh->path, strerror(-ret));
            return ret;
        }
        if (ret < 0) {
            snprintf(why, whylen, "virtio device %u: %s", i, strerror(-ret));
            return ret;
        }
    }
    mem_begin(m->sys);
    for (unsigned i = 0; i < n && ret == 0; i++) {
        struct pc_vdev *d = pc->virtio[i];

        ret = mr_add_subregion(&m->root, d->base, &d->t->region);
    }
    if (mem_commit(m->sys) < 0 && ret == 0) {
        ret = -EIO;
    }
    if (ret < 0) {
        snprintf(why, whylen, "placing the virtio devices: %s", strerror(-ret));
    }
    return ret;
}

void pc_virtio_destroy(struct machine *m)
{
    struct pc_devices *pc = m->pc_dev;

    /* The regions left the tree with the rest (teardown_memory()); no
     * vCPU runs. */
    for (unsigned i = 0; i < pc->nr_virtio; i++) {
        if (pc->virtio[i]) {
            vdev_free(pc->virtio[i]);
            pc->virtio[i] = NULL;
        }
    }
    pc->nr_virtio = 0;
}

void pc_virtio_stats(struct machine *m, struct machine_result *res)
{
    struct pc_devices *pc = m->pc_dev;

    res->nr_virtio = 0;
    for (unsigned i = 0; pc && i < pc->nr_virtio && i < MACHINE_MAX_VIRTIO;
         i++) {
        struct pc_vdev *d = pc->virtio[i];
        struct machine_virtio_stats *s = &res->virtio[res->nr_virtio++];
        bool ioeventfd = d->nr_queues > 0;

        memset(s, 0, sizeof(*s));
        for (unsigned q = 0; q < d->nr_queues; q++) {
            ioeventfd = ioeventfd && d->ioeventfd[q];
        }
        s->ioeventfd = ioeventfd;
        s->irqfd = d->irqfd;
        s->kicks_by_exit = __atomic_load_n(&d->kicks_by_exit, __ATOMIC_RELAXED);
        s->queue_runs = __atomic_load_n(&d->queue_runs, __ATOMIC_RELAXED);
        if (d->kind == VDEV_BLK) {
            const struct virtio_blk *b = &d->u.blk;
            uint64_t bad = __atomic_load_n(&b->nr_ioerr, __ATOMIC_RELAXED) +
                           __atomic_load_n(&b->nr_unsupp, __ATOMIC_RELAXED);

            s->device = "blk";
            s->aio = virtio_blk_aio_name(b);
            s->requests = __atomic_load_n(&b->nr_ok, __ATOMIC_RELAXED) + bad;
            s->errors = bad;
        } else if (d->kind == VDEV_RNG) {
            /* virtio-rng counts under its transport's lock. */
            virtio_mmio_lock(d->t);
            s->device = "rng";
            s->requests = d->u.rng.chains;
            s->errors = 0;
            virtio_mmio_unlock(d->t);
        } else if (d->kind == VDEV_9P) {
            s->device = "9p";
            s->requests =
                __atomic_load_n(&d->u.p9.nr_requests, __ATOMIC_RELAXED);
            s->errors =
                __atomic_load_n(&d->u.p9.server.nr_errors, __ATOMIC_RELAXED);
        } else {
            virtio_mmio_lock(d->t);
            s->device = "console";
            s->requests = d->u.con.bytes_out + d->u.con.bytes_in;
            s->errors = d->u.con.dropped;
            virtio_mmio_unlock(d->t);
        }
    }
}

bool pc_virtio_console_input(struct machine *m, const uint8_t *buf, size_t len)
{
    struct pc_devices *pc = m->pc_dev;

    for (unsigned i = 0; pc && i < pc->nr_virtio; i++) {
        if (pc->virtio[i] && pc->virtio[i]->kind == VDEV_CONSOLE) {
            virtio_console_input(&pc->virtio[i]->u.con, buf, len);
            return true;
        }
    }
    return false;
}

size_t pc_virtio_acpi(const struct machine *m, struct acpi_virtio *out,
                      size_t max)
{
    unsigned n = pc_virtio_count(m->cfg);

    if (m->cfg->virtio_cmdline) {
        return 0; /* one description only: the command line's */
    }
    for (unsigned i = 0; i < n && i < max; i++) {
        out[i].base = (uint32_t)(PC_VIRTIO_BASE + i * VIRTIO_MMIO_SIZE);
        out[i].size = VIRTIO_MMIO_SIZE;
        out[i].irq = pc_virtio_irqs[i];
    }
    return n < max ? n : max;
}

int pc_virtio_cmdline(const struct machine_config *cfg, char *buf, size_t len)
{
    unsigned n = cfg->virtio_cmdline ? pc_virtio_count(cfg) : 0;
    size_t used = 0;

    if (len) {
        buf[0] = '\0';
    }
    for (unsigned i = 0; i < n && i < PC_VIRTIO_MAX; i++) {
        int w = snprintf(buf + used, len - used,
                         "%svirtio_mmio.device=%u@0x%" PRIx64 ":%u",
                         used ? " " : "", VIRTIO_MMIO_SIZE,
                         (uint64_t)(PC_VIRTIO_BASE + i * VIRTIO_MMIO_SIZE),
                         pc_virtio_irqs[i]);

        if (w < 0 || (size_t)w >= len - used) {
            return -ENOSPC;
        }
        used += (size_t)w;
    }
    return 0;
}
