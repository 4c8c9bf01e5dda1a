/* SPDX-License-Identifier: MIT */
/*
 * The process exit statuses of vmm, shared by the vCPU loop (which ends a
 * VM with them) and main() (which exits with them).
 */
#ifndef VMM_EXIT_CODES_H
#define VMM_EXIT_CODES_H

/* Process exit statuses for the ways a VM can end other than by the guest
 * (the guest's own status is passed through, modulo 256). */
#define VMM_EXIT_ERROR 1        /* bad input or setup failure */
#define VMM_EXIT_USAGE 2        /* bad command line */
#define VMM_EXIT_SHUTDOWN 112   /* triple fault (KVM_EXIT_SHUTDOWN) */
#define VMM_EXIT_INTERNAL 113   /* KVM_EXIT_INTERNAL_ERROR */
#define VMM_EXIT_FAIL_ENTRY 114 /* KVM_EXIT_FAIL_ENTRY */
#define VMM_EXIT_UNHANDLED 115  /* an exit we do not handle */
#define VMM_EXIT_TIMEOUT 124    /* --timeout expired, as timeout(1) */
/* `vmm run -- CMD`: the guest ended before the command did (its init
 * could not start it, or the kernel died), as docker run's 125. */
#define VMM_EXIT_NO_COMMAND 125

#endif /* VMM_EXIT_CODES_H */
