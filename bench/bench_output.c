/* SPDX-License-Identifier: Apache-2.0 */
/* clrelu-bench output: a table for people, CSV and JSON for tools, and --compare, which reads
 * a saved JSON run back and flags changes larger than the measured noise. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "baseline.h"
#include "bench.h"

static const char *size_label(size_t n, char *buf, size_t len) {
    if (n && (n & (n - 1)) == 0) {
        int k = 0;
        while ((n >> k) != 1)
            k++;
        snprintf(buf, len, "2^%d", k);
    } else {
        snprintf(buf, len, "%zu", n);
    }
    return buf;
}

/* JSON has no NaN or infinity; a missing figure is null. 17 significant digits give back the
 * same double when read (integers up to 2^53 print exactly, without an exponent). */
static void json_number(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, "%.17g", v);
    else
        fputs("null", f);
}

/* A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180). */
static void csv_string(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; ++s) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* The measured device whose id is id (a result's or a trip's device), or NULL. */
static const bench_device *device_by_id(const bench_run *run, const char *id) {
    for (int i = 0; i < run->n_devices; ++i)
        if (run->devices[i].kind && strcmp(run->devices[i].id, id) == 0)
            return &run->devices[i];
    return NULL;
}

/* The smallest n from which the device's round trip beats the CPU path at every larger
 * measured n, or 0 if it never does. */
static size_t crossover(const bench_run *run, const char *device, const char *op,
                        const char *dtype) {
    size_t from = 0;
    for (int i = 0; i < run->n_trips; ++i) {
        const bench_trip *t = &run->trips[i];
        if (strcmp(t->device, device) || strcmp(t->op, op) || strcmp(t->dtype, dtype))
            continue;
        if (t->device_s < t->cpu_s) {
            if (!from)
                from = t->n;
        } else {
            from = 0;
        }
    }
    return from;
}

static void host_info(char *name, size_t nlen, char *os, size_t olen) {
    if (gethostname(name, nlen) != 0)
        snprintf(name, nlen, "unknown");
    name[nlen - 1] = '\0';
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(os, olen, "%s %s %s", u.sysname, u.release, u.machine);
    else
        snprintf(os, olen, "unknown");
}

/* What --data means, for the reports. */
static const char *data_meaning(const kit_data *d) {
    switch (d->kind) {
    case KIT_DATA_NORMAL:
        return "random values in [-10, 10)";
    case KIT_DATA_SUBNORMAL:
        return "random values in [-10, 10), that fraction of them subnormal";
    default:
        return "random values, a quarter special: NaNs, +-0, +-inf, subnormals, ...";
    }
}

/* The result measured with the device's defaults for the same configuration as r (a "tuned"
 * one), or NULL. */
static const bench_result *default_of(const bench_run *run, const bench_result *r) {
    for (int i = 0; i < run->n_results; ++i) {
        const bench_result *q = &run->results[i];
        if (q->tuning && strcmp(q->tuning, "default") == 0 && strcmp(q->device, r->device) == 0 &&
            strcmp(q->op, r->op) == 0 && strcmp(q->dtype, r->dtype) == 0 && q->n == r->n)
            return q;
    }
    return NULL;
}

/* Per call: the kernel's median (events), and a batch of back-to-back calls' wall time (what
 * clrelu-tune minimises: it includes each launch's own cost). */
static double batch_per_call(const bench_result *r) {
    return r->batch_n ? r->batch_s / r->batch_n : 0;
}

/* Each configuration measured with a tuning database's setting and the device's default, in
 * the same run: speedup = the default's time / the tuned time, by kernel median and by a
 * batch's time per call. */
