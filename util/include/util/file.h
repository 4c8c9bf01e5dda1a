/* SPDX-License-Identifier: MIT */
/*
 * Reading a whole input file (a kernel, an initrd) into memory.
 */
#ifndef UTIL_FILE_H
#define UTIL_FILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Read all of (path), a non-empty regular file of at most (max) bytes, into
 * a new buffer (*out, *size; free() it). Returns 0, or -errno with one line
 * in (why) naming the file and the reason: not a regular file (-EINVAL),
 * empty (-ENOEXEC), over the limit (-EFBIG), out of memory, a failed read.
 */
__attribute__((warn_unused_result)) int file_read_all(const char *path,
                                                      uint64_t max, void **out,
                                                      size_t *size, char *why,
                                                      size_t whylen);

#endif /* UTIL_FILE_H */
