/* SPDX-License-Identifier: Apache-2.0 */
/* A small JSON reader for clrelu's own files (see json.c). */
#ifndef CLRELU_BENCH_JSON_H
#define CLRELU_BENCH_JSON_H

typedef struct jv jv;
struct jv {
    enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } t;
    double num; /* J_NUM, J_BOOL */
    char *str;  /* J_STR */
    jv *kids;   /* J_ARR, J_OBJ: the first element or member */
    jv *next;   /* the next element or member */
    char *key;  /* for members of an object */
};

/* The document in text, or NULL if it is not JSON. Free with jv_free. */
jv *jv_parse(const char *text);
void jv_free(jv *v);
/* The member key of obj (NULL if obj is not an object or has none). */
const jv *jv_member(const jv *obj, const char *key);
/* A member's number (NaN unless it is a number) or string ("" unless it is a string). */
double jv_num(const jv *obj, const char *key);
const char *jv_str(const jv *obj, const char *key);

#endif
