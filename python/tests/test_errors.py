# SPDX-License-Identifier: Apache-2.0
"""Errors: every C status is a clrelu.Error subclass with the status name and the C message;
bad Python arguments (non-contiguous, misaligned, wrong dtype) are InvalidArgument, never a
wrong answer; the structs mirror the C ABI."""

import ctypes

import numpy as np
import pytest

import clrelu
from clrelu import _capi


def test_status__every_code_has_its_class_and_name():
    for status, name in _capi.STATUSES[1:]:
        assert _capi.status_name(status).decode() == name
        cls = clrelu._ERRORS[status]
        assert issubclass(cls, clrelu.Error) and cls.name == name and cls.status == status


def test_abi__struct_sizes_are_those_the_library_accepts():
    desc = _capi.Desc()
    assert _capi.desc_init(ctypes.byref(desc), ctypes.sizeof(desc), 0, 0) == 0
    assert desc.struct_size == ctypes.sizeof(desc) and desc.alpha == 1.0
    assert desc.negative_slope == np.float32(0.01) and desc.ceiling == 6.0
    assert _capi.desc_init(ctypes.byref(desc), ctypes.sizeof(desc) - 1, 0, 0) == -1
    with clrelu.Context("cpu") as ctx:
        info = _capi.ContextInfo()
        assert _capi.context_get_info(ctx._handle, ctypes.byref(info), ctypes.sizeof(info)) == 0
        assert info.cpu_isa.decode() == ctx.info.cpu_isa != ""
        assert _capi.context_get_info(ctx._handle, ctypes.byref(info), 16) == -1
    lay = _capi.Layout()
    assert _capi.layout_init(ctypes.byref(lay), ctypes.sizeof(lay), 2, 3, 5) == 0
    assert (lay.struct_size, lay.outer, lay.channels, lay.inner, lay.pitch) == \
        (ctypes.sizeof(lay), 2, 3, 5, 15)
    assert _capi.layout_init(ctypes.byref(lay), ctypes.sizeof(lay) + 8, 2, 3, 5) == -1
    assert clrelu.mask_words(33) == 2 and clrelu.mask_words(0) == 0


def test_context__unknown_device_is_device_not_found():
    with pytest.raises(clrelu.DeviceNotFound) as e:
        clrelu.Context("no-such-device-xyz")
    assert e.value.name == "CLRELU_ERROR_DEVICE_NOT_FOUND"
    assert "no-such-device-xyz" in e.value.message and e.value.status == -6


def test_context__device_host_path_on_the_cpu_path_is_no_device():
    with pytest.raises(clrelu.NoDevice):
        clrelu.Context("cpu", host_path="device")


def test_context__auto_host_path_runs_on_the_cpu_path_alone():
    with clrelu.Context("cpu", host_path="auto") as ctx:
        assert ctx.host_path == "auto"
        x = np.array([-1.5, 2.0, -4.0, 3.0], np.float32)
        assert ctx.forward(x).tobytes() == np.array([0.0, 2.0, 0.0, 3.0], np.float32).tobytes()
        with pytest.raises(clrelu.InvalidArgument, match="'cpu', 'device' or 'auto'"):
            ctx.host_path = "sideways"


def test_host__bad_arrays_are_invalid_argument():
    with clrelu.Context("cpu") as ctx:
        x = np.zeros(64, np.float32)
        with pytest.raises(clrelu.InvalidArgument, match="x: the array is not C-contiguous"):
            ctx.forward(x[::2])
        raw = np.zeros(4 * 64 + 1, np.uint8)[1:].view(np.float32)  # misaligned by 1 byte
        with pytest.raises(clrelu.InvalidArgument, match="not aligned"):
            ctx.forward(raw)
        with pytest.raises(clrelu.InvalidArgument, match="dtype='bf16'"):
            ctx.forward(np.zeros(4, np.uint16))
        with pytest.raises(clrelu.InvalidArgument, match="int32"):
            ctx.forward(np.zeros(4, np.int32))
        with pytest.raises(clrelu.InvalidArgument, match="out: expected 64"):
            ctx.forward(x, np.zeros(63, np.float32))
        with pytest.raises(clrelu.InvalidArgument, match="op"):
            ctx.forward(x, op="gelu")
        ro = np.zeros(64, np.float32)
        ro.flags.writeable = False
        with pytest.raises(clrelu.InvalidArgument, match="read-only"):
            ctx.forward(x, ro)
        with pytest.raises(clrelu.InvalidArgument, match="mask"):
            ctx.backward(x, np.zeros(1, np.uint32), grad_from="mask")


