/* SPDX-License-Identifier: MIT */
/*
 * The seccomp allow-list (see sandbox.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox.h"

/* What the steady state calls, found by reading the code paths and
 * checked with strace on the test guests. */
static const int allowed[] = {
    /* vCPU loop, KVM ioctls, kicks */
    SCMP_SYS(ioctl),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(tgkill),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    /* threads, locks, RCU */
    SCMP_SYS(futex),
    SCMP_SYS(membarrier),
    SCMP_SYS(sched_yield),
    SCMP_SYS(nanosleep),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(madvise),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(set_robust_list),
    /* sanitizer runtimes set up signal stacks on their threads */
    SCMP_SYS(sigaltstack),
    SCMP_SYS(rseq),
    /* memory: commits render new views, teardown unmaps */
    SCMP_SYS(brk),
    SCMP_SYS(mmap),
    SCMP_SYS(munmap),
    SCMP_SYS(mprotect),
    SCMP_SYS(mremap),
    SCMP_SYS(mincore),
    /* console, stdin, the report */
    SCMP_SYS(read),
    SCMP_SYS(write),
    /* virtio-blk's workers. */
    SCMP_SYS(pread64),
    SCMP_SYS(pwrite64),
    SCMP_SYS(preadv),
    SCMP_SYS(pwritev),
    SCMP_SYS(fdatasync),
    SCMP_SYS(fallocate),
    /* Its io_uring, made before the sandbox: seccomp sees only this call,
     * never the operations the ring runs, which is why the ring itself is
     * restricted to READV and WRITEV on the image (devices/blk_uring.h). */
    SCMP_SYS(io_uring_enter),
    SCMP_SYS(writev),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(close),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(lseek),
    SCMP_SYS(fcntl),
    SCMP_SYS(getdents64),
    SCMP_SYS(unlink),
};

/* What a --share's 9P server adds (devices/p9.c): its opens resolve with
 * openat2's RESOLVE_BENEATH and O_NOFOLLOW, whose flags live in a struct
 * seccomp cannot read; only allowed when there is a share. */
static const int file_server[] = {
    SCMP_SYS(openat2),
    SCMP_SYS(fstatfs),
    SCMP_SYS(readlinkat),
};

/* And what a writable share's adds (devices/p9_write.c): each call names
 * one entry under a directory fd that openat2 opened, or works on an fd
 * (fchmodat: through /proc/self/fd, the file's own entry). */
static const int file_writer[] = {
    SCMP_SYS(mkdirat),   SCMP_SYS(mknodat),   SCMP_SYS(symlinkat),
    SCMP_SYS(linkat),    SCMP_SYS(unlinkat),  SCMP_SYS(renameat),
    SCMP_SYS(renameat2), SCMP_SYS(fchownat),  SCMP_SYS(fchmodat),
    SCMP_SYS(fchmod),    SCMP_SYS(utimensat), SCMP_SYS(ftruncate),
    SCMP_SYS(fsync),
};

static int sandbox_install(bool shares, bool writable, char *why, size_t whylen)
{
    scmp_filter_ctx ctx;
    unsigned i;
    int ret;

    ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (!ctx) {
        snprintf(why, whylen, "--sandbox: seccomp_init failed");
        return -ENOMEM;
    }
    ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    for (i = 0; ret == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
    }
    for (i = 0;
         shares && ret == 0 && i < sizeof(file_server) / sizeof(file_server[0]);
         i++) {
        ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, file_server[i], 0);
    }
    for (i = 0; shares && writable && ret == 0 &&
                i < sizeof(file_writer) / sizeof(file_writer[0]);
         i++) {
        ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, file_writer[i], 0);
    }
    /* Files may be opened for reading only (/proc/self/status at the end
     * of a run). */
    if (ret == 0) {
        ret =
            seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE, O_RDONLY));
    }
    if (ret == 0) {
        ret = seccomp_load(ctx);
    }
    seccomp_release(ctx);
    if (ret < 0) {
        snprintf(why, whylen, "--sandbox: loading the seccomp filter: %s",
                 strerror(-ret));
    }
    return ret;
}

int sandbox_enter(bool shares, bool writable, char *why, size_t whylen)
{
    return sandbox_install(shares, writable, why, whylen);
}

int sandbox_selftest(char *why, size_t whylen)
{
    int ret, fd, err;
    pid_t pid;

    ret = sandbox_install(false, false, why, whylen);
    if (ret < 0) {
        return ret;
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    err = errno;
    pid = getpid();
    if (fd >= 0) {
        close(fd);
        snprintf(why, whylen, "socket() was allowed under the sandbox");
        return -EACCES;
    }
    if (err != EPERM) {
        snprintf(why, whylen, "socket() failed with %s, not EPERM",
                 strerror(err));
        return -EACCES;
    }
    if (pid <= 0) {
        snprintf(why, whylen, "getpid() was refused under the sandbox");
        return -EACCES;
    }
    snprintf(why, whylen,
             "socket() refused with EPERM, getpid() allowed (pid %d)",
             (int)pid);
    return 0;
}