static void write_tuned_vs_default(const bench_run *run, FILE *f) {
    char buf[32], a[40], b[40];
    int header = 0;
    for (int i = 0; i < run->n_results; ++i) {
        const bench_result *r = &run->results[i];
        const bench_result *q =
            r->tuning && strcmp(r->tuning, "tuned") == 0 ? default_of(run, r) : NULL;
        if (!q || !(r->kernel_median > 0))
            continue;
        if (!header)
            fprintf(f,
                    "\nTuned against default (the tuning database's setting and the device's "
                    "default, as vec_bytes,local,groups_per_cu, measured back to back; us per "
                    "call by kernel median and by batch; speedup = default / tuned)\n%-5s "
                    "%-16s %-5s %8s %12s %12s %9s %9s %8s %9s %9s %8s\n",
                    "dev", "op", "dtype", "n", "default", "tuned", "kernel", "kernel", "speedup",
                    "batch", "batch", "speedup");
        header = 1;
        snprintf(a, sizeof a, "%u,%zu,%u", q->setting.vec_bytes, q->setting.local,
                 q->setting.groups_per_cu);
        snprintf(b, sizeof b, "%u,%zu,%u", r->setting.vec_bytes, r->setting.local,
                 r->setting.groups_per_cu);
        const double qb = batch_per_call(q), rb = batch_per_call(r);
        fprintf(f, "%-5s %-16s %-5s %8s %12s %12s %9.2f %9.2f %7.3fx %9.2f %9.2f %7.3fx\n",
                r->device, r->op, r->dtype, size_label(r->n, buf, sizeof buf), a, b,
                q->kernel_median * 1e6, r->kernel_median * 1e6, q->kernel_median / r->kernel_median,
                qb * 1e6, rb * 1e6, rb > 0 ? qb / rb : 0.0);
    }
}

