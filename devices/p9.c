/* SPDX-License-Identifier: MIT */
/*
 * A 9P2000.L server (see devices/p9.h): the protocol, the fids and the
 * operations that read the share (those that change it: p9_write.c). Wire
 * format: little-endian integers; a string is a 16-bit length and that many
 * bytes; a qid is type[1] version[4] path[8]; every message is size[4] type[1]
 * tag[2] and its fields, a reply's type being its request's plus one.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "devices/p9.h"
#include "p9-internal.h"

/* The qid of a file: its inode and device make the path (files of
 * several file systems may share an inode number). */
void p9_put_qid(struct wr *w, const struct stat *st)
{
    uint64_t dev = (uint64_t)st->st_dev;

    put8(w, S_ISDIR(st->st_mode)   ? QT_DIR
            : S_ISLNK(st->st_mode) ? QT_SYMLINK
                                   : 0);
    put32(w, (uint32_t)st->st_mtim.tv_sec ^ (uint32_t)st->st_mtim.tv_nsec);
    put64(w, (uint64_t)st->st_ino ^ (dev << 48 | dev >> 16));
}

/* --- fids: a table sorted by number --- */

static size_t fid_slot(const struct p9_server *s, uint32_t fid)
{
    size_t lo = 0, hi = s->nr_fids;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (s->fids[mid]->fid < fid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

struct p9_fid *p9_fid_get(struct p9_server *s, uint32_t fid)
{
    size_t i = fid_slot(s, fid);

    return i < s->nr_fids && s->fids[i]->fid == fid ? s->fids[i] : NULL;
}

/* Close (f)'s opened file, if any. */
static void fid_close(struct p9_server *s, struct p9_fid *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
        f->fd_writes = false;
        s->nr_open--;
    }
}

int p9_fid_openable(const struct rd *r, const struct p9_fid *f)
{
    if (r->err) {
        return -EPROTO;
    }
    if (!f) {
        return -EBADF;
    }
    return f->fd >= 0 ? -EBUSY : 0;
}

void p9_fid_bind_fd(struct p9_server *s, struct p9_fid *f, int fd, bool writes)
{
    f->fd = fd;
    f->fd_writes = writes;
    s->nr_open++;
}

static void fid_free(struct p9_server *s, struct p9_fid *f)
{
    fid_close(s, f);
    free(f->path);
    free(f);
}

static void fid_del(struct p9_server *s, uint32_t fid)
{
    size_t i = fid_slot(s, fid);

    if (i < s->nr_fids && s->fids[i]->fid == fid) {
        fid_free(s, s->fids[i]);
        s->nr_fids--;
        memmove(&s->fids[i], &s->fids[i + 1],
                (s->nr_fids - i) * sizeof(s->fids[0]));
    }
}

/* Bind (fid) to (path), taking it; replaces what (fid) was. */
static int fid_set(struct p9_server *s, uint32_t fid, char *path)
{
    size_t i = fid_slot(s, fid);
    struct p9_fid *f;

    if (i < s->nr_fids && s->fids[i]->fid == fid) {
        f = s->fids[i];
        fid_close(s, f);
        free(f->path);
        f->path = path;
        return 0;
    }
    if (s->nr_fids == P9_MAX_FIDS) {
        free(path);
        return -EMFILE;
    }
    f = calloc(1, sizeof(*f));
    if (!f) {
        free(path);
        return -ENOMEM;
    }
    f->fid = fid;
    f->path = path;
    f->fd = -1;
    memmove(&s->fids[i + 1], &s->fids[i],
            (s->nr_fids - i) * sizeof(s->fids[0]));
    s->fids[i] = f;
    s->nr_fids++;
    return 0;
}

static void fids_clear(struct p9_server *s)
{
    for (unsigned i = 0; i < s->nr_fids; i++) {
        fid_free(s, s->fids[i]);
    }
    s->nr_fids = 0;
}

/* --- the share --- */

/* Open (path) below the share, never following a link, never leaving. */
int p9_open_beneath(int dfd, const char *path, int flags, mode_t mode)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
        .mode = mode,
        .resolve =
            RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, dfd, path, &how, sizeof(how));

    return fd < 0 ? -errno : (int)fd;
}

