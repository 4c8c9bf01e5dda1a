/* SPDX-License-Identifier: MIT */
/*
 * The 9P2000.L server (devices/p9.c) against a client written here, on a
 * share made in a temporary directory next to a directory it must never
 * reach: version and attach; walk, getattr, lopen and read of a file;
 * readdir; readlink. Escapes refused with the share intact: ".." at the
 * root, a name with '/', an absolute and a relative symbolic link out
 * (walked as links, never through), a directory the host swaps for a link
 * to outside after the client walked to it, and one it renames out.
 * Every change answers EROFS. Malformed messages: a size that disagrees,
 * a truncated walk, a count past msize, an unknown fid or type.
 * Then the same share served writable: create, write and read back,
 * mkdir, symlink, mknod, link, rename (fids follow), setattr, unlink,
 * remove, fsync, each checked on the host; names that are not one
 * component refused; nothing made or changed outside the share through a
 * link, a fid on a link, or a directory the host renamed out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/p9.h"
#include "unit.h"

static unsigned unit_failures;

enum {
    RLERROR = 7,
    TSTATFS = 8,
    TLOPEN = 12,
    TREADLINK = 22,
    TGETATTR = 24,
    TXATTRWALK = 30,
    TREADDIR = 40,
    TLCREATE = 14,
    TSYMLINK = 16,
    TMKNOD = 18,
    TRENAME = 20,
    TSETATTR = 26,
    TFSYNC = 50,
    TLINK = 70,
    TMKDIR = 72,
    TRENAMEAT = 74,
    TUNLINKAT = 76,
    TREMOVE = 122,
    TVERSION = 100,
    TATTACH = 104,
    TWALK = 110,
    TREAD = 116,
    TWRITE = 118,
    TCLUNK = 120,
};

static struct p9_server srv;
static uint8_t req[8192], rep[P9_MSIZE_MAX];
static size_t qlen, rlen;

/* Building a request. */
static void begin(uint8_t type)
{
    qlen = 7;
    req[4] = type;
    req[5] = 0x34;
    req[6] = 0x12;
}

static void p_n(uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        req[qlen++] = (uint8_t)(v >> (8 * i));
    }
}

static void p_s(const char *s)
{
    size_t n = strlen(s);

    p_n(n, 2);
    memcpy(req + qlen, s, n);
    qlen += n;
}

/* Send: the reply's type, or -1 when the server refused the message. */
static int send(void)
{
    for (unsigned i = 0; i < 4; i++) {
        req[i] = (uint8_t)(qlen >> (8 * i));
    }
    if (p9_server_handle(&srv, req, qlen, rep, sizeof(rep), &rlen) < 0) {
        return -1;
    }
    CHECK(rlen >= 7 && rep[0] == (uint8_t)rlen && rep[5] == 0x34 &&
              rep[6] == 0x12,
          "reply header: len %zu, tag %02x%02x", rlen, rep[6], rep[5]);
    return rep[4];
}

static uint64_t g_n(size_t off, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++) {
        v |= (uint64_t)rep[off + i] << (8 * i);
    }
    return v;
}

/* The errno of an Rlerror reply, or 0 for any other. */
static int lerror(int type)
{
    return type == RLERROR ? (int)g_n(7, 4) : 0;
}

static int walk(uint32_t fid, uint32_t newfid, int n, const char *const *names)
{
    begin(TWALK);
    p_n(fid, 4);
    p_n(newfid, 4);
    p_n((uint64_t)n, 2);
    for (int i = 0; i < n; i++) {
        p_s(names[i]);
    }
    return send();
}

static int simple(uint8_t type, uint32_t fid)
{
    begin(type);
    p_n(fid, 4);
    return send();
}

static int getattr(uint32_t fid)
{
    begin(TGETATTR);
    p_n(fid, 4);
    p_n(0x7ff, 8);
    return send();
}

static int attach(uint32_t fid)
{
    begin(TATTACH);
    p_n(fid, 4);
    p_n(UINT32_MAX, 4);
    p_s("user");
    p_s("");
    p_n(0, 4);
    return send();
}

static int lopen(uint32_t fid, uint32_t flags)
{
    begin(TLOPEN);
    p_n(fid, 4);
    p_n(flags, 4);
    return send();
}

static char dir[] = "/tmp/test_p9.XXXXXX";
static char share[64], outside[64];

