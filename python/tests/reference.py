# SPDX-License-Identifier: Apache-2.0
"""An independent numpy reference for clrelu's semantics (the table in include/clrelu/clrelu.h
and docs/semantics.md), written from the table, not from the library's code: values are
computed in float32 (float64 for f64) one numpy operation at a time, NaNs the table passes
keep their bits, NaNs arithmetic makes are canonical, and each result is rounded once to the
storage type (round to nearest even). Arrays are handled as their raw bits (uint16, uint32,
uint64) so that NaN payloads and signed zeros are compared exactly."""

import numpy as np

BITS = {"f32": np.uint32, "f16": np.uint16, "bf16": np.uint16, "f64": np.uint64}
CANON = {"f32": 0x7FC00000, "f16": 0x7E00, "bf16": 0x7FC0, "f64": 0x7FF8000000000000}
NUMPY = {"f32": np.float32, "f16": np.float16, "bf16": np.uint16, "f64": np.float64}


def compute_type(dtype):
    return np.float64 if dtype == "f64" else np.float32


def to_compute(bits, dtype):
    """Storage bits -> compute values, exactly (NaN payloads shift up unchanged)."""
    bits = np.asarray(bits, dtype=BITS[dtype])
    if dtype == "f32":
        return bits.view(np.float32).copy()
    if dtype == "f64":
        return bits.view(np.float64).copy()
    if dtype == "bf16":
        return (bits.astype(np.uint32) << 16).view(np.float32)
    h = bits.astype(np.uint32)
    sign, exp, man = (h & 0x8000) << 16, (h >> 10) & 0x1F, h & 0x3FF
    out = bits.view(np.float16).astype(np.float32)  # exact for every non-NaN value
    nan = (exp == 0x1F) & (man != 0)
    out_bits = out.view(np.uint32)
    out_bits[nan] = sign[nan] | 0x7F800000 | (man[nan] << 13)
    return out


def from_compute(values, dtype):
    """Compute values -> storage bits, rounded once to nearest even; a NaN keeps its top
    payload bits, with the quiet bit set when none would be left."""
    if dtype == "f32":
        return np.asarray(values, np.float32).view(np.uint32).copy()
    if dtype == "f64":
        return np.asarray(values, np.float64).view(np.uint64).copy()
    f = np.asarray(values, np.float32).view(np.uint32).astype(np.uint64)
    nan = (f & 0x7FFFFFFF) > 0x7F800000
    if dtype == "bf16":
        rounded = (f + 0x7FFF + ((f >> 16) & 1)) >> 16
        top = f >> 16
        nan_bits = top | np.where((top & 0x7F) == 0, np.uint64(0x40), np.uint64(0))
        return np.where(nan, nan_bits, rounded).astype(np.uint16)
    with np.errstate(over="ignore"):
        rounded = np.asarray(values, np.float32).astype(np.float16).view(np.uint16)
    payload = (f >> 13) & 0x3FF
    nan_bits = ((f >> 16) & 0x8000) | 0x7C00 | payload | np.where(payload == 0, np.uint64(0x200), np.uint64(0))
    return np.where(nan, nan_bits, rounded).astype(np.uint16)


def _canon(values, dtype):
    """NaNs made by arithmetic become the canonical quiet NaN (of the compute type)."""
    ct = compute_type(dtype)
    bits = values.view(np.uint64 if ct is np.float64 else np.uint32).copy()
    bits[np.isnan(values)] = 0x7FF8000000000000 if ct is np.float64 else 0x7FC00000
    return bits.view(ct)


def _mul(s, v, dtype):
    with np.errstate(all="ignore"):
        return _canon(compute_type(dtype)(s) * v, dtype)


def _scalar(v, dtype):
    return compute_type(dtype)(np.float32(v))  # the descriptor holds floats


def _pass(op, x, c):
    """f'(x) is 1: relu x > 0 or NaN; leaky x > 0; clipped 0 < x < c or NaN."""
    nan, gt0 = np.isnan(x), x > 0
    if op == "leaky_relu":
        return gt0
    if op == "clipped_relu":
        return nan | (gt0 & (x < c))
    return nan | gt0


