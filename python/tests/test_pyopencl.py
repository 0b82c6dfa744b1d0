# SPDX-License-Identifier: Apache-2.0
"""PyOpenCL memory: the same calls on pyopencl.array.Array (offsets from the array) and
pyopencl.Buffer (element offsets), bit for bit against reference.py on every OpenCL device;
chaining with PyOpenCL kernels and copies through wait_for and the returned events; the
reference counts of a wrapped context and queue, of buffers and events, and the process's
memory over many calls."""

import gc

import numpy as np
import pytest

import clrelu
import reference as ref

cl = pytest.importorskip("pyopencl", reason="pyopencl is not installed")
import pyopencl.array as cla  # noqa: E402

from conftest import OPENCL  # noqa: E402
from test_host import DTYPES, OPS, assert_bits_equal, call_dtype  # noqa: E402

NUMPY_OF = {"f32": np.float32, "f16": np.float16, "bf16": np.uint16, "f64": np.float64}
PAD = 5  # elements before and after each operand: offsets that are not 0 nor aligned


def device_array(queue, bits, dtype):
    """An Array view at element offset PAD of a larger array whose padding holds a sentinel, so
    a write outside [PAD, PAD + n) shows."""
    n = bits.size
    host = np.full(n + 2 * PAD, 0x5A5A5A5A5A5A5A5A, dtype=np.uint64).astype(ref.BITS[dtype])
    host[PAD:PAD + n] = bits
    whole = cla.to_device(queue, host.view(NUMPY_OF[dtype]))
    return whole, whole[PAD:PAD + n]


def padding_intact(whole, dtype):
    got = whole.get().view(ref.BITS[dtype])
    sentinel = np.array(0x5A5A5A5A5A5A5A5A, dtype=np.uint64).astype(ref.BITS[dtype])
    return bool(np.all(got[:PAD] == sentinel) and np.all(got[-PAD:] == sentinel))


def skip_without_fp64(ctx, dtype):
    if dtype == "f64" and not ctx.info.has_fp64:
        pytest.skip("the device has no cl_khr_fp64 (test_host checks the refusal)")


