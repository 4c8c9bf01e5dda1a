/* SPDX-License-Identifier: MIT */
/*
 * A 9P2000.L file server for one host directory (the share): takes one
 * request message and writes its reply, as the virtio-9p device hands them
 * over. What Linux's v9fs needs to mount a share and use it as a root
 * file system: version, attach, walk, getattr, lopen, read, readdir,
 * readlink, statfs, xattrwalk (no attributes), lock and getlock, fsync,
 * flush and clunk; and, on a writable share, lcreate, write, mkdir,
 * symlink, mknod (FIFOs and sockets only), link, unlinkat, renameat,
 * rename, remove and setattr. On a read-only share every operation that
 * would change it is answered EROFS.
 *
 * Confinement: the server holds a directory fd on the share (O_PATH) and
 * each fid its path below it, built only from walked names (a name with a
 * '/' or NUL, ".", or "" is refused; ".." drops the last component and
 * stops at the share's root, as the root's ".." is the root). Every open
 * resolves that path with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS) and O_NOFOLLOW from the share's fd: no symbolic
 * link is followed at any step (the client reads links and resolves them
 * itself), no ".." climbs out, and a directory the host renames or swaps
 * for a link meanwhile cannot lead out either; the kernel checks every
 * step of every open, not this code. A change names one new entry (one
 * component: no '/', NUL, "." or "..") under a directory fd opened that
 * way, with the *at() call that never follows a link in its last
 * component (mkdirat, symlinkat, unlinkat, renameat, linkat without
 * AT_SYMLINK_FOLLOW, openat2 with O_CREAT | O_EXCL); attributes change
 * through an fd of the file itself, a link's mode never.
 * The limit: between opening that directory and the change (microseconds),
 * a host that renames the directory out of the share takes the change
 * with it, as it takes files opened in it; the guest cannot bring that
 * about by itself. No set-user-ID or set-group-ID file is made (see
 * p9_write.c).
 *
 * Messages are the guest's and hostile: every field is bounds-checked
 * against the message, sizes and counts against msize, fids looked up; a
 * bad request gets Rlerror (EPROTO, EBADF, ...) and never touches memory
 * outside the two buffers.
 *
 * Threads: one thread at a time per server (the device's worker).
 */
#ifndef DEVICES_P9_H
#define DEVICES_P9_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* The largest message this server takes or sends, and what it offers in
 * Rversion when the client asks more. */
#define P9_MSIZE_MAX (128u * 1024)
/* Tread's message type, and the head of an Rread (size[4] type[1]
 * tag[2] count[4]) before its data. */
#define P9_TREAD_TYPE 116u
#define P9_RREAD_HEAD 11u
/* Fids a client may hold at once, and opened files among them (each an
 * fd of the VMM's). */
#define P9_MAX_FIDS 4096u
#define P9_MAX_OPEN 256u

struct p9_fid;

struct p9_server {
    /* Private. */
    int root_fd;
    uint32_t msize;
    bool versioned;
    bool writable;
    struct p9_fid *fids[P9_MAX_FIDS];
    unsigned nr_fids, nr_open;
    uint8_t *dirbuf;
    /* Requests answered, and those answered Rlerror (atomic: read them
     * with __atomic_load_n from other threads). */
    uint64_t nr_requests, nr_errors;
};

/*
 * Serve the directory (path) in (s), read-only unless (writable). Returns
 * 0, or -errno from opening it (-ENOTDIR when it is not a directory), with
 * nothing to undo.
 */
__attribute__((warn_unused_result)) int
p9_server_init(struct p9_server *s, const char *path, bool writable);

/* Close every fid and forget the session (the next request must be a
 * Tversion), as a device reset does; the share stays open. */
void p9_server_reset(struct p9_server *s);

/* Close every fid and the share; (s) may be initialised again. */
void p9_server_destroy(struct p9_server *s);

/*
 * Answer the request (in, in_len) into (out), of (out_cap) bytes: the
 * reply's length in (*out_len). Returns 0 with a reply (Rlerror for a
 * request that failed), or -EPROTO when (in) is no 9P message (shorter
 * than its header, or its size field disagrees with in_len) or (out_cap)
 * is below 11 bytes: then there is nothing to answer.
 */
__attribute__((warn_unused_result)) int
p9_server_handle(struct p9_server *s, const uint8_t *in, size_t in_len,
                 uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Answer the request (in, in_len) when it is a Tread that reads: its data
 * straight into (iov) (nr buffers, the reply's room past its head: cut
 * here to what the read returns), its P9_RREAD_HEAD-byte head into
 * (head); the reply's length (at most reply_cap, the room for all of it)
 * in (*out_len). Returns 0, or -EAGAIN with nothing done or counted for
 * anything else (another message, a malformed one, a fid with no open
 * file, a read that fails): p9_server_handle() answers those. Saves a
 * copy of each read's bytes.
 */
__attribute__((warn_unused_result)) int
p9_server_read_iov(struct p9_server *s, const uint8_t *in, size_t in_len,
                   size_t reply_cap, struct iovec *iov, unsigned nr,
                   uint8_t head[P9_RREAD_HEAD], size_t *out_len);

#endif /* DEVICES_P9_H */
