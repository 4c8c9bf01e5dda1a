/* SPDX-License-Identifier: MIT */
/*
 * The libFuzzer entry point every target defines, and a byte reader that
 * turns fuzz input into decisions. Built with clang -fsanitize=fuzzer for
 * fuzzing (scripts/fuzz), and with driver.c into plain programs that
 * replay the committed regression inputs under ctest.
 */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Consumes input bytes; reads past the end give zeros. */
struct fuzz_in {
    const uint8_t *p;
    size_t n;
};

static inline uint64_t fuzz_take(struct fuzz_in *in, unsigned bytes)
{
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < bytes; i++) {
        if (in->n) {
            v |= (uint64_t)*in->p++ << (8 * i);
            in->n--;
        }
    }
    return v;
}

/* Abort with a message: the fuzzer records the input as a crash. */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #cond,          \
                    __FILE__, __LINE__);                                       \
            abort();                                                           \
        }                                                                      \
    } while (0)

#endif /* TESTS_FUZZ_FUZZ_H */