PARAMS = dict(slope=0.25, ceiling=0.1, alpha=2.5, beta=0.0)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_arrays__forward_mask_and_backward_match_reference(cl_env, dtype, op):
    ctx, _, queue = cl_env
    skip_without_fp64(ctx, dtype)
    n = 4099 if dtype in ("f32", "f64") else 65536 + 37
    x_bits = ref.sample(dtype, n, 21)
    dy_bits = ref.sample(dtype, n, 22)
    x_whole, x = device_array(queue, x_bits, dtype)
    y_whole, y = device_array(queue, np.zeros(n, ref.BITS[dtype]), dtype)
    mask = cla.zeros(queue, clrelu.mask_words(n) + 1, np.uint32)[1:]  # offset 1 word
    evt = ctx.forward_mask(x, y, mask, op=op, dtype=call_dtype(dtype), **PARAMS)
    assert isinstance(evt, cl.Event)
    evt.wait()
    y_bits = y.get().view(ref.BITS[dtype])
    assert_bits_equal(y_bits, ref.forward(op, dtype, x_bits, **PARAMS), f"{op} {dtype} y")
    assert_bits_equal(mask.get(), ref.mask(op, dtype, x_bits, PARAMS["ceiling"]), "mask")
    assert padding_intact(y_whole, dtype)
    for grad_from, src, src_ref in (("x", x, x_bits), ("y", y, y_bits),
                                    ("mask", mask, mask.get())):  # fmt: skip
        dx_whole, dx = device_array(queue, np.zeros(n, ref.BITS[dtype]), dtype)
        _, dy = device_array(queue, dy_bits, dtype)
        ctx.backward(dy, src, dx, grad_from=grad_from, op=op, dtype=call_dtype(dtype),
                     **PARAMS).wait()  # fmt: skip
        expected = ref.backward(op, dtype, dy_bits, src_ref, grad_from, **PARAMS)
        assert_bits_equal(dx.get().view(ref.BITS[dtype]), expected, f"backward from {grad_from}")
        assert padding_intact(dx_whole, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_buffers__element_offsets_and_blending(cl_env, dtype):
    ctx, context, queue = cl_env
    skip_without_fp64(ctx, dtype)
    n, x_off, y_off = 1000, 3, 17
    item = np.dtype(ref.BITS[dtype]).itemsize
    x_bits, old_bits = ref.sample(dtype, n, 31), ref.sample(dtype, n, 32)
    mf = cl.mem_flags
    xb = cl.Buffer(context, mf.READ_WRITE, (n + x_off) * item)
    yb = cl.Buffer(context, mf.READ_WRITE, (n + y_off) * item)
    cl.enqueue_copy(queue, xb, x_bits, dst_offset=x_off * item)
    cl.enqueue_copy(queue, yb, old_bits, dst_offset=y_off * item)
    blend = dict(slope=0.01, ceiling=6.0, alpha=0.5, beta=1.5)
    evt = ctx.forward(xb, yb, op="leaky_relu", dtype=dtype, n=n, x_off=x_off, out_off=y_off,
                      **blend)  # fmt: skip
    got = np.empty(n, ref.BITS[dtype])
    cl.enqueue_copy(queue, got, yb, src_offset=y_off * item, wait_for=[evt])
    expected = ref.forward("leaky_relu", dtype, x_bits, old_bits=old_bits, **blend)
    assert_bits_equal(got, expected, f"{dtype} buffers")


def test_chaining__pyopencl_kernel_before_and_after(cl_env):
    """fill x with a kernel -> clrelu forward -> scale with a kernel -> copy back, each step
    ordered only by the events (on an out-of-order queue when the device has one)."""
    ctx, context, in_order = cl_env
    device = context.devices[0]
    ooo = cl.command_queue_properties.OUT_OF_ORDER_EXEC_MODE_ENABLE
    queue = in_order
    if device.queue_properties & ooo:
        queue = cl.CommandQueue(context, properties=ooo)
    octx = clrelu.Context.wrap(context, queue)
    prg = cl.Program(context, """
        __kernel void fill(__global float *x) { size_t i = get_global_id(0);
            x[i] = (float)i - 2048.0f; }
        __kernel void twice(__global float *y) { size_t i = get_global_id(0);
            y[i] = 2.0f * y[i]; }""").build()  # fmt: skip
    n = 4096
    x = cla.empty(queue, n, np.float32)
    y = cla.empty(queue, n, np.float32)
    for _ in range(3):
        filled = prg.fill(queue, (n,), None, x.data)
        relu = octx.forward(x.data, y.data, dtype="f32", n=n, wait_for=[filled])
        scaled = prg.twice(queue, (n,), None, y.data, wait_for=[relu])
        host = np.empty(n, np.float32)
        cl.enqueue_copy(queue, host, y.data, wait_for=[scaled], is_blocking=True)
        expected = 2.0 * np.maximum(np.arange(n, dtype=np.float32) - 2048.0, 0)
        assert np.array_equal(host, expected)
        assert relu.command_execution_status == cl.command_execution_status.COMPLETE
    # Arrays carry their events: forward waits for the fill, y.get() for the op.
    x.fill(-1.0)  # not waited for: forward waits for x.events
    octx.forward(x, y, op="leaky_relu", slope=0.5)
    assert np.all(y.get() == -0.5)
    octx.close()


def test_events__returned_event_is_owned_by_the_caller(cl_env):
    ctx, _, queue = cl_env
    x = cla.to_device(queue, np.ones(100, np.float32))
    evt = ctx.forward(x, x)
    ctx.forward(x, x)  # PoCL holds a reference on a queue's last event: make evt not last
    queue.finish()
    assert evt.get_info(cl.event_info.REFERENCE_COUNT) == 1
    assert evt.get_info(cl.event_info.COMMAND_QUEUE) == queue
    empty = ctx.forward(x, x, n=0)  # n = 0 still returns a (marker) event
    empty.wait()


def refcount(obj, info):
    return obj.get_info(info.REFERENCE_COUNT)


def settle(queue):
    """Leaves a completed marker, no longer referenced, as the queue's last command: PoCL
    keeps a reference on a queue's last event (which holds the queue) and drops references to
    completed events a little later, so counts compare only between equal, settled states."""
    for _ in range(2):
        cl.enqueue_marker(queue).wait()
        queue.finish()
    gc.collect()


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.parametrize("spec", OPENCL)
def test_refcounts__wrap_retains_once_and_close_releases_once(spec):
    p, d = map(int, spec.split(":"))
    context = cl.Context([cl.get_platforms()[p].get_devices()[d]])
    queue = cl.CommandQueue(context)
    x = cla.to_device(queue, np.linspace(-1, 1, 1024, dtype=np.float32))
    y = cla.empty_like(x)
    settle(queue)
    # Counted after PyOpenCL made its arrays (it keeps a reference of its own per context).
    c0, q0 = refcount(context, cl.context_info), refcount(queue, cl.command_queue_info)
    ctx = clrelu.Context.wrap(context, queue)
    assert refcount(context, cl.context_info) == c0 + 1
    assert refcount(queue, cl.command_queue_info) == q0 + 1
    m0 = refcount(x.base_data, cl.mem_info), refcount(y.base_data, cl.mem_info)

    def calls(k):
        for _ in range(k):
            ctx.forward(x, y).wait()
            ctx.backward(x, x, y).wait()
            y.events.clear()  # what pyopencl's Array keeps; the events are ours to drop
        settle(queue)

    calls(200)  # warm: programs built, pools filled
    # Programs, kernels and buffers hold the context too (in the driver): count from here.
    c1, q1 = refcount(context, cl.context_info), refcount(queue, cl.command_queue_info)
    before = rss_bytes()
    calls(1000)
    grown = rss_bytes() - before
    assert grown < 4 << 20, f"the process grew by {grown} bytes over 1000 calls"
    assert refcount(context, cl.context_info) == c1
    assert refcount(queue, cl.command_queue_info) == q1
    assert (refcount(x.base_data, cl.mem_info), refcount(y.base_data, cl.mem_info)) == m0
    settle(queue)
    q_open = refcount(queue, cl.command_queue_info)
    ctx.close()
    ctx.close()  # a second close releases nothing
    settle(queue)
    assert refcount(context, cl.context_info) == c0
    # Exactly one reference dropped. (PoCL, after many calls, keeps one more on the queue for
    # a while, whoever enqueued: q0 itself is not reached again there.)
    assert refcount(queue, cl.command_queue_info) == q_open - 1


def test_own_context__exposes_its_pyopencl_context_and_queue():
    if not OPENCL:
        pytest.skip("no OpenCL device")
    with clrelu.Context(OPENCL[0]) as ctx:
        queue = ctx.pyopencl_queue
        assert queue.context == ctx.pyopencl_context
        x = cla.to_device(queue, np.array([-2, -0.0, 3, np.inf], np.float32))
        ctx.forward(x, x, op="clipped_relu", ceiling=2.5)
        assert x.get().view(np.uint32).tolist() == \
            np.array([0, 0, 2.5, 2.5], np.float32).view(np.uint32).tolist()
    with clrelu.Context("cpu") as ctx:
        assert ctx.pyopencl_context is None and ctx.pyopencl_queue is None
