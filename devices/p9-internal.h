/* SPDX-License-Identifier: MIT */
/*
 * What the 9P server's two files share (private to devices/): p9.c has the
 * protocol, the fids and every operation that reads the share; p9_write.c
 * the operations that change it, reached only when the share is writable.
 * The wire helpers below read a hostile request field by field (a field
 * past the end sets the reader's error and reads as zero) and write a
 * reply that never passes its capacity.
 */
#ifndef DEVICES_P9_INTERNAL_H
#define DEVICES_P9_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "devices/p9.h"

enum {
    P9_RLERROR = 7,
    P9_TSTATFS = 8,
    P9_TLOPEN = 12,
    P9_TLCREATE = 14,
    P9_TSYMLINK = 16,
    P9_TMKNOD = 18,
    P9_TRENAME = 20,
    P9_TREADLINK = 22,
    P9_TGETATTR = 24,
    P9_TSETATTR = 26,
    P9_TXATTRWALK = 30,
    P9_TXATTRCREATE = 32,
    P9_TREADDIR = 40,
    P9_TFSYNC = 50,
    P9_TLOCK = 52,
    P9_TGETLOCK = 54,
    P9_TLINK = 70,
    P9_TMKDIR = 72,
    P9_TRENAMEAT = 74,
    P9_TUNLINKAT = 76,
    P9_TVERSION = 100,
    P9_TAUTH = 102,
    P9_TATTACH = 104,
    P9_TFLUSH = 108,
    P9_TWALK = 110,
    P9_TREAD = P9_TREAD_TYPE,
    P9_TWRITE = 118,
    P9_TCLUNK = 120,
    P9_TREMOVE = 122,
};

#define HDR 7u /* size[4] type[1] tag[2] */
/* Twrite's header: what a message holds besides its data (Linux's
 * P9_IOHDRSZ): the iounit is msize less this. */
#define P9_IOHDRSZ 24u
#define QID_SIZE 13u    /* type[1] version[4] path[8] */
#define MAX_WELEM 16u   /* names in one Twalk */
#define MSIZE_MIN 4096u /* below this nothing useful fits */
#define GETATTR_BASIC 0x7ffull
#define QT_DIR 0x80
#define QT_SYMLINK 0x02
#define LOCK_SUCCESS 0
#define LOCK_TYPE_UNLCK 2
/* getdents64's buffer for one Treaddir. */
#define P9_DIRBUF 32768u

struct p9_fid {
    uint32_t fid;
    /* Below the share's root, "" for the root itself; no "." or "..". */
    char *path;
    /* Opened by Tlopen or Tlcreate, else -1; (fd_writes) when opened for
     * writing. */
    int fd;
    bool fd_writes;
};

/* A request being read: (err) set once a field ran past the end. */
struct rd {
    const uint8_t *p;
    size_t n;
    bool err;
};

/* A reply being written: (err) set once it would pass (cap). */
struct wr {
    uint8_t *p;
    size_t len, cap;
    bool err;
};

static inline const uint8_t *take(struct rd *r, size_t n)
{
    const uint8_t *p = r->p;

    if (r->err || n > r->n) {
        r->err = true;
        return NULL;
    }
    r->p += n;
    r->n -= n;
    return p;
}