static void write_table(const bench_opts *o, const bench_run *run, FILE *f) {
    char buf[32], buf2[32];
    fprintf(f, "clrelu-bench %s\n\nData: %s (%s)\n\nDevices\n", clrelu_version(), o->data.name,
            data_meaning(&o->data));
    for (int i = 0; i < run->n_devices; ++i) {
        const bench_device *d = &run->devices[i];
        if (!d->kind)
            continue;
        fprintf(f, "  %-6s %-5s %s (%s; %s), %u %s", d->id, d->kind, d->name, d->platform,
                d->driver, d->compute_units,
                strcmp(d->kind, "simd") == 0 ? "threads" : "compute units");
        if (d->global_mem)
            fprintf(f, ", %.1f GiB", (double)d->global_mem / (1024.0 * 1024 * 1024));
        if (d->launch_wall_s > 0)
            fprintf(f, "; empty-kernel launch latency %.1f us (enqueue to completion %.1f us)",
                    d->launch_latency_s * 1e6, d->launch_wall_s * 1e6);
        fputc('\n', f);
    }
    int any_call = 0;
    for (int i = 0; i < run->n_devices; ++i)
        any_call |= run->devices[i].call_1024_s > 0;
    if (any_call) {
        fprintf(f, "\nPer-call cost, f32 relu forward at n = 1024 (L1-resident), median ns per "
                   "call\n");
        for (int i = 0; i < run->n_devices; ++i) {
            const bench_device *d = &run->devices[i];
            if (!d->kind || !(d->call_1024_s > 0))
                continue;
            fprintf(f, "  %-6s %8.1f ns", d->id, d->call_1024_s * 1e9);
            if (d->direct_call_1024_s > 0)
                fprintf(f, "   (the kernel called directly: %.1f ns; the API adds %+.1f ns)",
                        d->direct_call_1024_s * 1e9,
                        (d->call_1024_s - d->direct_call_1024_s) * 1e9);
            fputc('\n', f);
        }
    }
    int any_overhead = 0;
    for (int i = 0; i < run->n_devices; ++i)
        any_overhead |= run->devices[i].launch_bare_s > 0;
    if (any_overhead) {
        fprintf(f, "\nLaunch overhead, host time of one call back to back (f32 relu forward on "
                   "cl_mem, n = 1024), median us\n");
        fprintf(f, "%-5s %12s %12s %8s\n", "dev", "clrelu us", "bare us", "ratio");
        for (int i = 0; i < run->n_devices; ++i) {
            const bench_device *d = &run->devices[i];
            if (d->kind && d->launch_bare_s > 0)
                fprintf(f, "%-5s %12.2f %12.2f %7.2fx\n", d->id, d->launch_call_s * 1e6,
                        d->launch_bare_s * 1e6, d->launch_call_s / d->launch_bare_s);
        }
    }
    int any_first_call = 0;
    for (int i = 0; i < run->n_devices; ++i)
        any_first_call |= run->devices[i].first_call_warm_s > 0;
    if (any_first_call) {
        fprintf(f,
                "\nFirst call (clrelu_context_create to the first forward's completion, in a new "
                "process; the driver's own kernel caches off): empty vs filled binary cache\n");
        fprintf(f, "%-5s %12s %12s %10s\n", "dev", "cold s", "warm s", "cold/warm");
        for (int i = 0; i < run->n_devices; ++i) {
            const bench_device *d = &run->devices[i];
            if (d->kind && d->first_call_warm_s > 0)
                fprintf(f, "%-5s %12.4f %12.4f %9.1fx\n", d->id, d->first_call_cold_s,
                        d->first_call_warm_s, d->first_call_cold_s / d->first_call_warm_s);
        }
    }
    int any_many = 0;
    for (int i = 0; i < run->n_devices; ++i)
        any_many |= run->devices[i].many_batch_arena_s > 0;
    if (any_many) {
        fprintf(f, "\n100 tensors of 4096 f32, relu forward, enqueue to completion (ms, medians): "
                   "100 calls back to back, 100 calls each waited for, one batched call (tensors "
                   "in one arena buffer, in separate buffers); speedup of the arena batch over "
                   "each\n");
        fprintf(f, "%-5s %10s %10s %14s %17s %s\n", "dev", "100 calls", "100 waited",
                "batch (arena)", "batch (separate)", "speedup");
        for (int i = 0; i < run->n_devices; ++i) {
            const bench_device *d = &run->devices[i];
            if (d->kind && d->many_batch_arena_s > 0)
                fprintf(f, "%-5s %10.3f %10.3f %14.3f %17.3f %6.1fx / %.1fx\n", d->id,
                        d->many_single_s * 1e3, d->many_sync_s * 1e3, d->many_batch_arena_s * 1e3,
                        d->many_batch_separate_s * 1e3, d->many_single_s / d->many_batch_arena_s,
                        d->many_sync_s / d->many_batch_arena_s);
        }
    }
    fprintf(f,
            "\nKernels (times per call in us: min / median / max of %s; GB/s from the median; "
            "copy = the same device's best copy of the same bytes, this run)\n",
            "the timed calls");
    fprintf(f, "%-5s %-16s %-5s %8s %10s %10s %10s %10s %11s %8s %8s %7s %s\n", "dev", "op",
            "dtype", "n", "min", "median", "max", "wall", "batch/call", "GB/s", "copy", "%copy",
            "tuning");
    for (int i = 0; i < run->n_results; ++i) {
        const bench_result *r = &run->results[i];
        char setting[48] = "";
        if (r->setting.struct_size)
            snprintf(setting, sizeof setting, " (%u,%zu,%u)", r->setting.vec_bytes,
                     r->setting.local, r->setting.groups_per_cu);
        fprintf(f,
                "%-5s %-16s %-5s %8s %10.2f %10.2f %10.2f %10.2f %11.2f %8.2f %8.2f %6.1f%% %s%s\n",
                r->device, r->op, r->dtype, size_label(r->n, buf, sizeof buf), r->kernel_min * 1e6,
                r->kernel_median * 1e6, r->kernel_max * 1e6, r->wall_median * 1e6,
                r->batch_n ? r->batch_s / r->batch_n * 1e6 : 0.0, r->gbps, r->copy_gbps,
                r->pct_of_copy, r->tuning ? r->tuning : "-", setting);
    }
    write_tuned_vs_default(run, f);
    if (run->n_trips) {
        fprintf(f, "\nHost arrays: round trip through the device (write, op, read) vs the CPU "
                   "path on the same arrays (ms, medians)\n");
        fprintf(f, "%-5s %-16s %-5s %8s %10s %10s %8s\n", "dev", "op", "dtype", "n", "device",
                "cpu", "faster");
        for (int i = 0; i < run->n_trips; ++i) {
            const bench_trip *t = &run->trips[i];
            fprintf(f, "%-5s %-16s %-5s %8s %10.3f %10.3f %8s\n", t->device, t->op, t->dtype,
                    size_label(t->n, buf, sizeof buf), t->device_s * 1e3, t->cpu_s * 1e3,
                    t->device_s < t->cpu_s ? "device" : "cpu");
        }
        for (int i = 0; i < run->n_trips; ++i) {
            const bench_trip *t = &run->trips[i];
            int first = 1;
            for (int j = 0; j < i; ++j)
                first = first && !(strcmp(run->trips[j].device, t->device) == 0 &&
                                   strcmp(run->trips[j].op, t->op) == 0 &&
                                   strcmp(run->trips[j].dtype, t->dtype) == 0);
            if (!first)
                continue;
            size_t from = crossover(run, t->device, t->op, t->dtype);
            if (from)
                fprintf(f, "Crossover: %s %s %s: the device wins from n = %s\n", t->device, t->op,
                        t->dtype, size_label(from, buf2, sizeof buf2));
            else
                fprintf(f, "Crossover: %s %s %s: the CPU path wins at every measured size\n",
                        t->device, t->op, t->dtype);
        }
    }
    if (run->failures)
        fprintf(f, "\n%d configuration(s) FAILED (see stderr); they report no speed.\n",
                run->failures);
}

