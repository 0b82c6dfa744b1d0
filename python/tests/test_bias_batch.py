# SPDX-License-Identifier: Apache-2.0
"""The bias epilogue on 2-D arrays with a pitch (numpy on the CPU path, pyopencl Arrays on
every OpenCL device) and batches of pyopencl Arrays, bit for bit against reference.py."""

import numpy as np
import pytest

import clrelu
import reference as ref
from conftest import OPENCL
from test_host import DTYPES, OPS, assert_bits_equal, call_dtype

ROWS, COLS, PITCH = 600, 37, 41  # three blocks of dbias rows; rows 41 elements apart
BLENDS = [dict(slope=0.01, ceiling=6.0, alpha=1.0, beta=0.0),
          dict(slope=0.25, ceiling=0.1, alpha=0.5, beta=1.5)]  # fmt: skip


def matrix(dtype, seed, data="specials"):
    """A (ROWS, PITCH) array of sample bits (the calls see its first COLS columns)."""
    draw = ref.finite if data == "finite" else ref.sample
    return draw(dtype, ROWS * PITCH, seed).reshape(ROWS, PITCH)


def on_device(ctx, dtype):
    if dtype == "f64" and not ctx.info.has_fp64:
        pytest.skip("the device has no cl_khr_fp64")


@pytest.mark.parametrize("data", ["specials", "finite"])
@pytest.mark.parametrize("blend", [0, 1], ids=["plain", "blend"])
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_host__forward_and_backward_match_reference(dtype, op, blend, data):
    kw = BLENDS[blend]
    x_w, dy_w, old_w = matrix(dtype, 41, data), matrix(dtype, 42, data), matrix(dtype, 43)
    bias_bits = ref.sample(dtype, COLS, 44)
    old_dbias = ref.sample(dtype, COLS, 45)
    cols = slice(0, COLS)
    x = ref.as_array(x_w, dtype)[:, cols]
    bias = ref.as_array(bias_bits, dtype)
    with clrelu.Context("cpu") as ctx:
        y_whole = ref.as_array(old_w, dtype)
        y = ctx.bias_forward(x, bias, y_whole[:, cols], op=op, dtype=call_dtype(dtype), **kw)
        expected = ref.bias_forward(op, dtype, x_w[:, cols], bias_bits, old_bits=old_w[:, cols],
                                    **kw)  # fmt: skip
        assert_bits_equal(ref.bits_of(y, dtype).ravel(), expected.ravel(), "bias_forward")
        assert np.array_equal(ref.bits_of(y_whole, dtype)[:, COLS:], old_w[:, COLS:])
        for grad_from in ("x", "y"):
            if grad_from == "y" and op == "leaky_relu" and kw["slope"] == 0:
                continue
            src_bits = x_w[:, cols] if grad_from == "x" else ref.bits_of(y, dtype)
            dx_whole = ref.as_array(old_w, dtype)
            dbias = ref.as_array(old_dbias, dtype)
            dx, db = ctx.bias_backward(
                ref.as_array(dy_w, dtype)[:, cols], ref.as_array(src_bits, dtype),
                bias if grad_from == "x" else None, dx_whole[:, cols], dbias,
                grad_from=grad_from, op=op, dtype=call_dtype(dtype), **kw)  # fmt: skip
            assert db is dbias
            e_dx, e_db = ref.bias_backward(op, dtype, dy_w[:, cols], src_bits, bias_bits,
                                           grad_from, old_dx=old_w[:, cols],
                                           old_dbias=old_dbias, **kw)  # fmt: skip
            assert_bits_equal(ref.bits_of(dx, dtype).ravel(), e_dx.ravel(), f"dx from {grad_from}")
            assert_bits_equal(ref.bits_of(db, dtype), e_db, f"dbias from {grad_from}")


