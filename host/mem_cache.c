/* SPDX-License-Identifier: Apache-2.0 */
/* What the driver says of a cl_mem (its context, size, flags, parent and offset) never changes
 * while the handle lives, so it is asked once: the answers are kept here, process-wide, and
 * forgotten by a destructor callback on the buffer. OpenCL runs those callbacks before the
 * object is deleted, so a handle cannot be reused while an entry of its predecessor remains.
 * The table is fixed; when it is full, a buffer is simply asked every time, as before. */
#include <pthread.h>
#include <stdint.h>

#include "internal.h"

#define SLOTS 1024 /* a power of two; at most 3/4 used */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static clrelu__mem_info table[SLOTS]; /* .mem == NULL: empty */
static size_t used;

static size_t home(cl_mem mem) {
    uint64_t h = (uint64_t)(uintptr_t)mem * UINT64_C(0x9e3779b97f4a7c15);
    return (size_t)(h >> 54) & (SLOTS - 1); /* the top 10 bits */
}

/* The slot holding mem, or the empty slot where it would go. Call with lock held. */
static size_t find(cl_mem mem) {
    size_t i = home(mem);
    while (table[i].mem && table[i].mem != mem)
        i = (i + 1) & (SLOTS - 1);
    return i;
}

int clrelu__mem_cache_get(cl_mem mem, clrelu__mem_info *out) {
    pthread_mutex_lock(&lock);
    size_t i = find(mem);
    int hit = table[i].mem != NULL;
    if (hit)
        *out = table[i];
    pthread_mutex_unlock(&lock);
    return hit;
}

/* Linear probing's deletion: later entries of the same run move back into the hole, so that
 * every entry stays reachable from its home slot. */
static void forget(cl_mem mem, void *user_data) {
    (void)user_data;
    pthread_mutex_lock(&lock);
    size_t hole = find(mem);
    if (table[hole].mem) {
        table[hole].mem = NULL;
        used--;
        for (size_t j = (hole + 1) & (SLOTS - 1); table[j].mem; j = (j + 1) & (SLOTS - 1)) {
            size_t h = home(table[j].mem);
            /* table[j] may move to hole when its home is not in (hole, j] (cyclically). */
            if (hole <= j ? (h <= hole || h > j) : (h <= hole && h > j)) {
                table[hole] = table[j];
                table[j].mem = NULL;
                hole = j;
            }
        }
    }
    pthread_mutex_unlock(&lock);
}

static void CL_CALLBACK on_destroy(cl_mem mem, void *user_data) {
    forget(mem, user_data);
}

void clrelu__mem_cache_put(const clrelu__mem_info *mi) {
    pthread_mutex_lock(&lock);
    size_t i = find(mi->mem);
    int add = !table[i].mem && used < SLOTS / 4 * 3;
    pthread_mutex_unlock(&lock);
    if (!add)
        return;
    /* Registered once per buffer, outside the lock: a driver may call back from its own
     * threads. A buffer whose callback cannot be set is never kept. */
    if (clSetMemObjectDestructorCallback(mi->mem, on_destroy, NULL) != CL_SUCCESS)
        return;
    pthread_mutex_lock(&lock);
    i = find(mi->mem);
    if (!table[i].mem && used < SLOTS / 4 * 3) {
        table[i] = *mi;
        used++;
    }
    pthread_mutex_unlock(&lock);
}

int clrelu__mem_cache_holds_for_testing(cl_mem mem) {
    clrelu__mem_info mi;
    return clrelu__mem_cache_get(mem, &mi);
}
