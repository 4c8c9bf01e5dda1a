/* SPDX-License-Identifier: MIT */
/*
 * The 9P2000.L operations that change a writable share (see devices/p9.h
 * for the confinement rule). Each new or removed entry is one name under a
 * directory fd that p9_share_open() opened (O_PATH, no link followed on
 * the way), changed with the *at() call that does not follow a link in
 * its last component; attributes change through an fd of the file itself.
 *
 * What the client sends for ownership (Tlcreate's, Tmkdir's gid) is not
 * applied: new files belong to the VMM's user, as with QEMU's
 * security_model=none. The host's umask is undone for the files made
 * here: the client has applied its own. No mode the client asks for makes
 * a set-user-ID or set-group-ID file on the host (where vmm's user may be
 * root, such a program would be root's): those bits are dropped, except
 * a directory's set-group-ID (which only passes its group on).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p9-internal.h"

/* Tsetattr's valid bits. */
enum {
    SETATTR_MODE = 1u << 0,
    SETATTR_UID = 1u << 1,
    SETATTR_GID = 1u << 2,
    SETATTR_SIZE = 1u << 3,
    SETATTR_ATIME = 1u << 4,
    SETATTR_MTIME = 1u << 5,
    SETATTR_CTIME = 1u << 6,
    SETATTR_ATIME_SET = 1u << 7,
    SETATTR_MTIME_SET = 1u << 8,
};

/* Tunlinkat's one flag (Linux's AT_REMOVEDIR). */
#define UNLINK_REMOVEDIR 0x200u

/* One name of a new or removed entry, NUL-terminated. */
struct p9_name {
    char s[NAME_MAX + 1];
};

/* Check the name (p, len) read from a request and copy it to (n): one
 * component, never "", ".", "..", nor one with '/' or NUL. */
static int name_take(const char *p, uint16_t len, struct p9_name *n)
{
    if (!p9_name_ok(p, len) || (len == 2 && p[0] == '.' && p[1] == '.')) {
        return -EINVAL;
    }
    if (len > NAME_MAX) {
        return -ENAMETOOLONG;
    }
    memcpy(n->s, p, len);
    n->s[len] = '\0';
    return 0;
}

/* A directory fd (O_PATH) of fid (fid)'s directory. */
static int dir_open(struct p9_server *s, uint32_t fid)
{
    struct p9_fid *f = p9_fid_get(s, fid);

    return f ? p9_share_open(s, f->path, O_PATH | O_DIRECTORY) : -EBADF;
}

/* The permission bits a file of type (type) may get from (mode). */
static mode_t mode_safe(mode_t type, uint32_t mode)
{
    mode &= 07777 & ~(mode_t)S_ISUID;
    if ((type & S_IFMT) != S_IFDIR) {
        mode &= ~(mode_t)S_ISGID;
    }
    return mode;
}

/* chmod through (fd) (O_PATH or not) of a file that is no link: its
 * /proc/self/fd entry leads to that inode and nowhere else. */
static int fd_chmod(int fd, uint32_t mode)
{
    char p[40];
    struct stat st;

    if (fstat(fd, &st) < 0) {
        return -errno;
    }
    if (S_ISLNK(st.st_mode)) {
        return -EOPNOTSUPP; /* Linux has no mode for a link */
    }
    mode = mode_safe(st.st_mode, mode);
    snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
    return fchmodat(AT_FDCWD, p, mode, 0) < 0 ? -errno : 0;
}

/* After creating (n) under (dfd) with (mode): undo the host's umask
 * (where the host refuses a bit, the entry keeps what it got; a directory
 * keeps the set-group-ID its parent gave it; a link has no mode), then
 * answer its qid. */