int p9_share_open(const struct p9_server *s, const char *path, int flags)
{
    return p9_open_beneath(s->root_fd, path[0] ? path : ".", flags, 0);
}

int p9_share_stat(const struct p9_server *s, const char *path, struct stat *st)
{
    int fd = p9_share_open(s, path, O_PATH);
    int ret;

    if (fd < 0) {
        return fd;
    }
    ret = fstatat(fd, "", st, AT_EMPTY_PATH) < 0 ? -errno : 0;
    close(fd);
    return ret;
}

/* (path) with (name) walked: a new string, or NULL with (*err) set. */
char *p9_path_walk(const char *path, const char *name, uint16_t len, int *err)
{
    size_t plen = strlen(path);
    char *n;

    if (!p9_name_ok(name, len)) {
        *err = -EINVAL;
        return NULL;
    }
    if (len == 2 && name[0] == '.' && name[1] == '.') {
        const char *slash = strrchr(path, '/');

        plen = slash ? (size_t)(slash - path) : 0;
        n = strndup(path, plen);
        *err = n ? 0 : -ENOMEM;
        return n;
    }
    if (plen + 1 + len >= PATH_MAX) {
        *err = -ENAMETOOLONG;
        return NULL;
    }
    n = malloc(plen + 1 + len + 1);
    if (!n) {
        *err = -ENOMEM;
        return NULL;
    }
    memcpy(n, path, plen);
    if (plen) {
        n[plen++] = '/';
    }
    memcpy(n + plen, name, len);
    n[plen + len] = '\0';
    return n;
}

/* --- requests: each returns 0 with its reply fields written, or -errno
 * for Rlerror --- */

static int do_version(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t msize = get32(r);
    uint16_t vlen;
    const char *v = get_str(r, &vlen);

    if (r->err) {
        return -EPROTO;
    }
    if (msize < MSIZE_MIN) {
        return -EINVAL;
    }
    fids_clear(s);
    s->msize = msize < P9_MSIZE_MAX ? msize : P9_MSIZE_MAX;
    put32(w, s->msize);
    if (vlen == 8 && memcmp(v, "9P2000.L", 8) == 0) {
        s->versioned = true;
        put_str(w, "9P2000.L", 8);
    } else {
        s->versioned = false;
        put_str(w, "unknown", 7);
    }
    return 0;
}

static int do_attach(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t fid = get32(r);
    struct stat st;
    char *root;
    int ret;

    /* afid, uname, aname, n_uname: one share, no authentication. */
    if (r->err) {
        return -EPROTO;
    }
    if (p9_fid_get(s, fid)) {
        return -EBADF;
    }
    ret = p9_share_stat(s, "", &st);
    if (ret < 0) {
        return ret;
    }
    /* The reply first: a reply that does not fit binds nothing. */
    p9_put_qid(w, &st);
    if (w->err) {
        return -ENOBUFS;
    }
    root = strdup("");
    if (!root) {
        return -ENOMEM;
    }
    return fid_set(s, fid, root);
}

