/* SPDX-License-Identifier: Apache-2.0 */
/* The persistent program-binary cache (host/cache.c) on the first OpenCL device: a cold build
 * writes one entry, later contexts and processes load it without rewriting it, a truncated,
 * corrupt, foreign or refused entry is rebuilt and the output stays right, an unwritable or
 * uncreatable directory is no error and prints nothing, and two processes filling one cache
 * at once both succeed. Each test has its own temporary CLRELU_CACHE_DIR; the cache's counters
 * (an internal hook, hence clrelu_static) say which path each build took. */
#define _DEFAULT_SOURCE /* setgroups */
#include <dirent.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "internal.h"

extern char **environ;

#define N 4099 /* not a multiple of any vector width: the tail path runs too */

static test_device device;
static char self_exe[1024];

typedef struct fixture {
    char dir[600]; /* this test's CLRELU_CACHE_DIR */
    char root[512];
} fixture;

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------ */

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(f->root, sizeof f->root, "%s/clrelu-test-cache-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/cache", f->root);
    setenv("CLRELU_CACHE_DIR", f->dir, 1);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    kit_remove_tree(f->root);
    free(f);
    return 0;
}

/* One context on the device, one forward call on N elements with special values, the output
 * read back: no assertions inside, so that it can run with stdout and stderr captured. */
static clrelu_status forward_once(uint32_t seed, float *x, float *y) {
    clrelu_context *ctx = NULL;
    clrelu_status st = clrelu_context_create(&ctx, device.spec);
    if (st != CLRELU_OK)
        return st;
    clrelu_context_info info;
    clrelu_context_get_info(ctx, &info, sizeof info);
    kit_fill(CLRELU_DTYPE_F32, x, N, seed);
    cl_int err;
    cl_mem buf =
        clCreateBuffer(info.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, N * 4, x, &err);
    if (err != CL_SUCCESS) {
        clrelu_context_release(ctx);
        return CLRELU_ERROR_OPENCL;
    }
    clrelu_desc desc = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    cl_event done = NULL;
    st = clrelu_forward(ctx, &desc, N, buf, 0, buf, 0, 0, NULL, &done);
    if (st == CLRELU_OK) {
        if (clEnqueueReadBuffer(info.queue, buf, CL_TRUE, 0, N * 4, y, 1, &done, NULL) !=
            CL_SUCCESS)
            st = CLRELU_ERROR_OPENCL;
        clReleaseEvent(done);
    }
    clReleaseMemObject(buf);
    clrelu_context_release(ctx);
    return st;
}

/* forward_once, asserted: CLRELU_OK and the output equal to kit's reference bit for bit. */
static void forward_checked(void) {
    static float x[N], y[N], expected[N];
    clrelu_status st = forward_once(7, x, y);
    if (st != CLRELU_OK) {
        print_error("forward on %s: %s: %s\n", device.spec, clrelu_status_name(st),
                    clrelu_last_error());
        fail();
    }
    kit_relu_forward_f32(N, x, expected);
    assert_bits_equal(y, expected, N, "forward through the cache");
}

/* Counters since *before: what the builds in between did. */
static clrelu__cache_stats since(const clrelu__cache_stats *before) {
    clrelu__cache_stats now;
    clrelu__cache_stats_get(&now);
    now.hits -= before->hits;
    now.misses -= before->misses;
    now.rejected -= before->rejected;
    now.binary_refused -= before->binary_refused;
    now.stores -= before->stores;
    now.store_failures -= before->store_failures;
    return now;
}

