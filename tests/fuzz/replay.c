/* SPDX-License-Identifier: Apache-2.0 */
/* Runs the fuzz harness (fuzz_api.c) over files and directories of inputs, once each: the
 * kept corpus and every regression input, in every build (no libFuzzer needed). An input
 * that breaks an invariant aborts, and CTest reports which file was running. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clrelu/clrelu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fuzz_api_stats(FILE *out);

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    static uint8_t data[1 << 20];
    size_t size = fread(data, 1, sizeof data, f);
    fclose(f);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
    LLVMFuzzerTestOneInput(data, size);
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order (so a failure is easy to find again). */
static int run_dir(const char *dir, unsigned *count) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: cannot open %s\n", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof *names);
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        snprintf(names[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    int rc = 0;
    for (size_t i = 0; i < n; ++i) {
        struct stat st;
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            rc = run_file(names[i]);
            ++*count;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv) {
    /* The device the harness uses (CTest's fuzz_corpus@pocl...): absent, there is nothing of
     * it to replay on. */
    const char *spec = getenv("CLRELU_FUZZ_DEVICE");
    clrelu_context *probe = NULL;
    if (spec && *spec && clrelu_context_create(&probe, spec) == CLRELU_ERROR_DEVICE_NOT_FOUND) {
        printf("SKIPPED: CLRELU_FUZZ_DEVICE=%s: %s\n", spec, clrelu_last_error());
        return 77;
    }
    if (probe) {
        clrelu_context_info info;
        clrelu_context_get_info(probe, &info, sizeof info);
        printf("replay: on %s (%s)\n", info.device, info.platform);
        clrelu_context_release(probe);
    }
    unsigned count = 0;
    for (int i = 1; i < argc; ++i) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: no %s\n", argv[i]);
            return 1;
        }
        int rc = S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) : (++count, run_file(argv[i]));
        if (rc != 0)
            return 1;
    }
    printf("replay: %u inputs, every invariant held; the calls they made:\n", count);
    fuzz_api_stats(stdout);
    return count ? 0 : 1;
}
