/* SPDX-License-Identifier: Apache-2.0 */
/* What a device spec means (clrelu_context_create, CLRELU_DEVICE, clrelu-bench --device): the
 * matcher over the strings OpenCL reports, with no OpenCL call of its own, so that tests can
 * feed it any machine's platforms. context.c enumerates the devices and calls it. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Vendors' names select platforms, never a device by its name: PoCL names its CPU device after
 * the CPU's brand ("pthread-skylake-avx512-AMD EPYC", "pthread-skylake-avx512-Intel(R) Xeon(R)
 * ...") and reports the CPU's vendor string ("AuthenticAMD", "GenuineIntel") as the device's
 * vendor, so on a machine with PoCL alone "intel" or "amd" would otherwise mean PoCL. */
static const char *const vendor_words[] = {"amd",    "apple", "arm",      "intel",    "mesa",
                                           "nvidia", "pocl",  "oclgrind", "qualcomm", "rusticl"};

static int is_vendor_word(const char *spec) {
    for (size_t i = 0; i < CLRELU__ARRAY_LEN(vendor_words); ++i)
        if (strcasecmp(spec, vendor_words[i]) == 0)
            return 1;
    return 0;
}

static int is_word_char(char c) {
    return isalnum((unsigned char)c) != 0;
}

/* Whether needle occurs in hay (case-insensitively) as whole words: "intel" in "Intel(R)
 * OpenCL", "pocl" in "The pocl project", but not "amd" in "AuthenticAMD". */
static int contains_words(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    if (n == 0)
        return 0;
    for (const char *at = hay; *at; ++at) {
        if (strncasecmp(at, needle, n) != 0)
            continue;
        int starts = at == hay || !is_word_char(at[-1]) || !is_word_char(needle[0]);
        int ends = !is_word_char(at[n]) || !is_word_char(needle[n - 1]);
        if (starts && ends)
            return 1;
    }
    return 0;
}

