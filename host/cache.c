/* SPDX-License-Identifier: Apache-2.0 */
/* The persistent program-binary cache: a program built once from source is stored as the
 * device's binary in CLRELU_CACHE_DIR, so that later processes skip the compiler. An entry is
 * only ever a shortcut: anything wrong with it (missing, truncated, corrupt, written for
 * another key, refused by the driver) means "build from source", never an error. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Entry layout (integers little-endian):
 *   [0, 8)    magic "CLRELUPB"
 *   [8, 12)   format version
 *   [12, 16)  key length K
 *   [16, 24)  FNV-1a 64 of the key (the file name is its hex)
 *   [24, 32)  payload length P
 *   [32, 40)  FNV-1a 64 of the payload
 *   [40, 40 + K)          the key text (platform, device, driver, options, source hashes)
 *   [40 + K, 40 + K + P)  the payload: the binary from CL_PROGRAM_BINARIES
 * The file must be exactly 40 + K + P bytes, so a truncated or extended one is refused. */
static const char magic[8] = {'C', 'L', 'R', 'E', 'L', 'U', 'P', 'B'};
#define FORMAT_VERSION 1u
/* Larger files are not read: no binary of these kernels comes near it. */
#define MAX_ENTRY_BYTES ((size_t)256 << 20)

uint64_t clrelu__hash64(uint64_t h, const void *data, size_t len) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; ++i) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* ---------------------------------------------------------------------------------------------
 * Counters (for tests: which path a build took)
 * ------------------------------------------------------------------------------------------ */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static clrelu__cache_stats stats;

static void count(unsigned long *counter) {
    pthread_mutex_lock(&lock);
    ++*counter;
    pthread_mutex_unlock(&lock);
}

void clrelu__cache_stats_get(clrelu__cache_stats *out) {
    pthread_mutex_lock(&lock);
    *out = stats;
    pthread_mutex_unlock(&lock);
}

/* ---------------------------------------------------------------------------------------------
 * Where, and for what
 * ------------------------------------------------------------------------------------------ */

/* CLRELU_CACHE_DIR, else $XDG_CACHE_HOME/clrelu, else $HOME/.cache/clrelu. Returns 0 when the
 * cache is off ("off", or nowhere to put it). */
int clrelu__cache_dir(char *buf, size_t len) {
    const char *env = getenv("CLRELU_CACHE_DIR");
    int w = -1;
    if (env && *env) {
        if (strcasecmp(env, "off") == 0)
            return 0;
        w = snprintf(buf, len, "%s", env);
    } else {
        const char *xdg = getenv("XDG_CACHE_HOME");
        const char *home = getenv("HOME");
        /* The XDG spec says a relative XDG_CACHE_HOME is to be ignored. */
        if (xdg && xdg[0] == '/')
            w = snprintf(buf, len, "%s/clrelu", xdg);
        else if (home && *home)
            w = snprintf(buf, len, "%s/.cache/clrelu", home);
    }
    return w > 0 && (size_t)w < len;
}

/* Appends "label: value\n" for a platform or device string; a query that fails adds an
 * empty value, which still keys the entry consistently. */
static void key_device_string(char *key, size_t len, const char *label, cl_device_id dev,
                              cl_device_info what) {
    char value[512] = "";
    if (clGetDeviceInfo(dev, what, sizeof value, value, NULL) != CL_SUCCESS)
        value[0] = '\0';
    value[sizeof value - 1] = '\0';
    size_t used = strlen(key);
    snprintf(key + used, len - used, "%s: %s\n", label, value);
}

/* The key: everything that decides what the compiler produces. Sources enter as their
 * lengths and hashes, so the key stays short enough to store whole in the entry and compare
 * exactly (a file of the same name written for another key is thereby refused). */
static int make_key(clrelu_context *ctx, cl_uint n_sources, const char *const *sources,
                    const size_t *lengths, const char *options, char *key, size_t len) {
    char platform[512] = "";
    if (clGetPlatformInfo(ctx->platform, CL_PLATFORM_VERSION, sizeof platform, platform, NULL) !=
        CL_SUCCESS)
        platform[0] = '\0';
    platform[sizeof platform - 1] = '\0';
    snprintf(key, len, "clrelu program binary cache, format %u\nplatform version: %s\n",
             FORMAT_VERSION, platform);
    key_device_string(key, len, "device", ctx->device, CL_DEVICE_NAME);
    key_device_string(key, len, "device vendor", ctx->device, CL_DEVICE_VENDOR);
    key_device_string(key, len, "device version", ctx->device, CL_DEVICE_VERSION);
    key_device_string(key, len, "driver version", ctx->device, CL_DRIVER_VERSION);
    size_t used = strlen(key);
    snprintf(key + used, len - used, "options: %s\nsources: %u\n", options, (unsigned)n_sources);
    for (cl_uint i = 0; i < n_sources; ++i) {
        size_t n = lengths && lengths[i] ? lengths[i] : strlen(sources[i]);
        used = strlen(key);
        snprintf(key + used, len - used, "source %u: %zu bytes, fnv1a64 %016llx\n", (unsigned)i, n,
                 (unsigned long long)clrelu__hash64(CLRELU__HASH64_SEED, sources[i], n));
    }
    /* A key that did not fit would be cut: better no cache than a wrong one. */
    return strlen(key) + 1 < len;
}

