/* SPDX-License-Identifier: Apache-2.0 */
/* A small JSON reader, enough for clrelu's own files (the tuning database the library loads,
 * clrelu-bench's --compare, the tests that validate output): objects, arrays, strings,
 * numbers, true, false, null. One source, compiled into the library (its symbols hidden) and
 * into the benchmark's helpers. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

typedef struct parser {
    const char *p;
    int bad;
} parser;

static void skip_ws(parser *ps) {
    while (*ps->p && isspace((unsigned char)*ps->p))
        ps->p++;
}

static char *parse_str(parser *ps) {
    if (*ps->p != '"') {
        ps->bad = 1;
        return NULL;
    }
    ps->p++;
    size_t cap = 64, len = 0;
    char *s = malloc(cap);
    if (!s) {
        ps->bad = 1;
        return NULL;
    }
    while (*ps->p && *ps->p != '"') {
        char c = *ps->p++;
        if (c == '\\') {
            /* Never step past the terminating NUL: a file may end inside an escape. */
            if (!*ps->p)
                break;
            c = *ps->p++;
            if (c == 'u') { /* keep it simple: our writer only escapes control bytes */
                c = '?';
                for (int i = 0; i < 4 && *ps->p; ++i)
                    ps->p++;
            } else if (c == 'n') {
                c = '\n';
            } else if (c == 't') {
                c = '\t';
            }
        }
        if (len + 2 > cap) {
            char *bigger = realloc(s, cap *= 2);
            if (!bigger) {
                free(s);
                ps->bad = 1;
                return NULL;
            }
            s = bigger;
        }
        s[len++] = c;
    }
    s[len] = '\0';
    if (*ps->p != '"')
        ps->bad = 1;
    else
        ps->p++;
    return s;
}

void jv_free(jv *v) {
    while (v) {
        jv *next = v->next;
        jv_free(v->kids);
        free(v->str);
        free(v->key);
        free(v);
        v = next;
    }
}

static jv *parse_value(parser *ps, int depth) {
    skip_ws(ps);
    if (depth > 64) {
        ps->bad = 1;
        return NULL;
    }
    jv *v = calloc(1, sizeof *v);
    if (!v) {
        ps->bad = 1;
        return NULL;
    }
    char c = *ps->p;
    if (c == '{' || c == '[') {
        v->t = c == '{' ? J_OBJ : J_ARR;
        ps->p++;
        jv **tail = &v->kids;
        skip_ws(ps);
        if (*ps->p == (c == '{' ? '}' : ']')) {
            ps->p++;
            return v;
        }
        while (!ps->bad) {
            char *key = NULL;
            if (v->t == J_OBJ) {
                skip_ws(ps);
                key = parse_str(ps);
                skip_ws(ps);
                if (*ps->p != ':')
                    ps->bad = 1;
                else
                    ps->p++;
            }
            jv *kid = parse_value(ps, depth + 1);
            if (!kid) {
                free(key);
                break;
            }
            kid->key = key;
            *tail = kid;
            tail = &kid->next;
            skip_ws(ps);
            if (*ps->p == ',') {
                ps->p++;
                continue;
            }
            if (*ps->p == (v->t == J_OBJ ? '}' : ']')) {
                ps->p++;
                break;
            }
            ps->bad = 1;
        }
    } else if (c == '"') {
        v->t = J_STR;
        v->str = parse_str(ps);
    } else if (strncmp(ps->p, "null", 4) == 0) {
        v->t = J_NULL;
        ps->p += 4;
    } else if (strncmp(ps->p, "true", 4) == 0 || strncmp(ps->p, "false", 5) == 0) {
        v->t = J_BOOL;
        v->num = *ps->p == 't';
        ps->p += *ps->p == 't' ? 4 : 5;
    } else {
        char *end;
        v->t = J_NUM;
        v->num = strtod(ps->p, &end);
        if (end == ps->p)
            ps->bad = 1;
        ps->p = end;
    }
    if (ps->bad) {
        jv_free(v);
        return NULL;
    }
    return v;
}

const jv *jv_member(const jv *obj, const char *key) {
    if (!obj || obj->t != J_OBJ)
        return NULL;
    for (const jv *k = obj->kids; k; k = k->next)
        if (k->key && strcmp(k->key, key) == 0)
            return k;
    return NULL;
}

double jv_num(const jv *obj, const char *key) {
    const jv *v = jv_member(obj, key);
    return v && v->t == J_NUM ? v->num : NAN;
}

const char *jv_str(const jv *obj, const char *key) {
    const jv *v = jv_member(obj, key);
    return v && v->t == J_STR ? v->str : "";
}

jv *jv_parse(const char *text) {
    parser ps = {text, 0};
    jv *v = parse_value(&ps, 0);
    skip_ws(&ps);
    if (v && *ps.p) {
        jv_free(v);
        return NULL;
    }
    return v;
}