static void make_tree(void)
{
    char p[128];
    FILE *f;

    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(share, sizeof(share), "%s/share", dir);
    snprintf(outside, sizeof(outside), "%s/outside", dir);
    CHECK(mkdir(share, 0755) == 0 && mkdir(outside, 0755) == 0, "mkdir");
    snprintf(p, sizeof(p), "%s/secret", outside);
    f = fopen(p, "w");
    CHECK(f && fputs("secret\n", f) >= 0 && fclose(f) == 0, "secret");
    snprintf(p, sizeof(p), "%s/hello.txt", share);
    f = fopen(p, "w");
    CHECK(f && fputs("hello 9p\n", f) >= 0 && fclose(f) == 0, "hello");
    snprintf(p, sizeof(p), "%s/sub", share);
    CHECK(mkdir(p, 0755) == 0, "sub");
    snprintf(p, sizeof(p), "%s/sub/inner", share);
    f = fopen(p, "w");
    CHECK(f && fclose(f) == 0, "inner");
    snprintf(p, sizeof(p), "%s/abs", share);
    CHECK(symlink(outside, p) == 0, "abs link");
    snprintf(p, sizeof(p), "%s/up", share);
    CHECK(symlink("../outside", p) == 0, "up link");
}

static void test_read_path(void)
{
    static const char *const hello[] = {"hello.txt"};

    CHECK(walk(1, 2, 1, hello) == TWALK + 1 && g_n(7, 2) == 1 && rep[9] == 0,
          "walk hello.txt: type %d, nwqid %llu", rep[4],
          (unsigned long long)g_n(7, 2));
    /* size: after valid[8] qid[13] mode[4] uid[4] gid[4] nlink[8] rdev[8]. */
    CHECK(getattr(2) == TGETATTR + 1 && g_n(56, 8) == 9, "getattr size %llu",
          (unsigned long long)g_n(56, 8));
    CHECK(lopen(2, O_RDONLY) == TLOPEN + 1, "lopen: %d", lerror(rep[4]));
    begin(TREAD);
    p_n(2, 4);
    p_n(0, 8);
    p_n(100, 4);
    CHECK(send() == TREAD + 1 && g_n(7, 4) == 9 &&
              memcmp(rep + 11, "hello 9p\n", 9) == 0,
          "read: %llu bytes", (unsigned long long)g_n(7, 4));
    /* A count past msize is cut to what fits. */
    begin(TREAD);
    p_n(2, 4);
    p_n(0, 8);
    p_n(UINT32_MAX, 4);
    CHECK(send() == TREAD + 1 && g_n(7, 4) == 9, "read of 4 GiB");
    CHECK(lopen(2, O_RDONLY) == RLERROR, "a second lopen");
    CHECK(simple(TCLUNK, 2) == TCLUNK + 1, "clunk");
    CHECK(lerror(simple(TCLUNK, 2)) == EBADF, "clunk twice");
    CHECK(lerror(getattr(77)) == EBADF, "an unknown fid");
    CHECK(simple(TSTATFS, 1) == TSTATFS + 1, "statfs: %d", lerror(rep[4]));
}

static bool readdir_has(const char *name)
{
    size_t n = g_n(7, 4), off = 11, len = strlen(name);

    while (off + 24 <= 11 + n) {
        size_t nl = g_n(off + 22, 2);

        if (nl == len && memcmp(rep + off + 24, name, len) == 0) {
            return true;
        }
        off += 24 + nl;
    }
    return false;
}

static void test_readdir(void)
{
    CHECK(walk(1, 3, 0, NULL) == TWALK + 1, "clone the root");
    CHECK(lopen(3, O_RDONLY | O_DIRECTORY) == TLOPEN + 1, "lopen dir: %d",
          lerror(rep[4]));
    begin(TREADDIR);
    p_n(3, 4);
    p_n(0, 8);
    p_n(4000, 4);
    CHECK(send() == TREADDIR + 1 && readdir_has("hello.txt") &&
              readdir_has("sub") && readdir_has("abs") &&
              !readdir_has("secret"),
          "readdir of the root");
    /* A count too small for one entry: refused (an empty answer would
     * end the listing), no overrun. */
    begin(TREADDIR);
    p_n(3, 4);
    p_n(0, 8);
    p_n(10, 4);
    CHECK(lerror(send()) == ENOBUFS, "readdir of 10 bytes: %d", lerror(rep[4]));
    CHECK(simple(TCLUNK, 3) == TCLUNK + 1, "clunk dir");
}

