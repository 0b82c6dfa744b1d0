# SPDX-License-Identifier: Apache-2.0
"""The C ABI of libclrelu through ctypes: where the library is found, the structs as
include/clrelu/clrelu.h lays them out, and the prototypes. Nothing here is public."""

import ctypes
import ctypes.util
import os
import sys

# The soname carries the minor while the version is 0.x.
_SONAMES = {
    "linux": ["libclrelu.so.0.1", "libclrelu.so"],
    "darwin": ["libclrelu.0.1.dylib", "libclrelu.dylib"],
    "win32": ["clrelu.dll"],
}


def _candidates():
    """Where the library is looked for, in order: CLRELU_LIBRARY (a file), next to this
    package (a wheel that bundles it), the build tree when the package is run from a source
    checkout (python/clrelu -> build/host), then the system's library path."""
    env = os.environ.get("CLRELU_LIBRARY")
    if env:
        yield env
        return
    names = _SONAMES.get(sys.platform, _SONAMES["linux"])
    here = os.path.dirname(os.path.abspath(__file__))
    build = os.path.join(here, os.pardir, os.pardir, "build", "host")
    for folder in (here, build):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.exists(path):
                yield path
    for name in names:
        yield name
    found = ctypes.util.find_library("clrelu")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as exc:
            tried.append(f"{path}: {exc}")
    raise ImportError(
        "clrelu: cannot load the C library libclrelu; set CLRELU_LIBRARY to its path "
        "(e.g. build/host/libclrelu.so.0.1) or install it. Tried:\n  " + "\n  ".join(tried)
    )


lib, library_path = _load()
library_path = os.path.normpath(library_path) if os.sep in library_path else library_path

c_size_t = ctypes.c_size_t
c_uint = ctypes.c_uint32  # cl_uint
c_ulong = ctypes.c_uint64  # cl_ulong
c_enum = ctypes.c_int  # the C enums here all fit an int
c_ptr = ctypes.c_void_p  # cl_mem, cl_event, cl_context, ... and host pointers

# The status codes, as CLRELU_STATUS_LIST in clrelu.h; a test checks them against
# clrelu_status_name().
STATUSES = [
    (0, "CLRELU_OK"),
    (-1, "CLRELU_ERROR_INVALID_ARGUMENT"),
    (-2, "CLRELU_ERROR_OUT_OF_BOUNDS"),
    (-3, "CLRELU_ERROR_SIZE_OVERFLOW"),
    (-4, "CLRELU_ERROR_WRONG_CONTEXT"),
    (-5, "CLRELU_ERROR_UNSUPPORTED"),
    (-6, "CLRELU_ERROR_DEVICE_NOT_FOUND"),
    (-7, "CLRELU_ERROR_ISA_UNAVAILABLE"),
    (-8, "CLRELU_ERROR_NO_DEVICE"),
    (-9, "CLRELU_ERROR_OUT_OF_MEMORY"),
    (-10, "CLRELU_ERROR_BUILD"),
    (-11, "CLRELU_ERROR_OPENCL"),
    (-12, "CLRELU_ERROR_DEVICE_AMBIGUOUS"),
]

OPS = {"relu": 0, "leaky_relu": 1, "leaky": 1, "clipped_relu": 2, "clipped": 2, "relu6": 2,
       "prelu": 3}
DTYPES = {"f32": 0, "f16": 1, "bf16": 2, "f64": 3}
GRAD_FROM = {"x": 0, "y": 1, "mask": 2}
HOST_PATHS = {"cpu": 0, "device": 1, "auto": 2}
DEVICE_KINDS = {0: "simd", 1: "gpu", 2: "cpu", 3: "accelerator"}


class Desc(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("op", c_enum),
        ("dtype", c_enum),
        ("negative_slope", ctypes.c_float),
        ("ceiling", ctypes.c_float),
        ("alpha", ctypes.c_float),
        ("beta", ctypes.c_float),
        ("grad_from", c_enum),
    ]


class ContextInfo(ctypes.Structure):
    _fields_ = [
        ("kind", c_enum),
        ("id", ctypes.c_char * 16),
        ("platform", ctypes.c_char * 128),
        ("device", ctypes.c_char * 128),
        ("driver", ctypes.c_char * 64),
        ("cpu_isa", ctypes.c_char * 16),
        ("compute_units", c_uint),
        ("global_mem", c_ulong),
        ("max_alloc", c_ulong),
        ("has_fp64", ctypes.c_int),
        ("platform_id", c_ptr),
        ("device_id", c_ptr),
        ("context", c_ptr),
        ("queue", c_ptr),
    ]


class Layout(ctypes.Structure):
    _fields_ = [("struct_size", c_size_t), ("outer", c_size_t), ("channels", c_size_t),
                ("inner", c_size_t), ("pitch", c_size_t)]  # fmt: skip


class Tensor(ctypes.Structure):
    _fields_ = [("mem", c_ptr), ("off", c_size_t), ("n", c_size_t)]