static int contains_nocase(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    if (n == 0)
        return 0;
    for (; *hay; ++hay)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

/* The precedence of name matches, best first (a lower level wins; the header lists them). */
enum {
    LEVEL_PLATFORM_EXACT = 1, /* the platform's whole name or vendor */
    LEVEL_PLATFORM_WORDS,     /* words of the platform's name or vendor */
    LEVEL_VENDOR_EXACT,       /* the device's whole vendor */
    LEVEL_VENDOR_WORDS,       /* words of the device's vendor */
    LEVEL_NAME_EXACT,         /* the device's whole name */
    LEVEL_NAME_PART,          /* any part of the device's name (not for a vendor's name) */
    LEVEL_NONE
};

static const char *level_text(int level) {
    switch (level) {
    case LEVEL_PLATFORM_EXACT:
    case LEVEL_PLATFORM_WORDS:
        return "platform name or vendor";
    case LEVEL_VENDOR_EXACT:
    case LEVEL_VENDOR_WORDS:
        return "device vendor";
    default:
        return "device name";
    }
}

static int match_level(const char *spec, const clrelu__spec_device *dev) {
    if (strcasecmp(dev->platform_name, spec) == 0 || strcasecmp(dev->platform_vendor, spec) == 0)
        return LEVEL_PLATFORM_EXACT;
    if (contains_words(dev->platform_name, spec) || contains_words(dev->platform_vendor, spec))
        return LEVEL_PLATFORM_WORDS;
    if (strcasecmp(dev->device_vendor, spec) == 0)
        return LEVEL_VENDOR_EXACT;
    if (contains_words(dev->device_vendor, spec))
        return LEVEL_VENDOR_WORDS;
    if (is_vendor_word(spec))
        return LEVEL_NONE;
    if (strcasecmp(dev->device_name, spec) == 0)
        return LEVEL_NAME_EXACT;
    if (contains_nocase(dev->device_name, spec))
        return LEVEL_NAME_PART;
    return LEVEL_NONE;
}

static int parse_index_spec(const char *spec, unsigned *p, unsigned *d) {
    size_t a = strspn(spec, "0123456789");
    if (a == 0 || a > 6 || spec[a] != ':')
        return 0;
    size_t b = strspn(spec + a + 1, "0123456789");
    if (b == 0 || b > 6 || spec[a + 1 + b] != '\0')
        return 0;
    *p = (unsigned)strtoul(spec, NULL, 10);
    *d = (unsigned)strtoul(spec + a + 1, NULL, 10);
    return 1;
}

/* Appends "P:D 'name' on 'platform'" for devs[i] to buf (of len, holding used bytes). */
static void append_device(char *buf, size_t len, size_t *used, const char *sep,
                          const clrelu__spec_device *dev) {
    if (*used + 1 >= len)
        return;
    int w = snprintf(buf + *used, len - *used, "%s%u:%u '%s' on '%s'", sep, dev->p, dev->d,
                     dev->device_name, dev->platform_name);
    if (w > 0)
        *used += (size_t)w < len - *used ? (size_t)w : len - *used - 1;
}

void clrelu__spec_describe(const clrelu__spec_device *devs, size_t n, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    if (n == 0) {
        snprintf(buf, len, "no OpenCL device is present");
        return;
    }
    for (size_t i = 0; i < n; ++i)
        append_device(buf, len, &used, i ? ", " : "present: ", &devs[i]);
}

clrelu_status clrelu__spec_choose(const char *spec, const char *origin,
                                  const clrelu__spec_device *devs, size_t n, unsigned n_platforms,
                                  size_t *chosen) {
    char present[1024];
    if (strcasecmp(spec, "gpu") == 0) {
        for (size_t i = 0; i < n; ++i) {
            if (devs[i].is_gpu) {
                *chosen = i;
                return CLRELU_OK;
            }
        }
        clrelu__spec_describe(devs, n, present, sizeof present);
        return clrelu__fail(NULL, CLRELU_ERROR_DEVICE_NOT_FOUND,
                            "clrelu_context_create: %s 'gpu': no OpenCL GPU found (%s)", origin,
                            present);
    }

    unsigned p, d;
    if (parse_index_spec(spec, &p, &d)) {
        for (size_t i = 0; i < n; ++i) {
            if (devs[i].p == p && devs[i].d == d) {
                *chosen = i;
                return CLRELU_OK;
            }
        }
        clrelu__spec_describe(devs, n, present, sizeof present);
        return clrelu__fail(NULL, CLRELU_ERROR_DEVICE_NOT_FOUND,
                            "clrelu_context_create: %s '%s': no device %u on platform %u (%u "
                            "platform(s); %s)",
                            origin, spec, d, p, n_platforms, present);
    }

    int best = LEVEL_NONE;
    for (size_t i = 0; i < n; ++i) {
        int level = match_level(spec, &devs[i]);
        if (level < best)
            best = level;
    }
    if (best == LEVEL_NONE) {
        clrelu__spec_describe(devs, n, present, sizeof present);
        return clrelu__fail(NULL, CLRELU_ERROR_DEVICE_NOT_FOUND,
                            "clrelu_context_create: %s '%s' matches no OpenCL platform or device "
                            "(expected cpu, gpu, P:D, a platform or vendor such as pocl, intel, "
                            "nvidia, amd, or part of a device's name; %s)",
                            origin, spec, present);
    }
    /* The first device at the best level; it stands for its platform's other matches, but a
     * match on another platform makes the spec ambiguous. */
    size_t first = n;
    int several = 0;
    for (size_t i = 0; i < n; ++i) {
        if (match_level(spec, &devs[i]) != best)
            continue;
        if (first == n)
            first = i;
        else if (devs[i].p != devs[first].p)
            several = 1;
    }
    if (!several) {
        *chosen = first;
        return CLRELU_OK;
    }
    char candidates[1024];
    size_t used = 0;
    candidates[0] = '\0';
    for (size_t i = 0; i < n; ++i)
        if (match_level(spec, &devs[i]) == best)
            append_device(candidates, sizeof candidates, &used, used ? " and " : "", &devs[i]);
    return clrelu__fail(NULL, CLRELU_ERROR_DEVICE_AMBIGUOUS,
                        "clrelu_context_create: %s '%s' is ambiguous: it names the %s of %s; "
                        "name one by P:D (clrelu-bench --list) or by more of its name",
                        origin, spec, level_text(best), candidates);
}
