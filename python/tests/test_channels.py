# SPDX-License-Identifier: Apache-2.0
"""PReLU and the residual epilogue on tensors with channels (channels first and channels last):
numpy arrays on the CPU path and pyopencl Arrays on every OpenCL device, bit for bit against
reference.py, dbias and dslopes included."""

import numpy as np
import pytest

import clrelu
import reference as ref
from test_host import DTYPES, assert_bits_equal, call_dtype

OPS = ["relu", "leaky_relu", "clipped_relu", "prelu"]
SHAPES = {"nchw": ((3, 5, 300), False), "nhwc": ((700, 7), True)}  # 900 and 700 k per channel
KW = dict(slope=0.25, ceiling=0.1, alpha=0.5, beta=1.5)


def layout3(shape, channels_last):
    """The (outer, channels, inner) view of a tensor of shape as the call reads it."""
    return (int(np.prod(shape[:-1])), shape[-1], 1) if channels_last else \
        (shape[0], shape[1], int(np.prod(shape[2:])))


def case(dtype, shape_key, seed, data="specials"):
    shape, last = SHAPES[shape_key]
    o, c, i = layout3(shape, last)
    draw = ref.finite if data == "finite" else ref.sample
    t = lambda k: draw(dtype, o * c * i, seed + k)  # noqa: E731
    v = lambda k: ref.sample(dtype, c, seed + k)  # noqa: E731
    return shape, last, (o, c, i), dict(x=t(0), z=t(1), dy=t(2), old=t(3), bias=v(4),
                                        slopes=v(5), old_db=v(6), old_ds=v(7))  # fmt: skip


@pytest.mark.parametrize("data", ["specials", "finite"])
@pytest.mark.parametrize("with_bias_z", [True, False], ids=["bias-z", "plain"])
@pytest.mark.parametrize("shape_key", list(SHAPES))
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_channels_host__match_reference(dtype, op, shape_key, with_bias_z, data):
    shape, last, lay, d = case(dtype, shape_key, 70, data)
    arr = lambda bits: ref.as_array(bits, dtype).reshape(shape)  # noqa: E731
    vec = lambda bits: ref.as_array(bits, dtype)  # noqa: E731
    r3 = lambda bits: bits.reshape(lay)  # noqa: E731
    bias = d["bias"] if with_bias_z else None
    z = d["z"] if with_bias_z else None
    slopes = d["slopes"] if op == "prelu" else None
    cd = call_dtype(dtype)
    with clrelu.Context("cpu") as ctx:
        y = ctx.residual_forward(arr(d["x"]), None if bias is None else vec(bias),
                                 None if z is None else arr(z),
                                 None if slopes is None else vec(slopes), arr(d["old"]), op=op,
                                 channels_last=last, dtype=cd, **KW)  # fmt: skip
        expected = ref.residual_forward(op, dtype, r3(d["x"]), bias, None if z is None else
                                        r3(z), slopes, old_bits=r3(d["old"]), **KW)  # fmt: skip
        assert_bits_equal(ref.bits_of(y, dtype).ravel(), expected.ravel(), "residual_forward")
        dbias, dslopes = vec(d["old_db"]), vec(d["old_ds"]) if op == "prelu" else None
        dx, db, ds = ctx.residual_backward(
            arr(d["dy"]), arr(d["x"]), None if bias is None else vec(bias),
            None if z is None else arr(z), None if slopes is None else vec(slopes),
            arr(d["old"]), dbias, dslopes, op=op, channels_last=last, dtype=cd, **KW)  # fmt: skip
        e_dx, e_db, e_ds = ref.residual_backward(
            op, dtype, r3(d["dy"]), r3(d["x"]), bias, None if z is None else r3(z), slopes,
            old_dx=r3(d["old"]), old_dbias=d["old_db"], old_dslopes=d["old_ds"], **KW)  # fmt: skip
        assert_bits_equal(ref.bits_of(dx, dtype).ravel(), e_dx.ravel(), "dx")
        assert_bits_equal(ref.bits_of(db, dtype), e_db, "dbias")
        if op == "prelu":
            assert_bits_equal(ref.bits_of(ds, dtype), e_ds, "dslopes")