static void write_csv(const bench_opts *o, const bench_run *run, FILE *f) {
    fprintf(f, "device,device_name,platform,driver,op,dtype,n,kernel_s_median,kernel_s_min,"
               "kernel_s_max,wall_s_median,batch_n,batch_s,gbps,copy_gbps,pct_of_copy,data,"
               "tuning,vec_bytes,local,groups_per_cu\n");
    for (int i = 0; i < run->n_results; ++i) {
        const bench_result *r = &run->results[i];
        const bench_device *d = device_by_id(run, r->device);
        fprintf(f, "%s,", r->device);
        csv_string(f, d ? d->name : "");
        fputc(',', f);
        csv_string(f, d ? d->platform : "");
        fputc(',', f);
        csv_string(f, d ? d->driver : "");
        fprintf(f, ",%s,%s,%zu,%.17g,%.17g,%.17g,%.17g,%d,%.17g,%.17g,%.17g,%.17g,", r->op,
                r->dtype, r->n, r->kernel_median, r->kernel_min, r->kernel_max, r->wall_median,
                r->batch_n, r->batch_s, r->gbps, r->copy_gbps, r->pct_of_copy);
        csv_string(f, o->data.name);
        if (r->setting.struct_size)
            fprintf(f, ",%s,%u,%zu,%u\n", r->tuning, r->setting.vec_bytes, r->setting.local,
                    r->setting.groups_per_cu);
        else
            fputs(",,,,\n", f);
    }
}

/* gnuplot's data for bench/plot.sh: a block per (device, op, dtype), blocks two blank lines
 * apart (gnuplot's "index"), each headed by its quoted title; rows are n, GB/s from the median
 * and from the slowest and fastest call, and the same as % of the copy. */
