/* SPDX-License-Identifier: MIT */
/*
 * Entry stub and ELF note. The VMM enters at _start at CPL 3 with RDI = the
 * vCPU id and no usable stack; each vCPU takes its own stack from .bss.
 */
#include "guest/guest.h"

#define GUEST_STR_(x) #x
#define GUEST_STR(x) GUEST_STR_(x)

/* The note the VMM's loader looks for (testdev_abi.h). */
struct guest_note {
    uint32_t namesz;
    uint32_t descsz;
    uint32_t type;
    char name[12]; /* "VMMGUEST\0" padded to 4 bytes */
    uint32_t desc;
};

__attribute__((section(".note.vmmguest"), aligned(4),
               used)) static const struct guest_note guest_note = {
    .namesz = sizeof(TESTDEV_NOTE_NAME),
    .descsz = sizeof(uint32_t),
    .type = TESTDEV_NOTE_TYPE,
    .name = TESTDEV_NOTE_NAME,
    .desc = TESTDEV_ABI_VERSION,
};

_Static_assert(sizeof(TESTDEV_NOTE_NAME) <= 12, "note name fits");

/* One stack per vCPU; the stub points RSP at the top of its own. */
char guest_stacks[GUEST_MAX_VCPUS][GUEST_STACK_SIZE]
    __attribute__((aligned(4096)));

_Noreturn void guest_start(uint64_t vcpu_id);

/* clang-format off */
__asm__(".pushsection .text.entry, \"ax\", @progbits\n"
        ".globl _start\n"
        ".type _start, @function\n"
        "_start:\n"
        "    cmpq $" GUEST_STR(GUEST_MAX_VCPUS) ", %rdi\n"
        "    jae 2f\n"
        "    leaq 1(%rdi), %rax\n"
        "    imulq $" GUEST_STR(GUEST_STACK_SIZE) ", %rax\n"
        "    leaq guest_stacks(%rip), %rsp\n"
        "    addq %rax, %rsp\n"
        "    xorl %ebp, %ebp\n"
        "    call guest_start\n"
        "    ud2\n"
        /* No stack for this vCPU: spin without touching memory. */
        "2:  pause\n"
        "    jmp 2b\n"
        ".size _start, . - _start\n"
        ".popsection\n");
/* clang-format on */

__attribute__((weak)) void guest_secondary(uint32_t vcpu_id)
{
    (void)vcpu_id;
    guest_park();
}

_Noreturn void guest_start(uint64_t vcpu_id)
{
    if (vcpu_id != 0) {
        guest_secondary((uint32_t)vcpu_id);
        guest_park();
    }
    guest_exit(main());
}