static int made(struct wr *w, int dfd, const struct p9_name *n, uint32_t mode)
{
    struct stat st;
    int fd = p9_open_beneath(dfd, n->s, O_PATH, 0), ret = 0;

    if (fd < 0) {
        return fd;
    }
    if (fstat(fd, &st) < 0) {
        ret = -errno;
    } else if (!S_ISLNK(st.st_mode)) {
        mode = mode_safe(st.st_mode, mode | (st.st_mode & S_ISGID));
        if ((st.st_mode & 07777) != mode && fd_chmod(fd, mode) == 0) {
            st.st_mode = (st.st_mode & S_IFMT) | mode;
        }
    }
    close(fd);
    if (ret == 0) {
        p9_put_qid(w, &st);
    }
    return ret;
}

int p9_do_lcreate(struct p9_server *s, struct rd *r, struct wr *w)
{
    struct p9_fid *f = p9_fid_get(s, get32(r));
    uint16_t len;
    const char *name = get_str(r, &len);
    uint32_t flags = get32(r), mode = mode_safe(S_IFREG, get32(r));
    struct p9_name n;
    struct stat st;
    int dfd, fd, ret, oflags;
    char *path;

    (void)get32(r); /* gid */
    ret = p9_fid_openable(r, f);
    if (ret < 0) {
        return ret;
    }
    ret = name_take(name, len, &n);
    if (ret < 0) {
        return ret;
    }
    if ((flags & O_ACCMODE) == O_ACCMODE) {
        return -EINVAL;
    }
    if (s->nr_open >= P9_MAX_OPEN) {
        return -EMFILE;
    }
    if (w->cap - w->len < QID_SIZE + 4) {
        return -ENOBUFS; /* made, it could not be answered */
    }
    path = p9_path_walk(f->path, n.s, len, &ret);
    if (!path) {
        return ret;
    }
    oflags = (int)(flags & (O_ACCMODE | O_TRUNC));
    dfd = p9_share_open(s, f->path, O_PATH | O_DIRECTORY);
    if (dfd < 0) {
        free(path);
        return dfd;
    }
    fd = p9_open_beneath(dfd, n.s, oflags | O_CREAT | O_EXCL, mode);
    if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777) != mode) {
        (void)fchmod(fd, mode); /* the host's umask; the client's is done */
    }
    close(dfd);
    /* An existing file is opened only without O_EXCL, and only as Tlopen
     * would (a regular file, checked). */
    if (fd == -EEXIST && !(flags & O_EXCL)) {
        fd = p9_open_checked(s, path, oflags, &st);
    }
    if (fd < 0 || fstat(fd, &st) < 0) {
        ret = fd < 0 ? fd : -errno;
        goto fail;
    }
    p9_put_qid(w, &st);
    put32(w, s->msize - P9_IOHDRSZ);
    if (w->err) {
        ret = -ENOBUFS;
        goto fail;
    }
    free(f->path);
    f->path = path;
    p9_fid_bind_fd(s, f, fd, (oflags & O_ACCMODE) != O_RDONLY);
    return 0;
fail:
    if (fd >= 0) {
        close(fd);
    }
    free(path);
    return ret;
}

int p9_do_write(struct p9_server *s, struct rd *r, struct wr *w)
{
    struct p9_fid *f = p9_fid_get(s, get32(r));
    uint64_t off = get64(r);
    uint32_t count = get32(r);
    const uint8_t *data = take(r, count);
    ssize_t n;

    if (r->err) {
        return -EPROTO;
    }
    if (!f || f->fd < 0 || !f->fd_writes) {
        return -EBADF;
    }
    if (off > INT64_MAX || count > INT64_MAX - off) {
        return -EFBIG;
    }
    n = pwrite(f->fd, data, count, (off_t)off);
    if (n < 0) {
        return -errno;
    }
    put32(w, (uint32_t)n);
    return 0;
}

/* What Tmkdir, Tsymlink and Tmknod share: a directory fid and a name,
 * then what makes the entry. */
struct p9_make {
    uint32_t dfid;
    struct p9_name name;
};