def _blend(t, old_bits, dtype, alpha, beta):
    """out = alpha * t + beta * old, each product and the sum rounded; a NaN t passes."""
    if alpha == 1.0 and beta == 0.0:
        return t
    a, b = _scalar(alpha, dtype), _scalar(beta, dtype)
    with np.errstate(all="ignore"):
        r = a * t
        if beta != 0.0:
            r = r + b * to_compute(old_bits, dtype)
    return np.where(np.isnan(t), t, _canon(r, dtype))


def forward(op, dtype, x_bits, slope=0.01, ceiling=6.0, alpha=1.0, beta=0.0, old_bits=None):
    x = to_compute(x_bits, dtype)
    return _forward_values(op, dtype, x, slope, ceiling, alpha, beta, old_bits)


def mask(op, dtype, x_bits, ceiling=6.0):
    """The uint32 words forward_mask writes: bit i % 32 of word i / 32."""
    x = to_compute(x_bits, dtype)
    bits = _pass(op, x, _scalar(ceiling, dtype)).astype(np.uint32)
    words = (len(bits) + 31) // 32
    bits = np.concatenate([bits, np.zeros(words * 32 - len(bits), np.uint32)])
    return (bits.reshape(words, 32) << np.arange(32, dtype=np.uint32)).sum(
        axis=1, dtype=np.uint32
    )


