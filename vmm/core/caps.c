/* SPDX-License-Identifier: MIT */
/*
 * Dropping capabilities with libcap-ng (see caps.h).
 */
#include <cap-ng.h>
#include <errno.h>
#include <stdio.h>

#include "caps.h"

int caps_drop_all(char *why, size_t whylen)
{
    int select = CAPNG_SELECT_CAPS;

    capng_get_caps_process();
    if (capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE) {
        return 0;
    }
    /* Clearing the bounding set needs CAP_SETPCAP, which we still hold if
     * we hold anything worth dropping. */
    if (capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP)) {
        select = CAPNG_SELECT_BOTH;
    }
    capng_clear(select);
    if (capng_apply(select) < 0) {
        snprintf(why, whylen, "dropping capabilities (libcap-ng) failed");
        return -EPERM;
    }
    return 0;
}
