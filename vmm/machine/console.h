/* SPDX-License-Identifier: MIT */
/*
 * The guest console as the host sees it: where output goes (--serial
 * stdio|file:PATH|none), line splitting for smoke mode (--expect REGEX is
 * matched against each complete line), the times of the first output and
 * of the match, and stdin in raw mode with the Ctrl-A escape (Ctrl-A x
 * quits, Ctrl-A Ctrl-A sends a Ctrl-A, Ctrl-A c a Ctrl-C; Ctrl-C itself
 * stays SIGINT, which ends the VM).
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <termios.h>

#define CONSOLE_LINE_MAX 4096

struct console {
    FILE *sink;
    bool own_sink;
    regex_t re;
    bool have_re;
    pthread_mutex_t lock;
    /* Guarded by (lock). */
    char line[CONSOLE_LINE_MAX];
    size_t len;
    uint64_t first_output_ns;
    uint64_t match_ns;
    char matched_line[CONSOLE_LINE_MAX];
    bool matched;
    /* Called once, outside the lock, when a line matches. */
    void (*on_match)(void *opaque);
    void *opaque;
    /* Every complete line, under the lock; once it returns true,
     * on_line_done runs once, outside the lock. */
    bool (*on_line)(void *line_opaque, const char *line, size_t len);
    void *line_opaque;
    bool line_done;
    bool fire_line_done;
    void (*on_line_done)(void *opaque);
    /* stdin in raw mode. */
    bool raw;
    struct termios saved;
    bool escape;
};

/*
 * Set up (c) for (serial) ("stdio", "file:PATH" or "none") and, when
 * (expect) is not NULL, a POSIX extended regex to look for. Returns 0, or
 * -EINVAL with (why) naming the bad argument.
 */
__attribute__((warn_unused_result)) int console_init(struct console *c,
                                                     const char *serial,
                                                     const char *expect,
                                                     char *why, size_t whylen);

/* Flush and close what console_init() opened; restore the terminal. */
void console_destroy(struct console *c);

/* Guest output: copy to the sink, split lines, match. Any thread. */
void console_write(struct console *c, const void *buf, size_t len);

/*
 * Put stdin in raw mode if it is a terminal (restored by
 * console_restore_tty(), which is safe to call more than once and from an
 * atexit handler).
 */
void console_raw_stdin(struct console *c);
void console_restore_tty(struct console *c);

/*
 * Filter (n) bytes read from stdin in place for the escape sequences;
 * returns how many bytes remain for the guest, and sets (*quit) on
 * Ctrl-A x.
 */
size_t console_filter_input(struct console *c, uint8_t *buf, size_t n,
                            bool *quit);

#endif /* VMM_CONSOLE_H */