static void write_gnuplot(const bench_run *run, FILE *f) {
    char host[256], os[256];
    host_info(host, sizeof host, os, sizeof os);
    fprintf(f, "# clrelu-bench gnuplot data\n# title: clrelu-bench %s on %s\n", clrelu_version(),
            host);
    fprintf(f, "# columns: n gbps gbps_min gbps_max pct_of_copy pct_min pct_max\n");
    int blocks = 0;
    for (int i = 0; i < run->n_results; ++i) {
        const bench_result *r = &run->results[i];
        int first = 1;
        for (int j = 0; j < i && first; ++j)
            first = !(strcmp(run->results[j].device, r->device) == 0 &&
                      strcmp(run->results[j].op, r->op) == 0 &&
                      strcmp(run->results[j].dtype, r->dtype) == 0);
        if (!first)
            continue;
        const bench_device *d = device_by_id(run, r->device);
        fputs(blocks++ ? "\n\n\"" : "\"", f);
        for (const char *c = d ? d->name : r->device; *c; ++c)
            fputc(*c == '"' || *c == '\\' || (unsigned char)*c < 0x20 ? '\'' : *c, f);
        fprintf(f, " (%s): %s %s\" gbps gbps_min gbps_max pct_of_copy pct_min pct_max\n", r->device,
                r->op, r->dtype);
        for (int j = i; j < run->n_results; ++j) {
            const bench_result *q = &run->results[j];
            if (strcmp(q->device, r->device) || strcmp(q->op, r->op) || strcmp(q->dtype, r->dtype))
                continue;
            double lo = q->kernel_max > 0 ? q->bytes / q->kernel_max / 1e9 : q->gbps;
            double hi = q->kernel_min > 0 ? q->bytes / q->kernel_min / 1e9 : q->gbps;
            double pct = q->copy_gbps > 0 ? 100.0 / q->copy_gbps : 0;
            fprintf(f, "%zu %.17g %.17g %.17g %.17g %.17g %.17g\n", q->n, q->gbps, lo, hi,
                    q->pct_of_copy, lo * pct, hi * pct);
        }
    }
}

