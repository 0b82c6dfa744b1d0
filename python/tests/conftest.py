# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures: the devices to test (the CPU path and every OpenCL device present, as
"P:D" specs) and a context per device. CLRELU_LIBRARY and PYTHONPATH come from
tools/ci-python.sh (or docs/python.md)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


def opencl_specs():
    """ "P:D" for every OpenCL device, in the ICD loader's order (as clrelu numbers them)."""
    try:
        import pyopencl as cl

        platforms = cl.get_platforms()
    except Exception:  # no pyopencl, or no platform at all (clGetPlatformIDs fails)
        return []
    specs = []
    for p, platform in enumerate(platforms):
        try:
            devices = platform.get_devices()
        except Exception:
            continue
        specs += [f"{p}:{d}" for d in range(len(devices))]
    return specs


OPENCL = opencl_specs()
ALL = ["cpu"] + OPENCL


@pytest.fixture(scope="module", params=ALL)
def host_ctx(request):
    """A context whose numpy-array calls run on one device: the CPU path, or an OpenCL device
    through host_path="device" (write, run, read)."""
    import clrelu

    spec = request.param
    ctx = clrelu.Context(spec, host_path=None if spec == "cpu" else "device")
    yield ctx
    ctx.close()


@pytest.fixture(scope="module", params=OPENCL)
def cl_env(request):
    """A clrelu context wrapping a PyOpenCL context and queue of one OpenCL device."""
    import clrelu
    import pyopencl as cl

    p, d = map(int, request.param.split(":"))
    device = cl.get_platforms()[p].get_devices()[d]
    context = cl.Context([device])
    queue = cl.CommandQueue(context)
    ctx = clrelu.Context.wrap(context, queue)
    yield ctx, context, queue
    ctx.close()
