/* SPDX-License-Identifier: MIT */
/*
 * The KTAP / TAP reader (see util/ktap.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/json.h"
#include "util/ktap.h"

void ktap_init(struct ktap *k)
{
    memset(k, 0, sizeof(*k));
}

void ktap_destroy(struct ktap *k)
{
    for (size_t i = 0; i < k->nr_cases; i++) {
        free(k->cases[i].path);
        free(k->cases[i].reason);
        free(k->cases[i].diag);
    }
    free(k->cases);
    memset(k, 0, sizeof(*k));
}

/* Does (s, len) start with (word)? */
static bool starts(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);

    return len >= n && memcmp(s, word, n) == 0;
}

/* Copy (s, len) into (dst, size), cut and NUL-terminated. */
static void copy_cut(char *dst, size_t size, const char *s, size_t len)
{
    if (len >= size) {
        len = size - 1;
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
}

static char *dup_cut(const char *s, size_t len, size_t max)
{
    char *d;

    if (len > max) {
        len = max;
    }
    d = malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

static void set_broken(struct ktap *k, const char *why)
{
    k->broken = true;
    k->done = true;
    snprintf(k->why, sizeof(k->why), "%s", why);
}

/* Open a subtest level at (indent). */
static void push(struct ktap *k, unsigned indent)
{
    struct ktap_level *l;

    if (k->depth == KTAP_MAX_DEPTH) {
        set_broken(k, "KTAP subtests nested deeper than 16 levels");
        return;
    }
    l = &k->lv[k->depth++];
    memset(l, 0, sizeof(*l));
    l->indent = indent;
    l->plan = -1;
    memcpy(l->name, k->pending_name, sizeof(l->name));
    k->pending_name[0] = '\0';
}

/* Close the levels deeper than (indent); a line at (indent) follows. */
static void pop_to(struct ktap *k, unsigned indent)
{
    while (k->depth > 1 && k->lv[k->depth - 1].indent > indent) {
        struct ktap_level *l = &k->lv[--k->depth];

        k->closed_child = true;
        /* A child that stopped short (a crash) without a failure of its
         * own leaves the suite's "not ok" to count. */
        k->closed_failed |= l->failed;
    }
}

/* The level a line at (indent) belongs to, opened if it is deeper. */
static struct ktap_level *level_for(struct ktap *k, unsigned indent)
{
    pop_to(k, indent);
    if (indent > k->lv[k->depth - 1].indent) {
        push(k, indent);
    }
    return k->broken ? NULL : &k->lv[k->depth - 1];
}

/* Parse a decimal number at (*p) (at most 9 digits). */
static bool number(const char **p, const char *end, long *out)
{
    long v = 0;
    int n = 0;

    while (*p < end && **p >= '0' && **p <= '9' && n < 9) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    *out = v;
    return n > 0 && (*p == end || **p < '0' || **p > '9');
}

/* "1..N" (a reason may follow after '#'). */
static bool plan_line(const char *s, size_t len, long *n)
{
    const char *p = s + 3, *end = s + len;

    if (!starts(s, len, "1..") || !number(&p, end, n)) {
        return false;
    }
    while (p < end && *p == ' ') {
        p++;
    }
    return p == end || *p == '#';
}

static void add_diag(struct ktap *k, const char *s, size_t len)
{
    size_t room = sizeof(k->diag) - k->diag_len;

    if (room < 2) {
        return;
    }
    if (k->diag_len) {
        k->diag[k->diag_len++] = '\n';
        room--;
    }
    if (len >= room) {
        len = room - 1;
    }
    memcpy(k->diag + k->diag_len, s, len);
    k->diag_len += len;
    k->diag[k->diag_len] = '\0';
}

/* "parent/child/" for the open levels below the top, then (desc). */
static char *make_path(const struct ktap *k, const char *desc, size_t dlen)
{
    char buf[KTAP_MAX_DEPTH * KTAP_NAME_MAX];
    size_t n = 0;

    for (unsigned i = 1; i < k->depth; i++) {
        if (k->lv[i].name[0] && n < sizeof(buf)) {
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s/",
                                  k->lv[i].name);
        }
    }
    if (n < sizeof(buf)) {
        snprintf(buf + n, sizeof(buf) - n, "%.*s",
                 (int)(dlen < KTAP_NAME_MAX ? dlen : KTAP_NAME_MAX), desc);
    }
    return strdup(buf);
}

static void keep_case(struct ktap *k, const struct ktap_case *c)
{
    if (k->nr_cases == KTAP_MAX_CASES) {
        k->dropped++;
        goto drop;
    }
    if (k->nr_cases == k->cap_cases) {
        size_t cap = k->cap_cases ? k->cap_cases * 2 : 16;
        struct ktap_case *n = realloc(k->cases, cap * sizeof(*n));

        if (!n) {
            k->dropped++;
            goto drop;
        }
        k->cases = n;
        k->cap_cases = cap;
    }
    k->cases[k->nr_cases++] = *c;
    return;
drop:
    free(c->path);
    free(c->reason);
    free(c->diag);
}

/* Count (st) for a result; a suite counts only a failure of its own. */
static void count(struct ktap *k, enum ktap_status st, bool suite,
                  bool *counted_fail)
{
    *counted_fail = false;
    if (suite) {
        if (st == KTAP_FAIL && !k->closed_failed) {
            k->failed++;
            *counted_fail = true;
        }
        return;
    }
    switch (st) {
    case KTAP_PASS:
        k->passed++;
        break;
    case KTAP_FAIL:
        k->failed++;
        *counted_fail = true;
        break;
    case KTAP_SKIP:
        k->skipped++;
        break;
    case KTAP_TODO:
        k->todo++;
        break;
    }
}

/* "ok N - desc # DIRECTIVE reason" or "not ok ...": (s) after the
 * indent. */
static void result_line(struct ktap *k, struct ktap_level *l, const char *s,
                        size_t len)
{
    const char *end = s + len, *p, *desc, *hash;
    bool ok = starts(s, len, "ok");
    enum ktap_status st = ok ? KTAP_PASS : KTAP_FAIL;
    struct ktap_case c = {0};
    bool counted_fail;
    long num;

    p = s + (ok ? 2 : 6);
    while (p < end && *p == ' ') {
        p++;
    }
    if (number(&p, end, &num)) {
        while (p < end && *p == ' ') {
            p++;
        }
    }
    if (p + 1 < end && p[0] == '-' && p[1] == ' ') {
        p += 2;
    }
    desc = p;
    hash = memchr(desc, '#', (size_t)(end - desc));
    if (hash) {
        const char *d = hash + 1, *dend = hash;

        while (d < end && *d == ' ') {
            d++;
        }
        while (dend > desc && dend[-1] == ' ') {
            dend--;
        }
        if (end - d >= 4 && strncasecmp(d, "SKIP", 4) == 0) {
            st = KTAP_SKIP;
        } else if (end - d >= 4 && strncasecmp(d, "TODO", 4) == 0) {
            st = ok ? KTAP_PASS : KTAP_TODO;
        } else {
            d = NULL;
        }
        if (d) {
            d += 4;
            while (d < end && *d == ' ') {
                d++;
            }
            c.reason = dup_cut(d, (size_t)(end - d), KTAP_NAME_MAX);
            end = dend;
        }
    }
    c.path = make_path(k, desc, (size_t)(end - desc));
    c.status = st;
    c.suite = k->closed_child;
    count(k, st, c.suite, &counted_fail);
    c.counted = !c.suite || counted_fail;
    if (st == KTAP_FAIL) {
        for (unsigned i = 0; i < k->depth; i++) {
            k->lv[i].failed = true;
        }
    }
    if (counted_fail && k->diag_len) {
        c.diag = dup_cut(k->diag, k->diag_len, KTAP_DIAG_MAX);
    }
    keep_case(k, &c);
    k->diag_len = 0;
    k->diag[0] = '\0';
    k->closed_child = false;
    k->closed_failed = false;
    l->seen++;
    if (k->depth == 1 && l->plan >= 0 && l->seen >= l->plan) {
        k->done = true;
    }
}

/* "# Subtest: NAME": names the level it opens (or the one just opened by
 * its version line). */
static void subtest_line(struct ktap *k, unsigned indent, const char *name,
                         size_t len)
{
    struct ktap_level *cur;

    pop_to(k, indent);
    cur = &k->lv[k->depth - 1];
    if (indent > cur->indent) {
        copy_cut(k->pending_name, sizeof(k->pending_name), name, len);
        push(k, indent);
    } else if (k->depth > 1 && cur->seen == 0 && cur->plan < 0 &&
               !cur->name[0]) {
        copy_cut(cur->name, sizeof(cur->name), name, len);
    } else {
        /* TAP 13 style: the header sits at the parent's indent. */
        copy_cut(k->pending_name, sizeof(k->pending_name), name, len);
    }
}

/* Before the version line: find it, and the prefix to cut after it. */
static void find_start(struct ktap *k, const char *s, size_t len)
{
    static const char *const marks[] = {"KTAP version ", "TAP version "};

    for (unsigned m = 0; m < 2; m++) {
        size_t n = strlen(marks[m]);

        for (size_t i = 0; i + n <= len; i++) {
            if (memcmp(s + i, marks[m], n) == 0) {
                k->started = true;
                k->prefix_len = i;
                k->depth = 0;
                push(k, 0);
                return;
            }
        }
    }
}

bool ktap_feed(struct ktap *k, const char *line, size_t len)
{
    const char *s = line;
    struct ktap_level *l;
    unsigned indent = 0;
    long n;

    if (k->done) {
        return true;
    }
    while (len && (s[len - 1] == '\r' || s[len - 1] == '\n')) {
        len--;
    }
    if (!k->started) {
        find_start(k, s, len);
        return false;
    }
    if (len < k->prefix_len) {
        return false;
    }
    s += k->prefix_len;
    len -= k->prefix_len;
    while (indent < len && s[indent] == ' ') {
        indent++;
    }
    s += indent;
    len -= indent;
    if (starts(s, len, "Bail out!")) {
        k->bailed = true;
        k->done = true;
        snprintf(k->why, sizeof(k->why), "bail out:%.*s",
                 (int)(len - 9 < 200 ? len - 9 : 200), s + 9);
    } else if (starts(s, len, "# Subtest:")) {
        size_t skip = 10;

        while (skip < len && s[skip] == ' ') {
            skip++;
        }
        subtest_line(k, indent, s + skip, len - skip);
    } else if (starts(s, len, "KTAP version ") ||
               starts(s, len, "TAP version ")) {
        if (indent > 0) {
            level_for(k, indent);
        }
    } else if (plan_line(s, len, &n)) {
        l = level_for(k, indent);
        if (l) {
            l->plan = n;
            if (k->depth == 1 && l->seen >= n) {
                k->done = true;
            }
        }
    } else if ((starts(s, len, "ok") && (len == 2 || s[2] == ' ')) ||
               (starts(s, len, "not ok") && (len == 6 || s[6] == ' '))) {
        l = level_for(k, indent);
        if (l) {
            result_line(k, l, s, len);
        }
    } else if (starts(s, len, "#")) {
        add_diag(k, s, len);
    }
    return k->done;
}

int ktap_verdict(const struct ktap *k, char *why, size_t whylen)
{
    const struct ktap_level *top = &k->lv[0];

    if (!k->started) {
        snprintf(why, whylen, "no KTAP or TAP version line on the console");
    } else if (k->broken || k->bailed) {
        snprintf(why, whylen, "%s", k->why);
    } else if (top->plan < 0) {
        snprintf(why, whylen, "the KTAP plan never came (%ld results)",
                 top->seen);
    } else if (top->seen < top->plan) {
        snprintf(why, whylen, "the KTAP plan is incomplete: %ld of %ld results",
                 top->seen, top->plan);
    } else if (k->failed) {
        snprintf(why, whylen, "%lu of %lu tests failed", k->failed,
                 k->passed + k->failed + k->skipped + k->todo);
    } else {
        snprintf(why, whylen, "all %lu tests passed or were skipped",
                 k->passed + k->skipped + k->todo);
        return 0;
    }
    return 1;
}

/* Diagnostic lines as a JSON array of strings. */
static void json_lines(FILE *f, const char *s)
{
    bool first = true;

    fputc('[', f);
    while (s && *s) {
        size_t n = strcspn(s, "\n");
        char line[KTAP_DIAG_MAX];

        copy_cut(line, sizeof(line), s, n);
        fputs(first ? "" : ",", f);
        json_write_string(f, line);
        first = false;
        s += n + (s[n] == '\n');
    }
    fputc(']', f);
}

void ktap_write_json(const struct ktap *k, FILE *f)
{
    char why[256];
    int v = ktap_verdict(k, why, sizeof(why));
    bool first = true;

    fprintf(f, "{\"verdict\":\"%s\",\"reason\":", v == 0 ? "pass" : "fail");
    json_write_string(f, why);
    fprintf(f, ",\"complete\":%s,\"plan\":",
            k->done && !k->bailed && !k->broken ? "true" : "false");
    if (k->started && k->lv[0].plan >= 0) {
        fprintf(f, "%ld", k->lv[0].plan);
    } else {
        fputs("null", f);
    }
    fprintf(f,
            ",\"results\":%ld,\"passed\":%lu,\"failed\":%lu,\"skipped\":%lu,"
            "\"todo\":%lu,\"bailed_out\":%s,\"dropped\":%lu,\"failures\":[",
            k->started ? k->lv[0].seen : 0, k->passed, k->failed, k->skipped,
            k->todo, k->bailed ? "true" : "false", k->dropped);
    for (size_t i = 0; i < k->nr_cases; i++) {
        const struct ktap_case *c = &k->cases[i];

        if (c->status != KTAP_FAIL || !c->counted) {
            continue;
        }
        fputs(first ? "{\"path\":" : ",{\"path\":", f);
        json_write_string(f, c->path ? c->path : "");
        fputs(",\"diagnostics\":", f);
        json_lines(f, c->diag);
        fputc('}', f);
        first = false;
    }
    fputs("]}", f);
}