static void write_json(const bench_opts *o, const bench_run *run, FILE *f, int argc, char **argv) {
    char host[256], os[256], when[64];
    host_info(host, sizeof host, os, sizeof os);
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    fprintf(f, "{\n  \"schema_version\": %d,\n  \"clrelu_version\": ", BENCH_SCHEMA_VERSION);
    bench_json_string(f, clrelu_version());
    fprintf(f, ",\n  \"command\": ");
    char cmd[2048] = "";
    for (int i = 0; i < argc; ++i) {
        strncat(cmd, argv[i], sizeof cmd - strlen(cmd) - 2);
        if (i + 1 < argc)
            strncat(cmd, " ", sizeof cmd - strlen(cmd) - 1);
    }
    bench_json_string(f, cmd);
    fprintf(f, ",\n  \"date\": ");
    bench_json_string(f, when);
    fprintf(f, ",\n  \"data\": ");
    bench_json_string(f, o->data.name);
    fprintf(f, ",\n  \"host\": {\"name\": ");
    bench_json_string(f, host);
    fprintf(f, ", \"os\": ");
    bench_json_string(f, os);
    char cpu[256];
    bench_cpu_model(cpu, sizeof cpu);
    fprintf(f, ", \"cpu_model\": ");
    bench_json_string(f, cpu);
    fprintf(f, ", \"min_time_s\": ");
    json_number(f, o->min_time);
    fprintf(f, ", \"repeat\": %d, \"batch\": %d,\n    \"opencl_devices\": [", o->repeat, o->batch);
    /* Every OpenCL device present, measured or not: what this machine had. */
    static bench_device cl[64];
    int n_cl = bench_cl_devices(cl, 64);
    for (int i = 0; i < n_cl; ++i) {
        fprintf(f, "%s\n      {\"id\": ", i ? "," : "");
        bench_json_string(f, cl[i].id);
        fprintf(f, ", \"platform\": ");
        bench_json_string(f, cl[i].platform);
        fprintf(f, ", \"platform_version\": ");
        bench_json_string(f, cl[i].platform_version);
        fprintf(f, ", \"name\": ");
        bench_json_string(f, cl[i].name);
        fprintf(f, ", \"driver\": ");
        bench_json_string(f, cl[i].driver);
        fputc('}', f);
    }
    fprintf(f, "%s]},\n  \"devices\": [", n_cl ? "\n    " : "");
    int first = 1;
    for (int i = 0; i < run->n_devices; ++i) {
        const bench_device *d = &run->devices[i];
        if (!d->kind)
            continue;
        fprintf(f, "%s\n    {\"id\": ", first ? "" : ",");
        first = 0;
        bench_json_string(f, d->id);
        fprintf(f, ", \"platform\": ");
        bench_json_string(f, d->platform);
        fprintf(f, ", \"platform_version\": ");
        bench_json_string(f, d->platform_version);
        fprintf(f, ", \"name\": ");
        bench_json_string(f, d->name);
        fprintf(f, ", \"driver\": ");
        bench_json_string(f, d->driver);
        fprintf(f, ", \"kind\": ");
        bench_json_string(f, d->kind);
        fprintf(f, ", \"compute_units\": %u, \"global_mem\": %llu, \"launch_latency_s\": ",
                d->compute_units, d->global_mem);
        /* Not applicable on the CPU path: null, not a made-up zero. */
        json_number(f, d->launch_wall_s > 0 ? d->launch_latency_s : NAN);
        fprintf(f, ", \"launch_wall_s\": ");
        json_number(f, d->launch_wall_s > 0 ? d->launch_wall_s : NAN);
        fprintf(f, ", \"launch_call_s\": ");
        json_number(f, d->launch_bare_s > 0 ? d->launch_call_s : NAN);
        fprintf(f, ", \"launch_bare_s\": ");
        json_number(f, d->launch_bare_s > 0 ? d->launch_bare_s : NAN);
        fprintf(f, ", \"first_call_cold_s\": ");
        json_number(f, d->first_call_warm_s > 0 ? d->first_call_cold_s : NAN);
        fprintf(f, ", \"first_call_warm_s\": ");
        json_number(f, d->first_call_warm_s > 0 ? d->first_call_warm_s : NAN);
        fprintf(f, ", \"many100x4096_calls_s\": ");
        json_number(f, d->many_batch_arena_s > 0 ? d->many_single_s : NAN);
        fprintf(f, ", \"many100x4096_sync_calls_s\": ");
        json_number(f, d->many_batch_arena_s > 0 ? d->many_sync_s : NAN);
        fprintf(f, ", \"many100x4096_batch_arena_s\": ");
        json_number(f, d->many_batch_arena_s > 0 ? d->many_batch_arena_s : NAN);
        fprintf(f, ", \"many100x4096_batch_separate_s\": ");
        json_number(f, d->many_batch_arena_s > 0 ? d->many_batch_separate_s : NAN);
        fprintf(f, ", \"call_1024_s\": ");
        json_number(f, d->call_1024_s > 0 ? d->call_1024_s : NAN);
        fprintf(f, ", \"direct_call_1024_s\": ");
        json_number(f, d->direct_call_1024_s > 0 ? d->direct_call_1024_s : NAN);
        fputc('}', f);
    }
    fprintf(f, "\n  ],\n  \"results\": [");
    for (int i = 0; i < run->n_results; ++i) {
        const bench_result *r = &run->results[i];
        fprintf(f, "%s\n    {\"device\": ", i ? "," : "");
        bench_json_string(f, r->device);
        fprintf(f, ", \"op\": ");
        bench_json_string(f, r->op);
        fprintf(f, ", \"dtype\": ");
        bench_json_string(f, r->dtype);
        fprintf(f, ", \"n\": %zu, \"kernel_s_median\": ", r->n);
        json_number(f, r->kernel_median);
        fprintf(f, ", \"kernel_s_min\": ");
        json_number(f, r->kernel_min);
        fprintf(f, ", \"kernel_s_max\": ");
        json_number(f, r->kernel_max);
        fprintf(f, ", \"wall_s_median\": ");
        json_number(f, r->wall_median);
        fprintf(f, ", \"batch100_s\": ");
        json_number(f, r->batch_n == 100 ? r->batch_s : NAN);
        fprintf(f, ", \"batch_n\": %d, \"batch_s\": ", r->batch_n);
        json_number(f, r->batch_s);
        fprintf(f, ", \"samples\": %d, \"bytes\": ", r->samples);
        json_number(f, r->bytes);
        fprintf(f, ", \"gbps\": ");
        json_number(f, r->gbps);
        fprintf(f, ", \"copy_gbps\": ");
        json_number(f, r->copy_gbps);
        fprintf(f, ", \"pct_of_copy\": ");
        json_number(f, r->pct_of_copy);
        fprintf(f, ", \"tuning\": ");
        if (r->tuning)
            bench_json_string(f, r->tuning);
        else
            fputs("null", f);
        if (r->setting.struct_size)
            fprintf(f, ", \"setting\": {\"vec_bytes\": %u, \"local\": %zu, \"groups_per_cu\": %u}",
                    r->setting.vec_bytes, r->setting.local, r->setting.groups_per_cu);
        else
            fputs(", \"setting\": null", f);
        fputc('}', f);
    }
    fprintf(f, "\n  ],\n  \"host_round_trip\": [");
    for (int i = 0; i < run->n_trips; ++i) {
        const bench_trip *t = &run->trips[i];
        fprintf(f, "%s\n    {\"device\": ", i ? "," : "");
        bench_json_string(f, t->device);
        fprintf(f, ", \"op\": ");
        bench_json_string(f, t->op);
        fprintf(f, ", \"dtype\": ");
        bench_json_string(f, t->dtype);
        fprintf(f, ", \"n\": %zu, \"device_s\": ", t->n);
        json_number(f, t->device_s);
        fprintf(f, ", \"cpu_s\": ");
        json_number(f, t->cpu_s);
        fprintf(f, ", \"crossover_n\": ");
        size_t from = crossover(run, t->device, t->op, t->dtype);
        if (from)
            fprintf(f, "%zu", from);
        else
            fputs("null", f);
        fputc('}', f);
    }
    fprintf(f, "\n  ],\n  \"failures\": %d\n}\n", run->failures);
}

