/* SPDX-License-Identifier: MIT */
/*
 * Module load order from modules.dep (kmod.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmod.h"

#define NAME_MAX_LEN 64
#define DEPTH_MAX 64

/* One modules.dep line: the module's path and its dependency list. */
struct dep_line {
    const char *path;
    size_t path_len;
    const char *deps;
    size_t deps_len;
    char name[NAME_MAX_LEN];
};

struct resolver {
    struct dep_line *lines;
    size_t nr_lines;
    /* Per line: 1 while its dependencies are being visited. */
    unsigned char *busy;
    struct kmod_list *out;
    size_t cap;
    bool optional;
    char *why;
    size_t whylen;
};

void kmod_name(const char *path, size_t path_len, char *buf, size_t len)
{
    const char *base = path, *end = path + path_len;
    size_t n = 0;

    for (const char *p = path; p < end; p++) {
        if (*p == '/') {
            base = p + 1;
        }
    }
    for (const char *p = base; p < end && n + 1 < len; p++) {
        if (end - p >= 3 && memcmp(p, ".ko", 3) == 0) {
            break;
        }
        buf[n++] = *p == '-' ? '_' : *p;
    }
    if (len) {
        buf[n] = '\0';
    }
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int parse_dep(const char *dep, size_t len, struct resolver *r)
{
    size_t cap = 0;

    for (const char *p = dep, *end = dep + len; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *colon;
        struct dep_line *l;

        eol = eol ? eol : end;
        while (p < eol && is_space(*p)) {
            p++;
        }
        if (p == eol || *p == '#') {
            p = eol + 1;
            continue;
        }
        colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon) {
            snprintf(r->why, r->whylen, "modules.dep: a line without ':'");
            return -EINVAL;
        }
        if (r->nr_lines == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            struct dep_line *n = realloc(r->lines, ncap * sizeof(*n));

            if (!n) {
                snprintf(r->why, r->whylen, "modules.dep: out of memory");
                return -ENOMEM;
            }
            r->lines = n;
            cap = ncap;
        }
        l = &r->lines[r->nr_lines++];
        l->path = p;
        l->path_len = (size_t)(colon - p);
        while (l->path_len && is_space(p[l->path_len - 1])) {
            l->path_len--;
        }
        l->deps = colon + 1;
        l->deps_len = (size_t)(eol - (colon + 1));
        kmod_name(l->path, l->path_len, l->name, sizeof(l->name));
        p = eol + 1;
    }
    return 0;
}

static const struct dep_line *find_line(const struct resolver *r,
                                        const char *name)
{
    for (size_t i = 0; i < r->nr_lines; i++) {
        if (strcmp(r->lines[i].name, name) == 0) {
            return &r->lines[i];
        }
    }
    return NULL;
}

static bool listed(const struct kmod_list *l, const char *name, size_t *at)
{
    for (size_t i = 0; i < l->nr; i++) {
        if (strcmp(l->names[i], name) == 0) {
            *at = i;
            return true;
        }
    }
    return false;
}

static int add(struct resolver *r, const char *path, size_t path_len,
               const char *name)
{
    struct kmod_list *l = r->out;

    if (l->nr == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 16;
        char **p = realloc(l->paths, ncap * sizeof(*p));
        char **n;
        unsigned char *o;

        if (p) {
            l->paths = p;
        }
        n = p ? realloc(l->names, ncap * sizeof(*n)) : NULL;
        if (n) {
            l->names = n;
        }
        o = n ? realloc(l->optional, ncap) : NULL;
        if (!o) {
            snprintf(r->why, r->whylen, "modules.dep: out of memory");
            return -ENOMEM;
        }
        l->optional = o;
        r->cap = ncap;
    }
    l->paths[l->nr] = strndup(path, path_len);
    l->names[l->nr] = strdup(name);
    if (!l->paths[l->nr] || !l->names[l->nr]) {
        free(l->paths[l->nr]);
        free(l->names[l->nr]);
        snprintf(r->why, r->whylen, "modules.dep: out of memory");
        return -ENOMEM;
    }
    l->optional[l->nr] = r->optional;
    l->nr++;
    return 0;
}

/* (path) and everything it depends on, dependencies first. */
static int visit(struct resolver *r, const char *path, size_t path_len,
                 unsigned depth)
{
    char name[NAME_MAX_LEN];
    const struct dep_line *l;
    const char *tok[256];
    size_t tok_len[256], nt = 0, at;
    int ret;

    kmod_name(path, path_len, name, sizeof(name));
    if (listed(r->out, name, &at)) {
        /* A required module an optional one pulled in is required. */
        r->out->optional[at] &= (unsigned char)r->optional;
        return 0;
    }
    if (depth > DEPTH_MAX) {
        snprintf(r->why, r->whylen,
                 "modules.dep: dependencies of %s nest over %d deep", name,
                 DEPTH_MAX);
        return -ELOOP;
    }
    l = find_line(r, name);
    if (l && r->busy[l - r->lines]) {
        snprintf(r->why, r->whylen, "modules.dep: %s depends on itself", name);
        return -ELOOP;
    }
    for (const char *p = l ? l->deps : NULL, *end = p ? p + l->deps_len : NULL;
         p && p < end;) {
        const char *s;

        while (p < end && is_space(*p)) {
            p++;
        }
        s = p;
        while (p < end && !is_space(*p)) {
            p++;
        }
        if (p > s && nt == 256) {
            snprintf(r->why, r->whylen,
                     "modules.dep: %s has over 256 dependencies", name);
            return -E2BIG;
        }
        if (p > s) {
            tok[nt] = s;
            tok_len[nt++] = (size_t)(p - s);
        }
    }
    if (l) {
        r->busy[l - r->lines] = 1;
    }
    /* depmod lists what a module needs so that loading it backwards works. */
    while (nt--) {
        ret = visit(r, tok[nt], tok_len[nt], depth + 1);
        if (ret < 0) {
            return ret;
        }
    }
    if (l) {
        r->busy[l - r->lines] = 0;
    }
    /* A cycle may have added it meanwhile. */
    if (listed(r->out, name, &at)) {
        return 0;
    }
    return l ? add(r, l->path, l->path_len, name)
             : add(r, path, path_len, name);
}