static void test_escapes(void)
{
    static const char *const up_out[] = {"..", "outside"};
    static const char *const up_up[] = {"..", "..", "hello.txt"};
    static const char *const slash[] = {"sub/inner"};
    static const char *const dot[] = {"."};
    static const char *const through_abs[] = {"abs", "secret"};
    static const char *const through_up[] = {"up", "secret"};
    static const char *const abs[] = {"abs"};
    static const char *const sub[] = {"sub"};
    static const char *const inner[] = {"inner"};
    char from[128], to[128];

    CHECK(walk(1, 4, 2, up_out) == TWALK + 1 && g_n(7, 2) == 1,
          "'..' then 'outside': type %d, nwqid %llu", rep[4],
          (unsigned long long)g_n(7, 2));
    CHECK(lerror(getattr(4)) == EBADF, "a cut walk bound its fid");
    CHECK(walk(1, 4, 3, up_up) == TWALK + 1 && g_n(7, 2) == 3,
          "'..' above the root stays there");
    CHECK(simple(TCLUNK, 4) == TCLUNK + 1, "clunk");
    CHECK(lerror(walk(1, 4, 1, slash)) == EINVAL, "a name with '/'");
    CHECK(lerror(walk(1, 4, 1, dot)) == EINVAL, "'.'");
    /* Through a link: the link itself is walked to, then the walk stops
     * (one qid of two) and binds nothing. */
    CHECK(walk(1, 4, 2, through_abs) == TWALK + 1 && g_n(7, 2) == 1 &&
              rep[9] == 0x02,
          "through an absolute link: nwqid %llu",
          (unsigned long long)g_n(7, 2));
    CHECK(lerror(getattr(4)) == EBADF, "a cut walk bound its fid");
    CHECK(walk(1, 4, 2, through_up) == TWALK + 1 && g_n(7, 2) == 1,
          "through a relative link out");
    CHECK(walk(1, 5, 1, abs) == TWALK + 1, "walk to the link");
    CHECK(simple(TREADLINK, 5) == TREADLINK + 1 && g_n(7, 2) == strlen(outside),
          "readlink");
    CHECK(lerror(lopen(5, O_RDONLY)) == EACCES, "lopen of a link: %d",
          lerror(rep[4]));
    CHECK(simple(TCLUNK, 5) == TCLUNK + 1, "clunk");

    /* Races: a walked-to directory swapped for a link out, then renamed
     * out of the share: nothing beyond the share is reached. */
    CHECK(walk(1, 6, 1, sub) == TWALK + 1, "walk to sub");
    snprintf(from, sizeof(from), "%s/sub", share);
    snprintf(to, sizeof(to), "%s/sub.away", outside);
    CHECK(rename(from, to) == 0 && symlink(outside, from) == 0,
          "swap sub for a link");
    CHECK(lerror(walk(6, 7, 1, inner)) == ELOOP, "walk below a swapped dir: %d",
          lerror(rep[4]));
    CHECK(lerror(lopen(6, O_RDONLY | O_DIRECTORY)) == EACCES,
          "lopen of a swapped dir: %d", lerror(rep[4]));
    CHECK(unlink(from) == 0, "unlink the link");
    CHECK(lerror(walk(6, 7, 1, inner)) == ENOENT,
          "walk below a dir renamed out: %d", lerror(rep[4]));
    CHECK(rename(to, from) == 0, "put sub back");
    CHECK(walk(6, 7, 1, inner) == TWALK + 1, "walk below sub again");
}

/* A FIFO is not opened (it would block the server), an opened fid is not
 * walked from, opened files are capped, the xattr listing is empty. */
static void test_limits(void)
{
    static const char *const fifo[] = {"fifo"};
    static const char *const hello[] = {"hello.txt"};
    char p[128];
    unsigned opened = 0;
    int last = 0;

    snprintf(p, sizeof(p), "%s/fifo", share);
    CHECK(mkfifo(p, 0644) == 0, "mkfifo");
    CHECK(walk(1, 20, 1, fifo) == TWALK + 1, "walk to the fifo");
    CHECK(lerror(lopen(20, O_RDONLY)) == EACCES, "lopen of a fifo: %d",
          lerror(rep[4]));
    CHECK(simple(TCLUNK, 20) == TCLUNK + 1 && unlink(p) == 0, "fifo gone");
    CHECK(walk(1, 20, 1, hello) == TWALK + 1 &&
              lopen(20, O_RDONLY) == TLOPEN + 1,
          "open hello.txt");
    CHECK(lerror(walk(20, 21, 0, NULL)) == EBUSY, "walk from an opened fid");
    begin(TXATTRWALK);
    p_n(1, 4);
    p_n(21, 4);
    p_s("");
    CHECK(send() == TXATTRWALK + 1 && g_n(7, 8) == 0, "xattr listing: %d",
          lerror(rep[4]));
    CHECK(simple(TCLUNK, 21) == TCLUNK + 1, "clunk the xattr fid");
    begin(TXATTRWALK);
    p_n(1, 4);
    p_n(21, 4);
    p_s("user.x");
    CHECK(lerror(send()) == ENODATA, "an xattr");
    for (uint32_t fid = 100; fid < 100 + P9_MAX_OPEN + 1; fid++) {
        if (walk(1, fid, 1, hello) != TWALK + 1) {
            break;
        }
        last = lopen(fid, O_RDONLY);
        opened += last == TLOPEN + 1;
    }
    CHECK(opened == P9_MAX_OPEN - 1 && lerror(last) == EMFILE,
          "opened %u more, then %d", opened, lerror(last));
    for (uint32_t fid = 100; fid < 100 + P9_MAX_OPEN + 1; fid++) {
        (void)simple(TCLUNK, fid);
    }
    CHECK(simple(TCLUNK, 20) == TCLUNK + 1, "clunk");
}

