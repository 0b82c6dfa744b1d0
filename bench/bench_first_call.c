/* SPDX-License-Identifier: Apache-2.0 */
/* clrelu-bench's first-call latency on one OpenCL device: from clrelu_context_create to the
 * completion of the first forward call, in a new process (this executable, run with the hidden
 * --first-call-probe), cold (an empty binary cache) and warm (the cache the cold run filled).
 * The driver's own kernel caches are off in both (PoCL's, and NVIDIA's), each run with a fresh
 * PoCL cache directory, so that cold is really cold and warm is clrelu's cache alone. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

#define PROBE_N 4096

/* ---------------------------------------------------------------------------------------------
 * The probe (the child's side)
 * ------------------------------------------------------------------------------------------ */

int bench_first_call_probe(const char *spec) {
    static float x[PROBE_N], y[PROBE_N], expected[PROBE_N];
    kit_fill(CLRELU_DTYPE_F32, x, PROBE_N, 99);
    double t0 = bench_now();
    clrelu_context *ctx = NULL;
    if (clrelu_context_create(&ctx, spec) != CLRELU_OK) {
        fprintf(stderr, "clrelu-bench: first-call probe on %s: %s\n", spec, clrelu_last_error());
        return 1;
    }
    clrelu_context_info info;
    clrelu_context_get_info(ctx, &info, sizeof info);
    cl_int err = CL_INVALID_CONTEXT;
    cl_mem buf = info.context
                     ? clCreateBuffer(info.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                      sizeof x, x, &err)
                     : NULL;
    clrelu_desc desc = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    cl_event done = NULL;
    clrelu_status st = err == CL_SUCCESS
                           ? clrelu_forward(ctx, &desc, PROBE_N, buf, 0, buf, 0, 0, NULL, &done)
                           : CLRELU_ERROR_OPENCL;
    if (st == CLRELU_OK)
        err = clWaitForEvents(1, &done);
    double t1 = bench_now();
    if (st == CLRELU_OK && err == CL_SUCCESS)
        err = clEnqueueReadBuffer(info.queue, buf, CL_TRUE, 0, sizeof y, y, 0, NULL, NULL);
    if (done)
        clReleaseEvent(done);
    if (buf)
        clReleaseMemObject(buf);
    int rc = 0;
    if (st != CLRELU_OK || err != CL_SUCCESS) {
        if (st != CLRELU_OK)
            fprintf(stderr, "clrelu-bench: first-call probe on %s failed: %s\n", spec,
                    clrelu_context_error(ctx));
        else
            fprintf(stderr, "clrelu-bench: first-call probe on %s failed: %s\n", spec,
                    bench_cl_error(err));
        rc = 1;
    } else {
        kit_relu_forward_f32(PROBE_N, x, expected);
        if (memcmp(y, expected, sizeof y) != 0) {
            fprintf(stderr, "clrelu-bench: first-call probe on %s: WRONG OUTPUT\n", spec);
            rc = 1;
        }
    }
    clrelu_context_release(ctx);
    if (rc == 0)
        printf("%.9g\n", t1 - t0);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * The parent's side
 * ------------------------------------------------------------------------------------------ */

/* Runs the probe in a new process with the caches given; its seconds, or NAN. */
static double run_probe(const char *self, const char *spec, const char *cache_dir,
                        const char *pocl_dir) {
    /* The environment minus what is set here, plus the settings of this run. */
    static const char *const set[] = {
        "CLRELU_CACHE_DIR=", "POCL_KERNEL_CACHE=", "POCL_CACHE_DIR=", "CUDA_CACHE_DISABLE="};
    size_t n_env = 0;
    while (environ[n_env])
        n_env++;
    char **envp = calloc(n_env + 5, sizeof *envp);
    char cache_var[1100], pocl_var[1100];
    snprintf(cache_var, sizeof cache_var, "CLRELU_CACHE_DIR=%s", cache_dir);
    snprintf(pocl_var, sizeof pocl_var, "POCL_CACHE_DIR=%s", pocl_dir);
    if (!envp)
        return NAN;
    size_t k = 0;
    for (size_t i = 0; i < n_env; ++i) {
        int overridden = 0;
        for (size_t j = 0; j < sizeof set / sizeof set[0]; ++j)
            overridden |= strncmp(environ[i], set[j], strlen(set[j])) == 0;
        if (!overridden)
            envp[k++] = environ[i];
    }
    envp[k++] = cache_var;
    envp[k++] = pocl_var;
    envp[k++] = "POCL_KERNEL_CACHE=0";
    envp[k++] = "CUDA_CACHE_DISABLE=1";
    envp[k] = NULL;

    int fds[2];
    double seconds = NAN;
    if (pipe(fds) != 0) {
        free(envp);
        return NAN;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    char *argv[] = {(char *)self, "--first-call-probe", (char *)spec, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, self, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    free(envp);
    if (rc != 0) {
        fprintf(stderr, "clrelu-bench: cannot run %s for the first-call probe: %s\n", self,
                strerror(rc));
        close(fds[0]);
        return NAN;
    }
    char out[64] = "";
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fds[0], out + got, sizeof out - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || (got += (size_t)r) == sizeof out - 1)
            break;
    }
    out[got] = '\0';
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        char *end;
        seconds = strtod(out, &end);
        if (end == out || !(seconds > 0))
            seconds = NAN;
    }
    return seconds;
}

static int make_temp_dir(char *buf, size_t len, const char *what) {
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, len, "%s/clrelu-bench-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", what);
    return mkdtemp(buf) ? 0 : -1;
}

int bench_first_call(const bench_opts *o, const char *spec, bench_device *bd) {
    enum { MAX_RUNS = 5 };
    int runs = o->quick ? 1 : 3;
    double cold[MAX_RUNS], warm[MAX_RUNS];
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0)
        self[n] = '\0';
    else
        snprintf(self, sizeof self, "%s", o->self);
    int failed = 0;
    for (int r = 0; r < runs && !failed; ++r) {
        char cache[512], pocl_cold[512], pocl_warm[512];
        if (make_temp_dir(cache, sizeof cache, "cache") != 0 ||
            make_temp_dir(pocl_cold, sizeof pocl_cold, "pocl") != 0 ||
            make_temp_dir(pocl_warm, sizeof pocl_warm, "pocl") != 0) {
            fprintf(stderr, "clrelu-bench: cannot create temporary directories: %s\n",
                    strerror(errno));
            return -1;
        }
        cold[r] = run_probe(self, spec, cache, pocl_cold);
        warm[r] = run_probe(self, spec, cache, pocl_warm);
        failed = isnan(cold[r]) || isnan(warm[r]);
        kit_remove_tree(cache);
        kit_remove_tree(pocl_cold);
        kit_remove_tree(pocl_warm);
    }
    if (failed) {
        fprintf(stderr, "clrelu-bench: %s: the first-call probe failed\n", spec);
        return -1;
    }
    bd->first_call_cold_s = bench_median(cold, runs);
    bd->first_call_warm_s = bench_median(warm, runs);
    return 0;
}