#define assert_stats(d, h, m, r, b, s, sf)                                                         \
    do {                                                                                           \
        if ((d).hits != (h) || (d).misses != (m) || (d).rejected != (r) ||                         \
            (d).binary_refused != (b) || (d).stores != (s) || (d).store_failures != (sf)) {        \
            print_error("cache counters: hits %lu misses %lu rejected %lu binary_refused %lu "     \
                        "stores %lu store_failures %lu; expected %d %d %d %d %d %d\n",             \
                        (d).hits, (d).misses, (d).rejected, (d).binary_refused, (d).stores,        \
                        (d).store_failures, h, m, r, b, s, sf);                                    \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* Files in dir: entries (*.clbin) and anything else (a temp file left behind). */
static void count_files(const char *dir, int *entries, int *others, char *entry, size_t len) {
    *entries = *others = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        size_t n = strlen(e->d_name);
        if (n > 6 && strcmp(e->d_name + n - 6, ".clbin") == 0) {
            ++*entries;
            if (entry)
                snprintf(entry, len, "%s/%s", dir, e->d_name);
        } else {
            ++*others;
        }
    }
    if (d)
        closedir(d);
}

/* The one entry in dir, and nothing else there. */
static void the_entry(const char *dir, char *path, size_t len) {
    int entries, others;
    count_files(dir, &entries, &others, path, len);
    if (entries != 1 || others != 0) {
        print_error("%s holds %d entries and %d other files; expected 1 entry only\n", dir, entries,
                    others);
        fail();
    }
}

static unsigned char *slurp(const char *path, size_t *size) {
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    rewind(fp);
    unsigned char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *size = (size_t)n;
    return buf;
}

static void spill(const char *path, const unsigned char *buf, size_t size) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, size, fp), size);
    assert_int_equal(fclose(fp), 0);
}

static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = v << 8 | p[i];
    return v;
}

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; ++i)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Key length (bytes 12..15) and where the payload starts. */
static size_t key_len_of(const unsigned char *buf) {
    return (size_t)buf[12] | (size_t)buf[13] << 8 | (size_t)buf[14] << 16 | (size_t)buf[15] << 24;
}

/* Runs this executable as a child (--child EXPECT, see child_main), optionally as the user
 * nobody (uid and gid 65534) and with its stdout and stderr going to the file out. Between
 * fork and exec only async-signal-safe calls: the parent has OpenCL threads. */
static pid_t spawn_child_as(const char *expect, int as_nobody, int out) {
    char *argv[] = {self_exe, "--child", (char *)expect, NULL};
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (out >= 0 && (dup2(out, 1) < 0 || dup2(out, 2) < 0))
            _exit(125);
        if (as_nobody && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
            _exit(125);
        execve(self_exe, argv, environ);
        _exit(126);
    }
    return pid;
}

static pid_t spawn_child(const char *expect) {
    return spawn_child_as(expect, 0, -1);
}