def backward(op, dtype, dy_bits, src, grad_from="x", slope=0.01, ceiling=6.0, alpha=1.0,
             beta=0.0, old_bits=None):  # fmt: skip
    """src: x's bits, y's bits, or the mask words, as grad_from says."""
    dy = to_compute(dy_bits, dtype)
    c = _scalar(ceiling, dtype)
    if grad_from == "mask":
        n = len(dy)
        words = np.asarray(src, np.uint32)
        idx = np.arange(n)
        passes = ((words[idx // 32] >> (idx % 32).astype(np.uint32)) & 1).astype(bool)
    elif grad_from == "y":
        # y > 0 exactly where x > 0; clipped passes where 0 < y < c', c' the stored ceiling.
        stored_c = to_compute(from_compute(np.array([c]), dtype), dtype)[0]
        passes = _pass(op, to_compute(src, dtype), stored_c)
    else:
        passes = _pass(op, to_compute(src, dtype), c)
    other = _mul(np.float32(slope), dy, dtype) if op == "leaky_relu" else np.zeros_like(dy)
    g = np.where(passes, dy, other)
    return from_compute(_blend(g, old_bits, dtype, alpha, beta), dtype)


# ---------------------------------------------------------------------------------------------
# Test data: special values mixed into random data
# ---------------------------------------------------------------------------------------------
_SPECIAL_F32 = [
    0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00800000,
    0x80800000, 0x3F800000, 0xBF800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000,
    0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF812345, 0x7FA00000, 0x7FBFFFFF, 0x40C00000,
    0x40BFFFFF, 0x40C00001, 0x3DCCCCCD, 0x3DCCCCCC, 0x3DCCCCCE, 0x33800000, 0x33000000,
    0x387FE000, 0x38800000, 0x477FF000, 0x477FEFFF, 0x3F801000, 0x3F803000, 0x3F808000,
    0xC2C80000, 0x42C80000, 0x1E3CE508, 0x9E3CE508,
]  # fmt: skip
_SPECIAL_F64 = [
    0x0, 1 << 63, 0x1, (1 << 63) | 1, 0x000FFFFFFFFFFFFF, 0x0010000000000000,
    0x3FF0000000000000, 0xBFF0000000000000, 0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF,
    0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000,
    0x7FF0000000000001, 0xFFF4000000000123, 0x4018000000000000, 0x4017FFFFFFFFFFFF,
    0x4018000000000001, 0x3FB99999A0000000, 0x3FB999999999999A, 0x36A0000000000000,
]  # fmt: skip


def sample(dtype, n, seed):
    """n elements (as storage bits) of dtype: every bit pattern for 16-bit types when n is
    large enough, else the special values first, then random bits and random numbers near
    zero and near the ceilings, shuffled."""
    rng = np.random.default_rng(seed)
    bits_t = BITS[dtype]
    if dtype in ("f16", "bf16"):
        every = np.arange(65536, dtype=np.uint32).astype(np.uint16)
        if n >= 65536:
            out = np.concatenate([every, rng.integers(0, 65536, n - 65536, dtype=np.uint16)])
        else:
            out = rng.choice(every, n, replace=False)
        rng.shuffle(out)
        return out.astype(np.uint16)
    special = np.array(_SPECIAL_F64 if dtype == "f64" else _SPECIAL_F32, dtype=bits_t)
    ct = compute_type(dtype)
    k = max(n - len(special), 0)
    rand_bits = rng.integers(0, np.iinfo(bits_t).max, k // 2, dtype=bits_t, endpoint=True)
    near = rng.normal(0.0, 4.0, k - k // 2).astype(ct).view(bits_t)
    out = np.concatenate([special, rand_bits, near])[:n]
    rng.shuffle(out)
    return out


def as_array(bits, dtype):
    """Storage bits as the numpy array clrelu takes (bf16 stays uint16)."""
    return bits.copy().view(NUMPY[dtype])


def bits_of(arr, dtype):
    return np.ascontiguousarray(arr).view(BITS[dtype])


# ---------------------------------------------------------------------------------------------
# The bias epilogue: s = x + bias in the compute type, then the table; dbias sums columns
# ---------------------------------------------------------------------------------------------
def bias_sum(x_bits, bias_bits, dtype):
    """x + bias[c], rounded once in the compute type: a NaN x passes with its bits, else a NaN
    bias, and a NaN the addition makes (inf - inf) is canonical."""
    x = to_compute(x_bits, dtype)
    b = np.broadcast_to(to_compute(bias_bits, dtype)[None, :], x.shape)
    with np.errstate(all="ignore"):
        r = _canon(x + b, dtype)
    return np.where(np.isnan(x), x, np.where(np.isnan(b), b, r))


def _forward_values(op, dtype, x, slope, ceiling, alpha, beta, old_bits):
    c = _scalar(ceiling, dtype)
    pos = np.minimum(x, c) if op == "clipped_relu" else x
    neg = _mul(np.float32(slope), x, dtype) if op == "leaky_relu" else np.zeros_like(x)
    t = np.where(np.isnan(x), x, np.where(x > 0, pos, neg))
    return from_compute(_blend(t, old_bits, dtype, alpha, beta), dtype)


def bias_forward(op, dtype, x_bits, bias_bits, slope=0.01, ceiling=6.0, alpha=1.0, beta=0.0,
                 old_bits=None):  # fmt: skip
    s = bias_sum(x_bits, bias_bits, dtype)
    return _forward_values(op, dtype, s, slope, ceiling, alpha, beta, old_bits)


def bias_backward(op, dtype, dy_bits, src_bits, bias_bits, grad_from="x", slope=0.01,
                  ceiling=6.0, alpha=1.0, beta=0.0, old_dx=None, old_dbias=None):  # fmt: skip
    """(dx bits, dbias bits). dbias: column sums of the unblended gradient, in the compute
    type, each block of 256 rows from +0 in row order, then the blocks from +0 in order."""
    dy = to_compute(dy_bits, dtype)
    c = _scalar(ceiling, dtype)
    if grad_from == "y":
        stored_c = to_compute(from_compute(np.array([c]), dtype), dtype)[0]
        passes = _pass(op, to_compute(src_bits, dtype), stored_c)
    else:
        passes = _pass(op, bias_sum(src_bits, bias_bits, dtype), c)
    other = _mul(np.float32(slope), dy, dtype) if op == "leaky_relu" else np.zeros_like(dy)
    g = np.where(passes, dy, other)
    dx = from_compute(_blend(g, old_dx, dtype, alpha, beta), dtype)
    rows, cols = g.shape
    total = np.zeros(cols, compute_type(dtype))
    with np.errstate(all="ignore"):
        for b0 in range(0, rows, 256):
            block = np.zeros(cols, compute_type(dtype))
            for r in range(b0, min(b0 + 256, rows)):
                block = block + g[r]
            total = total + block
    dbias = from_compute(_blend(_canon(total, dtype), old_dbias, dtype, alpha, beta), dtype)
    return dx, dbias


# ---------------------------------------------------------------------------------------------
# Tensors with channels: s = (x + bias[c]) + z, then the table (PReLU: slope a[c]); sums per
# channel over k = o * inner + i, blocks of 256 k from +0, then the blocks from +0
# ---------------------------------------------------------------------------------------------
def _add_nan_first(a, b, dtype):
    """a + b rounded once; a NaN a passes, else a NaN b, else a made NaN is canonical."""
    with np.errstate(all="ignore"):
        r = _canon(a + b, dtype)
    return np.where(np.isnan(a), a, np.where(np.isnan(b), b, r))


def residual_sum(x_bits, bias_bits, z_bits, dtype):
    """x, z: (outer, channels, inner) bits; bias: (channels,) bits or None; z None or bits."""
    s = to_compute(x_bits, dtype)
    if bias_bits is not None:
        b = np.broadcast_to(to_compute(bias_bits, dtype)[None, :, None], s.shape)
        s = _add_nan_first(s, b, dtype)
    if z_bits is not None:
        s = _add_nan_first(s, to_compute(z_bits, dtype), dtype)
    return s


def _channel_slopes(op, dtype, slope, slopes_bits, shape):
    if op == "prelu":
        a = to_compute(slopes_bits, dtype)[None, :, None]
    else:
        a = np.full((1, shape[1], 1), _scalar(slope, dtype), compute_type(dtype))
    return np.broadcast_to(a, shape)


def _times(a, v, dtype):
    with np.errstate(all="ignore"):
        return _canon(a * v, dtype)


def residual_forward(op, dtype, x_bits, bias_bits=None, z_bits=None, slopes_bits=None,
                     slope=0.01, ceiling=6.0, alpha=1.0, beta=0.0, old_bits=None):  # fmt: skip
    s = residual_sum(x_bits, bias_bits, z_bits, dtype)
    if op != "prelu":
        return _forward_values(op, dtype, s, slope, ceiling, alpha, beta, old_bits)
    neg = _times(_channel_slopes(op, dtype, slope, slopes_bits, s.shape), s, dtype)
    t = np.where(np.isnan(s), s, np.where(s > 0, s, neg))
    return from_compute(_blend(t, old_bits, dtype, alpha, beta), dtype)


def _channel_sums(v, dtype):
    """Per channel of v (outer, channels, inner), over k = o * inner + i in order."""
    ct = compute_type(dtype)
    seq = np.ascontiguousarray(v.transpose(1, 0, 2).reshape(v.shape[1], -1))
    total = np.zeros(v.shape[1], ct)
    with np.errstate(all="ignore"):
        for k0 in range(0, seq.shape[1], 256):
            block = np.zeros(v.shape[1], ct)
            for k in range(k0, min(k0 + 256, seq.shape[1])):
                block = block + seq[:, k]
            total = total + block
    return _canon(total, dtype)


def residual_backward(op, dtype, dy_bits, src_bits, bias_bits=None, z_bits=None,
                      slopes_bits=None, grad_from="x", slope=0.01, ceiling=6.0, alpha=1.0,
                      beta=0.0, old_dx=None, old_dbias=None, old_dslopes=None):  # fmt: skip
    """(dx, dbias, dslopes) as bits (dslopes None unless prelu)."""
    dy = to_compute(dy_bits, dtype)
    c = _scalar(ceiling, dtype)
    if grad_from == "y":
        s = to_compute(src_bits, dtype)
        c = to_compute(from_compute(np.array([c]), dtype), dtype)[0]
    else:
        s = residual_sum(src_bits, bias_bits, z_bits, dtype)
    passes = (s > 0) if op == "prelu" else _pass(op, s, c)
    if op in ("prelu", "leaky_relu"):
        other = _times(_channel_slopes(op, dtype, slope, slopes_bits, dy.shape), dy, dtype)
    else:
        other = np.zeros_like(dy)
    g = np.where(passes, dy, other)
    dx = from_compute(_blend(g, old_dx, dtype, alpha, beta), dtype)
    dbias = from_compute(_blend(_channel_sums(g, dtype), old_dbias, dtype, alpha, beta), dtype)
    dslopes = None
    if op == "prelu":
        prod = np.where(passes, compute_type(dtype)(0), _times(s, dy, dtype))
        dslopes = from_compute(_blend(_channel_sums(prod, dtype), old_dslopes, dtype, alpha,
                                      beta), dtype)  # fmt: skip
    return dx, dbias, dslopes


def finite(dtype, n, seed):
    """n finite numbers near 0 and the ceilings (as storage bits): sums of them show the
    order of the additions, which one NaN among the specials would hide."""
    v = np.random.default_rng(seed).normal(0.0, 3.0, n)
    if dtype == "f64":
        return v.view(np.uint64).copy()
    return from_compute(v.astype(np.float32), dtype)