static bool in_builtin(const char *builtin, size_t len, const char *name)
{
    for (const char *p = builtin, *end = builtin + len; builtin && p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        char n[NAME_MAX_LEN];

        eol = eol ? eol : end;
        kmod_name(p, (size_t)(eol - p), n, sizeof(n));
        if (strcmp(n, name) == 0) {
            return true;
        }
        p = eol + 1;
    }
    return false;
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    while (n--) {
        v = v << 8 | p[n];
    }
    return v;
}

/* Section (i)'s offset and size, checked against the file. */
static bool section(const uint8_t *p, size_t size, uint64_t shoff,
                    unsigned entsize, unsigned i, uint64_t *off, uint64_t *len)
{
    const uint8_t *sh = p + shoff + (uint64_t)i * entsize;

    *off = get_le(sh + 0x18, 8);
    *len = get_le(sh + 0x20, 8);
    return *off <= size && *len <= size - *off;
}

int kmod_modinfo_depends(const void *ko, size_t size, char *buf, size_t len)
{
    static const char key[] = "depends=";
    const uint8_t *p = ko;
    uint64_t shoff, stroff, strsz;
    unsigned entsize, shnum, shstrndx;

    if (len) {
        buf[0] = '\0';
    }
    if (size < 0x40 || memcmp(p, "\177ELF", 4) != 0 || p[4] != 2 || p[5] != 1) {
        return -ENOEXEC;
    }
    shoff = get_le(p + 0x28, 8);
    entsize = (unsigned)get_le(p + 0x3a, 2);
    shnum = (unsigned)get_le(p + 0x3c, 2);
    shstrndx = (unsigned)get_le(p + 0x3e, 2);
    if (entsize < 0x40 || shstrndx >= shnum || shoff > size ||
        (uint64_t)shnum * entsize > size - shoff ||
        !section(p, size, shoff, entsize, shstrndx, &stroff, &strsz)) {
        return -ENOEXEC;
    }
    for (unsigned i = 0; i < shnum; i++) {
        uint64_t name = get_le(p + shoff + (uint64_t)i * entsize, 4);
        uint64_t off, sz;

        if (name >= strsz || strsz - name < sizeof(".modinfo") ||
            memcmp(p + stroff + name, ".modinfo", sizeof(".modinfo")) != 0) {
            continue;
        }
        if (!section(p, size, shoff, entsize, i, &off, &sz)) {
            return -ENOEXEC;
        }
        /* NUL-separated "key=value" strings. */
        for (uint64_t at = 0; at < sz;) {
            const uint8_t *s = p + off + at;
            const uint8_t *end = memchr(s, '\0', sz - at);
            size_t n = end ? (size_t)(end - s) : (size_t)(sz - at);

            if (n >= sizeof(key) - 1 && memcmp(s, key, sizeof(key) - 1) == 0) {
                n -= sizeof(key) - 1;
                if (n >= len) {
                    return -ENOSPC;
                }
                memcpy(buf, s + sizeof(key) - 1, n);
                buf[n] = '\0';
                return 0;
            }
            at += n + 1;
        }
        return 0; /* no depends=: needs nothing */
    }
    return -ENOENT;
}

void kmod_list_free(struct kmod_list *l)
{
    for (size_t i = 0; i < l->nr; i++) {
        free(l->paths[i]);
        free(l->names[i]);
    }
    free(l->paths);
    free(l->names);
    free(l->optional);
    memset(l, 0, sizeof(*l));
}

int kmod_resolve(const char *dep, size_t dep_len, const char *builtin,
                 size_t builtin_len, const char *const *wanted,
                 size_t nr_wanted, struct kmod_list *out, char *why,
                 size_t whylen)
{
    struct resolver r = {.out = out, .why = why, .whylen = whylen};
    int ret;

    memset(out, 0, sizeof(*out));
    ret = parse_dep(dep, dep_len, &r);
    if (ret == 0) {
        r.busy = calloc(r.nr_lines ? r.nr_lines : 1, 1);
        if (!r.busy) {
            snprintf(why, whylen, "modules.dep: out of memory");
            ret = -ENOMEM;
        }
    }
    for (size_t i = 0; i < nr_wanted && ret == 0; i++) {
        const char *w = wanted[i];
        char name[NAME_MAX_LEN];

        r.optional = w[0] == '?';
        w += r.optional;
        kmod_name(w, strlen(w), name, sizeof(name));
        if (find_line(&r, name)) {
            ret = visit(&r, name, strlen(name), 0);
        } else if (!r.optional && builtin &&
                   !in_builtin(builtin, builtin_len, name)) {
            snprintf(why, whylen,
                     "no module %s in modules.dep, and modules.builtin does "
                     "not list it",
                     name);
            ret = -ENOENT;
        }
    }
    free(r.lines);
    free(r.busy);
    if (ret < 0) {
        kmod_list_free(out);
    }
    return ret;
}
