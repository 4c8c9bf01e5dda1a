/* SPDX-License-Identifier: MIT */
/*
 * The 9P2000.L server (devices/p9.c) on hostile messages. A share with a
 * file, a directory and links out (absolute and relative) sits next to a
 * directory the server must never reach; each input is a session: a
 * proper Tversion and Tattach, then the input cut into messages (a 16-bit
 * length, then that many bytes whose first four the harness overwrites
 * with the size, so that most messages reach the parser's body). Checks:
 * no crash or sanitizer report, every reply within its buffer with its
 * size field right, a Tread read straight into buffers
 * (p9_server_read_iov) answered as the copying path answers it, nothing
 * of the outside directory (its file's content
 * or name) in any reply that carries the share's bytes (Rread, Rreaddir,
 * Rreadlink; others may echo the guest's own strings), and the share
 * unchanged. An input whose first byte is odd is served writable, on a
 * scratch share made afresh for it (the same file, directory and links
 * out): then the check is that the outside directory, and the read-only
 * share, are as they were (the guest may write any bytes into its own
 * files and read them back, so replies are not searched).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/p9.h"
#include "fuzz.h"

#define MARK "outside-marker-7c1e"

static char share[256], scratch[256];
static char top[] = "/tmp/fuzz_p9.XXXXXX";
static uint8_t msg[65536], rep[P9_MSIZE_MAX];

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    FUZZ_CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

static void remove_tree(void)
{
    char cmd[64];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
    if (system(cmd) != 0) {
        fprintf(stderr, "fuzz_p9: could not remove %s\n", top);
    }
}

/* The share's content in (dir): a file, a directory with a file, links
 * out to DIR/o (absolute and relative). */
static void fill_share(const char *dir)
{
    char p[512], o[512], l[512];

    snprintf(p, sizeof(p), "%s/a", dir);
    put_file(p, "in the share\n");
    snprintf(p, sizeof(p), "%s/d", dir);
    FUZZ_CHECK(mkdir(p, 0755) == 0);
    snprintf(p, sizeof(p), "%s/d/b", dir);
    put_file(p, "below\n");
    snprintf(o, sizeof(o), "%s/o", top);
    snprintf(l, sizeof(l), "%s/abs", dir);
    FUZZ_CHECK(symlink(o, l) == 0);
    snprintf(l, sizeof(l), "%s/rel", dir);
    FUZZ_CHECK(symlink("../o", l) == 0);
}

/* The listings of DIR, DIR/o and the share as make_tree() left them. */
static char top_was[1024], o_was[1024], share_was[1024];

static void scratch_reset(void);
static void listing(const char *dir, bool full, char *out, size_t cap);
static void outside_check(void);

/* Once per process: DIR/share (the share), DIR/o (outside it) and DIR/w
 * (the scratch share). */
static void make_tree(void)
{
    const char *dir = top;
    char p[512];

    FUZZ_CHECK(mkdtemp(top) != NULL);
    atexit(remove_tree);
    snprintf(share, sizeof(share), "%s/share", dir);
    snprintf(scratch, sizeof(scratch), "%s/w", dir);
    FUZZ_CHECK(mkdir(share, 0755) == 0);
    snprintf(p, sizeof(p), "%s/o", dir);
    FUZZ_CHECK(mkdir(p, 0755) == 0);
    snprintf(p, sizeof(p), "%s/o/" MARK, dir);
    put_file(p, MARK "\n");
    fill_share(share);
    scratch_reset();
    listing(top, false, top_was, sizeof(top_was));
    snprintf(p, sizeof(p), "%s/o", dir);
    listing(p, true, o_was, sizeof(o_was));
    listing(share, true, share_was, sizeof(share_was));
    outside_check();
}

/* Removing the scratch share: directories opened up first (the guest may
 * have made one unreadable), then everything, depth first. */
static int open_up(const char *path, const struct stat *st, int flag,
                   struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_D || flag == FTW_DNR) {
        (void)chmod(path, 0700);
    }
    return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 ? -1 : 0;
}

static void scratch_reset(void)
{
    struct stat st;

    if (lstat(scratch, &st) == 0) {
        (void)nftw(scratch, open_up, 16, FTW_PHYS);
        FUZZ_CHECK(nftw(scratch, remove_one, 16, FTW_PHYS | FTW_DEPTH) == 0);
    }
    FUZZ_CHECK(mkdir(scratch, 0755) == 0);
    fill_share(scratch);
}

/* What a directory holds: each entry's name and type, and with (full)
 * its mode, owner, size and change time too; sorted by name. */
static void listing(const char *dir, bool full, char *out, size_t cap)
{
    char names[16][256];
    unsigned n = 0;
    size_t len = 0;
    struct dirent *e;
    DIR *d = opendir(dir);

    FUZZ_CHECK(d != NULL);
    out[0] = '\0';
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            FUZZ_CHECK(n < 16 && strlen(e->d_name) < 256);
            strcpy(names[n++], e->d_name);
        }
    }
    qsort(names, n, sizeof(names[0]),
          (int (*)(const void *, const void *))strcmp);
    for (unsigned i = 0; i < n; i++) {
        struct stat st;

        FUZZ_CHECK(fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) == 0);
        len += (size_t)snprintf(out + len, cap - len, "%s %o", names[i],
                                (unsigned)(st.st_mode & S_IFMT));
        if (full) {
            len += (size_t)snprintf(
                out + len, cap - len, " %o %u %u %lld %lld.%ld",
                (unsigned)st.st_mode, (unsigned)st.st_uid, (unsigned)st.st_gid,
                (long long)st.st_size, (long long)st.st_ctim.tv_sec,
                st.st_ctim.tv_nsec);
        }
        FUZZ_CHECK(len + 1 < cap);
        out[len++] = ';';
        out[len] = '\0';
    }
    closedir(d);
}