static int wait_child(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* stdout and stderr into a file while the library runs; what was printed comes back. */
typedef struct capture {
    int saved_out, saved_err;
    FILE *file;
} capture;

static void capture_begin(capture *c) {
    fflush(stdout);
    fflush(stderr);
    c->file = tmpfile();
    assert_non_null(c->file);
    c->saved_out = dup(1);
    c->saved_err = dup(2);
    dup2(fileno(c->file), 1);
    dup2(fileno(c->file), 2);
}

static long capture_end(capture *c) {
    fflush(stdout);
    fflush(stderr);
    dup2(c->saved_out, 1);
    dup2(c->saved_err, 2);
    close(c->saved_out);
    close(c->saved_err);
    fseek(c->file, 0, SEEK_END);
    long printed = ftell(c->file);
    if (printed > 0) {
        char text[512] = "";
        rewind(c->file);
        size_t got = fread(text, 1, sizeof text - 1, c->file);
        text[got] = '\0';
        print_error("the library printed %ld bytes: %s\n", printed, text);
    }
    fclose(c->file);
    return printed;
}

/* The forward call with nothing printed, status OK, output right. */
static void forward_quietly(void) {
    static float x[N], y[N], expected[N];
    capture c;
    capture_begin(&c);
    clrelu_status st = forward_once(11, x, y);
    long printed = capture_end(&c);
    assert_int_equal(st, CLRELU_OK);
    assert_int_equal(printed, 0);
    kit_relu_forward_f32(N, x, expected);
    assert_bits_equal(y, expected, N, "forward with an unusable cache directory");
}

/* ---------------------------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------------------------ */

static void test_cache__cold_build_writes_one_entry(void **state) {
    fixture *f = *state;
    clrelu__cache_stats before;
    clrelu__cache_stats_get(&before);
    forward_checked();
    clrelu__cache_stats d = since(&before);
    assert_stats(d, 0, 1, 0, 0, 1, 0);
    char path[1024];
    the_entry(f->dir, path, sizeof path);
    size_t size;
    unsigned char *buf = slurp(path, &size);
    assert_true(size > CLRELU__CACHE_HEADER);
    assert_memory_equal(buf, "CLRELUPB", 8);
    /* The key is stored whole: the device's name is in it. */
    size_t key_len = key_len_of(buf);
    assert_true(CLRELU__CACHE_HEADER + key_len < size);
    char *key = calloc(1, key_len + 1);
    memcpy(key, buf + CLRELU__CACHE_HEADER, key_len);
    assert_non_null(strstr(key, device.name));
    free(key);
    free(buf);
}

static void test_cache__second_context_loads_the_entry_without_rewriting_it(void **state) {
    fixture *f = *state;
    forward_checked();
    char path[1024];
    the_entry(f->dir, path, sizeof path);
    struct stat a, b;
    assert_int_equal(stat(path, &a), 0);

    clrelu__cache_stats before;
    clrelu__cache_stats_get(&before);
    forward_checked();
    clrelu__cache_stats d = since(&before);
    assert_stats(d, 1, 0, 0, 0, 0, 0);
    assert_int_equal(stat(path, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_size, b.st_size);
    assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
    assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
}

static void test_cache__second_process_loads_the_entry(void **state) {
    fixture *f = *state;
    forward_checked();
    char path[1024];
    the_entry(f->dir, path, sizeof path);
    struct stat a, b;
    assert_int_equal(stat(path, &a), 0);
    /* The child exits 0 only if its one build was a hit and its output right. */
    assert_int_equal(wait_child(spawn_child("hit")), 0);
    assert_int_equal(stat(path, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
}

typedef enum damage {
    FLIP_PAYLOAD_BYTE,
    FLIP_LAST_BYTE,
    FLIP_MAGIC,
    FLIP_FORMAT,
    FLIP_KEY_TEXT,
    FLIP_PAYLOAD_LENGTH,
    TRUNCATE_BY_ONE,
    TRUNCATE_TO_HEADER,
    TRUNCATE_TO_10,
    TRUNCATE_TO_0,
    APPEND_A_BYTE,
} damage;

static const char *const damage_names[] = {
    "a payload byte flipped", "the last byte flipped",   "the magic flipped",
    "the format flipped",     "a key byte flipped",      "the payload length flipped",
    "truncated by one byte",  "truncated to the header", "truncated to 10 bytes",
    "truncated to 0 bytes",   "one byte appended",
};

static void test_cache__damaged_entry_is_rebuilt_and_the_output_is_right(void **state) {
    fixture *f = *state;
    forward_checked();
    for (int dmg = FLIP_PAYLOAD_BYTE; dmg <= APPEND_A_BYTE; ++dmg) {
        char path[1024];
        the_entry(f->dir, path, sizeof path);
        size_t size;
        unsigned char *buf = slurp(path, &size);
        unsigned char *grown = realloc(buf, size + 1);
        assert_non_null(grown);
        buf = grown;
        size_t key_len = key_len_of(buf);
        switch ((damage)dmg) {
        case FLIP_PAYLOAD_BYTE:
            buf[CLRELU__CACHE_HEADER + key_len + (size - CLRELU__CACHE_HEADER - key_len) / 2] ^= 1;
            break;
        case FLIP_LAST_BYTE:
            buf[size - 1] ^= 0x80;
            break;
        case FLIP_MAGIC:
            buf[0] ^= 0x20;
            break;
        case FLIP_FORMAT:
            buf[8] ^= 0x02;
            break;
        case FLIP_KEY_TEXT:
            buf[CLRELU__CACHE_HEADER + key_len / 2] ^= 0x01;
            break;
        case FLIP_PAYLOAD_LENGTH:
            buf[24] ^= 0x04;
            break;
        case TRUNCATE_BY_ONE:
            size -= 1;
            break;
        case TRUNCATE_TO_HEADER:
            size = CLRELU__CACHE_HEADER;
            break;
        case TRUNCATE_TO_10:
            size = 10;
            break;
        case TRUNCATE_TO_0:
            size = 0;
            break;
        case APPEND_A_BYTE:
            buf[size++] = 0;
            break;
        }
        spill(path, buf, size);
        free(buf);

        clrelu__cache_stats before;
        clrelu__cache_stats_get(&before);
        print_message("entry damaged: %s\n", damage_names[dmg]);
        forward_checked();
        clrelu__cache_stats d = since(&before);
        assert_stats(d, 0, 0, 1, 0, 1, 0);
        /* Rebuilt whole: the next context loads it. */
        clrelu__cache_stats_get(&before);
        forward_checked();
        d = since(&before);
        assert_stats(d, 1, 0, 0, 0, 0, 0);
    }
}

/* An entry whose every check passes but the key: written for another device, driver or
 * source (a copied file, or a hash that collides) under this entry's name. */
static void test_cache__foreign_entry_is_rebuilt(void **state) {
    fixture *f = *state;
    forward_checked();
    char path[1024];
    the_entry(f->dir, path, sizeof path);
    size_t size;
    unsigned char *buf = slurp(path, &size);
    size_t key_len = key_len_of(buf);
    char *key = (char *)buf + CLRELU__CACHE_HEADER;
    char *driver = strstr(key, "driver version: ");
    assert_non_null(driver);
    assert_true(driver < key + key_len);
    driver[strlen("driver version: ")] ^= 0x01; /* another driver version, same length */
    put_u64(buf + 16, clrelu__hash64(CLRELU__HASH64_SEED, key, key_len));
    spill(path, buf, size);
    free(buf);

    clrelu__cache_stats before;
    clrelu__cache_stats_get(&before);
    forward_checked();
    clrelu__cache_stats d = since(&before);
    assert_stats(d, 0, 0, 1, 0, 1, 0);
}

/* A well-formed entry whose payload the driver refuses: clCreateProgramWithBinary or
 * clBuildProgram fails, and the program comes from source. */
static void test_cache__binary_the_driver_refuses_falls_back_to_source(void **state) {
    fixture *f = *state;
    forward_checked();
    char path[1024];
    the_entry(f->dir, path, sizeof path);
    size_t size;
    unsigned char *buf = slurp(path, &size);
    size_t off = CLRELU__CACHE_HEADER + key_len_of(buf);
    size_t len = size - off;
    assert_true(len > 64);
    memset(buf + off, 0xa5, 64); /* no driver's binary starts like this */
    uint64_t old_hash = get_u64(buf + CLRELU__CACHE_OFF_PAYLOAD_HASH);
    put_u64(buf + CLRELU__CACHE_OFF_PAYLOAD_HASH,
            clrelu__hash64(CLRELU__HASH64_SEED, buf + off, len));
    assert_true(get_u64(buf + CLRELU__CACHE_OFF_PAYLOAD_HASH) != old_hash);
    spill(path, buf, size);
    free(buf);

    clrelu__cache_stats before;
    clrelu__cache_stats_get(&before);
    forward_checked();
    clrelu__cache_stats d = since(&before);
    assert_stats(d, 0, 0, 0, 1, 1, 0);
    clrelu__cache_stats_get(&before);
    forward_checked();
    d = since(&before);
    assert_stats(d, 1, 0, 0, 0, 0, 0);
}

/* Whether a file can be created in dir by this process (root ignores permission bits). */
static int can_create_in(const char *dir) {
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/probe-XXXXXX", dir);
    int fd = mkstemp(probe);
    if (fd < 0)
        return 0;
    close(fd);
    unlink(probe);
    return 1;
}

static void test_cache__unwritable_or_uncreatable_directory_is_not_an_error(void **state) {
    fixture *f = *state;
    clrelu__cache_stats before, d;

    /* A directory that cannot be created: its parent is a regular file (even root fails). */
    char file[600], path[700];
    snprintf(file, sizeof file, "%s/a-file", f->root);
    spill(file, (const unsigned char *)"x", 1);
    snprintf(path, sizeof path, "%s/cache", file);
    setenv("CLRELU_CACHE_DIR", path, 1);
    clrelu__cache_stats_get(&before);
    forward_quietly();
    d = since(&before);
    assert_stats(d, 0, 1, 0, 0, 0, 1);

    /* A directory no one may create files in, root included. */
    setenv("CLRELU_CACHE_DIR", "/proc/self", 1);
    clrelu__cache_stats_get(&before);
    forward_quietly();
    d = since(&before);
    assert_stats(d, 0, 1, 0, 0, 0, 1);

    /* A filled cache made read-only still serves its entry; an empty read-only one builds. */
    setenv("CLRELU_CACHE_DIR", f->dir, 1);
    forward_checked();
    assert_int_equal(chmod(f->dir, 0555), 0);
    char empty[600];
    snprintf(empty, sizeof empty, "%s/empty", f->root);
    assert_int_equal(mkdir(empty, 0555), 0);
    if (!can_create_in(f->dir)) {
        clrelu__cache_stats_get(&before);
        forward_quietly();
        d = since(&before);
        assert_stats(d, 1, 0, 0, 0, 0, 0);
        setenv("CLRELU_CACHE_DIR", empty, 1);
        clrelu__cache_stats_get(&before);
        forward_quietly();
        d = since(&before);
        assert_stats(d, 0, 1, 0, 0, 0, 1);
    } else {
        /* Root writes to a mode 0555 directory anyway: the same two cases in children that
         * run as nobody (the entry is world-readable, as the umask left it). */
        char pocl[600], out_path[600];
        snprintf(pocl, sizeof pocl, "%s/pocl", f->root);
        snprintf(out_path, sizeof out_path, "%s/child-output", f->root);
        assert_int_equal(chmod(f->root, 0755), 0);
        assert_int_equal(mkdir(pocl, 0777), 0);
        assert_int_equal(chmod(pocl, 0777), 0);
        const char *old_pocl = getenv("POCL_CACHE_DIR");
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", old_pocl ? old_pocl : "");
        setenv("POCL_CACHE_DIR", pocl, 1); /* root's ~/.cache/pocl is not nobody's */
        const char *cases[2][2] = {{f->dir, "hit"}, {empty, "unwritable"}};
        for (int i = 0; i < 2; ++i) {
            setenv("CLRELU_CACHE_DIR", cases[i][0], 1);
            int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            assert_true(out >= 0);
            int rc = wait_child(spawn_child_as(cases[i][1], 1, out));
            close(out);
            size_t printed = 0;
            unsigned char *text = slurp(out_path, &printed);
            if (rc == 125 || rc == 126) {
                print_message("NOTE: could not run this test as nobody (exit %d: %s); the "
                              "read-only cases ran on /proc/self and an uncreatable path only\n",
                              rc, rc == 125 ? "setuid" : "exec");
                free(text);
                break;
            }
            if (rc != 0 || printed != 0) {
                print_error("child as nobody in %s (%s): exit %d, printed %zu bytes: %.*s\n",
                            cases[i][0], cases[i][1], rc, printed, (int)printed, (char *)text);
                free(text);
                fail();
            }
            free(text);
        }
        if (old_pocl)
            setenv("POCL_CACHE_DIR", saved, 1);
        else
            unsetenv("POCL_CACHE_DIR");
    }
    int entries, others;
    count_files(empty, &entries, &others, NULL, 0);
    assert_int_equal(entries + others, 0);
}

static void test_cache__off_disables_it(void **state) {
    fixture *f = *state;
    char xdg[600], home[600], old_home[1024] = "";
    const char *h = getenv("HOME");
    snprintf(old_home, sizeof old_home, "%s", h ? h : "");
    snprintf(xdg, sizeof xdg, "%s/xdg", f->root);
    snprintf(home, sizeof home, "%s/home", f->root);
    setenv("XDG_CACHE_HOME", xdg, 1);
    setenv("HOME", home, 1);
    setenv("CLRELU_CACHE_DIR", "off", 1);
    clrelu__cache_stats before;
    clrelu__cache_stats_get(&before);
    forward_checked();
    forward_checked();
    clrelu__cache_stats d = since(&before);
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", old_home, 1);
    assert_stats(d, 0, 0, 0, 0, 0, 0);
    struct stat st;
    assert_int_not_equal(stat(f->dir, &st), 0);
    assert_int_not_equal(stat(xdg, &st), 0);
    assert_int_not_equal(stat(home, &st), 0);
}

static void test_cache__default_directory_is_xdg_cache_home_then_home(void **state) {
    fixture *f = *state;
    char xdg[600], dir[700], home[600], old_home[1024] = "";
    const char *h = getenv("HOME");
    snprintf(old_home, sizeof old_home, "%s", h ? h : "");
    snprintf(xdg, sizeof xdg, "%s/xdg", f->root);
    snprintf(home, sizeof home, "%s/home", f->root);
    unsetenv("CLRELU_CACHE_DIR");
    setenv("XDG_CACHE_HOME", xdg, 1);
    setenv("HOME", home, 1);
    forward_checked();
    char path[1024];
    snprintf(dir, sizeof dir, "%s/clrelu", xdg);
    the_entry(dir, path, sizeof path);
    /* A relative XDG_CACHE_HOME is ignored, as the XDG spec says: HOME's .cache then. */
    setenv("XDG_CACHE_HOME", "relative/cache", 1);
    forward_checked();
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", old_home, 1);
    snprintf(dir, sizeof dir, "%s/.cache/clrelu", home);
    the_entry(dir, path, sizeof path);
    struct stat st;
    assert_int_not_equal(stat("relative", &st), 0);
}

static void test_cache__two_processes_filling_at_once_both_succeed(void **state) {
    fixture *f = *state;
    /* Both compile for real (PoCL's own kernel cache off in the children), so that the two
     * builds and stores overlap in time. */
    const char *pocl = getenv("POCL_KERNEL_CACHE");
    char saved[32];
    snprintf(saved, sizeof saved, "%s", pocl ? pocl : "");
    for (int round = 0; round < 2; ++round) {
        kit_remove_tree(f->dir);
        setenv("POCL_KERNEL_CACHE", "0", 1);
        pid_t a = spawn_child("any");
        pid_t b = spawn_child("any");
        if (pocl)
            setenv("POCL_KERNEL_CACHE", saved, 1);
        else
            unsetenv("POCL_KERNEL_CACHE");
        int ra = wait_child(a), rb = wait_child(b);
        assert_int_equal(ra, 0);
        assert_int_equal(rb, 0);
        char path[1024];
        the_entry(f->dir, path, sizeof path);
        /* What they left is valid: a third process loads it. */
        assert_int_equal(wait_child(spawn_child("hit")), 0);
    }
}

/* ---------------------------------------------------------------------------------------------
 * A child process: one forward call through the cache. Exit 0: output right (and, with
 * "hit", built from the cache without a store); 2: a failure; 3: not the expected path.
 * ------------------------------------------------------------------------------------------ */

static int child_main(const char *expect) {
    static float x[N], y[N], expected[N];
    clrelu__cache_stats before, d;
    clrelu__cache_stats_get(&before);
    clrelu_status st = forward_once(7, x, y);
    if (st != CLRELU_OK) {
        fprintf(stderr, "child: forward: %s: %s\n", clrelu_status_name(st), clrelu_last_error());
        return 2;
    }
    kit_relu_forward_f32(N, x, expected);
    if (memcmp(y, expected, sizeof y) != 0) {
        fprintf(stderr, "child: WRONG OUTPUT\n");
        return 2;
    }
    d = since(&before);
    int as_expected = strcmp(expect, "hit") == 0 ? d.hits == 1 && d.misses == 0 && d.stores == 0
                      : strcmp(expect, "unwritable") == 0
                          ? d.hits == 0 && d.misses == 1 && d.stores == 0 && d.store_failures == 1
                          : 1;
    if (!as_expected) {
        fprintf(stderr, "child: expected %s: hits %lu misses %lu stores %lu store_failures %lu\n",
                expect, d.hits, d.misses, d.stores, d.store_failures);
        return 3;
    }
    return 0;
}

int main(int argc, char **argv) {
    test_device devs[16];
    if (list_devices(devs, ARRAY_LEN(devs)) == 0) {
        print_skip("no OpenCL device present: the binary cache has nothing to cache");
        return TEST_SKIP_CODE;
    }
    device = devs[0];
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return child_main(argv[2]);

    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (n > 0)
        self_exe[n] = '\0';
    else
        snprintf(self_exe, sizeof self_exe, "%s", argv[0]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cache__cold_build_writes_one_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_cache__second_context_loads_the_entry_without_rewriting_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache__second_process_loads_the_entry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_cache__damaged_entry_is_rebuilt_and_the_output_is_right, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache__foreign_entry_is_rebuilt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache__binary_the_driver_refuses_falls_back_to_source,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_cache__unwritable_or_uncreatable_directory_is_not_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache__off_disables_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache__default_directory_is_xdg_cache_home_then_home,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache__two_processes_filling_at_once_both_succeed,
                                        setup, teardown),
    };
    char name[200];
    snprintf(name, sizeof name, "binary cache on %.15s (%.100s on %.60s)", device.spec, device.name,
             device.platform);
    return cmocka_run_group_tests_name(name, tests, NULL, NULL) ? 1 : 0;
}
