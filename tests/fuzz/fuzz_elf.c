/* SPDX-License-Identifier: MIT */
/*
 * The ELF loader and its note parsing on arbitrary bytes: probe and load
 * into a small fake guest memory whose writes are bounds-checked here. A
 * rejected image writes nothing; an accepted one wrote only inside the
 * limits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "loader_elf.h"

#define MEM_SIZE (4u << 20)

static uint8_t *mem;
static size_t writes;

static int mem_write(void *opaque, gpa_t gpa, const void *buf, size_t len)
{
    (void)opaque;
    FUZZ_CHECK(gpa >= 0x200000 && gpa <= MEM_SIZE && len <= MEM_SIZE - gpa);
    memcpy(mem + gpa, buf, len);
    writes++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct loader_elf_limits lim = {.min_gpa = 0x200000, .max_gpa = MEM_SIZE};
    struct loader_elf_info info;
    char why[256];
    int ret;

    if (!mem) {
        mem = malloc(MEM_SIZE);
        FUZZ_CHECK(mem != NULL);
    }
    why[0] = '\0';
    ret = loader_elf_probe(data, size, &info, why, sizeof(why));
    if (ret < 0) {
        FUZZ_CHECK(why[0] != '\0');
        return 0;
    }
    writes = 0;
    why[0] = '\0';
    ret = loader_elf_load(data, size, &lim, mem_write, NULL, &info, why,
                          sizeof(why));
    if (ret < 0) {
        FUZZ_CHECK(why[0] != '\0' && writes == 0);
    } else {
        FUZZ_CHECK(info.entry >= lim.min_gpa || !info.test_guest ||
                   info.entry < lim.max_gpa);
    }
    return 0;
}