static int do_walk(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t fid = get32(r), newfid = get32(r);
    uint16_t nw = get16(r), done = 0;
    struct p9_fid *f = p9_fid_get(s, fid);
    uint8_t *count;
    char *path;
    int ret = 0;

    if (r->err) {
        return -EPROTO;
    }
    if (!f) {
        return -EBADF;
    }
    if (nw > MAX_WELEM) {
        return -EINVAL;
    }
    if (f->fd >= 0) {
        return -EBUSY; /* 9P: an opened fid is not walked from */
    }
    if (newfid != fid && p9_fid_get(s, newfid)) {
        return -EBADF;
    }
    path = strdup(f->path);
    if (!path) {
        return -ENOMEM;
    }
    count = put(w, 2);
    for (; done < nw; done++) {
        uint16_t len;
        const char *name = get_str(r, &len);
        struct stat st;
        char *next;

        if (r->err) {
            ret = -EPROTO;
            break;
        }
        next = p9_path_walk(path, name, len, &ret);
        if (!next) {
            break;
        }
        free(path);
        path = next;
        ret = p9_share_stat(s, path, &st);
        if (ret < 0) {
            break;
        }
        p9_put_qid(w, &st);
    }
    /* A malformed request answers nothing else; a walk whose first name
     * fails answers its error. */
    if (ret == -EPROTO || (done == 0 && nw > 0)) {
        free(path);
        return ret;
    }
    if (count) {
        count[0] = (uint8_t)done;
        count[1] = (uint8_t)(done >> 8);
    }
    /* A walk cut short answers the qids it found and binds nothing; so
     * does one whose reply does not fit. */
    if (done < nw || w->err) {
        free(path);
        return w->err ? -ENOBUFS : 0;
    }
    return fid_set(s, newfid, path);
}

static int do_getattr(struct p9_server *s, struct rd *r, struct wr *w)
{
    struct p9_fid *f = p9_fid_get(s, get32(r));
    struct stat st;
    int ret;

    (void)get64(r); /* request_mask: the basic set is always given */
    if (r->err) {
        return -EPROTO;
    }
    if (!f) {
        return -EBADF;
    }
    ret = f->fd >= 0 ? (fstat(f->fd, &st) < 0 ? -errno : 0)
                     : p9_share_stat(s, f->path, &st);
    if (ret < 0) {
        return ret;
    }
    put64(w, GETATTR_BASIC);
    p9_put_qid(w, &st);
    put32(w, st.st_mode);
    put32(w, st.st_uid);
    put32(w, st.st_gid);
    put64(w, st.st_nlink);
    put64(w, st.st_rdev);
    put64(w, (uint64_t)st.st_size);
    put64(w, (uint64_t)st.st_blksize);
    put64(w, (uint64_t)st.st_blocks);
    put64(w, (uint64_t)st.st_atim.tv_sec);
    put64(w, (uint64_t)st.st_atim.tv_nsec);
    put64(w, (uint64_t)st.st_mtim.tv_sec);
    put64(w, (uint64_t)st.st_mtim.tv_nsec);
    put64(w, (uint64_t)st.st_ctim.tv_sec);
    put64(w, (uint64_t)st.st_ctim.tv_nsec);
    for (int i = 0; i < 4; i++) {
        put64(w, 0); /* btime, gen, data_version: not kept */
    }
    return 0;
}

int p9_open_checked(const struct p9_server *s, const char *path, int flags,
                    struct stat *st)
{
    struct stat before;
    int fd, ret;

    /* Looked at before it is opened (a FIFO would block the worker, a
     * device node is the host's), and again after: it may have been
     * swapped meanwhile. */
    ret = p9_share_stat(s, path, &before);
    if (ret < 0) {
        return ret;
    }
    if (!S_ISREG(before.st_mode) && !S_ISDIR(before.st_mode)) {
        return -EACCES;
    }
    fd = p9_share_open(s, path, flags | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        return fd;
    }
    if (fstat(fd, st) < 0 || st->st_ino != before.st_ino ||
        st->st_dev != before.st_dev ||
        (st->st_mode & S_IFMT) != (before.st_mode & S_IFMT)) {
        close(fd);
        return -EAGAIN;
    }
    return fd;
}

/* The host's open flags for a client's (flags) (9P2000.L's values are
 * x86-64 Linux's): the access mode, O_TRUNC and O_DIRECTORY; the rest
 * (O_APPEND: the client sends each write's offset; O_DIRECT, O_NOATIME,
 * O_CREAT: Tlcreate creates) stays with the client. */
static int open_flags(const struct p9_server *s, uint32_t flags, int *out)
{
    uint32_t acc = flags & O_ACCMODE;

    if (acc == O_ACCMODE) {
        return -EINVAL;
    }
    if (!s->writable && (acc != O_RDONLY || (flags & (O_TRUNC | O_CREAT)))) {
        return -EROFS;
    }
    *out = (int)(acc | (flags & (O_TRUNC | O_DIRECTORY)));
    return 0;
}

