/* SPDX-License-Identifier: Apache-2.0 */
/* clrelu-bench: measures the ReLU family on every OpenCL device present and on the CPU path,
 * each next to the same device's copy bandwidth measured in the same run. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "baseline.h"
#include "bench.h"

/* ---------------------------------------------------------------------------------------------
 * Helpers for the measuring rooms
 * ------------------------------------------------------------------------------------------ */

int bench_more(const bench_opts *o, int calls, double elapsed) {
    return calls < o->repeat || elapsed < o->min_time;
}

void bench_progress(const bench_opts *o, bench_run *run, const char *fmt, ...) {
    run->step++;
    if (o->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%d/%d] ", run->step, run->total_steps);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(isatty(2) ? "\033[K\r" : "\n", stderr);
}

bench_result *bench_add_result(bench_run *run) {
    if (run->n_results == run->cap_results) {
        run->cap_results = run->cap_results ? 2 * run->cap_results : 64;
        run->results = realloc(run->results, (size_t)run->cap_results * sizeof *run->results);
        if (!run->results) {
            fprintf(stderr, "clrelu-bench: out of memory\n");
            exit(1);
        }
    }
    bench_result *r = &run->results[run->n_results++];
    memset(r, 0, sizeof *r);
    return r;
}

bench_trip *bench_add_trip(bench_run *run) {
    if (run->n_trips == run->cap_trips) {
        run->cap_trips = run->cap_trips ? 2 * run->cap_trips : 64;
        run->trips = realloc(run->trips, (size_t)run->cap_trips * sizeof *run->trips);
        if (!run->trips) {
            fprintf(stderr, "clrelu-bench: out of memory\n");
            exit(1);
        }
    }
    bench_trip *t = &run->trips[run->n_trips++];
    memset(t, 0, sizeof *t);
    return t;
}

/* ---------------------------------------------------------------------------------------------
 * Arguments
 * ------------------------------------------------------------------------------------------ */

static void usage(FILE *f) {
    fprintf(f,
            "usage: clrelu-bench [options]\n"
            "  --list                 list the devices (OpenCL and the CPU path) and exit\n"
            "  --device SPEC          measure this device (repeatable): cpu, gpu, P:D, a name, or\n"
            "                         onednn (oneDNN's eltwise ReLU, when built with it)\n"
            "                         (default: every OpenCL device, the CPU path and oneDNN)\n"
            "  --op LIST              comma-separated ops, or all (default: forward,backward)\n"
            "  --dtype LIST           comma-separated dtypes, or all (default: f32)\n"
            "  --sizes LIST           element counts and ranges: 4096,2^20,2^10..2^26 (a range\n"
            "                         steps by powers of two; default 2^10..2^26)\n"
            "  --min-time SECONDS     time each configuration at least this long (default 0.02)\n"
            "  --repeat N             and at least N calls (default 5)\n"
            "  --batch N              back-to-back launches timed with one wait (default 100)\n"
            "  --data KIND            the inputs: special (random values with a quarter special\n"
            "                         values: NaNs, +-0, +-inf, subnormals, ...; the default),\n"
            "                         normal (random values in [-10, 10) only), or\n"
            "                         subnormal:RATE (normal, and a fraction RATE of the\n"
            "                         elements subnormal, e.g. subnormal:1/16)\n"
            "  --no-host-trip         skip the host-array round trips\n"
            "  --tuning both|tuned|default  an OpenCL device's launch settings: its tuning\n"
            "                         database's and, where they differ, the device's defaults\n"
            "                         side by side (both, the default), or one of them only\n"
            "  --format table|csv|json|gnuplot  (default table; gnuplot: for bench/plot.sh)\n"
            "  --output FILE          write the format to FILE (the table still goes to stdout)\n"
            "  --compare BASE.json    ratios against a saved run (devices matched by platform,\n"
            "                         name and driver; a configuration by op, dtype, n and\n"
            "                         tuning, else against the baseline's only tuning),\n"
            "                         changes beyond noise flagged\n"
            "  --fail-slower PCT      with --compare: exit 3 if a configuration is more than PCT\n"
            "                         percent slower than the baseline, or none matched\n"
            "  --quick                a smoke run: few sizes, few calls\n"
            "  --quiet                no progress on stderr\n"
            "ops:");
    for (size_t i = 0; i < kit_ops_count; ++i)
        fprintf(f, " %s", kit_ops[i].name);
    fprintf(f, "\ndtypes:");
    for (size_t i = 0; i < kit_dtypes_count; ++i)
        fprintf(f, " %s", kit_dtypes[i].name);
    fprintf(f, "\n");
}

static void die_usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "clrelu-bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n\n");
    va_end(ap);
    usage(stderr);
    exit(2);
}