@pytest.mark.parametrize("dtype", DTYPES)
def test_prelu_host__shortcuts_and_one_shared_slope(dtype):
    x_bits = ref.sample(dtype, 4000, 80)
    a_bits = ref.sample(dtype, 1, 81) if dtype != "f32" else \
        np.array([0.25], np.float32).view(np.uint32)
    with clrelu.Context("cpu") as ctx:
        y = ctx.prelu_forward(ref.as_array(x_bits, dtype).reshape(4000, 1),
                              ref.as_array(a_bits, dtype), channels_last=True,
                              dtype=call_dtype(dtype))  # fmt: skip
        expected = ref.residual_forward("prelu", dtype, x_bits.reshape(4000, 1, 1),
                                        slopes_bits=a_bits)  # fmt: skip
        assert_bits_equal(ref.bits_of(y, dtype).ravel(), expected.ravel(), "prelu one slope")
        with pytest.raises(clrelu.InvalidArgument, match="slopes: expected 1"):
            ctx.prelu_forward(ref.as_array(x_bits, dtype).reshape(4000, 1),
                              ref.as_array(np.zeros(2, ref.BITS[dtype]), dtype),
                              channels_last=True, dtype=call_dtype(dtype))  # fmt: skip


@pytest.mark.parametrize("op", ["leaky_relu", "prelu"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_channels_device__match_reference(cl_env, dtype, op):
    import pyopencl.array as cla

    ctx, _, queue = cl_env
    if dtype == "f64" and not ctx.info.has_fp64:
        pytest.skip("the device has no cl_khr_fp64")
    shape, last, lay, d = case(dtype, "nchw", 90, "finite")
    dev = lambda bits, s=None: cla.to_device(  # noqa: E731
        queue, ref.as_array(bits, dtype).reshape(s if s else bits.shape))
    slopes = d["slopes"] if op == "prelu" else None
    cd = call_dtype(dtype)
    y = dev(d["old"], shape)
    ctx.residual_forward(dev(d["x"], shape), dev(d["bias"]), dev(d["z"], shape),
                         None if slopes is None else dev(slopes), y, op=op, dtype=cd, **KW)
    expected = ref.residual_forward(op, dtype, d["x"].reshape(lay), d["bias"],
                                    d["z"].reshape(lay), slopes, old_bits=d["old"].reshape(lay),
                                    **KW)  # fmt: skip
    assert_bits_equal(ref.bits_of(y.get(), dtype).ravel(), expected.ravel(), "forward")
    dx, db = dev(d["old"], shape), dev(d["old_db"])
    ds = dev(d["old_ds"]) if op == "prelu" else None
    evt = ctx.residual_backward(dev(d["dy"], shape), dev(d["x"], shape), dev(d["bias"]),
                                dev(d["z"], shape), None if slopes is None else dev(slopes), dx,
                                db, ds, op=op, dtype=cd, **KW)  # fmt: skip
    evt.wait()
    e_dx, e_db, e_ds = ref.residual_backward(
        op, dtype, d["dy"].reshape(lay), d["x"].reshape(lay), d["bias"], d["z"].reshape(lay),
        slopes, old_dx=d["old"].reshape(lay), old_dbias=d["old_db"], old_dslopes=d["old_ds"],
        **KW)  # fmt: skip
    assert_bits_equal(ref.bits_of(dx.get(), dtype).ravel(), e_dx.ravel(), "dx")
    assert_bits_equal(ref.bits_of(db.get(), dtype), e_db, "dbias")
    if op == "prelu":
        assert_bits_equal(ref.bits_of(ds.get(), dtype), e_ds, "dslopes")