static int do_lopen(struct p9_server *s, struct rd *r, struct wr *w)
{
    struct p9_fid *f = p9_fid_get(s, get32(r));
    uint32_t flags = get32(r);
    struct stat st;
    int fd, ret = p9_fid_openable(r, f), oflags;

    if (ret < 0) {
        return ret;
    }
    ret = open_flags(s, flags, &oflags);
    if (ret < 0) {
        return ret;
    }
    if (s->nr_open >= P9_MAX_OPEN) {
        return -EMFILE;
    }
    fd = p9_open_checked(s, f->path, oflags, &st);
    if (fd < 0) {
        return fd;
    }
    p9_put_qid(w, &st);
    /* The iounit: what one Rread carries (msize less its 11-byte
     * header) for a file opened for reading; what one Twrite carries
     * (less 24) for one opened for writing. Linux caps its own requests
     * at msize - 24 either way, yet reads measured faster (bench-share,
     * nested: 20-22 vs 15 MiB/s) with the larger figure. */
    put32(w,
          s->msize - ((oflags & O_ACCMODE) == O_RDONLY ? HDR + 4 : P9_IOHDRSZ));
    if (w->err) {
        close(fd);
        return -ENOBUFS;
    }
    p9_fid_bind_fd(s, f, fd, (oflags & O_ACCMODE) != O_RDONLY);
    return 0;
}

/* A Tread's body (r): the file's bytes from its offset into (iov), nr
 * buffers cut here to the count asked and (room): how many were read, or
 * -errno. Both ways of answering a Tread read through it. */
static ssize_t read_body(struct p9_server *s, struct rd *r, struct iovec *iov,
                         unsigned nr, size_t room)
{
    struct p9_fid *f = p9_fid_get(s, get32(r));
    uint64_t off = get64(r);
    uint64_t count = get32(r);
    unsigned used = 0;
    ssize_t n = 0;

    if (r->err) {
        return -EPROTO;
    }
    if (!f || f->fd < 0) {
        return -EBADF;
    }
    if (off > INT64_MAX) {
        return -EINVAL;
    }
    if (count > room) {
        count = room;
    }
    for (uint64_t left = count; used < nr && left; used++) {
        if (iov[used].iov_len > left) {
            iov[used].iov_len = (size_t)left;
        }
        left -= iov[used].iov_len;
    }
    if (used && (n = preadv(f->fd, iov, (int)used, (off_t)off)) < 0) {
        return -errno;
    }
    return n;
}

static int do_read(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint8_t *cnt = put(w, 4);
    struct iovec data;
    ssize_t n;

    if (!cnt) {
        return -ENOBUFS;
    }
    data = (struct iovec){w->p + w->len, w->cap - w->len};
    n = read_body(s, r, &data, 1, w->cap - w->len);
    if (n < 0) {
        return (int)n;
    }
    w->len += (size_t)n;
    put_n(&(struct wr){cnt, 0, 4, false}, (uint64_t)n, 4);
    return 0;
}