def test_bias_host__bad_shapes_are_invalid_argument():
    with clrelu.Context("cpu") as ctx:
        x = np.zeros((4, 8), np.float32)
        with pytest.raises(clrelu.InvalidArgument, match="2-D"):
            ctx.bias_forward(np.zeros(8, np.float32), np.zeros(8, np.float32))
        with pytest.raises(clrelu.InvalidArgument, match="columns are not adjacent"):
            ctx.bias_forward(x[:, ::2], np.zeros(4, np.float32))
        with pytest.raises(clrelu.InvalidArgument, match="bias: expected 8"):
            ctx.bias_forward(x, np.zeros(7, np.float32))
        with pytest.raises(clrelu.InvalidArgument, match="bias: required"):
            ctx.bias_backward(x, x)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_device__matches_reference(cl_env, dtype, op):
    import pyopencl.array as cla

    ctx, _, queue = cl_env
    on_device(ctx, dtype)
    kw = BLENDS[1]
    x_w, dy_w, old_w = matrix(dtype, 51, "finite"), matrix(dtype, 52, "finite"), matrix(dtype, 53)
    bias_bits, old_dbias = ref.sample(dtype, COLS, 54), ref.sample(dtype, COLS, 55)
    cols = slice(0, COLS)
    dev = lambda bits: cla.to_device(queue, ref.as_array(bits, dtype))  # noqa: E731
    x, y, bias = dev(x_w), dev(old_w), dev(bias_bits)
    ctx.bias_forward(x[:, cols], bias, y[:, cols], op=op, dtype=call_dtype(dtype), **kw)
    y_bits = ref.bits_of(y.get(), dtype)
    expected = ref.bias_forward(op, dtype, x_w[:, cols], bias_bits, old_bits=old_w[:, cols], **kw)
    assert_bits_equal(y_bits[:, cols].ravel(), expected.ravel(), "bias_forward")
    assert np.array_equal(y_bits[:, COLS:], old_w[:, COLS:])
    dx, dbias, dy = dev(old_w), dev(old_dbias), dev(dy_w)
    evt = ctx.bias_backward(dy[:, cols], x[:, cols], bias, dx[:, cols], dbias, op=op,
                            dtype=call_dtype(dtype), **kw)  # fmt: skip
    evt.wait()
    e_dx, e_db = ref.bias_backward(op, dtype, dy_w[:, cols], x_w[:, cols], bias_bits, "x",
                                   old_dx=old_w[:, cols], old_dbias=old_dbias, **kw)  # fmt: skip
    assert_bits_equal(ref.bits_of(dx.get(), dtype)[:, cols].ravel(), e_dx.ravel(), "dx")
    assert_bits_equal(ref.bits_of(dbias.get(), dtype), e_db, "dbias")


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_device__forward_and_backward_match_reference(cl_env, dtype):
    import pyopencl.array as cla

    ctx, _, queue = cl_env
    on_device(ctx, dtype)
    sizes = [1, 31, 32, 1000, 3, 4097]  # views of one arena, then two arrays of their own
    offsets = np.cumsum([7] + [s + 5 for s in sizes[:-1]])
    arena_n = int(offsets[-1] + sizes[-1] + 3)
    x_bits, dy_bits = ref.sample(dtype, arena_n, 61), ref.sample(dtype, arena_n, 62)
    dev = lambda bits: cla.to_device(queue, ref.as_array(bits, dtype))  # noqa: E731
    x, y, dy, dx = dev(x_bits), dev(np.zeros_like(x_bits)), dev(dy_bits), dev(np.zeros_like(x_bits))
    views = lambda a: [a[o:o + s] for o, s in zip(offsets, sizes)]  # noqa: E731
    extra_x, extra_y = dev(x_bits[:500]), dev(np.zeros_like(x_bits[:500]))
    kw = dict(op="leaky_relu", slope=0.25, dtype=call_dtype(dtype))
    evt = ctx.forward_batch(views(x) + [extra_x], views(y) + [extra_y], **kw)
    evt.wait()
    y_bits = ref.bits_of(y.get(), dtype)
    for o, s in zip(offsets, sizes):
        assert_bits_equal(y_bits[o:o + s], ref.forward("leaky_relu", dtype, x_bits[o:o + s],
                                                       slope=0.25), f"batch tensor at {o}")
    assert_bits_equal(ref.bits_of(extra_y.get(), dtype),
                      ref.forward("leaky_relu", dtype, x_bits[:500], slope=0.25), "extra")
    ctx.backward_batch(views(dy), views(y), views(dx), grad_from="y", **kw).wait()
    dx_bits = ref.bits_of(dx.get(), dtype)
    for o, s in zip(offsets, sizes):
        expected = ref.backward("leaky_relu", dtype, dy_bits[o:o + s], y_bits[o:o + s], "y",
                                slope=0.25)  # fmt: skip
        assert_bits_equal(dx_bits[o:o + s], expected, f"backward batch tensor at {o}")
    assert np.all(dx_bits[:offsets[0]] == 0)  # untouched between tensors
    with pytest.raises(clrelu.InvalidArgument, match="outs"):
        ctx.forward_batch(views(x), views(y)[:-1], **kw)


def test_batch__needs_arrays():
    if not OPENCL:
        pytest.skip("no OpenCL device")
    with clrelu.Context(OPENCL[0]) as ctx:
        with pytest.raises(clrelu.InvalidArgument, match="batches take"):
            ctx.forward_batch([np.zeros(4, np.float32)], [np.zeros(4, np.float32)])