static void test_read_only(void)
{
    static const char *const hello[] = {"hello.txt"};
    char p[128];
    struct stat st;

    CHECK(walk(1, 8, 1, hello) == TWALK + 1, "walk");
    CHECK(lerror(lopen(8, O_WRONLY)) == EROFS, "lopen for writing");
    CHECK(lerror(lopen(8, O_RDONLY | O_TRUNC)) == EROFS, "O_TRUNC");
    begin(TWRITE);
    p_n(8, 4);
    p_n(0, 8);
    p_n(1, 4);
    p_n('x', 1);
    CHECK(lerror(send()) == EROFS, "write");
    begin(TMKDIR);
    p_n(1, 4);
    p_s("newdir");
    p_n(0755, 4);
    p_n(0, 4);
    CHECK(lerror(send()) == EROFS, "mkdir");
    snprintf(p, sizeof(p), "%s/newdir", share);
    CHECK(stat(p, &st) < 0, "mkdir made a directory");
    snprintf(p, sizeof(p), "%s/hello.txt", share);
    CHECK(stat(p, &st) == 0 && st.st_size == 9, "hello.txt changed");
}

static void test_malformed(void)
{
    begin(TWALK);
    p_n(1, 4);
    p_n(9, 4);
    p_n(3, 2);
    p_s("sub");
    CHECK(lerror(send()) == EPROTO, "a walk with 1 of 3 names");
    begin(TCLUNK);
    p_n(1, 4);
    req[0] = 99; /* size disagrees: send() rewrites it, so go direct */
    CHECK(p9_server_handle(&srv, req, 5, rep, sizeof(rep), &rlen) == -EPROTO,
          "a message shorter than its header");
    begin(TCLUNK);
    p_n(1, 2); /* a fid of 2 bytes */
    CHECK(lerror(send()) == EPROTO, "a truncated clunk");
    begin(200);
    CHECK(lerror(send()) == EOPNOTSUPP, "an unknown type");
    CHECK(lerror(attach(1)) == EBADF, "attach to a fid in use");
}

/* --- a writable share --- */

static int lcreate(uint32_t fid, const char *name, uint32_t flags,
                   uint32_t mode)
{
    begin(TLCREATE);
    p_n(fid, 4);
    p_s(name);
    p_n(flags, 4);
    p_n(mode, 4);
    p_n(0, 4);
    return send();
}

static int mkdir9(uint32_t dfid, const char *name, uint32_t mode)
{
    begin(TMKDIR);
    p_n(dfid, 4);
    p_s(name);
    p_n(mode, 4);
    p_n(0, 4);
    return send();
}

static int write9(uint32_t fid, uint64_t off, const char *data)
{
    begin(TWRITE);
    p_n(fid, 4);
    p_n(off, 8);
    p_n(strlen(data), 4);
    memcpy(req + qlen, data, strlen(data));
    qlen += strlen(data);
    return send();
}

static int renameat9(uint32_t odir, const char *on, uint32_t ndir,
                     const char *nn)
{
    begin(TRENAMEAT);
    p_n(odir, 4);
    p_s(on);
    p_n(ndir, 4);
    p_s(nn);
    return send();
}

static int unlinkat9(uint32_t dfid, const char *name, uint32_t flags)
{
    begin(TUNLINKAT);
    p_n(dfid, 4);
    p_s(name);
    p_n(flags, 4);
    return send();
}

static int setattr9(uint32_t fid, uint32_t valid, uint32_t mode, uint64_t size,
                    uint64_t mtime)
{
    begin(TSETATTR);
    p_n(fid, 4);
    p_n(valid, 4);
    p_n(mode, 4);
    p_n(0, 4);
    p_n(0, 4);
    p_n(size, 8);
    p_n(0, 8);
    p_n(0, 8);
    p_n(mtime, 8);
    p_n(0, 8);
    return send();
}

/* stat of (name) in the share (or outside, with (out)). */
static int host_stat(bool out, const char *name, struct stat *st)
{
    char p[256];

    snprintf(p, sizeof(p), "%s/%s", out ? outside : share, name);
    return lstat(p, st);
}