/* Entries of the directory (f) from cookie (off) while they fit (count). */
static int do_readdir(struct p9_server *s, struct rd *r, struct wr *w)
{
    struct p9_fid *f = p9_fid_get(s, get32(r));
    uint64_t off = get64(r);
    uint32_t count = get32(r);
    uint8_t *buf = s->dirbuf;
    struct stat dir;
    uint8_t *cnt;
    size_t start, limit;
    long n;

    if (r->err) {
        return -EPROTO;
    }
    if (!f || f->fd < 0) {
        return -EBADF;
    }
    if (off > INT64_MAX || fstat(f->fd, &dir) < 0 || !S_ISDIR(dir.st_mode)) {
        return -ENOTDIR;
    }
    if (lseek(f->fd, (off_t)off, SEEK_SET) < 0) {
        return -errno;
    }
    cnt = put(w, 4);
    if (!cnt) {
        return -ENOBUFS;
    }
    start = w->len;
    limit = count < w->cap - w->len ? count : w->cap - w->len;
    n = syscall(SYS_getdents64, f->fd, buf, P9_DIRBUF);
    if (n < 0) {
        return -errno;
    }
    for (long pos = 0; pos < n;) {
        struct dirent64 d;
        const char *name =
            (const char *)buf + pos + offsetof(struct dirent64, d_name);
        size_t nlen;
        struct stat est;
        struct wr e;

        memcpy(&d, buf + pos, offsetof(struct dirent64, d_name));
        if (d.d_reclen == 0 || pos + d.d_reclen > n) {
            break;
        }
        nlen = strnlen(name, d.d_reclen - offsetof(struct dirent64, d_name));
        pos += d.d_reclen;
        if (QID_SIZE + 8 + 1 + 2 + nlen > limit - (w->len - start)) {
            break; /* the next readdir starts here */
        }
        memset(&est, 0, sizeof(est));
        est.st_ino = d.d_ino;
        est.st_dev = dir.st_dev;
        est.st_mode = d.d_type == DT_DIR   ? S_IFDIR
                      : d.d_type == DT_LNK ? S_IFLNK
                                           : S_IFREG;
        e = (struct wr){w->p, w->len, w->cap, false};
        p9_put_qid(&e, &est);
        put64(&e, (uint64_t)d.d_off);
        put8(&e, d.d_type);
        put_str(&e, name, nlen);
        if (e.err) {
            break;
        }
        w->len = e.len;
    }
    if (n > 0 && w->len == start) {
        return -ENOBUFS; /* entries remain: an empty answer would end it */
    }
    put_n(&(struct wr){cnt, 0, 4, false}, w->len - start, 4);
    return 0;
}

static int do_readlink(struct p9_server *s, struct rd *r, struct wr *w)
{
    struct p9_fid *f = p9_fid_get(s, get32(r));
    char target[PATH_MAX + 1];
    ssize_t n;
    int fd;

    if (r->err) {
        return -EPROTO;
    }
    if (!f) {
        return -EBADF;
    }
    fd = p9_share_open(s, f->path, O_PATH);
    if (fd < 0) {
        return fd;
    }
    n = readlinkat(fd, "", target, sizeof(target));
    close(fd);
    if (n < 0) {
        return errno == ENOENT ? -EINVAL : -errno;
    }
    if ((size_t)n == sizeof(target)) {
        return -ENAMETOOLONG; /* it may have been cut */
    }
    put_str(w, target, (size_t)n);
    return 0;
}

static int do_statfs(struct p9_server *s, struct rd *r, struct wr *w)
{
    struct p9_fid *f = p9_fid_get(s, get32(r));
    struct statfs sf;
    int fd, ret;

    if (r->err) {
        return -EPROTO;
    }
    if (!f) {
        return -EBADF;
    }
    fd = p9_share_open(s, f->path, O_PATH);
    if (fd < 0) {
        return fd;
    }
    ret = fstatfs(fd, &sf) < 0 ? -errno : 0;
    close(fd);
    if (ret < 0) {
        return ret;
    }
    put32(w, (uint32_t)sf.f_type);
    put32(w, (uint32_t)sf.f_bsize);
    put64(w, sf.f_blocks);
    put64(w, sf.f_bfree);
    put64(w, sf.f_bavail);
    put64(w, sf.f_files);
    put64(w, sf.f_ffree);
    put64(w, 0);
    put32(w, (uint32_t)sf.f_namelen);
    return 0;
}

static int do_lock(struct p9_server *s, struct rd *r, struct wr *w, bool get)
{
    struct p9_fid *f = p9_fid_get(s, get32(r));
    uint8_t type = get8(r);
    uint64_t start, length;
    uint32_t proc;
    uint16_t clen;
    const char *client;

    if (!get) {
        (void)get32(r); /* flags */
    }
    start = get64(r);
    length = get64(r);
    proc = get32(r);
    client = get_str(r, &clen);
    (void)type;
    if (r->err) {
        return -EPROTO;
    }
    if (!f) {
        return -EBADF;
    }
    /* Nobody writes a read-only share: every lock is granted, none held. */
    if (!get) {
        put8(w, LOCK_SUCCESS);
        return 0;
    }
    put8(w, LOCK_TYPE_UNLCK);
    put64(w, start);
    put64(w, length);
    put32(w, proc);
    put_str(w, client, clen);
    return 0;
}