def _proto(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


_P = ctypes.POINTER
_st = c_enum
_sz = c_size_t

status_string = _proto("clrelu_status_string", ctypes.c_char_p, _st)
status_name = _proto("clrelu_status_name", ctypes.c_char_p, _st)
version = _proto("clrelu_version", ctypes.c_char_p)
context_create = _proto("clrelu_context_create", _st, _P(c_ptr), ctypes.c_char_p)
context_wrap = _proto("clrelu_context_wrap", _st, _P(c_ptr), c_ptr, c_ptr)
context_release = _proto("clrelu_context_release", None, c_ptr)
context_error = _proto("clrelu_context_error", ctypes.c_char_p, c_ptr)
last_error = _proto("clrelu_last_error", ctypes.c_char_p)
context_get_info = _proto("clrelu_context_get_info", _st, c_ptr, _P(ContextInfo), _sz)
context_set_host_path = _proto("clrelu_context_set_host_path", _st, c_ptr, c_enum)
desc_init = _proto("clrelu_desc_init", _st, _P(Desc), _sz, c_enum, c_enum)
dtype_size = _proto("clrelu_dtype_size", _sz, c_enum)
mask_words = _proto("clrelu_mask_words", _sz, _sz)

_WAIT = (c_uint, c_ptr, c_ptr)  # n_wait, const cl_event *wait, cl_event *done
forward = _proto("clrelu_forward", _st, c_ptr, _P(Desc), _sz, c_ptr, _sz, c_ptr, _sz, *_WAIT)
forward_mask = _proto(
    "clrelu_forward_mask", _st, c_ptr, _P(Desc), _sz, c_ptr, _sz, c_ptr, _sz, c_ptr, _sz, *_WAIT
)
backward = _proto(
    "clrelu_backward", _st, c_ptr, _P(Desc), _sz, c_ptr, _sz, c_ptr, _sz, c_ptr, _sz, *_WAIT
)
bias_forward = _proto(
    "clrelu_bias_forward", _st, c_ptr, _P(Desc), _sz, _sz,
    c_ptr, _sz, _sz, c_ptr, _sz, c_ptr, _sz, _sz, *_WAIT,
)  # fmt: skip
bias_backward = _proto(
    "clrelu_bias_backward", _st, c_ptr, _P(Desc), _sz, _sz,
    c_ptr, _sz, _sz, c_ptr, _sz, _sz, c_ptr, _sz, c_ptr, _sz, _sz, c_ptr, _sz, *_WAIT,
)  # fmt: skip
bias_forward_host = _proto(
    "clrelu_bias_forward_host", _st, c_ptr, _P(Desc), _sz, _sz, c_ptr, _sz, c_ptr, c_ptr, _sz
)
bias_backward_host = _proto(
    "clrelu_bias_backward_host", _st, c_ptr, _P(Desc), _sz, _sz,
    c_ptr, _sz, c_ptr, _sz, c_ptr, c_ptr, _sz, c_ptr,
)  # fmt: skip
forward_batch = _proto(
    "clrelu_forward_batch", _st, c_ptr, _P(Desc), _sz, _P(Tensor), _P(Tensor), *_WAIT
)
backward_batch = _proto(
    "clrelu_backward_batch", _st, c_ptr, _P(Desc), _sz, _P(Tensor), _P(Tensor), _P(Tensor), *_WAIT
)
forward_host = _proto("clrelu_forward_host", _st, c_ptr, _P(Desc), _sz, c_ptr, c_ptr)
forward_mask_host = _proto(
    "clrelu_forward_mask_host", _st, c_ptr, _P(Desc), _sz, c_ptr, c_ptr, c_ptr
)
backward_host = _proto("clrelu_backward_host", _st, c_ptr, _P(Desc), _sz, c_ptr, c_ptr, c_ptr)
layout_init = _proto("clrelu_layout_init", _st, _P(Layout), _sz, _sz, _sz, _sz)
residual_forward = _proto(
    "clrelu_residual_forward", _st, c_ptr, _P(Desc), _P(Layout),
    c_ptr, _sz, c_ptr, _sz, c_ptr, _sz, c_ptr, _sz, c_ptr, _sz, *_WAIT,
)  # fmt: skip
residual_backward = _proto(
    "clrelu_residual_backward", _st, c_ptr, _P(Desc), _P(Layout),
    c_ptr, _sz, c_ptr, _sz, c_ptr, _sz, c_ptr, _sz, c_ptr, _sz, c_ptr, _sz, c_ptr, _sz,
    c_ptr, _sz, *_WAIT,
)  # fmt: skip
residual_forward_host = _proto(
    "clrelu_residual_forward_host", _st, c_ptr, _P(Desc), _P(Layout),
    c_ptr, c_ptr, c_ptr, c_ptr, c_ptr,
)  # fmt: skip
residual_backward_host = _proto(
    "clrelu_residual_backward_host", _st, c_ptr, _P(Desc), _P(Layout),
    c_ptr, c_ptr, c_ptr, c_ptr, c_ptr, c_ptr, c_ptr, c_ptr,
)  # fmt: skip
