# SPDX-License-Identifier: Apache-2.0
"""clrelu from Python: the ReLU family (relu, leaky, clipped) forward and backward on numpy
arrays (on the CPU SIMD path or a device) and on PyOpenCL arrays and buffers (enqueued, with
wait lists and returned events), through the C library libclrelu. docs/python.md is the guide;
include/clrelu/clrelu.h states the semantics."""

import ctypes
import sys
from dataclasses import dataclass

import numpy as np

from . import _capi

__all__ = [
    "Context", "ContextInfo", "Error", "InvalidArgument", "OutOfBounds", "SizeOverflow",
    "WrongContext", "Unsupported", "DeviceNotFound", "IsaUnavailable", "NoDevice",
    "OutOfMemory", "BuildError", "OpenCLError", "DeviceAmbiguous", "mask_words",
    "library_version", "library_path",
]  # fmt: skip

library_path = _capi.library_path


def library_version():
    """The C library's version, "MAJOR.MINOR.PATCH"."""
    return _capi.version().decode()


def mask_words(n):
    """32-bit words of a forward_mask mask for n elements."""
    return _capi.mask_words(n)


# ---------------------------------------------------------------------------------------------
# Errors: one class per C status, all under clrelu.Error.
# ---------------------------------------------------------------------------------------------
class Error(Exception):
    """A clrelu call failed. status is the C status code, name its identifier
    ("CLRELU_ERROR_INVALID_ARGUMENT"), message the library's message naming the argument."""

    status = None
    name = None

    def __init__(self, message, status=None):
        if status is not None:
            self.status = status
            self.name = _capi.status_name(status).decode()
        self.message = message
        super().__init__(f"{self.name}: {message}")


class InvalidArgument(Error, ValueError):
    status = -1


class OutOfBounds(Error, IndexError):
    status = -2


class SizeOverflow(Error, OverflowError):
    status = -3


class WrongContext(Error, ValueError):
    status = -4


class Unsupported(Error):
    status = -5


class DeviceNotFound(Error):
    status = -6


class IsaUnavailable(Error):
    status = -7


class NoDevice(Error):
    status = -8


class OutOfMemory(Error, MemoryError):
    status = -9


class BuildError(Error):
    status = -10


class OpenCLError(Error):
    status = -11


class DeviceAmbiguous(Error):
    status = -12


_ERRORS = {}
for _cls in Error.__subclasses__():
    _cls.name = _capi.status_name(_cls.status).decode()
    _ERRORS[_cls.status] = _cls


def _check(status):
    if status != 0:
        cls = _ERRORS.get(status, Error)
        raise cls(_capi.last_error().decode(errors="replace"), status)


def _bad(message):
    return InvalidArgument(message)


# ---------------------------------------------------------------------------------------------
# Operands
# ---------------------------------------------------------------------------------------------
_NUMPY_DTYPES = {
    np.dtype(np.float32): "f32",
    np.dtype(np.float16): "f16",
    np.dtype(np.float64): "f64",
}
_ITEMSIZE = {"f32": 4, "f16": 2, "bf16": 2, "f64": 8}


def _dtype_name(np_dtype, dtype, what):
    """The clrelu dtype of an array of numpy dtype np_dtype, given the caller's dtype=."""
    if dtype is None:
        name = _NUMPY_DTYPES.get(np_dtype)  # the common case first: this is per call
        if name is not None:
            return name
    np_dtype = np.dtype(np_dtype)
    is_bf16 = np_dtype.name == "bfloat16"  # ml_dtypes' type
    if dtype is None:
        if is_bf16:
            return "bf16"
        name = _NUMPY_DTYPES.get(np_dtype)
        if name is None:
            hint = " (pass dtype='bf16' for bfloat16 bits)" if np_dtype.itemsize == 2 else ""
            raise _bad(f"{what}: numpy dtype {np_dtype} is not float32, float16, float64 "
                       f"or bfloat16{hint}")  # fmt: skip
        return name
    if dtype not in _capi.DTYPES:
        raise _bad(f"dtype: {dtype!r} is not one of f32, f16, bf16, f64")
    ok = (_NUMPY_DTYPES.get(np_dtype) == dtype or (dtype == "bf16" and (is_bf16 or np_dtype in (
        np.dtype(np.uint16), np.dtype(np.int16)))))  # fmt: skip
    if not ok:
        raise _bad(f"{what}: numpy dtype {np_dtype} does not hold dtype={dtype!r}")
    return dtype


def _host(arr, what, writable=False):
    """Checks a host operand: a C-contiguous, aligned numpy array. Never copies."""
    if not isinstance(arr, np.ndarray):
        raise _bad(f"{what}: expected a numpy array, got {type(arr).__name__}")
    flags = arr.flags
    if not flags.c_contiguous:
        raise _bad(f"{what}: the array is not C-contiguous; pass np.ascontiguousarray({what})")
    if not flags.aligned:
        raise _bad(f"{what}: the array is not aligned to its element size; pass a copy")
    if writable and not flags.writeable:
        raise _bad(f"{what}: the array is read-only")


def _is_host(obj):
    return isinstance(obj, np.ndarray)


