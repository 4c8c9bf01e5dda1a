/* SPDX-License-Identifier: MIT */
/*
 * A main() for fuzz targets outside libFuzzer: runs each file named on
 * the command line (or each file in each directory named) through
 * LLVMFuzzerTestOneInput once. ctest replays the regression inputs with
 * it; a crash fails the test.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (!f) {
        perror(path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        fprintf(stderr, "%s: read failed\n", path);
        return 1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int i, runs = 0, bad = 0;

    for (i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            struct dirent *de;
            DIR *d = opendir(argv[i]);

            while (d && (de = readdir(d))) {
                char path[4096];

                if (de->d_name[0] == '.') {
                    continue;
                }
                snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
                bad |= run_file(path);
                runs++;
            }
            if (d) {
                closedir(d);
            }
        } else {
            bad |= run_file(argv[i]);
            runs++;
        }
    }
    /* Also a few built-in inputs, so that an empty corpus still tests. */
    for (i = 0; i < 64; i++) {
        uint8_t buf[256];
        unsigned j;

        for (j = 0; j < sizeof(buf); j++) {
            buf[j] = (uint8_t)(j * 131 + (unsigned)i * 17);
        }
        LLVMFuzzerTestOneInput(buf, (size_t)i * 4);
        runs++;
    }
    printf("%d inputs replayed\n", runs);
    return bad;
}