static int make_begin(struct p9_server *s, struct rd *r, struct p9_make *m)
{
    uint16_t len;
    const char *name;

    m->dfid = get32(r);
    name = get_str(r, &len);
    if (r->err) {
        return -EPROTO;
    }
    if (!p9_fid_get(s, m->dfid)) {
        return -EBADF;
    }
    return name_take(name, len, &m->name);
}

int p9_do_mkdir(struct p9_server *s, struct rd *r, struct wr *w)
{
    struct p9_make m;
    int ret = make_begin(s, r, &m), dfd;
    uint32_t mode = mode_safe(S_IFDIR, get32(r));

    (void)get32(r); /* gid */
    if (ret < 0 || r->err) {
        return r->err ? -EPROTO : ret;
    }
    if (w->cap - w->len < QID_SIZE) {
        return -ENOBUFS;
    }
    dfd = dir_open(s, m.dfid);
    if (dfd < 0) {
        return dfd;
    }
    ret =
        mkdirat(dfd, m.name.s, mode) < 0 ? -errno : made(w, dfd, &m.name, mode);
    close(dfd);
    return ret;
}

int p9_do_symlink(struct p9_server *s, struct rd *r, struct wr *w)
{
    struct p9_make m;
    int ret = make_begin(s, r, &m), dfd;
    uint16_t tlen;
    const char *t = get_str(r, &tlen);
    char target[PATH_MAX];

    (void)get32(r); /* gid */
    if (ret < 0 || r->err) {
        return r->err ? -EPROTO : ret;
    }
    /* The target is the client's text, stored and never followed here. */
    if (tlen == 0 || memchr(t, '\0', tlen)) {
        return -EINVAL;
    }
    if (tlen >= sizeof(target)) {
        return -ENAMETOOLONG;
    }
    if (w->cap - w->len < QID_SIZE) {
        return -ENOBUFS;
    }
    memcpy(target, t, tlen);
    target[tlen] = '\0';
    dfd = dir_open(s, m.dfid);
    if (dfd < 0) {
        return dfd;
    }
    ret = symlinkat(target, dfd, m.name.s) < 0 ? -errno
                                               : made(w, dfd, &m.name, 0);
    close(dfd);
    return ret;
}

/* FIFOs, sockets and regular files; a device node would be the host's. */
int p9_do_mknod(struct p9_server *s, struct rd *r, struct wr *w)
{
    struct p9_make m;
    int ret = make_begin(s, r, &m), dfd;
    uint32_t mode = get32(r);
    mode_t type = mode & S_IFMT;

    (void)get32(r); /* major */
    (void)get32(r); /* minor */
    (void)get32(r); /* gid */
    if (ret < 0 || r->err) {
        return r->err ? -EPROTO : ret;
    }
    if (type != S_IFIFO && type != S_IFSOCK && type != S_IFREG) {
        return -EPERM;
    }
    if (w->cap - w->len < QID_SIZE) {
        return -ENOBUFS;
    }
    dfd = dir_open(s, m.dfid);
    if (dfd < 0) {
        return dfd;
    }
    ret = mknodat(dfd, m.name.s, type | mode_safe(type, mode), 0) < 0
              ? -errno
              : made(w, dfd, &m.name, mode_safe(type, mode));
    close(dfd);
    return ret;
}

/* A fid's (path) (below PATH_MAX) as its parent's path and its last
 * name. */
static int path_split(const char *path, char parent[PATH_MAX],
                      struct p9_name *n)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t plen = slash ? (size_t)(slash - path) : 0;
    int ret;

    if (!*path) {
        return -EBUSY; /* the share's root has no entry to change */
    }
    ret = name_take(base, (uint16_t)strnlen(base, NAME_MAX + 1), n);
    if (ret < 0) {
        return ret;
    }
    memcpy(parent, path, plen);
    parent[plen] = '\0';
    return 0;
}