def _pyopencl():
    import pyopencl  # noqa: F401 (only device calls need it)
    import pyopencl.array

    return pyopencl


@dataclass
class _Dev:
    mem: int
    off: int  # elements (bits for a mask)
    n: int  # elements, or None for a Buffer without n=
    dtype: str  # clrelu dtype, or None
    events: list


def _device(obj, what, dtype, off, is_mask=False):
    """A device operand: a pyopencl.array.Array (offset, size and dtype come from it) or a
    pyopencl.Buffer (off in elements, or bits for a mask; n and dtype from the call)."""
    cl = _pyopencl()
    if isinstance(obj, cl.array.Array):
        if off:
            raise _bad(f"{what}_off: only for a pyopencl.Buffer; an Array carries its offset")
        if not obj.flags.c_contiguous:
            raise _bad(f"{what}: the pyopencl array is not contiguous")
        item = obj.dtype.itemsize
        if is_mask:
            if obj.dtype != np.uint32:
                raise _bad(f"{what}: a mask is a uint32 array, got {obj.dtype}")
            if obj.offset % 4:
                raise _bad(f"{what}: the mask's offset {obj.offset} is not a multiple of 4 bytes")
            return _Dev(obj.base_data.int_ptr, obj.offset // 4 * 32, obj.size * 32, None,
                        list(obj.events))  # fmt: skip
        name = _dtype_name(obj.dtype, dtype, what)
        if obj.offset % item:
            raise _bad(f"{what}: the array's offset {obj.offset} is not a multiple of {item} bytes")
        mem = obj.base_data.int_ptr if obj.base_data is not None else 0
        return _Dev(mem, obj.offset // item, obj.size, name, list(obj.events))
    if isinstance(obj, cl.MemoryObjectHolder):
        if off < 0:
            raise _bad(f"{what}_off: {off} is negative")
        return _Dev(obj.int_ptr, off, None, dtype, [])
    raise _bad(f"{what}: expected a numpy array, a pyopencl.array.Array or a pyopencl.Buffer, "
               f"got {type(obj).__name__}")  # fmt: skip


def _common(ops, dtype, n, what):
    """The dtype and n of a device call from its operands and the call's dtype= and n=."""
    names = {d.dtype for d in ops if d.dtype is not None}
    if dtype is not None and dtype not in _capi.DTYPES:
        raise _bad(f"dtype: {dtype!r} is not one of f32, f16, bf16, f64")
    if dtype is not None:
        names.add(dtype)
    if len(names) != 1:
        raise _bad(f"{what}: operands have dtypes {sorted(names)}; pass dtype= for buffers"
                   if names else f"{what}: dtype= is required with pyopencl.Buffer operands")
    sizes = {d.n for d in ops if d.n is not None}
    if n is None:
        if len(sizes) != 1:
            raise _bad(f"{what}: n= is required with pyopencl.Buffer operands"
                       if not sizes else f"{what}: the arrays have different sizes {sorted(sizes)}")
        n = sizes.pop()
    elif any(s < n for s in sizes):
        raise _bad(f"n: {n} exceeds an array of {min(sizes)} elements")
    if n < 0:
        raise _bad(f"n: {n} is negative")
    return names.pop(), n


def _pitch(shape, strides, itemsize, what):
    """(rows, cols, pitch) of a 2-D array whose columns are adjacent."""
    if len(shape) != 2:
        raise _bad(f"{what}: expected a 2-D array (rows, cols), got {len(shape)} dimensions")
    rows, cols = shape
    if cols > 1 and strides[1] != itemsize:
        raise _bad(f"{what}: the columns are not adjacent (stride {strides[1]} bytes)")
    if rows <= 1:
        return rows, cols, cols
    if strides[0] % itemsize or strides[0] < cols * itemsize:
        raise _bad(f"{what}: a row stride of {strides[0]} bytes is not a pitch of at least "
                   f"{cols} elements")  # fmt: skip
    return rows, cols, strides[0] // itemsize


def _matrix(arr, what, dt, dtype, shape=None, writable=False):
    if not isinstance(arr, np.ndarray):
        raise _bad(f"{what}: expected a numpy array, got {type(arr).__name__}")
    if _dtype_name(arr.dtype, dtype, what) != dt:
        raise _bad(f"{what}: numpy dtype {arr.dtype} is not the call's {dt}")
    rows, cols, pitch = _pitch(arr.shape, arr.strides, arr.itemsize, what)
    if shape is not None and (rows, cols) != shape:
        raise _bad(f"{what}: shape {(rows, cols)} is not {shape}")
    if not arr.flags.aligned:
        raise _bad(f"{what}: the array is not aligned to its element size; pass a copy")
    if writable and not arr.flags.writeable:
        raise _bad(f"{what}: the array is read-only")
    return rows, cols, pitch


def _vector(arr, what, dt, dtype, n, writable=False):
    _host(arr, what, writable)
    if _dtype_name(arr.dtype, dtype, what) != dt or arr.size != n:
        raise _bad(f"{what}: expected {n} elements of {dt}, got {arr.size} of {arr.dtype}")


def _dmatrix(obj, what, dtype):
    """A 2-D pyopencl Array as (operand, rows, cols, pitch)."""
    cl = _pyopencl()
    if not isinstance(obj, cl.array.Array):
        raise _bad(f"{what}: expected a numpy array or a 2-D pyopencl.array.Array, got "
                   f"{type(obj).__name__}")  # fmt: skip
    rows, cols, pitch = _pitch(obj.shape, obj.strides, obj.dtype.itemsize, what)
    name = _dtype_name(obj.dtype, dtype, what)
    item = obj.dtype.itemsize
    if obj.offset % item:
        raise _bad(f"{what}: the array's offset {obj.offset} is not a multiple of {item} bytes")
    mem = obj.base_data.int_ptr if obj.base_data is not None else 0
    return _Dev(mem, obj.offset // item, None, name, list(obj.events)), rows, cols, pitch


def _layout(x, channels_last, layout):
    """The clrelu_layout of a call: from x's shape, or the caller's (outer, channels, inner
    [, pitch])."""
    if layout is not None:
        if len(layout) not in (3, 4):
            raise _bad(f"layout: expected (outer, channels, inner[, pitch]), got {layout!r}")
        outer, channels, inner = (int(v) for v in layout[:3])
    else:
        shape = getattr(x, "shape", None)
        if shape is None or len(shape) < (1 if channels_last else 2):
            raise _bad("x: a tensor with channels needs a shape (N, C, ...) or (..., C) with "
                       "channels_last=True, or layout=")  # fmt: skip
        if channels_last:
            outer, channels, inner = int(np.prod(shape[:-1])), shape[-1], 1
        else:
            outer, channels, inner = shape[0], shape[1], int(np.prod(shape[2:]))
    lay = _capi.Layout()
    _check(_capi.layout_init(ctypes.byref(lay), ctypes.sizeof(lay), outer, channels, inner))
    if layout is not None and len(layout) == 4:
        lay.pitch = int(layout[3])
    return lay


def _span(lay):
    return 0 if not (lay.outer and lay.channels and lay.inner) else \
        (lay.outer - 1) * lay.pitch + lay.channels * lay.inner


def _tensor_host(arr, what, dt, dtype, lay, writable=False):
    _host(arr, what, writable)
    if _dtype_name(arr.dtype, dtype, what) != dt or arr.size < _span(lay):
        raise _bad(f"{what}: expected {_span(lay)} elements of {dt}, got {arr.size} of "
                   f"{arr.dtype}")  # fmt: skip
    return arr.ctypes.data


def _channel_host(arr, what, dt, dtype, lay, is_tensor, writable=False):
    """An optional operand: a per-channel vector, or (z) a tensor like x. None is NULL."""
    if arr is None:
        return None
    if is_tensor:
        return _tensor_host(arr, what, dt, dtype, lay, writable)
    _vector(arr, what, dt, dtype, lay.channels, writable)
    return arr.ctypes.data


def _tensors(objs, what, dtype):
    """The operands of a batch: pyopencl Arrays (each carries its offset and size)."""
    cl = _pyopencl()
    out = []
    for i, obj in enumerate(objs):
        if not isinstance(obj, cl.array.Array):
            raise _bad(f"{what}[{i}]: batches take pyopencl.array.Array, got {type(obj).__name__}")
        out.append(_device(obj, f"{what}[{i}]", dtype, 0))
    return out


def _tensor_array(devs):
    return (_capi.Tensor * max(len(devs), 1))(*[(d.mem, d.off, d.n) for d in devs])


def _wait_list(wait_for, ops):
    events = list(wait_for or [])
    for d in ops:
        events.extend(d.events)
    if not events:
        return 0, None
    try:
        ptrs = [e.int_ptr for e in events]
    except AttributeError:
        raise _bad("wait_for: expected pyopencl.Event objects") from None
    return len(ptrs), (ctypes.c_void_p * len(ptrs))(*ptrs)


def _event(done, outs):
    cl = _pyopencl()
    evt = cl.Event.from_int_ptr(done.value, retain=False)  # takes the call's reference
    for out in outs:
        if isinstance(out, cl.array.Array):
            out.add_event(evt)
    return evt


# ---------------------------------------------------------------------------------------------
# Contexts
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ContextInfo:
    """What a context runs on (clrelu_context_info)."""

    kind: str  # "simd" (the CPU path), "gpu", "cpu", "accelerator"
    id: str  # a device spec that selects it again ("cpu", "P:D")
    platform: str
    device: str
    driver: str
    cpu_isa: str
    compute_units: int
    global_mem: int
    max_alloc: int
    has_fp64: bool


class Context:
    """A clrelu context: an OpenCL device (its own cl_context and in-order queue, or the
    caller's through wrap) plus the CPU SIMD path. device is a device spec as the C API takes
    it ("cpu", "gpu", "P:D", "pocl", "intel", part of a device name; None: CLRELU_DEVICE, else
    the first GPU, else the CPU path). host_path: where numpy-array calls run, "cpu" (the
    default), "device", or "auto" (the device from the size where clrelu-tune measured its
    round trip to win, else the CPU path). Release it with close() or a with block (or let it be collected)."""

    def __init__(self, device=None, host_path=None):
        self._handle = None
        self._desc_cache = {}
        handle = ctypes.c_void_p()
        spec = None if device is None else str(device).encode()
        _check(_capi.context_create(ctypes.byref(handle), spec))
        self._handle = handle.value
        if host_path is not None:
            self.host_path = host_path

    @classmethod
    def wrap(cls, context, queue, host_path=None):
        """A clrelu context on a PyOpenCL context and queue (the queue must belong to the
        context). clrelu retains both and releases them once, in close(); every device call
        enqueues on this queue, so it orders with PyOpenCL's own work there."""
        for what, obj in (("context", context), ("queue", queue)):
            if not hasattr(obj, "int_ptr"):
                raise _bad(f"{what}: expected a pyopencl object, got {type(obj).__name__}")
        self = cls.__new__(cls)
        self._handle = None
        self._desc_cache = {}
        handle = ctypes.c_void_p()
        _check(_capi.context_wrap(ctypes.byref(handle), context.int_ptr, queue.int_ptr))
        self._handle = handle.value
        if host_path is not None:
            self.host_path = host_path
        return self

    def close(self):
        """Releases the context (and the references it holds on a wrapped context and queue).
        Enqueued work still completes. Calling it again does nothing."""
        handle, self._handle = self._handle, None
        if handle:
            _capi.context_release(handle)

    def __del__(self):
        if sys is not None and getattr(self, "_handle", None):  # not during interpreter exit
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _h(self):
        if not self._handle:
            raise _bad("ctx: the context is closed")
        return self._handle

    def _raw_info(self):
        info = _capi.ContextInfo()
        _check(_capi.context_get_info(self._h(), ctypes.byref(info), ctypes.sizeof(info)))
        return info

    @property
    def info(self):
        """A ContextInfo: the device, platform, driver, the CPU path's ISA, ..."""
        i = self._raw_info()
        text = lambda b: b.decode(errors="replace")  # noqa: E731
        return ContextInfo(
            kind=_capi.DEVICE_KINDS.get(i.kind, str(i.kind)), id=text(i.id),
            platform=text(i.platform), device=text(i.device), driver=text(i.driver),
            cpu_isa=text(i.cpu_isa), compute_units=i.compute_units, global_mem=i.global_mem,
            max_alloc=i.max_alloc, has_fp64=bool(i.has_fp64),
        )  # fmt: skip

    @property
    def pyopencl_context(self):
        """The context's cl_context as a pyopencl.Context (a new reference), or None on the
        CPU path."""
        ptr = self._raw_info().context
        return _pyopencl().Context.from_int_ptr(ptr, retain=True) if ptr else None

    @property
    def pyopencl_queue(self):
        """The context's queue as a pyopencl.CommandQueue (a new reference), or None."""
        ptr = self._raw_info().queue
        return _pyopencl().CommandQueue.from_int_ptr(ptr, retain=True) if ptr else None

    @property
    def host_path(self):
        return self._host_path if hasattr(self, "_host_path") else "cpu"

    @host_path.setter
    def host_path(self, path):
        if path not in _capi.HOST_PATHS:
            raise _bad(f"host_path: {path!r} is not 'cpu', 'device' or 'auto'")
        _check(_capi.context_set_host_path(self._h(), _capi.HOST_PATHS[path]))
        self._host_path = path

    # -- descriptors ---------------------------------------------------------------------------
    def _desc(self, op, dtype, slope, ceiling, alpha, beta, grad_from="x"):
        key = (op, dtype, slope, ceiling, alpha, beta, grad_from)
        desc = self._desc_cache.get(key)
        if desc is not None:
            return desc
        if op not in _capi.OPS:
            raise _bad(f"op: {op!r} is not one of relu, leaky_relu, clipped_relu")
        if grad_from not in _capi.GRAD_FROM:
            raise _bad(f"grad_from: {grad_from!r} is not 'x', 'y' or 'mask'")
        desc = _capi.Desc()
        _check(_capi.desc_init(ctypes.byref(desc), ctypes.sizeof(desc), _capi.OPS[op],
                               _capi.DTYPES[dtype]))  # fmt: skip
        desc.negative_slope = slope
        desc.ceiling = ceiling
        desc.alpha = alpha
        desc.beta = beta
        desc.grad_from = _capi.GRAD_FROM[grad_from]
        if len(self._desc_cache) > 256:
            self._desc_cache.clear()
        self._desc_cache[key] = desc
        return desc

    # -- forward -------------------------------------------------------------------------------
    def forward(self, x, out=None, *, op="relu", slope=0.01, ceiling=6.0, alpha=1.0, beta=0.0,
                dtype=None, n=None, x_off=0, out_off=0, wait_for=None):  # fmt: skip
        """y = f(x), blended: out = alpha * f(x) + beta * out.

        numpy x: runs now (on the host path) and returns out (a new array when None; out may
        be x). pyopencl x (Array, or Buffer with n=, dtype= and element offsets x_off,
        out_off): enqueues after wait_for (and the arrays' own events) and returns the
        pyopencl.Event of the op; out is required (out=x runs in place)."""
        if _is_host(x):
            dt = _dtype_name(x.dtype, dtype, "x")
            if out is None:
                out = np.empty_like(x)
            self._host_pair(x, out, "x")
            desc = self._desc(op, dt, slope, ceiling, alpha, beta)
            _check(_capi.forward_host(self._h(), desc, x.size, x.ctypes.data, out.ctypes.data))
            return out
        self._need_out(out)
        dx, dy = _device(x, "x", dtype, x_off), _device(out, "out", dtype, out_off)
        dt, n = _common([dx, dy], dtype, n, "forward")
        desc = self._desc(op, dt, slope, ceiling, alpha, beta)
        nw, wait = _wait_list(wait_for, [dx, dy])
        done = ctypes.c_void_p()
        _check(_capi.forward(self._h(), desc, n, dx.mem, dx.off, dy.mem, dy.off, nw, wait,
                             ctypes.byref(done)))  # fmt: skip
        return _event(done, [out])

    def forward_mask(self, x, out=None, mask=None, *, op="relu", slope=0.01, ceiling=6.0,
                     alpha=1.0, beta=0.0, dtype=None, n=None, x_off=0, out_off=0, mask_off=0,
                     wait_for=None):  # fmt: skip
        """forward, and the bitmask backward(grad_from="mask") reads: bit i % 32 of uint32
        word i / 32 is set where f'(x) is 1.

        numpy x: returns (out, mask), mask a uint32 array of mask_words(x.size) words (new
        when None). pyopencl x: out and mask (a uint32 Array, or a Buffer with mask_off in
        bits, a multiple of 32) are required; returns the pyopencl.Event."""
        if _is_host(x):
            dt = _dtype_name(x.dtype, dtype, "x")
            if out is None:
                out = np.empty_like(x)
            self._host_pair(x, out, "x")
            words = _capi.mask_words(x.size)
            if mask is None:
                mask = np.empty(words, dtype=np.uint32)
            _host(mask, "mask", writable=True)
            if mask.dtype != np.uint32 or mask.size < words:
                raise _bad(f"mask: expected at least {words} uint32 words, got {mask.size} "
                           f"of {mask.dtype}")  # fmt: skip
            desc = self._desc(op, dt, slope, ceiling, alpha, beta)
            _check(_capi.forward_mask_host(self._h(), desc, x.size, x.ctypes.data,
                                           out.ctypes.data, mask.ctypes.data))  # fmt: skip
            return out, mask
        self._need_out(out)
        if mask is None:
            raise _bad("mask: required for device memory (a uint32 array or a buffer)")
        dx, dy = _device(x, "x", dtype, x_off), _device(out, "out", dtype, out_off)
        dm = _device(mask, "mask", None, mask_off, is_mask=True)
        dt, n = _common([dx, dy], dtype, n, "forward_mask")
        if dm.n is not None and dm.n < n:
            raise _bad(f"mask: {dm.n // 32} words hold fewer than n = {n} bits")
        desc = self._desc(op, dt, slope, ceiling, alpha, beta)
        nw, wait = _wait_list(wait_for, [dx, dy, dm])
        done = ctypes.c_void_p()
        _check(_capi.forward_mask(self._h(), desc, n, dx.mem, dx.off, dy.mem, dy.off, dm.mem,
                                  dm.off, nw, wait, ctypes.byref(done)))  # fmt: skip
        return _event(done, [out, mask])

    # -- backward ------------------------------------------------------------------------------
    def backward(self, dy, src, out=None, *, grad_from="x", op="relu", slope=0.01, ceiling=6.0,
                 alpha=1.0, beta=0.0, dtype=None, n=None, dy_off=0, src_off=0, out_off=0,
                 wait_for=None):  # fmt: skip
        """dx = f'(src) * dy, blended: out = alpha * f'(src) * dy + beta * out. src is the
        forward's x, its y, or its mask, as grad_from says ("x", "y", "mask").

        numpy dy: returns out (new when None; out may be dy, or src unless it is the mask).
        pyopencl dy: out is required, src_off counts bits for a mask buffer; returns the
        pyopencl.Event."""
        is_mask = grad_from == "mask"
        if _is_host(dy):
            dt = _dtype_name(dy.dtype, dtype, "dy")
            if out is None:
                out = np.empty_like(dy)
            self._host_pair(dy, out, "dy")
            _host(src, "src")
            if is_mask:
                words = _capi.mask_words(dy.size)
                if src.dtype != np.uint32 or src.size < words:
                    raise _bad(f"src: a mask of at least {words} uint32 words is needed, got "
                               f"{src.size} of {src.dtype}")  # fmt: skip
            else:
                if _dtype_name(src.dtype, dtype, "src") != dt or src.size != dy.size:
                    raise _bad(f"src: expected {dy.size} elements of dy's dtype, got "
                               f"{src.size} of {src.dtype}")  # fmt: skip
            desc = self._desc(op, dt, slope, ceiling, alpha, beta, grad_from)
            _check(_capi.backward_host(self._h(), desc, dy.size, dy.ctypes.data,
                                       src.ctypes.data, out.ctypes.data))  # fmt: skip
            return out
        self._need_out(out)
        ddy, dout = _device(dy, "dy", dtype, dy_off), _device(out, "out", dtype, out_off)
        dsrc = _device(src, "src", None if is_mask else dtype, src_off, is_mask=is_mask)
        dt, n = _common([ddy, dout] if is_mask else [ddy, dsrc, dout], dtype, n, "backward")
        if is_mask and dsrc.n is not None and dsrc.n < n:
            raise _bad(f"src: the mask's {dsrc.n // 32} words hold fewer than n = {n} bits")
        desc = self._desc(op, dt, slope, ceiling, alpha, beta, grad_from)
        nw, wait = _wait_list(wait_for, [ddy, dsrc, dout])
        done = ctypes.c_void_p()
        _check(_capi.backward(self._h(), desc, n, ddy.mem, ddy.off, dsrc.mem, dsrc.off,
                              dout.mem, dout.off, nw, wait, ctypes.byref(done)))  # fmt: skip
        return _event(done, [out])

    # -- the bias epilogue ----------------------------------------------------------------------
    def bias_forward(self, x, bias, out=None, *, op="relu", slope=0.01, ceiling=6.0, alpha=1.0,
                     beta=0.0, dtype=None, wait_for=None):  # fmt: skip
        """A dense layer's epilogue: out[r, c] = f(x[r, c] + bias[c]), blended, on 2-D arrays
        whose rows may be further apart than their length (a row slice of a wider matrix: the
        row stride is the pitch; columns must be adjacent). numpy: runs on the CPU path and
        returns out (new when None; out may be x). pyopencl Arrays: out is required; returns
        the pyopencl.Event."""
        if _is_host(x):
            dt = _dtype_name(x.dtype, dtype, "x")
            if out is None:
                out = np.empty_like(x, order="C")
            rows, cols, xp = _matrix(x, "x", dt, dtype)
            yp = _matrix(out, "out", dt, dtype, (rows, cols), writable=True)[2]
            _vector(bias, "bias", dt, dtype, cols)
            desc = self._desc(op, dt, slope, ceiling, alpha, beta)
            _check(_capi.bias_forward_host(self._h(), desc, rows, cols, x.ctypes.data, xp,
                                           bias.ctypes.data, out.ctypes.data, yp))  # fmt: skip
            return out
        self._need_out(out)
        (dx, rows, cols, xp), (dy, _, _, yp) = _dmatrix(x, "x", dtype), _dmatrix(out, "out", dtype)
        db = _device(bias, "bias", dtype, 0)
        dt = _common([dx, dy, db], dtype, 0, "bias_forward")[0]
        desc = self._desc(op, dt, slope, ceiling, alpha, beta)
        nw, wait = _wait_list(wait_for, [dx, dy, db])
        done = ctypes.c_void_p()
        _check(_capi.bias_forward(self._h(), desc, rows, cols, dx.mem, dx.off, xp, db.mem, db.off,
                                  dy.mem, dy.off, yp, nw, wait, ctypes.byref(done)))  # fmt: skip
        return _event(done, [out])

    def bias_backward(self, dy, src, bias=None, out=None, dbias=None, *, grad_from="x",
                      op="relu", slope=0.01, ceiling=6.0, alpha=1.0, beta=0.0, dtype=None,
                      wait_for=None):  # fmt: skip
        """Its backward: out[r, c] = f'(s[r, c]) * dy[r, c], s = src + bias (grad_from="x") or
        src itself (the forward's output, grad_from="y"; bias may be None), blended; and
        dbias[c] = alpha * (column sum of the unblended gradient) + beta * dbias[c], summed
        in a fixed order (the same bits on every device). numpy: returns (out, dbias), both
        new when None. pyopencl Arrays: out is required, dbias optional (None: not computed);
        returns the pyopencl.Event."""
        if grad_from not in ("x", "y"):
            raise _bad(f"grad_from: the bias epilogue takes 'x' or 'y', not {grad_from!r}")
        if _is_host(dy):
            dt = _dtype_name(dy.dtype, dtype, "dy")
            rows, cols, dyp = _matrix(dy, "dy", dt, dtype)
            sp = _matrix(src, "src", dt, dtype, (rows, cols))[2]
            if out is None:
                out = np.empty_like(dy, order="C")
            dxp = _matrix(out, "out", dt, dtype, (rows, cols), writable=True)[2]
            if bias is not None:
                _vector(bias, "bias", dt, dtype, cols)
            elif grad_from == "x":
                raise _bad("bias: required with grad_from='x'")
            if dbias is None:
                dbias = np.zeros(cols, dtype=dy.dtype)
            _vector(dbias, "dbias", dt, dtype, cols, writable=True)
            desc = self._desc(op, dt, slope, ceiling, alpha, beta, grad_from)
            _check(_capi.bias_backward_host(
                self._h(), desc, rows, cols, dy.ctypes.data, dyp, src.ctypes.data, sp,
                None if bias is None else bias.ctypes.data, out.ctypes.data, dxp,
                dbias.ctypes.data))  # fmt: skip
            return out, dbias
        self._need_out(out)
        ddy, rows, cols, dyp = _dmatrix(dy, "dy", dtype)
        dsrc, sp = _dmatrix(src, "src", dtype)[0], _dmatrix(src, "src", dtype)[3]
        ddx, dxp = _dmatrix(out, "out", dtype)[0], _dmatrix(out, "out", dtype)[3]
        ops = [ddy, dsrc, ddx]
        db = _device(bias, "bias", dtype, 0) if bias is not None else None
        ddb = _device(dbias, "dbias", dtype, 0) if dbias is not None else None
        ops += [d for d in (db, ddb) if d is not None]
        dt = _common(ops, dtype, 0, "bias_backward")[0]
        desc = self._desc(op, dt, slope, ceiling, alpha, beta, grad_from)
        nw, wait = _wait_list(wait_for, ops)
        done = ctypes.c_void_p()
        _check(_capi.bias_backward(
            self._h(), desc, rows, cols, ddy.mem, ddy.off, dyp, dsrc.mem, dsrc.off, sp,
            db.mem if db else None, db.off if db else 0, ddx.mem, ddx.off, dxp,
            ddb.mem if ddb else None, ddb.off if ddb else 0, nw, wait,
            ctypes.byref(done)))  # fmt: skip
        return _event(done, [out] + ([dbias] if dbias is not None else []))

    # -- tensors with channels: PReLU and the residual epilogue ----------------------------------
    def residual_forward(self, x, bias=None, z=None, slopes=None, out=None, *, op="relu",
                         slope=0.01, ceiling=6.0, alpha=1.0, beta=0.0, channels_last=False,
                         layout=None, dtype=None, wait_for=None):  # fmt: skip
        """out = f((x + bias[c]) + z) on a tensor with channels, blended; bias (channels
        elements), z (a tensor like x) and slopes (channels elements, op="prelu" only) are
        optional. The layout comes from x's shape: (N, C, ...) channels first (NCHW), or
        (..., C) with channels_last=True; layout=(outer, channels, inner[, pitch]) overrides
        it. numpy: runs on the CPU path, returns out. pyopencl Arrays: out required, returns
        the pyopencl.Event."""
        lay = _layout(x, channels_last, layout)
        if _is_host(x):
            dt = _dtype_name(x.dtype, dtype, "x")
            if out is None:
                out = np.empty_like(x)
            ptrs = [_tensor_host(x, "x", dt, dtype, lay)]
            for what, v in (("bias", bias), ("z", z), ("slopes", slopes)):
                ptrs.append(_channel_host(v, what, dt, dtype, lay, what == "z"))
            ptrs.append(_tensor_host(out, "out", dt, dtype, lay, writable=True))
            desc = self._desc(op, dt, slope, ceiling, alpha, beta)
            _check(_capi.residual_forward_host(self._h(), desc, lay, *ptrs))
            return out
        self._need_out(out)
        ops = [_device(v, what, dtype, 0) if v is not None else None
               for what, v in (("x", x), ("bias", bias), ("z", z), ("slopes", slopes),
                               ("out", out))]  # fmt: skip
        given = [d for d in ops if d is not None]
        dt = _common(given, dtype, 0, "residual_forward")[0]
        desc = self._desc(op, dt, slope, ceiling, alpha, beta)
        nw, wait = _wait_list(wait_for, given)
        args = [a for d in ops for a in ((d.mem, d.off) if d is not None else (None, 0))]
        done = ctypes.c_void_p()
        _check(_capi.residual_forward(self._h(), desc, lay, *args, nw, wait, ctypes.byref(done)))
        return _event(done, [out])

    def residual_backward(self, dy, src, bias=None, z=None, slopes=None, out=None, dbias=None,
                          dslopes=None, *, grad_from="x", op="relu", slope=0.01, ceiling=6.0,
                          alpha=1.0, beta=0.0, channels_last=False, layout=None, dtype=None,
                          wait_for=None):  # fmt: skip
        """out = f'(s) * dy, blended, s = (src + bias) + z (grad_from="x") or read from y
        (grad_from="y", not for prelu). dbias and dslopes (prelu), when given, get
        alpha * (the channel's sum) + beta * themselves, summed in a fixed order. numpy:
        returns (out, dbias, dslopes). pyopencl Arrays: out required, returns the Event."""
        if grad_from not in ("x", "y"):
            raise _bad(f"grad_from: the residual epilogue takes 'x' or 'y', not {grad_from!r}")
        lay = _layout(dy, channels_last, layout)
        if _is_host(dy):
            dt = _dtype_name(dy.dtype, dtype, "dy")
            if out is None:
                out = np.empty_like(dy)
            ptrs = [_tensor_host(dy, "dy", dt, dtype, lay), _tensor_host(src, "src", dt, dtype, lay)]
            for what, v in (("bias", bias), ("z", z), ("slopes", slopes)):
                ptrs.append(_channel_host(v, what, dt, dtype, lay, what == "z"))
            ptrs.append(_tensor_host(out, "out", dt, dtype, lay, writable=True))
            for what, v in (("dbias", dbias), ("dslopes", dslopes)):
                ptrs.append(_channel_host(v, what, dt, dtype, lay, False, writable=True))
            desc = self._desc(op, dt, slope, ceiling, alpha, beta, grad_from)
            _check(_capi.residual_backward_host(self._h(), desc, lay, *ptrs))
            return out, dbias, dslopes
        self._need_out(out)
        ops = [_device(v, what, dtype, 0) if v is not None else None
               for what, v in (("dy", dy), ("src", src), ("bias", bias), ("z", z),
                               ("slopes", slopes), ("out", out), ("dbias", dbias),
                               ("dslopes", dslopes))]  # fmt: skip
        given = [d for d in ops if d is not None]
        dt = _common(given, dtype, 0, "residual_backward")[0]
        desc = self._desc(op, dt, slope, ceiling, alpha, beta, grad_from)
        nw, wait = _wait_list(wait_for, given)
        args = [a for d in ops for a in ((d.mem, d.off) if d is not None else (None, 0))]
        done = ctypes.c_void_p()
        _check(_capi.residual_backward(self._h(), desc, lay, *args, nw, wait, ctypes.byref(done)))
        return _event(done, [o for o in (out, dbias, dslopes) if o is not None])

    def prelu_forward(self, x, slopes, out=None, **kw):
        """PReLU: out = x where x > 0, else slopes[c] * x (one slope: slopes of 1 element
        and channels 1, e.g. channels_last with x of shape (..., 1), or layout=). As
        residual_forward without bias and z."""
        return self.residual_forward(x, slopes=slopes, out=out, op="prelu", **kw)

    def prelu_backward(self, dy, x, slopes, out=None, dslopes=None, **kw):
        """PReLU's backward from x; dslopes (when given) gets the slopes' gradient. numpy:
        returns (out, dslopes); pyopencl Arrays: the Event."""
        got = self.residual_backward(dy, x, slopes=slopes, out=out, dslopes=dslopes,
                                     op="prelu", **kw)  # fmt: skip
        return (got[0], got[2]) if isinstance(got, tuple) else got

    # -- batches -------------------------------------------------------------------------------
    def forward_batch(self, xs, outs, *, op="relu", slope=0.01, ceiling=6.0, alpha=1.0,
                      beta=0.0, dtype=None, wait_for=None):  # fmt: skip
        """forward on many pyopencl Arrays at once (outs[i] = f(xs[i]), same sizes), in few
        launches: tensors of one buffer (views of one big array) share a launch. Returns the
        pyopencl.Event that completes when all are done."""
        tx, ty = _tensors(xs, "xs", dtype), _tensors(outs, "outs", dtype)
        if len(tx) != len(ty):
            raise _bad(f"outs: {len(ty)} arrays for {len(tx)} inputs")
        dt = _common(tx + ty, dtype, 0, "forward_batch")[0] if tx else "f32"
        desc = self._desc(op, dt, slope, ceiling, alpha, beta)
        nw, wait = _wait_list(wait_for, tx + ty)
        done = ctypes.c_void_p()
        _check(_capi.forward_batch(self._h(), desc, len(tx), _tensor_array(tx),
                                   _tensor_array(ty), nw, wait, ctypes.byref(done)))  # fmt: skip
        return _event(done, outs)

    def backward_batch(self, dys, srcs, outs, *, grad_from="x", op="relu", slope=0.01,
                       ceiling=6.0, alpha=1.0, beta=0.0, dtype=None, wait_for=None):  # fmt: skip
        """backward on many pyopencl Arrays at once; srcs are the forwards' x or y
        (grad_from "x" or "y"; masks do not apply). Returns the pyopencl.Event."""
        if grad_from == "mask":
            raise _bad("grad_from: batches take 'x' or 'y', not 'mask'")
        tdy, tsrc = _tensors(dys, "dys", dtype), _tensors(srcs, "srcs", dtype)
        tdx = _tensors(outs, "outs", dtype)
        if not len(tdy) == len(tsrc) == len(tdx):
            raise _bad(f"dys, srcs, outs: {len(tdy)}, {len(tsrc)} and {len(tdx)} arrays")
        dt = _common(tdy + tsrc + tdx, dtype, 0, "backward_batch")[0] if tdy else "f32"
        desc = self._desc(op, dt, slope, ceiling, alpha, beta, grad_from)
        nw, wait = _wait_list(wait_for, tdy + tsrc + tdx)
        done = ctypes.c_void_p()
        _check(_capi.backward_batch(self._h(), desc, len(tdy), _tensor_array(tdy),
                                    _tensor_array(tsrc), _tensor_array(tdx), nw, wait,
                                    ctypes.byref(done)))  # fmt: skip
        return _event(done, outs)

    # -- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _host_pair(x, out, what):
        _host(x, what)
        _host(out, "out", writable=True)
        if out.dtype != x.dtype or out.size != x.size:
            raise _bad(f"out: expected {x.size} elements of {x.dtype}, got {out.size} of "
                       f"{out.dtype}")  # fmt: skip

    @staticmethod
    def _need_out(out):
        if out is None:
            raise _bad("out: required for device memory (out=x runs in place)")
        if _is_host(out):
            raise _bad("out: a numpy array cannot take a device op's output; pass device memory")
