/* SPDX-License-Identifier: MIT */
/*
 * The guest console on the host side (see console.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "util/clock.h"

#define CTRL_A 0x01
#define CTRL_C 0x03

int console_init(struct console *c, const char *serial, const char *expect,
                 char *why, size_t whylen)
{
    int ret;

    memset(c, 0, sizeof(*c));
    if (!serial || strcmp(serial, "stdio") == 0) {
        c->sink = stdout;
    } else if (strcmp(serial, "stderr") == 0) {
        c->sink = stderr;
    } else if (strncmp(serial, "file:", 5) == 0 && serial[5]) {
        c->sink = fopen(serial + 5, "we");
        if (!c->sink) {
            ret = -errno;
            snprintf(why, whylen, "--serial %s: %s", serial, strerror(-ret));
            return ret;
        }
        c->own_sink = true;
    } else if (strcmp(serial, "none") != 0) {
        snprintf(why, whylen,
                 "--serial %s: expected stdio, stderr, file:PATH or none",
                 serial);
        return -EINVAL;
    }
    if (expect) {
        ret = regcomp(&c->re, expect, REG_EXTENDED | REG_NOSUB);
        if (ret != 0) {
            char msg[128];

            regerror(ret, &c->re, msg, sizeof(msg));
            snprintf(why, whylen, "--expect '%s': %s", expect, msg);
            if (c->own_sink) {
                fclose(c->sink);
            }
            return -EINVAL;
        }
        c->have_re = true;
    }
    pthread_mutex_init(&c->lock, NULL);
    return 0;
}

void console_destroy(struct console *c)
{
    console_restore_tty(c);
    if (c->sink) {
        fflush(c->sink);
    }
    if (c->own_sink) {
        fclose(c->sink);
    }
    if (c->have_re) {
        regfree(&c->re);
    }
    pthread_mutex_destroy(&c->lock);
    memset(c, 0, sizeof(*c));
}

/* A complete line is in c->line: match it. Called with the lock held. */
static bool line_done_locked(struct console *c)
{
    /* Drop a trailing CR: serial consoles end lines with CR LF. */
    while (c->len && c->line[c->len - 1] == '\r') {
        c->len--;
    }
    c->line[c->len] = '\0';
    if (c->on_line && !c->line_done &&
        c->on_line(c->line_opaque, c->line, c->len)) {
        c->line_done = true;
        c->fire_line_done = true;
    }
    c->len = 0;
    if (!c->have_re || c->matched) {
        return false;
    }
    if (regexec(&c->re, c->line, 0, NULL, 0) == 0) {
        c->matched = true;
        c->match_ns = clock_now_ns();
        memcpy(c->matched_line, c->line, sizeof(c->matched_line));
        return true;
    }
    return false;
}

void console_write(struct console *c, const void *buf, size_t len)
{
    const char *p = buf;
    bool fire = false, line_done;
    size_t i;

    pthread_mutex_lock(&c->lock);
    if (!c->first_output_ns && len) {
        c->first_output_ns = clock_now_ns();
    }
    if (c->sink) {
        fwrite(p, 1, len, c->sink);
        fflush(c->sink);
    }
    for (i = 0; i < len; i++) {
        if (p[i] == '\n') {
            fire |= line_done_locked(c);
        } else if (c->len < CONSOLE_LINE_MAX - 1) {
            c->line[c->len++] = p[i];
        }
    }
    line_done = c->fire_line_done;
    c->fire_line_done = false;
    pthread_mutex_unlock(&c->lock);
    if (fire && c->on_match) {
        c->on_match(c->opaque);
    }
    if (line_done && c->on_line_done) {
        c->on_line_done(c->opaque);
    }
}

void console_raw_stdin(struct console *c)
{
    struct termios t;

    if (c->raw || !isatty(STDIN_FILENO) ||
        tcgetattr(STDIN_FILENO, &c->saved) < 0) {
        return;
    }
    t = c->saved;
    cfmakeraw(&t);
    /* Keep output processing: the guest's LF still returns the carriage. */
    t.c_oflag |= OPOST;
    /* Ctrl-C ends the VM as SIGINT (as QEMU's -serial stdio does; Ctrl-A c
     * sends one to the guest); Ctrl-Z and Ctrl-\ go to the guest. */
    t.c_lflag |= ISIG;
    t.c_cc[VSUSP] = _POSIX_VDISABLE;
    t.c_cc[VQUIT] = _POSIX_VDISABLE;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0) {
        c->raw = true;
    }
}

void console_restore_tty(struct console *c)
{
    if (c->raw) {
        tcsetattr(STDIN_FILENO, TCSANOW, &c->saved);
        c->raw = false;
    }
}

size_t console_filter_input(struct console *c, uint8_t *buf, size_t n,
                            bool *quit)
{
    size_t i, out = 0;

    *quit = false;
    for (i = 0; i < n; i++) {
        uint8_t b = buf[i];

        if (c->escape) {
            c->escape = false;
            if (b == 'x' || b == 'X') {
                *quit = true;
                return out;
            }
            if (b == CTRL_A) {
                buf[out++] = CTRL_A;
            }
            if (b == 'c' || b == 'C') {
                buf[out++] = CTRL_C;
            }
            /* Anything else after Ctrl-A is swallowed. */
            continue;
        }
        if (b == CTRL_A) {
            c->escape = true;
            continue;
        }
        buf[out++] = b;
    }
    return out;
}
