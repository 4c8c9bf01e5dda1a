/* SPDX-License-Identifier: MIT */
/*
 * The run-control port's guest ABI (devices/run_ctl.h says what each
 * event means): what vmm's guest init (guest/init) needs, without the
 * device.
 */
#ifndef DEVICES_RUN_CTL_ABI_H
#define DEVICES_RUN_CTL_ABI_H

#include <stdint.h>

#define RUN_CTL_PORT 0x5f0
#define RUN_CTL_SIZE 4
/* "VMMR" read as a little-endian 32-bit value. */
#define RUN_CTL_MAGIC 0x524d4d56u

#define RUN_CTL_PHASE 1u
#define RUN_CTL_STATUS 2u
#define RUN_CTL_FAILED 3u
#define RUN_CTL_EVENT(what, value)                                             \
    (((uint32_t)(what) << 24) | ((uint32_t)(value)&0xffffffu))

/* Phases: the init started (the kernel booted), the shares are mounted,
 * the command was started. */
#define RUN_CTL_PHASE_INIT 1u
#define RUN_CTL_PHASE_MOUNTED 2u
#define RUN_CTL_PHASE_COMMAND 3u
#define RUN_CTL_NR_PHASES 4u

#define RUN_CTL_SIGNALED 0x100u

/* /vmm/run.conf, which vmm writes and its init reads: at most this many
 * bytes and "key\0value\0" records. */
#define RUN_CONF_MAX_BYTES (1u << 20)
#define RUN_CONF_MAX_RECORDS 4096u

#endif /* DEVICES_RUN_CTL_ABI_H */