/* What lies beside the shares (DIR's entries, DIR/o and what is in it)
 * as make_tree() left it. */
static void outside_check(void)
{
    char now[1024], o[512];

    snprintf(o, sizeof(o), "%s/o", top);
    listing(top, false, now, sizeof(now));
    FUZZ_CHECK(strcmp(now, top_was) == 0);
    listing(o, true, now, sizeof(now));
    FUZZ_CHECK(strcmp(now, o_was) == 0);
    listing(share, true, now, sizeof(now));
    FUZZ_CHECK(strcmp(now, share_was) == 0);
    /* DIR/o itself: its mode, owner, times (a change through a link). */
    {
        struct stat st;
        static struct stat was;

        FUZZ_CHECK(lstat(o, &st) == 0);
        if (!was.st_ino) {
            was = st;
        }
        FUZZ_CHECK(st.st_mode == was.st_mode && st.st_uid == was.st_uid &&
                   st.st_gid == was.st_gid &&
                   st.st_ctim.tv_sec == was.st_ctim.tv_sec &&
                   st.st_ctim.tv_nsec == was.st_ctim.tv_nsec);
    }
}

/* Serve one message; (search): look for the outside's bytes in replies. */
static void handle(struct p9_server *s, size_t len, bool search)
{
    size_t out = 0;

    msg[0] = (uint8_t)len;
    msg[1] = (uint8_t)(len >> 8);
    msg[2] = msg[3] = 0;
    static uint8_t data[sizeof(rep)];
    uint8_t head[P9_RREAD_HEAD];
    /* A Tread's data straight into two buffers, as virtio-9p reads. */
    struct iovec iov[2] = {{data, 100}, {data + 100, sizeof(data) - 100}};
    size_t direct = 0;
    int ret =
        p9_server_read_iov(s, msg, len, sizeof(rep), iov, 2, head, &direct);

    FUZZ_CHECK(ret == 0 || ret == -EAGAIN);
    if (p9_server_handle(s, msg, len, rep, sizeof(rep), &out) < 0) {
        FUZZ_CHECK(ret == -EAGAIN);
        return;
    }
    /* The same reply as the copying path's (that read again). */
    if (ret == 0) {
        FUZZ_CHECK(direct == out && direct >= P9_RREAD_HEAD);
        FUZZ_CHECK(memcmp(head, rep, P9_RREAD_HEAD) == 0);
        FUZZ_CHECK(memcmp(data, rep + P9_RREAD_HEAD, out - P9_RREAD_HEAD) == 0);
    }
    FUZZ_CHECK(out >= 7 && out <= sizeof(rep));
    FUZZ_CHECK((rep[0] | rep[1] << 8 | rep[2] << 16 | (uint32_t)rep[3] << 24) ==
               out);
    /* Replies that carry the share's bytes (file data, directory
     * entries, link targets) never carry the outside's. Others may echo
     * the guest's own strings (Rgetlock's client id). */
    if (search && (rep[4] == 117 || rep[4] == 41 || rep[4] == 23)) {
        FUZZ_CHECK(!memmem(rep, out, MARK, strlen(MARK)));
    }
}

/* A message from parts: type, tag 1, then (body). */
static size_t make(uint8_t type, const void *body, size_t n)
{
    msg[4] = type;
    msg[5] = 1;
    msg[6] = 0;
    memcpy(msg + 7, body, n);
    return 7 + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t version[] = {0x00, 0x00, 0x01, 0x00, 8,   0,   '9',
                                      'P',  '2',  '0',  '0',  '0', '.', 'L'};
    static const uint8_t attach[] = {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                                     0, 0, 0, 0, 0,    0,    0,    0};
    struct fuzz_in in = {data, size};
    bool rw = fuzz_take(&in, 1) & 1;
    struct p9_server s;
    struct stat st;
    char p[300];

    if (!share[0]) {
        make_tree();
    }
    if (rw) {
        scratch_reset();
    }
    FUZZ_CHECK(p9_server_init(&s, rw ? scratch : share, rw) == 0);
    handle(&s, make(100, version, sizeof(version)), !rw);
    handle(&s, make(104, attach, sizeof(attach)), !rw);
    while (in.n) {
        size_t len = (size_t)fuzz_take(&in, 2) % sizeof(msg);
        size_t take = len < in.n ? len : in.n;

        if (take < 4) {
            break;
        }
        memcpy(msg, in.p, take);
        in.p += take;
        in.n -= take;
        handle(&s, take, !rw);
    }
    p9_server_destroy(&s);
    outside_check();
    /* The share as it was: nothing made, nothing written. */
    snprintf(p, sizeof(p), "%s/a", share);
    FUZZ_CHECK(stat(p, &st) == 0 && st.st_size == 13);
    FUZZ_CHECK(stat(share, &st) == 0 && st.st_nlink == 3);
    return 0;
}