/* (path)'s parent directory, opened (O_PATH), and its last name in (n). */
static int parent_open(struct p9_server *s, const char *path, struct p9_name *n)
{
    char parent[PATH_MAX];
    int ret = path_split(path, parent, n);

    return ret < 0 ? ret : p9_share_open(s, parent, O_PATH | O_DIRECTORY);
}

/* Tlink: dfid[4] fid[4] name[s], a hard link to fid's file. */
int p9_do_link(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t dfid = get32(r);
    struct p9_fid *f = p9_fid_get(s, get32(r));
    uint16_t len;
    const char *name = get_str(r, &len);
    struct p9_name n, base;
    int ret, dfd, pfd;

    (void)w;
    if (r->err) {
        return -EPROTO;
    }
    if (!f || !p9_fid_get(s, dfid)) {
        return -EBADF;
    }
    ret = name_take(name, len, &n);
    if (ret < 0) {
        return ret;
    }
    pfd = parent_open(s, f->path, &base);
    if (pfd < 0) {
        return pfd;
    }
    dfd = dir_open(s, dfid);
    if (dfd < 0) {
        close(pfd);
        return dfd;
    }
    /* Without AT_SYMLINK_FOLLOW: a link is linked, not its target. */
    ret = linkat(pfd, base.s, dfd, n.s, 0) < 0 ? -errno : 0;
    close(dfd);
    close(pfd);
    return ret;
}

