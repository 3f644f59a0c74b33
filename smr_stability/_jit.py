"""Compiled kernels in two builds: parallel over the batch, and serial.

A parallel (`prange`) kernel enters numba's thread pool on every call, even when numba runs one
thread; on a loaded machine that hand-off costs milliseconds. `kernel` compiles the same
Python function twice, and the returned callable takes the serial build whenever numba's thread
count (`numba.get_num_threads()`) is 1. Both builds run the same loops in the same order per
batch element, so they give bit-identical results.
"""

import types

import numba

_OPTIONS = dict(cache=True, nogil=True)


class Kernel:
    """A compiled kernel: calls the serial build on one thread, the parallel build otherwise."""

    def __init__(self, fn, **options):
        twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial", fn.__defaults__, fn.__closure__)
        twin.__qualname__ = fn.__qualname__ + "_serial"  # its own entry in numba's on-disk cache
        self.parallel = numba.njit(parallel=True, **_OPTIONS, **options)(fn)
        self.serial = numba.njit(**_OPTIONS, **options)(twin)
        self.__doc__, self.__name__ = fn.__doc__, fn.__name__

    def __call__(self, *args):
        return (self.serial if numba.get_num_threads() == 1 else self.parallel)(*args)


def kernel(fn=None, **options):
    """Decorator: `@kernel` or `@kernel(fastmath=...)` makes a `Kernel` of `fn`."""
    if fn is None:
        return lambda f: Kernel(f, **options)
    return Kernel(fn, **options)
