/* SPDX-License-Identifier: MIT */
/*
 * fault: triple faults on purpose. The VMM gives the guest no IDT, so the
 * #UD from ud2 cannot be delivered (#GP, then #DF, neither deliverable):
 * the vCPU shuts down (KVM_EXIT_SHUTDOWN) and the VMM must report it and
 * exit non-zero. Exit status 2 means the fault was somehow survived.
 */
#include "guest/guest.h"

int main(void)
{
    guest_puts("fault guest: executing ud2 with no IDT, expect a triple "
               "fault");
    __asm__ volatile("ud2" ::: "memory");
    guest_puts("fault guest: still running after ud2");
    return 2;
}