/* The outside directory as make_tree() left it: only "secret". */
static bool outside_intact(void)
{
    struct stat st;
    char cmd[160];

    snprintf(cmd, sizeof(cmd), "test \"$(ls -A %s)\" = secret", outside);
    return host_stat(true, "secret", &st) == 0 && st.st_size == 7 &&
           (st.st_mode & 07777) == 0644 && system(cmd) == 0;
}

static void test_create_write(void)
{
    static const char *const names[] = {"..", ".", "a/b", ""};
    struct stat st;

    CHECK(walk(1, 30, 0, NULL) == TWALK + 1, "clone the root");
    CHECK(lcreate(30, "new.txt", O_RDWR, 0666) == TLCREATE + 1 && rep[7] == 0 &&
              g_n(20, 4) == P9_MSIZE_MAX - 24,
          "lcreate: %d", lerror(rep[4]));
    CHECK(write9(30, 0, "written by the guest") == TWRITE + 1 &&
              g_n(7, 4) == 20,
          "write: %d", lerror(rep[4]));
    CHECK(write9(30, 1ull << 63, "x") == RLERROR, "a write at 2^63");
    begin(TREAD);
    p_n(30, 4);
    p_n(8, 8);
    p_n(100, 4);
    CHECK(send() == TREAD + 1 && g_n(7, 4) == 12 &&
              memcmp(rep + 11, "by the guest", 12) == 0,
          "read back");
    CHECK(host_stat(false, "new.txt", &st) == 0 && S_ISREG(st.st_mode) &&
              st.st_size == 20 && (st.st_mode & 07777) == 0666,
          "on the host: size %lld, mode %o (the host's umask undone)",
          (long long)st.st_size, st.st_mode & 07777);
    begin(TFSYNC);
    p_n(30, 4);
    p_n(0, 4);
    CHECK(send() == TFSYNC + 1, "fsync");
    CHECK(lerror(lcreate(30, "again", O_RDWR, 0644)) == EBUSY,
          "lcreate on an opened fid");
    CHECK(simple(TCLUNK, 30) == TCLUNK + 1, "clunk");
    CHECK(walk(1, 30, 0, NULL) == TWALK + 1, "clone the root");
    CHECK(lerror(lcreate(30, "new.txt", O_RDWR | O_EXCL, 0644)) == EEXIST,
          "O_EXCL on an existing file");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        CHECK(lerror(lcreate(30, names[i], O_RDWR, 0644)) == EINVAL,
              "lcreate '%s': %d", names[i], lerror(rep[4]));
        CHECK(lerror(mkdir9(1, names[i], 0755)) == EINVAL, "mkdir '%s'",
              names[i]);
    }
    /* An existing name that is a link out: not followed, not created. */
    CHECK(lerror(lcreate(30, "abs", O_RDWR, 0644)) == EACCES,
          "lcreate over a link out: %d", lerror(rep[4]));
    CHECK(lerror(lcreate(30, "abs", O_RDWR | O_EXCL, 0644)) == EEXIST,
          "lcreate O_EXCL over a link out");
    /* Without O_EXCL an existing file is opened (and truncated). */
    CHECK(lcreate(30, "new.txt", O_WRONLY | O_TRUNC, 0644) == TLCREATE + 1,
          "lcreate of an existing file: %d", lerror(rep[4]));
    CHECK(host_stat(false, "new.txt", &st) == 0 && st.st_size == 0,
          "truncated");
    CHECK(write9(30, 0, "again") == TWRITE + 1, "write again");
    CHECK(simple(TCLUNK, 30) == TCLUNK + 1, "clunk");
    CHECK(walk(1, 31, 1, (const char *const[]){"hello.txt"}) == TWALK + 1 &&
              lopen(31, O_RDONLY) == TLOPEN + 1,
          "hello.txt opened read-only");
    CHECK(lerror(write9(31, 0, "x")) == EBADF, "a write on a read-only fid");
    CHECK(simple(TCLUNK, 31) == TCLUNK + 1, "clunk");
    CHECK(walk(1, 31, 1, (const char *const[]){"hello.txt"}) == TWALK + 1 &&
              lopen(31, O_RDWR) == TLOPEN + 1 &&
              write9(31, 0, "HELLO") == TWRITE + 1 &&
              simple(TCLUNK, 31) == TCLUNK + 1,
          "hello.txt opened for writing");
    CHECK(host_stat(false, "hello.txt", &st) == 0 && st.st_size == 9,
          "hello.txt written in place");
    CHECK(outside_intact(), "outside changed");
}