static inline uint64_t get_n(struct rd *r, unsigned n)
{
    const uint8_t *p = take(r, n);
    uint64_t v = 0;

    for (unsigned i = 0; p && i < n; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

#define get8(r) ((uint8_t)get_n(r, 1))
#define get16(r) ((uint16_t)get_n(r, 2))
#define get32(r) ((uint32_t)get_n(r, 4))
#define get64(r) get_n(r, 8)

/* A string: its bytes (not NUL-terminated) and length. */
static inline const char *get_str(struct rd *r, uint16_t *len)
{
    *len = get16(r);
    return (const char *)take(r, *len);
}

static inline uint8_t *put(struct wr *w, size_t n)
{
    uint8_t *p = w->p + w->len;

    if (w->err || n > w->cap - w->len) {
        w->err = true;
        return NULL;
    }
    w->len += n;
    return p;
}

static inline void put_n(struct wr *w, uint64_t v, unsigned n)
{
    uint8_t *p = put(w, n);

    for (unsigned i = 0; p && i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

#define put8(w, v) put_n(w, v, 1)
#define put16(w, v) put_n(w, v, 2)
#define put32(w, v) put_n(w, v, 4)
#define put64(w, v) put_n(w, v, 8)

static inline void put_str(struct wr *w, const char *s, size_t len)
{
    uint8_t *p;

    if (len > UINT16_MAX) {
        w->err = true;
        return;
    }
    put16(w, len);
    p = put(w, len);
    if (p) {
        memcpy(p, s, len);
    }
}

/* Write the qid of (st): its type, a version from its mtime, and a
 * path from its inode and device. */
void p9_put_qid(struct wr *w, const struct stat *st);

/* The fid numbered (fid), or NULL. */
struct p9_fid *p9_fid_get(struct p9_server *s, uint32_t fid);

/* Whether (name, len) can name an entry: not "" or ".", no '/' or NUL
 * (".." passes: a walk takes it as the parent, a change refuses it). */
static inline bool p9_name_ok(const char *name, uint16_t len)
{
    return len > 0 && !memchr(name, '/', len) && !memchr(name, '\0', len) &&
           !(len == 1 && name[0] == '.');
}

/* openat2 of (path) under the directory (dfd) with (flags) (and (mode)
 * when creating) and O_NOFOLLOW: no link followed at any step, never
 * leaving (dfd). Returns the fd or -errno. */
int p9_open_beneath(int dfd, const char *path, int flags, mode_t mode);

/* Open (path), below the share, with (flags) and O_NOFOLLOW: no link
 * followed at any step, never leaving the share. Returns the fd or
 * -errno. */
int p9_share_open(const struct p9_server *s, const char *path, int flags);

/* The checks of a request about to open fid (f): -EPROTO when the request
 * ran short (r->err), -EBADF with no such fid, -EBUSY when it is open
 * already, else 0. */
int p9_fid_openable(const struct rd *r, const struct p9_fid *f);

/* (f) now has (fd) open, writing or not: counted against P9_MAX_OPEN. */
void p9_fid_bind_fd(struct p9_server *s, struct p9_fid *f, int fd, bool writes);

/* lstat() of (path) below the share. Returns 0 or -errno. */
int p9_share_stat(const struct p9_server *s, const char *path, struct stat *st);

/* (path) with one walked name (name, len): a new string, or NULL with
 * (*err) set (-EINVAL for "", ".", a '/' or a NUL in it). ".." drops the
 * last component and stops at the root. */
char *p9_path_walk(const char *path, const char *name, uint16_t len, int *err);

/* Open the regular file or directory (path) with (flags) (never a FIFO, a
 * device or a link), checking after the open that it is what was looked
 * at before. Returns the fd, with its stat in (*st), or -errno. */
int p9_open_checked(const struct p9_server *s, const char *path, int flags,
                    struct stat *st);

/* Requests that change the share (p9_write.c); the share is writable.
 * Each returns 0 with its reply's fields written, or -errno. */
int p9_do_lcreate(struct p9_server *s, struct rd *r, struct wr *w);
int p9_do_write(struct p9_server *s, struct rd *r, struct wr *w);
int p9_do_mkdir(struct p9_server *s, struct rd *r, struct wr *w);
int p9_do_symlink(struct p9_server *s, struct rd *r, struct wr *w);
int p9_do_mknod(struct p9_server *s, struct rd *r, struct wr *w);
int p9_do_link(struct p9_server *s, struct rd *r, struct wr *w);
int p9_do_unlinkat(struct p9_server *s, struct rd *r, struct wr *w);
int p9_do_renameat(struct p9_server *s, struct rd *r, struct wr *w);
int p9_do_rename(struct p9_server *s, struct rd *r, struct wr *w);
int p9_do_setattr(struct p9_server *s, struct rd *r, struct wr *w);
int p9_do_fsync(struct p9_server *s, struct rd *r, struct wr *w);
/* Tremove's unlink of (f)'s file; the caller clunks (f) either way. */
int p9_remove(struct p9_server *s, const struct p9_fid *f);

#endif /* DEVICES_P9_INTERNAL_H */