/* The largest size accepted: 2^40 elements (8 TiB of f64) is beyond any device, and keeps
 * every byte count the rooms compute far from overflowing. */
#define MAX_SIZE ((size_t)1 << 40)

/* "4096", "2^20": 0 when it is neither, or above MAX_SIZE. */
static size_t parse_size(const char *s) {
    char *end;
    if (strncmp(s, "2^", 2) == 0) {
        if (!isdigit((unsigned char)s[2]))
            return 0;
        errno = 0;
        long k = strtol(s + 2, &end, 10);
        if (errno || *end || k < 0 || k > 40)
            return 0;
        return (size_t)1 << k;
    }
    if (!isdigit((unsigned char)s[0]))
        return 0;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > MAX_SIZE)
        return 0;
    return (size_t)v;
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static void parse_sizes(bench_opts *o, const char *arg) {
    char *copy = strdup(arg), *save = NULL;
    o->n_sizes = 0;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *dots = strstr(item, "..");
        if (dots) {
            *dots = '\0';
            size_t lo = parse_size(item), hi = parse_size(dots + 2);
            if (!lo || !hi || lo > hi)
                die_usage("--sizes: bad range '%s..%s' (expected like 2^10..2^26)", item, dots + 2);
            for (size_t n = lo; n <= hi && n >= lo; n *= 2) {
                if (o->n_sizes == BENCH_MAX_SIZES)
                    die_usage("--sizes: more than %d sizes", BENCH_MAX_SIZES);
                o->sizes[o->n_sizes++] = n;
            }
        } else {
            size_t n = parse_size(item);
            if (!n)
                die_usage("--sizes: bad size '%s' (expected a count or 2^k from 1 to 2^40)", item);
            if (o->n_sizes == BENCH_MAX_SIZES)
                die_usage("--sizes: more than %d sizes", BENCH_MAX_SIZES);
            o->sizes[o->n_sizes++] = n;
        }
    }
    free(copy);
    if (o->n_sizes == 0)
        die_usage("--sizes: no size given");
    qsort(o->sizes, (size_t)o->n_sizes, sizeof o->sizes[0], cmp_size);
}

static void parse_ops(bench_opts *o, const char *arg) {
    o->n_ops = 0;
    if (strcmp(arg, "all") == 0) {
        for (size_t i = 0; i < kit_ops_count; ++i)
            o->ops[o->n_ops++] = &kit_ops[i];
        return;
    }
    char *copy = strdup(arg), *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        const kit_op *op = kit_find_op(item);
        if (!op)
            die_usage("--op: unknown op '%s'", item);
        if (o->n_ops < 32)
            o->ops[o->n_ops++] = op;
    }
    free(copy);
    if (o->n_ops == 0)
        die_usage("--op: no op given");
}

static void parse_dtypes(bench_opts *o, const char *arg) {
    o->n_dtypes = 0;
    if (strcmp(arg, "all") == 0) {
        for (size_t i = 0; i < kit_dtypes_count; ++i)
            o->dtypes[o->n_dtypes++] = &kit_dtypes[i];
        return;
    }
    char *copy = strdup(arg), *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        const kit_dtype *dt = kit_find_dtype(item);
        if (!dt)
            die_usage("--dtype: unknown dtype '%s'", item);
        if (o->n_dtypes < 8)
            o->dtypes[o->n_dtypes++] = dt;
    }
    free(copy);
    if (o->n_dtypes == 0)
        die_usage("--dtype: no dtype given");
}

