/* ReLU forward and backward on f32, as bit operations: no float arithmetic, so NaN payloads,
 * signs and subnormals pass through exactly, whatever the device's FTZ or fast-math habits.
 *
 * -D macros (set by host/ops.c):
 *   CLRELU_VEC   elements per vector load and store: 4, 8 or 16
 *
 * Every kernel is a grid-stride loop over whole vectors, then an exact grid-stride tail of
 * the last n % VEC elements, so any global size gives every element exactly once.
 * Sizes and offsets are 64-bit end to end. Each kernel comes in two variants: _a when every
 * offset is a multiple of VEC (plain vector pointers), _u otherwise (vloadn/vstoren, which
 * need only element alignment). */

#define CLRELU_CAT_(a, b) a##b
#define CLRELU_CAT(a, b) CLRELU_CAT_(a, b)
#define UV CLRELU_CAT(uint, CLRELU_VEC)
#define IV CLRELU_CAT(int, CLRELU_VEC)
#define AS_UV CLRELU_CAT(as_uint, CLRELU_VEC)
#define AS_IV CLRELU_CAT(as_int, CLRELU_VEC)
#define VLOAD CLRELU_CAT(vload, CLRELU_VEC)
#define VSTORE CLRELU_CAT(vstore, CLRELU_VEC)

/* All ones where relu keeps the value (x > +0, or x is NaN), else zero. */
inline uint keep1(uint b) {
    return (uint)(-(int)(((int)b > 0) | ((b & 0x7fffffffu) > 0x7f800000u)));
}

/* Vector relational operators already give -1 (all ones) for true. */
inline UV keepv(UV b) {
    return AS_UV((AS_IV(b) > (IV)0) | ((b & (UV)0x7fffffffu) > (UV)0x7f800000u));
}

#define LOAD_A(i, p) (((__global const UV *)(p))[i])
#define STORE_A(v, i, p) (((__global UV *)(p))[i] = (v))
#define LOAD_U(i, p) VLOAD(i, p)
#define STORE_U(v, i, p) VSTORE(v, i, p)

#define CLRELU_DEFINE_RELU(suffix, LOAD, STORE)                                                  \
    __kernel void relu_fwd_f32##suffix(const ulong n, __global const uint *x, const ulong x_off, \
                                       __global uint *y, const ulong y_off) {                    \
        const ulong nv = n / CLRELU_VEC;                                                         \
        const ulong gid = get_global_id(0);                                                      \
        const ulong stride = get_global_size(0);                                                 \
        __global const uint *xs = x + x_off;                                                     \
        __global uint *ys = y + y_off;                                                           \
        for (ulong i = gid; i < nv; i += stride) {                                               \
            const UV b = LOAD(i, xs);                                                            \
            STORE(b & keepv(b), i, ys);                                                          \
        }                                                                                        \
        for (ulong t = nv * CLRELU_VEC + gid; t < n; t += stride) {                              \
            const uint b = xs[t];                                                                \
            ys[t] = b & keep1(b);                                                                \
        }                                                                                        \
    }                                                                                            \
                                                                                                 \
    __kernel void relu_bwd_f32##suffix(const ulong n, __global const uint *dy,                   \
                                       const ulong dy_off, __global const uint *x,               \
                                       const ulong x_off, __global uint *dx,                     \
                                       const ulong dx_off) {                                     \
        const ulong nv = n / CLRELU_VEC;                                                         \
        const ulong gid = get_global_id(0);                                                      \
        const ulong stride = get_global_size(0);                                                 \
        __global const uint *gs = dy + dy_off;                                                   \
        __global const uint *xs = x + x_off;                                                     \
        __global uint *os = dx + dx_off;                                                         \
        for (ulong i = gid; i < nv; i += stride) {                                               \
            const UV k = keepv(LOAD(i, xs));                                                     \
            STORE(LOAD(i, gs) & k, i, os);                                                       \
        }                                                                                        \
        for (ulong t = nv * CLRELU_VEC + gid; t < n; t += stride)                                \
            os[t] = gs[t] & keep1(xs[t]);                                                        \
    }

CLRELU_DEFINE_RELU(_a, LOAD_A, STORE_A)
CLRELU_DEFINE_RELU(_u, LOAD_U, STORE_U)
