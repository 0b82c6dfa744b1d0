# SPDX-License-Identifier: Apache-2.0
"""numpy arrays: forward, forward_mask and backward (from x, y and the mask) on every dtype,
op and blending mode, bit for bit against the reference in reference.py, on the CPU path and
on every OpenCL device (through host_path="device"). 16-bit dtypes are tested on every bit
pattern; f32 and f64 on their special values mixed into random data."""

import numpy as np
import pytest

import clrelu
import reference as ref

DTYPES = ["f32", "f16", "bf16", "f64"]
OPS = ["relu", "leaky_relu", "clipped_relu"]
# slope, ceiling, alpha, beta: the defaults; slope 0 and a ceiling no 16-bit type holds; scaled;
# blended with the old output.
PARAMS = [(0.01, 6.0, 1.0, 0.0), (0.0, 0.1, 1.0, 0.0), (0.25, 0.1, 2.5, 0.0),
          (0.01, 6.0, 0.5, 1.5)]  # fmt: skip
N = {"f32": 4099, "f64": 2051, "f16": 65536 + 37, "bf16": 65536 + 37}


def kw(params):
    s, c, a, b = params
    return dict(slope=s, ceiling=c, alpha=a, beta=b)


def needs_fp64(ctx, dtype):
    """f64 on a device without cl_khr_fp64 must be refused; True when the case can run."""
    if dtype != "f64" or ctx.info.has_fp64:
        return True
    with pytest.raises(clrelu.Unsupported):
        ctx.forward(np.zeros(4), np.zeros(4))
    return False


def arrays(dtype, seed):
    n = N[dtype]
    return ref.sample(dtype, n, seed), ref.sample(dtype, n, seed + 1)


def call_dtype(dtype):
    return "bf16" if dtype == "bf16" else None


def assert_bits_equal(got, expected, what):
    bad = np.flatnonzero(got != expected)
    assert bad.size == 0, (f"{what}: {bad.size} elements differ, first at {bad[0]}: "
                           f"got {got[bad[0]]:#x}, expected {expected[bad[0]]:#x}")  # fmt: skip


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: "s%g-c%g-a%g-b%g" % p)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_forward__matches_reference_bitwise(host_ctx, dtype, op, params):
    if not needs_fp64(host_ctx, dtype):
        return
    x_bits, old_bits = arrays(dtype, 7)
    out = ref.as_array(old_bits, dtype)
    y = host_ctx.forward(ref.as_array(x_bits, dtype), out, op=op, dtype=call_dtype(dtype),
                         **kw(params))  # fmt: skip
    assert y is out
    expected = ref.forward(op, dtype, x_bits, old_bits=old_bits, **kw(params))
    assert_bits_equal(ref.bits_of(y, dtype), expected, f"{op} {dtype} forward")


@pytest.mark.parametrize("params", PARAMS[:3], ids=lambda p: "s%g-c%g-a%g-b%g" % p)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_mask__writes_y_and_the_mask(host_ctx, dtype, op, params):
    if not needs_fp64(host_ctx, dtype):
        return
    x_bits, _ = arrays(dtype, 11)
    y, mask = host_ctx.forward_mask(ref.as_array(x_bits, dtype), op=op,
                                    dtype=call_dtype(dtype), **kw(params))  # fmt: skip
    assert mask.dtype == np.uint32 and mask.size == clrelu.mask_words(x_bits.size)
    assert_bits_equal(ref.bits_of(y, dtype), ref.forward(op, dtype, x_bits, **kw(params)),
                      f"{op} {dtype} forward_mask y")  # fmt: skip
    assert_bits_equal(mask, ref.mask(op, dtype, x_bits, params[1]), f"{op} {dtype} mask")


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: "s%g-c%g-a%g-b%g" % p)
@pytest.mark.parametrize("grad_from", ["x", "y", "mask"])
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_backward__matches_reference_bitwise(host_ctx, dtype, op, grad_from, params):
    if not needs_fp64(host_ctx, dtype):
        return
    if grad_from == "y" and op == "leaky_relu" and params[0] == 0.0:
        return  # refused: test_errors covers it
    x_bits, dy_bits = arrays(dtype, 13)
    _, old_bits = arrays(dtype, 17)
    cpu = clrelu.Context("cpu")  # the sources come from the CPU path, checked above
    x = ref.as_array(x_bits, dtype)
    y, mask = cpu.forward_mask(x, op=op, dtype=call_dtype(dtype), **kw(params))
    cpu.close()
    src = {"x": x, "y": y, "mask": mask}[grad_from]
    src_ref = ref.bits_of(src, "f32" if grad_from == "mask" else dtype)
    out = ref.as_array(old_bits, dtype)
    dx = host_ctx.backward(ref.as_array(dy_bits, dtype), src, out, grad_from=grad_from, op=op,
                           dtype=call_dtype(dtype), **kw(params))  # fmt: skip
    assert dx is out
    expected = ref.backward(op, dtype, dy_bits, src_ref, grad_from, old_bits=old_bits,
                            **kw(params))  # fmt: skip
    assert_bits_equal(ref.bits_of(dx, dtype), expected, f"{op} {dtype} backward from {grad_from}")


def test_forward__in_place_and_any_shape(host_ctx):
    x_bits = ref.sample("f32", 3 * 5 * 7, 3)
    x = ref.as_array(x_bits, "f32").reshape(3, 5, 7)
    y = host_ctx.forward(x, x, op="leaky_relu")
    assert y is x and y.shape == (3, 5, 7)
    assert_bits_equal(ref.bits_of(y, "f32").ravel(), ref.forward("leaky_relu", "f32", x_bits),
                      "in place")  # fmt: skip


def test_forward__empty_array(host_ctx):
    assert host_ctx.forward(np.zeros(0, np.float32)).size == 0


def test_bf16__ml_dtypes_bfloat16_is_accepted():
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="ml_dtypes is not installed")
    x_bits = ref.sample("bf16", 1000, 5)
    with clrelu.Context("cpu") as ctx:
        y = ctx.forward(x_bits.view(ml_dtypes.bfloat16))
    assert y.dtype == ml_dtypes.bfloat16
    assert_bits_equal(y.view(np.uint16), ref.forward("relu", "bf16", x_bits), "bfloat16")
