/* SPDX-License-Identifier: MIT */
/*
 * Address spaces, transactions and publication: a commit re-renders the
 * address spaces that edits touched, tells listeners the difference (all
 * deletions before any addition, as QEMU's
 * address_space_update_topology_pass() does) and publishes the new view
 * with rcu_assign_pointer(); the old one is freed after a grace period.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem-internal.h"
#include "mem/address_space.h"
#include "mem/listener.h"
#include "mem/region.h"

int mem_sys_new(struct mem_sys **out)
{
    struct mem_sys *sys = calloc(1, sizeof(*sys));
    pthread_mutexattr_t attr;

    if (!sys) {
        return -ENOMEM;
    }
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&sys->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    /* The caller's reference, dropped by mem_sys_free(). */
    sys->refs = 1;
    *out = sys;
    return 0;
}

static void mem_sys_put(struct mem_sys *sys)
{
    if (__atomic_sub_fetch(&sys->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        pthread_mutex_destroy(&sys->lock);
        free(sys);
    }
}

void mem_sys_set(struct mem_sys **slot, struct mem_sys *sys)
{
    struct mem_sys *old = *slot;

    if (old == sys) {
        return;
    }
    if (sys) {
        __atomic_add_fetch(&sys->refs, 1, __ATOMIC_ACQ_REL);
    }
    *slot = sys;
    if (old) {
        mem_sys_put(old);
    }
}

struct mem_sys *mr_live_sys(const struct mem_region *mr)
{
    struct mem_sys *sys = mr->sys;

    if (!sys || __atomic_load_n(&sys->dead, __ATOMIC_ACQUIRE)) {
        return NULL;
    }
    return sys;
}

static void flatview_free_cb(struct rcu_head *head)
{
    struct flatview_box *box = flatview_box_of_rcu(head);

    flatview_free(&box->fv);
}

void mem_sys_free(struct mem_sys *sys)
{
    unsigned i;

    if (!sys) {
        return;
    }
    synchronize_rcu();
    /* Views retired by call_rcu() must be gone before we return, or a
     * process that builds many systems would hold their memory. */
    rcu_barrier();
    for (i = 0; i < sys->nr_as; i++) {
        struct address_space *as = sys->as[i];

        flatview_free(as->current);
        free(as->name);
        free(as);
    }
    sys->nr_as = 0;
    /* Regions may outlive the system: they hold references to it. */
    __atomic_store_n(&sys->dead, true, __ATOMIC_RELEASE);
    mem_sys_put(sys);
}

int as_new(struct mem_sys *sys, const char *name, struct mem_region *root,
           mr_size_t limit, struct address_space **out)
{
    struct address_space *as;
    struct flatview *fv;
    int ret;

    if (!root || limit == 0 || limit > MR_SIZE_2_64) {
        return -EINVAL;
    }
    if (sys->nr_as == MEM_MAX_AS) {
        return -ENOSPC;
    }
    as = calloc(1, sizeof(*as));
    if (!as) {
        return -ENOMEM;
    }
    as->name = strdup(name);
    if (!as->name) {
        free(as);
        return -ENOMEM;
    }
    as->root = root;
    as->limit = limit;
    as->sys = sys;

    mem_begin(sys);
    mr_attach_sys(root, sys);
    ret = flatview_render(root, limit, &fv);
    if (ret < 0) {
        mem_end_unchanged(sys);
        free(as->name);
        free(as);
        return ret;
    }
    rcu_assign_pointer(as->current, fv);
    as->generation = 1;
    sys->as[sys->nr_as++] = as;
    ret = mem_commit(sys);
    *out = as;
    return ret;
}

const char *as_name(const struct address_space *as)
{
    return as->name;
}

struct mem_region *as_root(const struct address_space *as)
{
    return as->root;
}

uint64_t as_generation(const struct address_space *as)
{
    return __atomic_load_n(&as->generation, __ATOMIC_ACQUIRE);
}

void mem_begin(struct mem_sys *sys)
{
    pthread_mutex_lock(&sys->lock);
    sys->depth++;
}

void mem_sys_mark_changed_locked(struct mem_region *mr)
{
    struct mem_sys *sys = mr_live_sys(mr);
    struct mem_region *top = mr;
    bool aliased = false;
    unsigned i;

    if (!sys) {
        return;
    }
    for (;;) {
        aliased |= top->aliases != NULL;
        if (!top->container) {
            break;
        }
        top = top->container;
    }
    if (aliased) {
        /* Seen through an alias that may sit in any address space. */
        sys->all_dirty = true;
        return;
    }
    for (i = 0; i < sys->nr_as; i++) {
        if (sys->as[i]->root == top) {
            sys->as[i]->dirty = true;
            return;
        }
    }
    /* Not below any root: only visible through aliases, if at all. */
    sys->all_dirty = true;
}

static int first_err(int err, int ret)
{
    return err ? err : ret;
}

#define CALL(l, cb, ...) ((l)->cb ? (l)->cb((l), ##__VA_ARGS__) : 0)

/*
 * Walk both sorted views in step. Pass 0 reports what disappeared; pass 1
 * what appeared, what stayed and changes of the dirty-logging flag.
 */
static int update_pass(struct mem_listener *l, const struct flatview *old,
                       const struct flatview *new, int pass)
{
    size_t io = 0, in = 0;
    int err = 0;

    while (io < old->nr || in < new->nr) {
        const struct flat_range *o = io < old->nr ? &old->ranges[io] : NULL;
        const struct flat_range *n = in < new->nr ? &new->ranges[in] : NULL;

        if (o && (!n || o->first < n->first ||
                  (o->first == n->first && !flat_range_same(o, n)))) {
            if (pass == 0) {
                err = first_err(err, CALL(l, region_del, o));
            }
            io++;
        } else if (o && n && flat_range_same(o, n)) {
            if (pass == 1) {
                err = first_err(err, CALL(l, region_nop, n));
                if (!o->log_dirty && n->log_dirty) {
                    err = first_err(err, CALL(l, log_start, n));
                } else if (o->log_dirty && !n->log_dirty) {
                    err = first_err(err, CALL(l, log_stop, n));
                }
            }
            io++;
            in++;
        } else {
            if (pass == 1) {
                err = first_err(err, CALL(l, region_add, n));
            }
            in++;
        }
    }
    return err;
}

static bool views_identical(const struct flatview *a, const struct flatview *b)
{
    size_t i;

    if (a->nr != b->nr) {
        return false;
    }
    for (i = 0; i < a->nr; i++) {
        if (!flat_range_same(&a->ranges[i], &b->ranges[i]) ||
            a->ranges[i].log_dirty != b->ranges[i].log_dirty) {
            return false;
        }
    }
    return true;
}

static int as_update_locked(struct address_space *as)
{
    struct flatview *old = as->current;
    struct flatview *new;
    struct mem_listener *l;
    int err = 0;
    int ret;

    ret = flatview_render(as->root, as->limit, &new);
    if (ret < 0) {
        return ret;
    }
    if (views_identical(old, new)) {
        flatview_free(new);
        return 0;
    }
    for (l = as->listeners; l; l = l->next_) {
        err = first_err(err, CALL(l, begin));
    }
    for (l = as->listeners; l; l = l->next_) {
        err = first_err(err, update_pass(l, old, new, 0));
    }
    for (l = as->listeners; l; l = l->next_) {
        err = first_err(err, update_pass(l, old, new, 1));
    }
    for (l = as->listeners; l; l = l->next_) {
        err = first_err(err, CALL(l, commit));
    }
    rcu_assign_pointer(as->current, new);
    __atomic_add_fetch(&as->generation, 1, __ATOMIC_RELEASE);
    call_rcu(&flatview_box_of(old)->rcu, flatview_free_cb);
    return err;
}

int mem_commit(struct mem_sys *sys)
{
    int err = 0;
    unsigned i;

    if (--sys->depth == 0) {
        for (i = 0; i < sys->nr_as; i++) {
            struct address_space *as = sys->as[i];

            if (sys->all_dirty || as->dirty) {
                err = first_err(err, as_update_locked(as));
                as->dirty = false;
            }
        }
        sys->all_dirty = false;
    }
    pthread_mutex_unlock(&sys->lock);
    return err;
}

void mem_sys_synchronize(struct mem_sys *sys)
{
    (void)sys;
    synchronize_rcu();
}

int as_listener_register(struct address_space *as, struct mem_listener *l)
{
    struct flatview empty = {0};
    struct mem_listener **pp;
    size_t i;
    int err;

    mem_begin(as->sys);
    for (pp = &as->listeners; *pp; pp = &(*pp)->next_) {
    }
    l->next_ = NULL;
    *pp = l;
    err = CALL(l, begin);
    err = first_err(err, update_pass(l, &empty, as->current, 1));
    for (i = 0; i < as->current->nr; i++) {
        if (as->current->ranges[i].log_dirty) {
            err = first_err(err, CALL(l, log_start, &as->current->ranges[i]));
        }
    }
    err = first_err(err, CALL(l, commit));
    return first_err(err, mem_commit(as->sys));
}

void as_listener_unregister(struct address_space *as, struct mem_listener *l)
{
    struct flatview empty = {0};
    struct mem_listener **pp;

    mem_begin(as->sys);
    for (pp = &as->listeners; *pp && *pp != l; pp = &(*pp)->next_) {
    }
    if (*pp) {
        *pp = l->next_;
        (void)CALL(l, begin);
        (void)update_pass(l, as->current, &empty, 0);
        (void)CALL(l, commit);
    }
    mem_end_unchanged(as->sys);
}

void as_with_view(struct address_space *as,
                  void (*fn)(const struct flatview *fv, void *arg), void *arg)
{
    rcu_read_lock();
    fn(rcu_dereference(as->current), arg);
    rcu_read_unlock();
}

int as_view_copy(struct address_space *as, struct flatview **out)
{
    const struct flatview *cur;
    struct flatview *fv;
    int ret = 0;

    rcu_read_lock();
    cur = rcu_dereference(as->current);
    fv = flatview_alloc(cur->nr ? cur->nr : 1);
    if (fv) {
        memcpy(fv->ranges, cur->ranges, cur->nr * sizeof(*cur->ranges));
        fv->nr = cur->nr;
        *out = fv;
    } else {
        ret = -ENOMEM;
    }
    rcu_read_unlock();
    return ret;
}