static void test_make(void)
{
    struct stat st;
    char path[128], target[64];
    ssize_t n;

    CHECK(mkdir9(1, "d1", 0777) == TMKDIR + 1 && rep[7] == 0x80, "mkdir: %d",
          lerror(rep[4]));
    CHECK(host_stat(false, "d1", &st) == 0 && S_ISDIR(st.st_mode) &&
              (st.st_mode & 07777) == 0777,
          "d1 on the host: mode %o", st.st_mode & 07777);
    CHECK(lerror(mkdir9(1, "d1", 0777)) == EEXIST, "mkdir twice");
    /* A fid on a link out is no directory to make things in. */
    CHECK(walk(1, 32, 1, (const char *const[]){"abs"}) == TWALK + 1,
          "walk to the link");
    CHECK(lerror(mkdir9(32, "x", 0755)) == ENOTDIR, "mkdir in a link: %d",
          lerror(rep[4]));
    CHECK(lerror(lcreate(32, "x", O_RDWR, 0644)) == ENOTDIR,
          "lcreate in a link");
    begin(TSYMLINK);
    p_n(1, 4);
    p_s("ln");
    p_s("/etc/passwd");
    p_n(0, 4);
    CHECK(send() == TSYMLINK + 1 && rep[7] == 0x02, "symlink: %d",
          lerror(rep[4]));
    snprintf(path, sizeof(path), "%s/ln", share);
    n = readlink(path, target, sizeof(target) - 1);
    CHECK(n == 11 && memcmp(target, "/etc/passwd", 11) == 0, "link target");
    begin(TMKNOD);
    p_n(1, 4);
    p_s("fifo");
    p_n(S_IFIFO | 0600, 4);
    p_n(0, 4);
    p_n(0, 4);
    p_n(0, 4);
    CHECK(send() == TMKNOD + 1, "mknod fifo: %d", lerror(rep[4]));
    CHECK(host_stat(false, "fifo", &st) == 0 && S_ISFIFO(st.st_mode),
          "a FIFO on the host");
    begin(TMKNOD);
    p_n(1, 4);
    p_s("null");
    p_n(S_IFCHR | 0666, 4);
    p_n(1, 4);
    p_n(3, 4);
    p_n(0, 4);
    CHECK(lerror(send()) == EPERM && host_stat(false, "null", &st) < 0,
          "mknod of a device");
    /* Hard links: to a file, and to the link out (the link, not its
     * target). */
    CHECK(walk(1, 33, 1, (const char *const[]){"new.txt"}) == TWALK + 1,
          "walk new.txt");
    begin(TLINK);
    p_n(1, 4);
    p_n(33, 4);
    p_s("hard");
    CHECK(send() == TLINK + 1, "link: %d", lerror(rep[4]));
    CHECK(host_stat(false, "hard", &st) == 0 && st.st_nlink == 2, "two links");
    begin(TLINK);
    p_n(1, 4);
    p_n(32, 4);
    p_s("abs2");
    CHECK(send() == TLINK + 1 && host_stat(false, "abs2", &st) == 0 &&
              S_ISLNK(st.st_mode),
          "link to a link: %d", lerror(rep[4]));
    CHECK(simple(TCLUNK, 32) == TCLUNK + 1 && simple(TCLUNK, 33) == TCLUNK + 1,
          "clunk");
    CHECK(outside_intact(), "outside changed");
}