def test_host__library_checks_come_back_with_the_c_message():
    with clrelu.Context("cpu") as ctx:
        x = np.zeros(64, np.float32)
        with pytest.raises(clrelu.InvalidArgument) as e:  # overlapping, not in place
            ctx.forward(x[:32], x[16:48])
        assert e.value.name == "CLRELU_ERROR_INVALID_ARGUMENT" and "clrelu_forward_host" in \
            e.value.message
        with pytest.raises(clrelu.InvalidArgument, match="negative_slope"):
            ctx.backward(x, x, grad_from="y", op="leaky_relu", slope=0.0)
        with pytest.raises(clrelu.InvalidArgument, match="ceiling"):
            ctx.forward(x, op="clipped_relu", ceiling=-1.0)


def test_closed_context__is_an_error_not_a_crash():
    ctx = clrelu.Context("cpu")
    ctx.close()
    with pytest.raises(clrelu.InvalidArgument, match="closed"):
        ctx.forward(np.zeros(4, np.float32))


def test_device__wrong_context_and_missing_arguments():
    cl = pytest.importorskip("pyopencl", reason="pyopencl is not installed")
    from conftest import OPENCL

    if not OPENCL:
        pytest.skip("no OpenCL device")
    import pyopencl.array as cla

    with clrelu.Context(OPENCL[0]) as ctx:
        other = cl.CommandQueue(cl.Context([ctx.pyopencl_queue.device]))
        x = cla.zeros(other, 64, np.float32)
        with pytest.raises(clrelu.WrongContext) as e:
            ctx.forward(x, x)
        assert "clrelu_forward" in e.value.message
        mine = cla.zeros(ctx.pyopencl_queue, 64, np.float32)
        with pytest.raises(clrelu.InvalidArgument, match="out: required"):
            ctx.forward(mine)
        with pytest.raises(clrelu.InvalidArgument, match="dtype= is required"):
            ctx.forward(mine.data, mine.data, n=64)
        with pytest.raises(clrelu.OutOfBounds):
            ctx.forward(mine.data, mine.data, n=64, dtype="f32", x_off=1)


ABI_PROGRAM = r"""
#include <clrelu/clrelu.h>
#include <stddef.h>
#include <stdio.h>
#define F(s, f) printf(#s "." #f " %zu\n", offsetof(s, f))
int main(void) {
    printf("clrelu_desc %zu\nclrelu_context_info %zu\nclrelu_layout %zu\nclrelu_tensor %zu\n",
           sizeof(clrelu_desc), sizeof(clrelu_context_info), sizeof(clrelu_layout),
           sizeof(clrelu_tensor));
    F(clrelu_desc, op); F(clrelu_desc, dtype); F(clrelu_desc, negative_slope);
    F(clrelu_desc, ceiling); F(clrelu_desc, alpha); F(clrelu_desc, beta);
    F(clrelu_desc, grad_from);
    F(clrelu_context_info, id); F(clrelu_context_info, platform); F(clrelu_context_info, device);
    F(clrelu_context_info, driver); F(clrelu_context_info, cpu_isa);
    F(clrelu_context_info, compute_units); F(clrelu_context_info, global_mem);
    F(clrelu_context_info, max_alloc); F(clrelu_context_info, has_fp64);
    F(clrelu_context_info, platform_id); F(clrelu_context_info, device_id);
    F(clrelu_context_info, context); F(clrelu_context_info, queue);
    F(clrelu_layout, outer); F(clrelu_layout, channels); F(clrelu_layout, inner);
    F(clrelu_layout, pitch); F(clrelu_tensor, off); F(clrelu_tensor, n);
    return 0;
}
"""


def test_abi__structs_match_the_header_as_a_c_compiler_lays_them_out(tmp_path):
    """Sizes and offsets of every mirrored struct, from a C program compiled against the
    header (the repository's include/ and build/generated/include/)."""
    import os
    import shutil
    import subprocess

    cc = shutil.which("cc")
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
    version_h = os.path.join(root, "build", "generated", "include")
    if cc is None or not os.path.isdir(version_h):
        pytest.skip("no C compiler, or no build/ with the generated version header")
    src, exe = tmp_path / "abi.c", tmp_path / "abi"
    src.write_text(ABI_PROGRAM)
    subprocess.run([cc, "-I", os.path.join(root, "include"), "-I", version_h, str(src), "-o",
                    str(exe)], check=True)  # fmt: skip
    got = dict(line.rsplit(" ", 1) for line in subprocess.run(
        [str(exe)], check=True, capture_output=True, text=True).stdout.splitlines())  # fmt: skip
    structs = {"clrelu_desc": _capi.Desc, "clrelu_context_info": _capi.ContextInfo,
               "clrelu_layout": _capi.Layout, "clrelu_tensor": _capi.Tensor}  # fmt: skip
    for key, value in got.items():
        name, _, field = key.partition(".")
        mine = getattr(structs[name], field).offset if field else ctypes.sizeof(structs[name])
        assert mine == int(value), f"{key}: ctypes says {mine}, C says {value}"
    assert len(got) == 4 + 7 + 13 + 4 + 2
