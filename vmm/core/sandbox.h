/* SPDX-License-Identifier: MIT */
/*
 * --sandbox: a seccomp allow-list (libseccomp) for the steady state, once
 * every host resource is acquired: the vCPU loop, dispatch, map changes
 * (which allocate), console output, stdin, timers and teardown. Anything
 * else fails with EPERM. Applied to every thread of the process (TSYNC),
 * including liburcu's.
 */
#ifndef VMM_SANDBOX_H
#define VMM_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Install the filter; with (shares), what a 9P server needs too (openat2,
 * whose flags seccomp cannot see: its confinement is openat2's own
 * RESOLVE_BENEATH); with (writable) too, the calls that change a share
 * (mkdirat, unlinkat, renameat, ...: each on one name under a directory
 * fd). Returns 0 or -errno with (why) set.
 */
__attribute__((warn_unused_result)) int
sandbox_enter(bool shares, bool writable, char *why, size_t whylen);

/*
 * Check the filter from the inside: enter it, then try a forbidden call
 * (socket) and an allowed one (getpid). Returns 0 when the forbidden one
 * failed with EPERM and the allowed one worked; (why) says what happened.
 */
__attribute__((warn_unused_result)) int sandbox_selftest(char *why,
                                                         size_t whylen);

#endif /* VMM_SANDBOX_H */
