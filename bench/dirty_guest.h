/* SPDX-License-Identifier: MIT */
/*
 * The VMM side of the dirty guest's mailbox protocol (guest/dirty.c,
 * struct testdev_dirty_mailbox in devices/testdev_abi.h): find the mailbox
 * the guest published, check what it says against guest RAM, post
 * commands and wait for them. Shared by `vmm bench dirty-log` and the
 * dirty-log kvm tests. Runs on the controller's thread; the guest runs on
 * its vCPUs meanwhile.
 */
#ifndef VMM_DIRTY_GUEST_H
#define VMM_DIRTY_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/testdev_abi.h"
#include "mem/types.h"

struct machine_ctl;
struct vcpu_set;

struct dirty_guest {
    /* The host's view of the guest's mailbox page. */
    struct testdev_dirty_mailbox *mb;
    struct vcpu_set *vcpus;
    /* Sequence number of the latest command posted. */
    uint64_t seq;
    /* What the guest offers, checked against RAM. */
    gpa_t ws_base;
    uint64_t ws_max_pages;
    /* What is in use (dirty_guest_setup()). */
    uint64_t ws_pages;
    unsigned nr_vcpus;
    /* ws_base as a page index in the RAM region's RAMBlock. */
    uint64_t ws_first_page;
    /* Host address of the working set's first page. */
    uint8_t *ws_host;
};

/*
 * Wait up to (timeout_s) seconds for the guest of (ctl) to publish its
 * mailbox, check that the mailbox and the working set it offers lie in
 * RAM below 3 GiB, and fill (g). On failure (why) says why (a VM that
 * ended, a timeout, a bad mailbox). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int
dirty_guest_attach(struct dirty_guest *g, const struct machine_ctl *ctl,
                   double timeout_s, char *why, size_t whylen);

/*
 * Choose the working set (ws_pages pages, at most what the guest offers),
 * the vCPUs taking part (1..TESTDEV_DIRTY_MAX_VCPUS), the RUN pattern and
 * seed for the commands that follow. -EINVAL when out of range.
 */
__attribute__((warn_unused_result)) int
dirty_guest_setup(struct dirty_guest *g, uint64_t ws_pages, unsigned nr_vcpus,
                  unsigned pattern, uint64_t seed);

/*
 * Post command (op) with parameter (count) (and (seed) for VERIFY/RUN);
 * returns its sequence number.
 */
uint64_t dirty_guest_post(struct dirty_guest *g, unsigned op, uint64_t count,
                          uint64_t seed);

/*
 * True when every vCPU taking part (only vCPU 0 when (vcpu0_only)) has
 * finished command (seq).
 */
bool dirty_guest_done(const struct dirty_guest *g, uint64_t seq,
                      bool vcpu0_only);

/*
 * 0 while the VM runs and the guest reports no error; otherwise -EIO with
 * (why) saying which.
 */
__attribute__((warn_unused_result)) int
dirty_guest_check(const struct dirty_guest *g, char *why, size_t whylen);

/*
 * Wait up to (timeout_s) seconds for dirty_guest_done(); -ETIMEDOUT or
 * dirty_guest_check()'s error, with (why) set, otherwise 0.
 */
__attribute__((warn_unused_result)) int
dirty_guest_wait(const struct dirty_guest *g, uint64_t seq, bool vcpu0_only,
                 double timeout_s, char *why, size_t whylen);

/* Pages written by RUN so far, over all vCPUs taking part. */
uint64_t dirty_guest_writes(const struct dirty_guest *g);

/* MOVE: the round the guest reached, and the answer to it. */
uint64_t dirty_guest_step(const struct dirty_guest *g);
void dirty_guest_step_ack(struct dirty_guest *g, uint64_t round);

/*
 * Mark in (bits) (one bit per page, indexed from the working set's first
 * page) the pages VERIFY writes for (seed) and (count). Returns the number
 * of distinct pages.
 */
uint64_t dirty_guest_verify_set(const struct dirty_guest *g, uint64_t seed,
                                uint64_t count, uint64_t *bits);

#endif /* VMM_DIRTY_GUEST_H */