int p9_do_unlinkat(struct p9_server *s, struct rd *r, struct wr *w)
{
    struct p9_make m;
    int ret = make_begin(s, r, &m), dfd;
    uint32_t flags = get32(r);

    (void)w;
    if (ret < 0 || r->err) {
        return r->err ? -EPROTO : ret;
    }
    if (flags & ~UNLINK_REMOVEDIR) {
        return -EINVAL;
    }
    dfd = dir_open(s, m.dfid);
    if (dfd < 0) {
        return dfd;
    }
    ret = unlinkat(dfd, m.name.s, flags ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
    close(dfd);
    return ret;
}

/* The fids on or below (from), once it is (to), follow it: their new
 * paths are made before the rename (*plan: one per fid, NULL where none
 * changes), so that a rename is refused (-ENAMETOOLONG, -ENOMEM) rather
 * than leaving a fid on a path another file may take. */
static int fids_plan(const struct p9_server *s, const char *from,
                     const char *to, char ***plan)
{
    size_t flen = strlen(from), tlen = strlen(to);
    char **p = calloc(s->nr_fids ? s->nr_fids : 1, sizeof(*p));

    if (!p) {
        return -ENOMEM;
    }
    *plan = p;
    for (unsigned i = 0; i < s->nr_fids; i++) {
        const char *old = s->fids[i]->path;
        size_t plen = strlen(old);

        if (plen < flen || memcmp(old, from, flen) != 0 ||
            (plen > flen && old[flen] != '/')) {
            continue;
        }
        if (tlen + plen - flen >= PATH_MAX) {
            return -ENAMETOOLONG;
        }
        p[i] = malloc(tlen + plen - flen + 1);
        if (!p[i]) {
            return -ENOMEM;
        }
        memcpy(p[i], to, tlen);
        memcpy(p[i] + tlen, old + flen, plen - flen + 1);
    }
    return 0;
}

/* Give the fids their planned paths (commit), or drop the plan. */
static void fids_apply(struct p9_server *s, char **plan, bool commit)
{
    for (unsigned i = 0; plan && i < s->nr_fids; i++) {
        if (plan[i] && commit) {
            free(s->fids[i]->path);
            s->fids[i]->path = plan[i];
        } else {
            free(plan[i]);
        }
    }
    free(plan);
}

/* Rename (on) under directory fid (odir) to (nn) under (ndir). */
static int rename_names(struct p9_server *s, struct p9_fid *odir,
                        const struct p9_name *on, struct p9_fid *ndir,
                        const struct p9_name *nn)
{
    int ret, ofd = -1, nfd = -1;
    char *from, *to = NULL, **plan = NULL;

    from = p9_path_walk(odir->path, on->s, (uint16_t)strlen(on->s), &ret);
    if (from) {
        to = p9_path_walk(ndir->path, nn->s, (uint16_t)strlen(nn->s), &ret);
    }
    if (to) {
        ret = fids_plan(s, from, to, &plan);
    }
    if (ret == 0) {
        ofd = p9_share_open(s, odir->path, O_PATH | O_DIRECTORY);
        ret = ofd < 0 ? ofd : 0;
    }
    if (ret == 0) {
        nfd = p9_share_open(s, ndir->path, O_PATH | O_DIRECTORY);
        ret = nfd < 0 ? nfd : 0;
    }
    if (ret == 0) {
        ret = renameat(ofd, on->s, nfd, nn->s) < 0 ? -errno : 0;
    }
    fids_apply(s, plan, ret == 0);
    if (nfd >= 0) {
        close(nfd);
    }
    if (ofd >= 0) {
        close(ofd);
    }
    free(from);
    free(to);
    return ret;
}

/* Trenameat: olddirfid[4] oldname[s] newdirfid[4] newname[s]. */
int p9_do_renameat(struct p9_server *s, struct rd *r, struct wr *w)
{
    struct p9_fid *odir = p9_fid_get(s, get32(r));
    uint16_t olen, nlen;
    const char *oname = get_str(r, &olen);
    struct p9_fid *ndir = p9_fid_get(s, get32(r));
    const char *nname = get_str(r, &nlen);
    struct p9_name on, nn;
    int ret;

    (void)w;
    if (r->err) {
        return -EPROTO;
    }
    if (!odir || !ndir) {
        return -EBADF;
    }
    ret = name_take(oname, olen, &on);
    if (ret == 0) {
        ret = name_take(nname, nlen, &nn);
    }
    return ret < 0 ? ret : rename_names(s, odir, &on, ndir, &nn);
}

/* Trename: fid[4] dfid[4] name[s]; fid's file moves into dfid as name. */
int p9_do_rename(struct p9_server *s, struct rd *r, struct wr *w)
{
    struct p9_fid *f = p9_fid_get(s, get32(r));
    struct p9_fid *ndir = p9_fid_get(s, get32(r));
    uint16_t len;
    const char *name = get_str(r, &len);
    char parent[PATH_MAX];
    struct p9_fid odir = {.path = parent, .fd = -1};
    struct p9_name on, nn;
    int ret;

    (void)w;
    if (r->err) {
        return -EPROTO;
    }
    if (!f || !ndir) {
        return -EBADF;
    }
    ret = path_split(f->path, parent, &on);
    if (ret == 0) {
        ret = name_take(name, len, &nn);
    }
    return ret < 0 ? ret : rename_names(s, &odir, &on, ndir, &nn);
}

/* Tremove's unlink: a directory with AT_REMOVEDIR (it must be empty). */
int p9_remove(struct p9_server *s, const struct p9_fid *f)
{
    struct p9_name base;
    struct stat st;
    int pfd = parent_open(s, f->path, &base), ret;

    if (pfd < 0) {
        return pfd;
    }
    ret = fstatat(pfd, base.s, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
    if (ret == 0 &&
        unlinkat(pfd, base.s, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0) {
        ret = -errno;
    }
    close(pfd);
    return ret;
}

/* Tsetattr's size: through the fid's own fd when it writes (the file may
 * be unlinked), else a new one (a regular file only). */
static int set_size(struct p9_server *s, struct p9_fid *f, uint64_t size)
{
    struct stat st;
    int fd, ret;

    if (size > INT64_MAX) {
        return -EFBIG;
    }
    if (f->fd >= 0 && f->fd_writes) {
        return ftruncate(f->fd, (off_t)size) < 0 ? -errno : 0;
    }
    fd = p9_open_checked(s, f->path, O_WRONLY, &st);
    if (fd < 0) {
        return fd;
    }
    ret = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
    close(fd);
    return ret;
}

/* A time of Tsetattr: the one sent (…_SET), now, or left alone. */
static struct timespec set_time(uint32_t valid, uint32_t bit, uint32_t set,
                                uint64_t sec, uint64_t nsec)
{
    if (!(valid & bit)) {
        return (struct timespec){.tv_nsec = UTIME_OMIT};
    }
    if (!(valid & set)) {
        return (struct timespec){.tv_nsec = UTIME_NOW};
    }
    /* Seconds are signed: before 1970 is negative. */
    return (struct timespec){.tv_sec = (time_t)(int64_t)sec,
                             .tv_nsec = (long)nsec};
}

/* Tsetattr: fid[4] valid[4] mode[4] uid[4] gid[4] size[8] atime_sec[8]
 * atime_nsec[8] mtime_sec[8] mtime_nsec[8]; mode, owner, size, times in
 * that order (a truncate would move the mtime just set). */
int p9_do_setattr(struct p9_server *s, struct rd *r, struct wr *w)
{
    struct p9_fid *f = p9_fid_get(s, get32(r));
    uint32_t valid = get32(r), mode = get32(r), uid = get32(r);
    uint32_t gid = get32(r);
    uint64_t size = get64(r), as = get64(r), ans = get64(r);
    uint64_t ms = get64(r), mns = get64(r);
    struct timespec ts[2];
    int fd, ret = 0;

    (void)w;
    if (r->err) {
        return -EPROTO;
    }
    if (!f) {
        return -EBADF;
    }
    if (((valid & SETATTR_ATIME_SET) && ans >= 1000000000) ||
        ((valid & SETATTR_MTIME_SET) && mns >= 1000000000)) {
        return -EINVAL;
    }
    /* The fid's own fd when open (it may be unlinked), else an O_PATH one. */
    fd = f->fd >= 0 ? f->fd : p9_share_open(s, f->path, O_PATH);
    if (fd < 0) {
        return fd;
    }
    if (valid & SETATTR_MODE) {
        ret = fd_chmod(fd, mode);
    }
    if (ret == 0 && (valid & (SETATTR_UID | SETATTR_GID)) &&
        fchownat(fd, "", valid & SETATTR_UID ? uid : (uint32_t)-1,
                 valid & SETATTR_GID ? gid : (uint32_t)-1,
                 AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
        ret = -errno;
    }
    if (ret == 0 && (valid & SETATTR_SIZE)) {
        ret = set_size(s, f, size);
    }
    ts[0] = set_time(valid, SETATTR_ATIME, SETATTR_ATIME_SET, as, ans);
    ts[1] = set_time(valid, SETATTR_MTIME, SETATTR_MTIME_SET, ms, mns);
    if (ret == 0 && (valid & (SETATTR_ATIME | SETATTR_MTIME)) &&
        utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
        ret = -errno;
    }
    /* SETATTR_CTIME alone: the change time moves with any change. */
    if (fd != f->fd) {
        close(fd);
    }
    return ret;
}

/* Tfsync: fid[4] datasync[4]. On a read-only share nothing was written. */
int p9_do_fsync(struct p9_server *s, struct rd *r, struct wr *w)
{
    struct p9_fid *f = p9_fid_get(s, get32(r));
    uint32_t datasync = get32(r);

    (void)w;
    if (r->err) {
        return -EPROTO;
    }
    if (!f) {
        return -EBADF;
    }
    if (!s->writable || f->fd < 0 || !f->fd_writes) {
        return 0;
    }
    if ((datasync ? fdatasync(f->fd) : fsync(f->fd)) < 0) {
        return -errno;
    }
    return 0;
}