/* No extended attributes are served: a listing (the empty name) is
 * empty, any one attribute is absent. */
static int do_xattrwalk(struct p9_server *s, struct rd *r, struct wr *w)
{
    struct p9_fid *f = p9_fid_get(s, get32(r));
    uint32_t newfid = get32(r);
    uint16_t len;
    char *path;

    (void)get_str(r, &len);
    if (r->err) {
        return -EPROTO;
    }
    if (!f || (newfid != f->fid && p9_fid_get(s, newfid))) {
        return -EBADF;
    }
    if (len) {
        return -ENODATA;
    }
    put64(w, 0);
    if (w->err) {
        return -ENOBUFS;
    }
    path = strdup(f->path);
    return path ? fid_set(s, newfid, path) : -ENOMEM;
}

/* Tclunk, and Tremove: which clunks too, whether or not the file goes. */
static int do_clunk(struct p9_server *s, struct rd *r, bool remove)
{
    struct p9_fid *f = p9_fid_get(s, get32(r));
    int ret = 0;

    if (r->err) {
        return -EPROTO;
    }
    if (!f) {
        return -EBADF;
    }
    if (remove) {
        ret = s->writable ? p9_remove(s, f) : -EROFS;
    }
    fid_del(s, f->fid);
    return ret;
}

static int dispatch(struct p9_server *s, uint8_t type, struct rd *r,
                    struct wr *w)
{
    if (type != P9_TVERSION && !s->versioned) {
        return -EPROTO;
    }
    switch (type) {
    case P9_TVERSION:
        return do_version(s, r, w);
    case P9_TATTACH:
        return do_attach(s, r, w);
    case P9_TWALK:
        return do_walk(s, r, w);
    case P9_TGETATTR:
        return do_getattr(s, r, w);
    case P9_TLOPEN:
        return do_lopen(s, r, w);
    case P9_TREAD:
        return do_read(s, r, w);
    case P9_TREADDIR:
        return do_readdir(s, r, w);
    case P9_TREADLINK:
        return do_readlink(s, r, w);
    case P9_TSTATFS:
        return do_statfs(s, r, w);
    case P9_TLOCK:
        return do_lock(s, r, w, false);
    case P9_TGETLOCK:
        return do_lock(s, r, w, true);
    case P9_TFSYNC:
        return p9_do_fsync(s, r, w);
    case P9_TXATTRWALK:
        return do_xattrwalk(s, r, w);
    case P9_TFLUSH:
        (void)get16(r);
        return r->err ? -EPROTO : 0;
    case P9_TCLUNK:
    case P9_TREMOVE:
        return do_clunk(s, r, type == P9_TREMOVE);
    case P9_TXATTRCREATE:
        return s->writable ? -EOPNOTSUPP : -EROFS;
    }
    if (!s->writable) {
        switch (type) {
        case P9_TLCREATE:
        case P9_TSYMLINK:
        case P9_TMKNOD:
        case P9_TRENAME:
        case P9_TSETATTR:
        case P9_TLINK:
        case P9_TMKDIR:
        case P9_TRENAMEAT:
        case P9_TUNLINKAT:
        case P9_TWRITE:
            return -EROFS;
        }
        return -EOPNOTSUPP;
    }
    switch (type) {
    case P9_TLCREATE:
        return p9_do_lcreate(s, r, w);
    case P9_TWRITE:
        return p9_do_write(s, r, w);
    case P9_TMKDIR:
        return p9_do_mkdir(s, r, w);
    case P9_TSYMLINK:
        return p9_do_symlink(s, r, w);
    case P9_TMKNOD:
        return p9_do_mknod(s, r, w);
    case P9_TLINK:
        return p9_do_link(s, r, w);
    case P9_TUNLINKAT:
        return p9_do_unlinkat(s, r, w);
    case P9_TRENAMEAT:
        return p9_do_renameat(s, r, w);
    case P9_TRENAME:
        return p9_do_rename(s, r, w);
    case P9_TSETATTR:
        return p9_do_setattr(s, r, w);
    default:
        return -EOPNOTSUPP; /* Tauth among them: no authentication */
    }
}