/* ---------------------------------------------------------------------------------------------
 * Reading and writing entries
 * ------------------------------------------------------------------------------------------ */

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; ++i)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = v << 8 | p[i];
    return v;
}

/* Reads the whole file; NULL (errno kept) when it is absent or unreadable. */
static unsigned char *read_file(const char *path, size_t *size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    unsigned char *buf = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= MAX_ENTRY_BYTES)
        buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    *size = got;
    return buf;
}

/* The payload of a valid entry for key, or NULL: a short file, another magic or format, a
 * length that disagrees with the file's, another key, or a payload whose checksum differs. */
static const unsigned char *check_entry(const unsigned char *buf, size_t size, const char *key,
                                        uint64_t key_hash, size_t *payload_len) {
    size_t key_len = strlen(key);
    if (size < CLRELU__CACHE_HEADER || memcmp(buf, magic, sizeof magic) != 0 ||
        get_u32(buf + 8) != FORMAT_VERSION || get_u32(buf + 12) != key_len ||
        get_u64(buf + 16) != key_hash)
        return NULL;
    uint64_t plen = get_u64(buf + 24);
    size_t rest = size - CLRELU__CACHE_HEADER;
    if (rest < key_len || plen != rest - key_len || plen == 0)
        return NULL;
    if (memcmp(buf + CLRELU__CACHE_HEADER, key, key_len) != 0)
        return NULL;
    const unsigned char *payload = buf + CLRELU__CACHE_HEADER + key_len;
    if (clrelu__hash64(CLRELU__HASH64_SEED, payload, (size_t)plen) !=
        get_u64(buf + CLRELU__CACHE_OFF_PAYLOAD_HASH))
        return NULL;
    *payload_len = (size_t)plen;
    return payload;
}

/* mkdir -p, for the directories the cache may need to create. */
static int make_dirs(const char *dir) {
    char path[1024];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return -1;
    for (char *p = path + 1; *p; ++p) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int write_all(int fd, const void *data, size_t len) {
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* A name no other thread of this process is using for its temporary file. */
static unsigned long next_temp_id(void) {
    static unsigned long next;
    pthread_mutex_lock(&lock);
    unsigned long id = next++;
    pthread_mutex_unlock(&lock);
    return id;
}

/* Writes the entry to a temporary file in the same directory and renames it into place, so
 * that a reader sees the old entry, no entry or the whole new one; two processes storing the
 * same key at once each rename a whole file, and the last one wins. No fsync: an entry cut
 * short by a crash fails its length or checksum check and is rebuilt. */
static int store_entry(const char *dir, const char *path, const char *key, uint64_t key_hash,
                       const unsigned char *payload, size_t payload_len) {
    if (make_dirs(dir) != 0)
        return -1;
    int fd = -1;
    char tmp[1100];
    for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
        if (snprintf(tmp, sizeof tmp, "%s/.tmp-%016llx-%ld-%lu", dir, (unsigned long long)key_hash,
                     (long)getpid(), next_temp_id()) >= (int)sizeof tmp)
            return -1;
        /* Not mkstemp: its 0600 would keep a cache filled by one user (an image build) from
         * another (the user who runs it); 0666 leaves the choice to the umask. */
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            return -1;
    }
    if (fd < 0)
        return -1;
    size_t key_len = strlen(key);
    unsigned char header[CLRELU__CACHE_HEADER];
    memcpy(header, magic, sizeof magic);
    put_u32(header + 8, FORMAT_VERSION);
    put_u32(header + 12, (uint32_t)key_len);
    put_u64(header + 16, key_hash);
    put_u64(header + 24, payload_len);
    put_u64(header + CLRELU__CACHE_OFF_PAYLOAD_HASH,
            clrelu__hash64(CLRELU__HASH64_SEED, payload, payload_len));
    int bad = write_all(fd, header, sizeof header) != 0 || write_all(fd, key, key_len) != 0 ||
              write_all(fd, payload, payload_len) != 0;
    bad |= close(fd) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Building
 * ------------------------------------------------------------------------------------------ */

/* Builds from the sources; on a build failure the message carries the build log. */
static clrelu_status build_from_source(clrelu_context *ctx, const char *fn, const char *name,
                                       cl_uint n_sources, const char *const *sources,
                                       const size_t *lengths, const char *options,
                                       cl_program *out) {
    cl_int err = CL_SUCCESS;
    cl_program prog =
        clCreateProgramWithSource(ctx->cl_ctx, n_sources, (const char **)sources, lengths, &err);
    if (err != CL_SUCCESS) {
        char what[160];
        snprintf(what, sizeof what, "%s: clCreateProgramWithSource(%s)", fn, name);
        return clrelu__cl_fail(ctx, err, what);
    }
    err = clBuildProgram(prog, 1, &ctx->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        /* The log's size first: a buffer too small for it gets nothing at all. */
        char log[1500] = "";
        size_t size = 0;
        if (clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) ==
                CL_SUCCESS &&
            size > 0) {
            char *full = malloc(size + 1);
            if (full && clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, size, full,
                                              NULL) == CL_SUCCESS) {
                full[size] = '\0';
                snprintf(log, sizeof log, "%s", full);
            }
            free(full);
        }
        clReleaseProgram(prog);
        clrelu_status st = err == CL_BUILD_PROGRAM_FAILURE ? CLRELU_ERROR_BUILD
                           : err == CL_OUT_OF_HOST_MEMORY  ? CLRELU_ERROR_OUT_OF_MEMORY
                                                           : CLRELU_ERROR_OPENCL;
        return clrelu__fail(ctx, st, "%s: clBuildProgram(%s, \"%s\") failed: %s (%d); log: %s", fn,
                            name, options, clrelu__cl_error_name(err), (int)err, log);
    }
    *out = prog;
    return CLRELU_OK;
}