static void test_rename_attrs(void)
{
    struct stat st;

    CHECK(walk(1, 34, 1, (const char *const[]){"new.txt"}) == TWALK + 1 &&
              walk(1, 35, 1, (const char *const[]){"d1"}) == TWALK + 1,
          "walk new.txt and d1");
    CHECK(renameat9(1, "new.txt", 35, "moved.txt") == TRENAMEAT + 1,
          "renameat: %d", lerror(rep[4]));
    CHECK(host_stat(false, "d1/moved.txt", &st) == 0 &&
              host_stat(false, "new.txt", &st) < 0,
          "moved on the host");
    CHECK(getattr(34) == TGETATTR + 1 && g_n(56, 8) == 5,
          "a fid follows its file: %d", lerror(rep[4]));
    CHECK(lerror(renameat9(1, "hard", 1, "..")) == EINVAL, "rename to '..'");
    CHECK(lerror(renameat9(1, "..", 1, "x")) == EINVAL, "rename of '..'");
    /* Trename: fid 35 (d1) becomes d2, fid 34 below it follows. */
    begin(TRENAME);
    p_n(35, 4);
    p_n(1, 4);
    p_s("d2");
    CHECK(send() == TRENAME + 1 && host_stat(false, "d2/moved.txt", &st) == 0,
          "rename: %d", lerror(rep[4]));
    CHECK(getattr(34) == TGETATTR + 1 &&
              walk(35, 36, 1, (const char *const[]){"moved.txt"}) == TWALK + 1,
          "fids below a renamed directory follow");
    CHECK(setattr9(34, 1 | 8 | 32 | 256, 0600, 2, 12345) == TSETATTR + 1,
          "setattr mode, size, mtime: %d", lerror(rep[4]));
    CHECK(host_stat(false, "d2/moved.txt", &st) == 0 &&
              (st.st_mode & 07777) == 0600 && st.st_size == 2 &&
              st.st_mtime == 12345,
          "attributes on the host: mode %o size %lld mtime %lld",
          st.st_mode & 07777, (long long)st.st_size, (long long)st.st_mtime);
    CHECK(walk(1, 37, 1, (const char *const[]){"abs"}) == TWALK + 1,
          "walk to the link");
    CHECK(lerror(setattr9(37, 1, 0777, 0, 0)) == EOPNOTSUPP,
          "chmod of a link: %d", lerror(rep[4]));
    CHECK(lerror(setattr9(37, 8, 0, 0, 0)) == EACCES, "truncate a link: %d",
          lerror(rep[4]));
    CHECK(setattr9(37, 32 | 256, 0, 0, 777) == TSETATTR + 1 &&
              host_stat(false, "abs", &st) == 0 && st.st_mtime == 777,
          "a link's own mtime: %d", lerror(rep[4]));
    CHECK(outside_intact(), "outside changed");
    CHECK(lerror(setattr9(35, 8, 0, 0, 0)) == EISDIR,
          "truncate a directory: %d", lerror(rep[4]));
    for (uint32_t fid = 34; fid <= 37; fid++) {
        CHECK(simple(TCLUNK, fid) == TCLUNK + 1, "clunk %u", fid);
    }
}

static void test_remove(void)
{
    struct stat st;

    CHECK(lerror(unlinkat9(1, "d2", 0)) == EISDIR, "unlink a directory: %d",
          lerror(rep[4]));
    CHECK(lerror(unlinkat9(1, "d2", 0x200)) == ENOTEMPTY, "rmdir non-empty");
    CHECK(lerror(unlinkat9(1, "hard", 1)) == EINVAL, "a bad flag");
    CHECK(walk(1, 38, 2, (const char *const[]){"d2", "moved.txt"}) ==
                  TWALK + 1 &&
              simple(TREMOVE, 38) == TREMOVE + 1,
          "remove: %d", lerror(rep[4]));
    CHECK(lerror(getattr(38)) == EBADF, "remove clunked");
    CHECK(unlinkat9(1, "d2", 0x200) == TUNLINKAT + 1 &&
              host_stat(false, "d2", &st) < 0,
          "rmdir");
    CHECK(unlinkat9(1, "abs", 0) == TUNLINKAT + 1 &&
              host_stat(false, "abs", &st) < 0 && outside_intact(),
          "unlink of a link removes the link only");
    CHECK(walk(1, 39, 0, NULL) == TWALK + 1 &&
              lerror(simple(TREMOVE, 39)) == EBUSY,
          "remove of the root");
    CHECK(host_stat(false, "", &st) == 0, "the share is there");
}

/* No set-user-ID or set-group-ID file is made on the host, whatever mode
 * the client asks; a directory keeps the set-group-ID it inherits. Times
 * before 1970. A create whose answer cannot fit makes nothing. */
static void test_modes(void)
{
    struct stat st;
    size_t len;

    CHECK(walk(1, 41, 0, NULL) == TWALK + 1 &&
              lcreate(41, "suid", O_RDWR, 06755) == TLCREATE + 1,
          "lcreate 06755: %d", lerror(rep[4]));
    CHECK(host_stat(false, "suid", &st) == 0 && (st.st_mode & 07777) == 0755,
          "lcreate 06755 made %o", st.st_mode & 07777);
    CHECK(setattr9(41, 1, 04711, 0, 0) == TSETATTR + 1 &&
              host_stat(false, "suid", &st) == 0 &&
              (st.st_mode & 07777) == 0711,
          "chmod 04711 made %o", st.st_mode & 07777);
    begin(TMKNOD);
    p_n(1, 4);
    p_s("sgid-fifo");
    p_n(S_IFIFO | 02777, 4);
    p_n(0, 4);
    p_n(0, 4);
    p_n(0, 4);
    CHECK(send() == TMKNOD + 1 && host_stat(false, "sgid-fifo", &st) == 0 &&
              (st.st_mode & 07777) == 0777,
          "mknod 02777 made %o", st.st_mode & 07777);
    CHECK(mkdir9(1, "g", 02775) == TMKDIR + 1 &&
              host_stat(false, "g", &st) == 0 && (st.st_mode & 07777) == 02775,
          "mkdir 02775 made %o", st.st_mode & 07777);
    CHECK(walk(1, 42, 1, (const char *const[]){"g"}) == TWALK + 1 &&
              mkdir9(42, "child", 0755) == TMKDIR + 1 &&
              host_stat(false, "g/child", &st) == 0 &&
              (st.st_mode & 07777) == 02755,
          "a directory in a set-group-ID one: %o", st.st_mode & 07777);
    CHECK(setattr9(41, 32 | 256, 0, 0, (uint64_t)-100) == TSETATTR + 1 &&
              host_stat(false, "suid", &st) == 0 && st.st_mtime == -100,
          "mtime before 1970: %d, %lld", lerror(rep[4]),
          (long long)st.st_mtime);
    /* Room for an Rlerror (11 bytes), not for Rmkdir's qid (20). */
    begin(TMKDIR);
    p_n(1, 4);
    p_s("nofit");
    p_n(0755, 4);
    p_n(0, 4);
    for (unsigned i = 0; i < 4; i++) {
        req[i] = (uint8_t)(qlen >> (8 * i));
    }
    CHECK(p9_server_handle(&srv, req, qlen, rep, 16, &len) == 0 &&
              lerror(rep[4]) == ENOBUFS && host_stat(false, "nofit", &st) < 0,
          "a mkdir whose answer cannot fit: %d", lerror(rep[4]));
    CHECK(simple(TCLUNK, 41) == TCLUNK + 1 && simple(TCLUNK, 42) == TCLUNK + 1,
          "clunk");
}

