/* SPDX-License-Identifier: MIT */
/*
 * Linked into the static vmm only. libcap-ng's capng_change_id() refers
 * to getpwuid() and initgroups(), which in a static glibc program would
 * need glibc's NSS modules at run time (the linker warns about it). vmm
 * never changes its user or groups, so these two fail with ENOSYS instead
 * and the static binary depends on nothing at run time.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <sys/types.h>

struct passwd *getpwuid(uid_t uid)
{
    (void)uid;
    errno = ENOSYS;
    return NULL;
}

int initgroups(const char *user, gid_t group)
{
    (void)user;
    (void)group;
    errno = ENOSYS;
    return -1;
}