static double parse_positive(const char *opt, const char *arg, double max) {
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v >= 0) || v > max)
        die_usage("%s: bad value '%s'", opt, arg);
    return v;
}

/* oneDNN, when this clrelu-bench was built with it, is a device of its own. */
#if defined(CLRELU_BENCH_HAVE_ONEDNN)
#define HAVE_ONEDNN 1
#else
#define HAVE_ONEDNN 0
#endif

/* Every OpenCL device as "P:D", then "cpu", then "onednn" when built with it. */
static int all_specs(char specs[][16], int cap) {
    cl_platform_id plats[16];
    cl_uint np = 0;
    int count = 0;
    if (clGetPlatformIDs(16, plats, &np) != CL_SUCCESS)
        np = 0;
    for (cl_uint p = 0; p < np && p < 16; ++p) {
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS)
            continue;
        for (cl_uint d = 0; d < nd && count < cap - 1; ++d)
            snprintf(specs[count++], 16, "%u:%u", p, d);
    }
    snprintf(specs[count++], 16, "cpu");
    if (HAVE_ONEDNN)
        snprintf(specs[count++], 16, "onednn");
    return count;
}

static int is_host_spec(const char *spec) {
    return strcmp(spec, "cpu") == 0 || strcmp(spec, "onednn") == 0;
}

/* Every device with its strings whole (no column truncates them: drivers are told apart by
 * their versions), columns as wide as their longest entry. */
static int list_devices(void) {
    char specs[BENCH_MAX_SPECS * 4][16];
    int n = all_specs(specs, BENCH_MAX_SPECS * 4);
    static bench_device rows[BENCH_MAX_SPECS * 4];
    static char mems[BENCH_MAX_SPECS * 4][32], unusable[BENCH_MAX_SPECS * 4][600];
    static const char *kinds[] = {"simd", "gpu", "cpu", "accelerator"};
    int count = 0;
    for (int i = 0; i < n; ++i) {
        bench_device *bd = &rows[count];
        memset(bd, 0, sizeof *bd);
        snprintf(mems[count], sizeof mems[count], "-");
        unusable[count][0] = '\0';
        clrelu_context *ctx = NULL;
        if (strcmp(specs[i], "onednn") == 0) {
#if defined(CLRELU_BENCH_HAVE_ONEDNN)
            if (clrelu_context_create(&ctx, "cpu") != CLRELU_OK)
                continue;
            clrelu_context_info info;
            clrelu_context_get_info(ctx, &info, sizeof info);
            bench_onednn_describe((int)info.compute_units, info.device, bd);
            clrelu_context_release(ctx);
            count++;
#endif
            continue;
        }
        snprintf(bd->id, sizeof bd->id, "%s", specs[i]);
        if (clrelu_context_create(&ctx, specs[i]) != CLRELU_OK) {
            snprintf(unusable[count++], sizeof unusable[0], "%s", clrelu_last_error());
            continue;
        }
        clrelu_context_info info;
        clrelu_context_get_info(ctx, &info, sizeof info);
        bd->kind = kinds[info.kind];
        bd->compute_units = info.compute_units;
        if (info.kind == CLRELU_DEVICE_KIND_SIMD) {
            snprintf(bd->name, sizeof bd->name, "%s", info.device);
            snprintf(bd->platform, sizeof bd->platform, "clrelu CPU path");
            snprintf(bd->driver, sizeof bd->driver, "clrelu %s, %s", clrelu_version(),
                     info.cpu_isa);
        } else {
            bench_describe_cl(info.platform_id, info.device_id, bd);
        }
        if (info.global_mem)
            snprintf(mems[count], sizeof mems[count], "%.1f GiB",
                     (double)info.global_mem / (1024.0 * 1024.0 * 1024.0));
        clrelu_context_release(ctx);
        count++;
    }
    int w_id = 6, w_kind = 11, w_name = 6, w_platform = 8, w_driver = 6;
    for (int i = 0; i < count; ++i) {
        if (unusable[i][0])
            continue;
#define WIDEN(w, str)                                                                              \
    if ((int)strlen(str) > (w))                                                                    \
    (w) = (int)strlen(str)
        WIDEN(w_id, rows[i].id);
        WIDEN(w_name, rows[i].name);
        WIDEN(w_platform, rows[i].platform);
        WIDEN(w_driver, rows[i].driver);
#undef WIDEN
    }
    printf("%-*s %-*s %-*s %-*s %-*s %6s %10s\n", w_id, "id", w_kind, "kind", w_name, "device",
           w_platform, "platform", w_driver, "driver", "units", "memory");
    for (int i = 0; i < count; ++i) {
        const bench_device *bd = &rows[i];
        if (unusable[i][0]) {
            printf("%-*s (unusable: %s)\n", w_id, bd->id, unusable[i]);
            continue;
        }
        printf("%-*s %-*s %-*s %-*s %-*s %6u %10s\n", w_id, bd->id, w_kind, bd->kind, w_name,
               bd->name, w_platform, bd->platform, w_driver, bd->driver, bd->compute_units,
               mems[i]);
    }
    return 0;
}