void bench_write(const bench_opts *o, const bench_run *run, FILE *out, int argc, char **argv) {
    switch (o->format) {
    case BENCH_TABLE:
        write_table(o, run, out);
        break;
    case BENCH_CSV:
        write_csv(o, run, out);
        break;
    case BENCH_JSON:
        write_json(o, run, out, argc, argv);
        break;
    case BENCH_GNUPLOT:
        write_gnuplot(run, out);
        break;
    }
}

/* ---------------------------------------------------------------------------------------------
 * --compare: ratios against a saved run
 * ------------------------------------------------------------------------------------------ */

/* How far a median sits above the best call: the spread a rerun can show by chance. */
static double noise(double kmin, double kmed) {
    return kmed > 0 && kmin > 0 ? (kmed - kmin) / kmed : 0;
}

/* The baseline device that is d: the same platform and device name, the same id and driver
 * preferred. NULL when the baseline has no such device. */
static const bench_base_device *base_device(const bench_baseline *base, const bench_device *d) {
    const bench_base_device *best = NULL;
    int best_score = -1;
    for (int i = 0; i < base->n_devices; ++i) {
        const bench_base_device *b = &base->devices[i];
        if (strcmp(b->platform, d->platform) || strcmp(b->name, d->name))
            continue;
        int score = 2 * (strcmp(b->driver, d->driver) == 0) + (strcmp(b->id, d->id) == 0);
        if (score > best_score) {
            best = b;
            best_score = score;
        }
    }
    return best;
}

/* Tunings that name the same thing: equal strings, or both absent (the CPU path, oneDNN, the
 * channel ops, and runs saved before the field existed). */
static int same_tuning(const char *a, const char *b) {
    return a && b ? strcmp(a, b) == 0 : a == b;
}