int p9_server_handle(struct p9_server *s, const uint8_t *in, size_t in_len,
                     uint8_t *out, size_t out_cap, size_t *out_len)
{
    struct rd r = {in, in_len, false};
    uint32_t size = get32(&r);
    uint8_t type = get8(&r);
    uint16_t tag = get16(&r);
    struct wr w, h = {out, 0, HDR, false};
    size_t cap;
    int ret;

    if (r.err || size != in_len || out_cap < HDR + 4) {
        return -EPROTO;
    }
    /* A reply fits the msize agreed (Tversion's: the largest offered). */
    cap = type == P9_TVERSION ? P9_MSIZE_MAX : s->msize;
    w = (struct wr){out, HDR, cap < out_cap ? cap : out_cap, false};
    ret = dispatch(s, type, &r, &w);
    if (ret == 0 && w.err) {
        ret = -ENOBUFS;
    }
    /* Atomic: the machine reads them from another thread. */
    __atomic_add_fetch(&s->nr_requests, 1, __ATOMIC_RELAXED);
    if (ret < 0) {
        __atomic_add_fetch(&s->nr_errors, 1, __ATOMIC_RELAXED);
        w = (struct wr){out, HDR, out_cap, false};
        put32(&w, (uint32_t)-ret);
        type = P9_RLERROR - 1;
    }
    put32(&h, w.len);
    put8(&h, (uint8_t)(type + 1));
    put16(&h, tag);
    *out_len = w.len;
    return 0;
}

int p9_server_read_iov(struct p9_server *s, const uint8_t *in, size_t in_len,
                       size_t reply_cap, struct iovec *iov, unsigned nr,
                       uint8_t head[P9_RREAD_HEAD], size_t *out_len)
{
    struct rd r = {in, in_len, false};
    uint32_t size = get32(&r);
    uint8_t type = get8(&r);
    uint16_t tag = get16(&r);
    size_t cap = reply_cap < s->msize ? reply_cap : s->msize;
    struct wr h = {head, 0, P9_RREAD_HEAD, false};
    ssize_t n;

    if (r.err || size != in_len || type != P9_TREAD || cap < P9_RREAD_HEAD) {
        return -EAGAIN;
    }
    /* As do_read(): what the reply has room for. */
    n = read_body(s, &r, iov, nr, cap - P9_RREAD_HEAD);
    if (n < 0) {
        return -EAGAIN;
    }
    put32(&h, P9_RREAD_HEAD + (uint32_t)n);
    put8(&h, P9_TREAD + 1);
    put16(&h, tag);
    put32(&h, (uint32_t)n);
    __atomic_add_fetch(&s->nr_requests, 1, __ATOMIC_RELAXED);
    *out_len = P9_RREAD_HEAD + (size_t)n;
    return 0;
}

int p9_server_init(struct p9_server *s, const char *path, bool writable)
{
    int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    uint8_t *buf;

    if (fd < 0) {
        return -errno;
    }
    buf = malloc(P9_DIRBUF);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    memset(s, 0, sizeof(*s));
    s->root_fd = fd;
    s->dirbuf = buf;
    s->msize = P9_MSIZE_MAX;
    s->writable = writable;
    return 0;
}

void p9_server_reset(struct p9_server *s)
{
    fids_clear(s);
    s->msize = P9_MSIZE_MAX;
    s->versioned = false;
}

void p9_server_destroy(struct p9_server *s)
{
    p9_server_reset(s);
    if (s->root_fd >= 0) {
        close(s->root_fd);
    }
    s->root_fd = -1;
    free(s->dirbuf);
    s->dirbuf = NULL;
}