int main(int argc, char **argv) {
    /* The child of bench_first_call: not an option a user passes. */
    if (argc == 3 && strcmp(argv[1], "--first-call-probe") == 0)
        return bench_first_call_probe(argv[2]);
    bench_opts o;
    memset(&o, 0, sizeof o);
    o.self = argv[0];
    o.min_time = 0.02;
    o.repeat = 5;
    o.batch = 100;
    o.host_trip = 1;
    parse_ops(&o, "forward,backward");
    parse_dtypes(&o, "f32");
    parse_sizes(&o, "2^10..2^26");
    kit_data_parse("special", &o.data);
    int sizes_given = 0, repeat_given = 0, min_time_given = 0;

    enum { OPT_MIN_TIME = 256, OPT_NO_TRIP, OPT_FAIL_SLOWER, OPT_DATA, OPT_TUNING };
    static const struct option longs[] = {
        {"list", no_argument, NULL, 'l'},
        {"device", required_argument, NULL, 'd'},
        {"op", required_argument, NULL, 'o'},
        {"dtype", required_argument, NULL, 't'},
        {"sizes", required_argument, NULL, 's'},
        {"min-time", required_argument, NULL, OPT_MIN_TIME},
        {"repeat", required_argument, NULL, 'r'},
        {"batch", required_argument, NULL, 'b'},
        {"no-host-trip", no_argument, NULL, OPT_NO_TRIP},
        {"data", required_argument, NULL, OPT_DATA},
        {"tuning", required_argument, NULL, OPT_TUNING},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'O'},
        {"compare", required_argument, NULL, 'c'},
        {"fail-slower", required_argument, NULL, OPT_FAIL_SLOWER},
        {"quick", no_argument, NULL, 'q'},
        {"quiet", no_argument, NULL, 'Q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'l':
            o.list = 1;
            break;
        case 'd':
            if (o.n_specs == BENCH_MAX_SPECS)
                die_usage("--device: at most %d devices", BENCH_MAX_SPECS);
            o.specs[o.n_specs++] = optarg;
            break;
        case 'o':
            parse_ops(&o, optarg);
            break;
        case 't':
            parse_dtypes(&o, optarg);
            break;
        case 's':
            parse_sizes(&o, optarg);
            sizes_given = 1;
            break;
        case OPT_MIN_TIME:
            o.min_time = parse_positive("--min-time", optarg, 60);
            min_time_given = 1;
            break;
        case 'r':
            o.repeat = (int)parse_positive("--repeat", optarg, 100000);
            if (o.repeat < 1)
                die_usage("--repeat: at least 1");
            repeat_given = 1;
            break;
        case 'b':
            o.batch = (int)parse_positive("--batch", optarg, 100000);
            break;
        case OPT_NO_TRIP:
            o.host_trip = 0;
            break;
        case OPT_DATA:
            if (kit_data_parse(optarg, &o.data) != 0)
                die_usage("--data: unknown data '%s' (special, normal or subnormal:RATE with RATE "
                          "in (0, 1], e.g. subnormal:1/16)",
                          optarg);
            break;
        case OPT_TUNING:
            if (strcmp(optarg, "both") == 0)
                o.tuning = BENCH_TUNING_BOTH;
            else if (strcmp(optarg, "tuned") == 0)
                o.tuning = BENCH_TUNING_TUNED;
            else if (strcmp(optarg, "default") == 0)
                o.tuning = BENCH_TUNING_DEFAULT;
            else
                die_usage("--tuning: unknown '%s' (both, tuned or default)", optarg);
            break;
        case 'f':
            if (strcmp(optarg, "table") == 0)
                o.format = BENCH_TABLE;
            else if (strcmp(optarg, "csv") == 0)
                o.format = BENCH_CSV;
            else if (strcmp(optarg, "json") == 0)
                o.format = BENCH_JSON;
            else if (strcmp(optarg, "gnuplot") == 0)
                o.format = BENCH_GNUPLOT;
            else
                die_usage("--format: unknown format '%s' (table, csv, json or gnuplot)", optarg);
            break;
        case 'O':
            o.output = optarg;
            break;
        case 'c':
            o.compare = optarg;
            break;
        case OPT_FAIL_SLOWER:
            o.fail_slower = parse_positive("--fail-slower", optarg, 100);
            if (!(o.fail_slower > 0))
                die_usage("--fail-slower: a percentage above 0, not '%s'", optarg);
            break;
        case 'q':
            o.quick = 1;
            break;
        case 'Q':
            o.quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("clrelu-bench %s\n", clrelu_version());
            return 0;
        default:
            die_usage("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument '%s'", argv[optind]);
    if (o.fail_slower > 0 && !o.compare)
        die_usage("--fail-slower needs --compare BASE.json");
    if (o.list)
        return list_devices();

    if (o.quick) {
        if (!sizes_given)
            parse_sizes(&o, "2^10,2^14,2^18,2^20");
        if (!repeat_given)
            o.repeat = 3;
        if (!min_time_given)
            o.min_time = 0.002;
    }

    /* Resolve the devices first: an unknown one is a usage error, before any measuring. */
    char specs[BENCH_MAX_SPECS * 4][16];
    const char *given[BENCH_MAX_SPECS * 4] = {NULL}; /* the --device that named each */
    int n_specs = 0;
    if (o.n_specs == 0) {
        n_specs = all_specs(specs, BENCH_MAX_SPECS * 4);
    } else {
        for (int i = 0; i < o.n_specs; ++i) {
            clrelu_context *ctx = NULL;
            if (strcasecmp(o.specs[i], "onednn") == 0) {
                if (!HAVE_ONEDNN)
                    die_usage("--device onednn: this clrelu-bench was built without oneDNN "
                              "(install libdnnl-dev and reconfigure)");
                int dup = 0;
                for (int j = 0; j < n_specs; ++j)
                    dup = dup || strcmp(specs[j], "onednn") == 0;
                if (!dup) {
                    given[n_specs] = o.specs[i];
                    snprintf(specs[n_specs++], 16, "onednn");
                }
                continue;
            }
            if (clrelu_context_create(&ctx, o.specs[i]) != CLRELU_OK)
                die_usage("--device %s: %s", o.specs[i], clrelu_last_error());
            clrelu_context_info info;
            clrelu_context_get_info(ctx, &info, sizeof info);
            clrelu_context_release(ctx);
            /* Two specs for one device measure it once, and say so (a spec that means
             * another device than the user thought must not pass unnoticed). */
            int dup = -1;
            for (int j = 0; j < n_specs && dup < 0; ++j)
                if (strcmp(specs[j], info.id) == 0)
                    dup = j;
            if (dup < 0) {
                given[n_specs] = o.specs[i];
                snprintf(specs[n_specs++], 16, "%s", info.id);
            } else {
                fprintf(stderr,
                        "clrelu-bench: --device %s is %s '%s' on '%s', as --device %s is: "
                        "measured once\n",
                        o.specs[i], info.id, info.device,
                        info.kind == CLRELU_DEVICE_KIND_SIMD ? "the CPU path" : info.platform,
                        given[dup]);
            }
        }
    }

    /* The files before measuring: a baseline that cannot be read, or an output that cannot be
     * written, fails now with the OS's reason, not after the whole run. */
    bench_baseline *baseline = NULL;
    if (o.compare) {
        char why[256];
        baseline = bench_baseline_load(o.compare, why, sizeof why);
        if (!baseline) {
            fprintf(stderr, "clrelu-bench: --compare %s: %s\n", o.compare, why);
            return 2;
        }
    }
    FILE *output = NULL;
    if (o.output && !(output = fopen(o.output, "w"))) {
        fprintf(stderr, "clrelu-bench: --output %s: %s\n", o.output, strerror(errno));
        bench_baseline_free(baseline);
        return 2;
    }
    bench_run run;
    memset(&run, 0, sizeof run);
    run.devices = calloc((size_t)n_specs, sizeof *run.devices);
    int per_device = o.n_ops * o.n_dtypes * o.n_sizes;
    int cpu_index = -1, onednn_index = -1, n_opencl = 0;
    for (int i = 0; i < n_specs; ++i) {
        if (strcmp(specs[i], "cpu") == 0)
            cpu_index = i;
        else if (strcmp(specs[i], "onednn") == 0)
            onednn_index = i;
        else
            n_opencl++;
    }
    /* Each OpenCL device: its configurations, its host round trips, its first-call probe; the
     * CPU path and oneDNN share one pass over the configurations. */
    run.total_steps = n_opencl * (per_device * (o.host_trip ? 2 : 1) + 1);
    if (cpu_index >= 0 || onednn_index >= 0)
        run.total_steps += per_device;
    run.n_devices = n_specs;
    int unusable = 0;
    for (int i = 0; i < n_specs; ++i) {
        if (is_host_spec(specs[i]))
            continue;
        int st = bench_opencl(&o, specs[i], &run, i);
        if (st == 1) /* the spec resolved to the CPU path */
            st = bench_cpu(&o, &run, i, -1);
        if (st != 0)
            unusable++;
    }
    if ((cpu_index >= 0 || onednn_index >= 0) && bench_cpu(&o, &run, cpu_index, onednn_index) != 0)
        unusable++;
    if (!o.quiet && isatty(2))
        fputs("\033[K", stderr);

    int write_failed = 0;
    if (output) {
        /* The format to the file, the table to stdout (--quiet silences progress only). */
        bench_write(&o, &run, output, argc, argv);
        int err = ferror(output) ? EIO : 0;
        if (fclose(output) != 0 && !err)
            err = errno;
        if (err) {
            fprintf(stderr, "clrelu-bench: --output %s: %s\n", o.output, strerror(err));
            write_failed = 1;
        }
        bench_opts table = o;
        table.format = BENCH_TABLE;
        bench_write(&table, &run, stdout, argc, argv);
    } else {
        bench_write(&o, &run, stdout, argc, argv);
    }
    int regressed = 0;
    if (baseline) {
        int matched = 0, slower = 0;
        bench_compare(&run, o.data.name, baseline, o.fail_slower,
                      o.format == BENCH_TABLE || output ? stdout : stderr, &matched, &slower);
        if (o.fail_slower > 0 && (slower > 0 || matched == 0)) {
            fprintf(stderr, "clrelu-bench: --fail-slower %g: %s\n", o.fail_slower,
                    matched == 0 ? "no configuration matched the baseline, nothing was compared"
                                 : "a configuration is slower than the baseline allows");
            regressed = 1;
        }
        bench_baseline_free(baseline);
    }
    free(run.devices);
    free(run.results);
    free(run.trips);
    if (run.failures || unusable || write_failed)
        return 1;
    return regressed ? 3 : 0;
}