/* A program from a cached binary, built (clBuildProgram still runs: it is what checks that
 * this driver accepts the binary). */
static cl_program build_from_binary(clrelu_context *ctx, const unsigned char *payload, size_t len,
                                    const char *options) {
    cl_int err = CL_SUCCESS, bin_status = CL_SUCCESS;
    cl_program prog =
        clCreateProgramWithBinary(ctx->cl_ctx, 1, &ctx->device, &len, &payload, &bin_status, &err);
    if (err != CL_SUCCESS || bin_status != CL_SUCCESS) {
        if (prog)
            clReleaseProgram(prog);
        return NULL;
    }
    if (clBuildProgram(prog, 1, &ctx->device, options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(prog);
        return NULL;
    }
    return prog;
}

/* The device's binary of a built program; NULL when it has none to give. */
static unsigned char *program_binary(clrelu_context *ctx, cl_program prog, size_t *len) {
    cl_uint ndev = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_NUM_DEVICES, sizeof ndev, &ndev, NULL) != CL_SUCCESS ||
        ndev != 1)
        return NULL;
    cl_device_id dev = NULL;
    size_t size = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_DEVICES, sizeof dev, &dev, NULL) != CL_SUCCESS ||
        dev != ctx->device ||
        clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
        size == 0 || size > MAX_ENTRY_BYTES)
        return NULL;
    unsigned char *bin = malloc(size);
    if (bin && clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) != CL_SUCCESS) {
        free(bin);
        bin = NULL;
    }
    *len = size;
    return bin;
}

clrelu_status clrelu__cache_build(clrelu_context *ctx, const char *fn, const char *name,
                                  cl_uint n_sources, const char *const *sources,
                                  const size_t *lengths, const char *options, cl_program *out) {
    char dir[1024], key[4096], path[1100];
    if (!clrelu__cache_dir(dir, sizeof dir) ||
        !make_key(ctx, n_sources, sources, lengths, options, key, sizeof key))
        return build_from_source(ctx, fn, name, n_sources, sources, lengths, options, out);
    uint64_t key_hash = clrelu__hash64(CLRELU__HASH64_SEED, key, strlen(key));
    if (snprintf(path, sizeof path, "%s/%016llx.clbin", dir, (unsigned long long)key_hash) >=
        (int)sizeof path)
        return build_from_source(ctx, fn, name, n_sources, sources, lengths, options, out);

    size_t size = 0, payload_len = 0;
    unsigned char *buf = read_file(path, &size);
    if (buf) {
        const unsigned char *payload = check_entry(buf, size, key, key_hash, &payload_len);
        cl_program prog = payload ? build_from_binary(ctx, payload, payload_len, options) : NULL;
        free(buf);
        if (prog) {
            count(&stats.hits);
            *out = prog;
            return CLRELU_OK;
        }
        count(payload ? &stats.binary_refused : &stats.rejected);
    } else {
        count(&stats.misses);
    }

    clrelu_status st = build_from_source(ctx, fn, name, n_sources, sources, lengths, options, out);
    if (st != CLRELU_OK)
        return st;
    unsigned char *bin = program_binary(ctx, *out, &payload_len);
    if (bin && store_entry(dir, path, key, key_hash, bin, payload_len) == 0)
        count(&stats.stores);
    else
        count(&stats.store_failures);
    free(bin);
    return CLRELU_OK;
}