int bench_compare(const bench_run *run, const char *data, const bench_baseline *base,
                  double fail_slower, FILE *out, int *matched_out, int *slower_out) {
    char buf[32];
    int flagged = 0, matched = 0, slower = 0;
    /* Which baseline device each measured one is: never by its P:D alone, which another
     * machine gives to another device. */
    const bench_base_device **peer = calloc((size_t)run->n_devices + 1, sizeof *peer);
    for (int i = 0; i < run->n_devices; ++i) {
        const bench_device *d = &run->devices[i];
        if (!d->kind || !peer)
            continue;
        peer[i] = base_device(base, d);
        if (!peer[i])
            fprintf(stderr,
                    "clrelu-bench: --compare: %s (%s; %s; driver %s) is not in the baseline: its "
                    "results are not compared\n",
                    d->id, d->name, d->platform, d->driver);
        else if (strcmp(peer[i]->driver, d->driver) != 0)
            fprintf(stderr,
                    "clrelu-bench: --compare: %s (%s) had driver %s in the baseline (as %s), %s "
                    "now: compared anyway, but a change may be the driver's\n",
                    d->id, d->name, peer[i]->driver, peer[i]->id, d->driver);
    }
    fprintf(out,
            "\nCompared with the baseline (ratio = this run's GB/s / the baseline's; flagged where "
            "the medians differ by more than both runs' noise + 2%%; devices matched by platform, "
            "name and driver)\n");
    fprintf(out, "Data: the baseline's %s, this run's %s%s\n", base->data, data,
            strcmp(base->data, data) ? " (DIFFERENT: the ratios compare different inputs)" : "");
    fprintf(out, "%-5s %-5s %-16s %-5s %8s %9s %9s %7s %7s %-15s\n", "dev", "base", "op", "dtype",
            "n", "base GB/s", "now GB/s", "ratio", "noise", "tuning now/base");
    for (int i = 0; i < run->n_results; ++i) {
        const bench_result *r = &run->results[i];
        const bench_base_device *bd = NULL;
        for (int k = 0; k < run->n_devices && peer; ++k)
            if (run->devices[k].kind && strcmp(run->devices[k].id, r->device) == 0)
                bd = peer[k];
        if (!bd)
            continue;
        /* The same configuration with the same tuning; else, where the baseline measured it
         * with another tuning only (one run with --tuning tuned, the other with default), that. */
        const bench_base_result *b = NULL;
        for (int j = 0; j < base->n_results; ++j) {
            const bench_base_result *c = &base->results[j];
            if (strcmp(c->device, bd->id) || strcmp(c->op, r->op) || strcmp(c->dtype, r->dtype) ||
                c->n != (double)r->n || !(c->gbps > 0))
                continue;
            if (same_tuning(c->tuning, r->tuning)) {
                b = c;
                break;
            }
            if (!b)
                b = c;
        }
        if (!b)
            continue;
        matched++;
        double ratio = r->gbps / b->gbps;
        double nz = noise(b->kernel_s_min, b->kernel_s_median) +
                    noise(r->kernel_min, r->kernel_median) + 0.02;
        int flag = fabs(ratio - 1.0) > nz;
        int regress = fail_slower > 0 && ratio < 1.0 - fail_slower / 100.0;
        flagged += flag;
        slower += regress;
        char tuning[40] = "";
        if (r->tuning || b->tuning)
            snprintf(tuning, sizeof tuning, "%s/%s", r->tuning ? r->tuning : "-",
                     b->tuning ? b->tuning : "-");
        fprintf(out, "%-5s %-5s %-16s %-5s %8s %9.2f %9.2f %7.3f %6.1f%% %-15s %s%s\n", r->device,
                bd->id, r->op, r->dtype, size_label(r->n, buf, sizeof buf), b->gbps, r->gbps, ratio,
                nz * 100, tuning, flag ? (ratio > 1 ? "FASTER" : "SLOWER") : "",
                regress ? " (beyond --fail-slower)" : "");
    }
    fprintf(out, "%d configuration(s) matched the baseline, %d changed beyond the noise", matched,
            flagged);
    if (fail_slower > 0)
        fprintf(out, ", %d more than %g%% slower", slower, fail_slower);
    fputc('\n', out);
    free(peer);
    *matched_out = matched;
    *slower_out = slower;
    return flagged;
}
