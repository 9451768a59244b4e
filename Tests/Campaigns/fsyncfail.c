// LD_PRELOAD shim for the process-level fsync-failure run (crash_campaign.py --fsync-faults).
// fsync(2) and fdatasync(2) of files whose path ends in FSYNCFAIL_SUFFIX (default ".open") fail with EIO with
// probability FSYNCFAIL_PERCENT/100 (default 5), seeded by FSYNCFAIL_SEED and the pid. Each injected failure
// writes "FSYNCFAIL <path>\n" to stdout (fd 1) first, so the line sits in the stdout stream before any
// acknowledgement the process prints afterwards, and does not flush the file (the data stays unsynced, as
// after a real writeback error).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t state;

static int should_fail(int fd, char *path, size_t cap) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, cap - 1);
    if (n <= 0) return 0;
    path[n] = 0;
    const char *suffix = getenv("FSYNCFAIL_SUFFIX");
    if (!suffix) suffix = ".open";
    size_t sl = strlen(suffix);
    if ((size_t)n < sl || strcmp(path + n - sl, suffix) != 0) return 0;
    if (state == 0) {
        const char *s = getenv("FSYNCFAIL_SEED");
        state = (s ? strtoull(s, 0, 10) : 1) * 0x9E3779B97F4A7C15ULL + (uint64_t)getpid();
    }
    state ^= state << 13; state ^= state >> 7; state ^= state << 17;  // xorshift64
    const char *p = getenv("FSYNCFAIL_PERCENT");
    int percent = p ? atoi(p) : 5;
    return (int)(state % 100) < percent;
}

static int inject(const char *path) {
    char line[4200];
    int len = snprintf(line, sizeof line, "FSYNCFAIL %s\n", path);
    if (len > 0) { ssize_t w = write(1, line, (size_t)len); (void)w; }
    errno = EIO;
    return -1;
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    char path[4096];
    if (should_fail(fd, path, sizeof path)) return inject(path);
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    char path[4096];
    if (should_fail(fd, path, sizeof path)) return inject(path);
    return real(fd);
}