/* The host renames a directory out of the share after the client walked
 * to it: what the client then makes there stays away from the outside. */
static void test_write_race(void)
{
    char from[128], to[128];
    struct stat st;

    CHECK(walk(1, 40, 1, (const char *const[]){"sub"}) == TWALK + 1,
          "walk to sub");
    snprintf(from, sizeof(from), "%s/sub", share);
    snprintf(to, sizeof(to), "%s/sub.away", outside);
    CHECK(rename(from, to) == 0, "rename sub out");
    CHECK(lerror(lcreate(40, "evil", O_RDWR, 0644)) == ENOENT,
          "lcreate in a dir renamed out: %d", lerror(rep[4]));
    CHECK(lerror(mkdir9(40, "evil", 0755)) == ENOENT, "mkdir there");
    CHECK(lerror(unlinkat9(40, "inner", 0)) == ENOENT, "unlink there");
    CHECK(symlink(outside, from) == 0, "sub is now a link out");
    CHECK(lerror(mkdir9(40, "evil", 0755)) == ENOTDIR ||
              lerror(rep[4]) == ELOOP,
          "mkdir through the link: %d", lerror(rep[4]));
    CHECK(unlink(from) == 0 && rename(to, from) == 0, "sub back");
    snprintf(to, sizeof(to), "%s/evil", outside);
    CHECK(lstat(to, &st) < 0 && host_stat(false, "sub/inner", &st) == 0,
          "nothing made outside; sub intact");
    CHECK(simple(TCLUNK, 40) == TCLUNK + 1, "clunk");
    CHECK(outside_intact(), "outside changed");
}

static void test_writable(void)
{
    int ret;

    p9_server_destroy(&srv);
    ret = p9_server_init(&srv, share, true);
    CHECK(ret == 0, "init writable: %d", ret);
    if (ret) {
        return;
    }
    begin(TVERSION);
    p_n(P9_MSIZE_MAX, 4);
    p_s("9P2000.L");
    CHECK(send() == TVERSION + 1, "version");
    CHECK(attach(1) == TATTACH + 1, "attach");
    umask(022);
    test_create_write();
    test_make();
    test_rename_attrs();
    test_remove();
    test_modes();
    test_write_race();
}

int main(void)
{
    int ret;

    make_tree();
    ret = p9_server_init(&srv, share, false);
    CHECK(ret == 0, "init: %d", ret);
    if (ret) {
        return 1;
    }
    CHECK(lerror(attach(1)) == EPROTO, "attach before version");
    begin(TVERSION);
    p_n(65536, 4);
    p_s("9P2000.L");
    CHECK(send() == TVERSION + 1 && g_n(7, 4) == 65536 && g_n(11, 2) == 8 &&
              memcmp(rep + 13, "9P2000.L", 8) == 0,
          "version");
    CHECK(attach(1) == TATTACH + 1 && rep[7] == 0x80, "attach: %d",
          lerror(rep[4]));
    test_read_path();
    test_readdir();
    test_escapes();
    test_limits();
    test_read_only();
    test_malformed();
    test_writable();
    p9_server_destroy(&srv);
    {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        CHECK(system(cmd) == 0, "cleanup");
    }
    printf("test_p9: %u failures\n", unit_failures);
    return unit_failures ? 1 : 0;
}
