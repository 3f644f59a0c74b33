"""Branch-free float64 exp, expm1, sin, cos and 1 - cos in numba, which LLVM vectorises.

numba's `math.exp` and `math.sin` are scalar libm calls (no SVML here), so loops over them do
not vectorise. These functions use only arithmetic, fused multiply-adds, bit casts and selects,
within 2 ulp of libm over the ranges stated (tested in tests/test_simulation.py). Users: the
variable-step zoh scan (`_scan`) and the sum of sines (`sum_of_sines`).
"""

import math

import numba
import numpy as np

from ._jit import kernel


@numba.extending.intrinsic
def float64_from_bits(typingctx, bits):
    """The float64 whose bits are the int64 `bits` (one LLVM bitcast: loops over it vectorise)."""
    if not isinstance(bits, numba.types.Integer):
        return None

    def codegen(context, builder, signature, args):  # pragma: no cover - compiled
        return builder.bitcast(args[0], context.get_value_type(numba.types.float64))

    return numba.types.float64(numba.types.int64), codegen


@numba.extending.intrinsic
def fma(typingctx, a, b, c):
    """`a * b + c` with one rounding (llvm.fma: one instruction on FMA hardware, and it vectorises)."""
    if not all(isinstance(v, numba.types.Float) for v in (a, b, c)):
        return None

    def codegen(context, builder, signature, args):  # pragma: no cover - compiled
        return builder.fma(*args)

    return numba.types.float64(numba.types.float64, numba.types.float64, numba.types.float64), codegen


@numba.extending.intrinsic
def where(typingctx, cond, a, b):
    """`a if cond else b` as one LLVM select, not a branch (loops over it vectorise)."""
    if not isinstance(cond, numba.types.Boolean) or a != b:
        return None

    def codegen(context, builder, signature, args):  # pragma: no cover - compiled
        return builder.select(*args)

    return a(cond, a, b), codegen


_SHIFT = 6755399441055744.0  # 1.5 * 2**52: (v + _SHIFT) - _SHIFT is v rounded to an integer, |v| < 2**51
_INV_LN2 = 1.44269504088896338700e00
_LN2_HI = 6.93147180369123816490e-01  # ln 2 in two parts (fdlibm); k * _LN2_HI is exact for |k| < 2**20
_LN2_LO = 1.90821492927058770002e-10
_EXPM1_TAYLOR = tuple(1.0 / math.factorial(i) for i in range(13, 1, -1))  # 1/13! ... 1/2!
_TWO_OVER_PI = 6.36619772367581382433e-01
_PIO2_1 = 1.5707963267948966  # pi/2 = _PIO2_1 + _PIO2_2 + _PIO2_3 + 5.6e-50, each part rounded to float64
_PIO2_2 = 6.123233995736766e-17
_PIO2_3 = -1.4973849048591698e-33
# fdlibm's minimax polynomials on [-pi/4, pi/4] (error < 2**-58): sin x = x + x^3 (S1 + x^2 (S2 + ...)),
# cos x = 1 - x^2/2 + x^4 (C1 + x^2 (C2 + ...))
_S1, _S2, _S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
_S4, _S5, _S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
_C1, _C2, _C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
_C4, _C5, _C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11


@numba.njit(cache=True, fastmath={"contract"})
def expm1_exp(x):  # pragma: no cover - compiled
    """`(expm1(x), exp(x))` without branches, for `|x| <= 700` (within 2 ulp).

    `x = k ln2 + r` with `|r| <= ln2/2`; `p = expm1(r)` by its Taylor polynomial of degree 13
    (remainder < 0.1 ulp); `exp x = 2^k (1 + p)` and `expm1 x = 2^k p + (2^k - 1)` (one
    rounding each: `2^k - 1` is exact for |k| <= 53, and negligible beside 2^k or -1 beyond);
    `2^k` from its bits. Measured: exp within 1 ulp, expm1 within 1.7 ulp of the exact value.
    """
    k = (x * _INV_LN2 + _SHIFT) - _SHIFT
    r = (x - k * _LN2_HI) - k * _LN2_LO
    c = _EXPM1_TAYLOR[0]
    for a in _EXPM1_TAYLOR[1:]:
        c = c * r + a
    p = r + (r * r) * c
    two_k = float64_from_bits((np.int64(k) + 1023) << 52)
    return two_k * p + (two_k - 1.0), two_k * (1.0 + p)


@numba.njit(cache=True, fastmath={"contract"})
def sincos_vers(t):  # pragma: no cover - compiled
    """`(sin t, cos t, 1 - cos t)` without branches, for `|t| <= 1e5`: sin and cos within 1.5 ulp,
    `1 - cos t` within 3 ulp (relative, also near t = 0).

    `t = j pi/2 + r`, `|r| <= pi/4`, by Cody-Waite with pi/2 in three float64 parts and fused
    multiply-adds: the first is exact (`t - j _PIO2_1` is a multiple of 2^-53 below 1), the
    other two round once each, so `r` is within an ulp of its own value, also next to
    multiples of pi/2 (|j| < 2^16: the rest of pi/2 adds < 1e-44). fdlibm's kernels for sin, cos
    and `1 - cos` of `r`; the quadrant `j mod 4` picks and signs them by selects.
    """
    j = (t * _TWO_OVER_PI + _SHIFT) - _SHIFT
    x = fma(-j, _PIO2_3, fma(-j, _PIO2_2, fma(-j, _PIO2_1, t)))
    z = x * x
    w = _S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))
    s = x + (z * x) * (_S1 + z * w)
    zr = z * (z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6))))))
    hz = 0.5 * z
    one_hz = 1.0 - hz
    c = one_hz + (((1.0 - one_hz) - hz) + zr)
    q = np.int64(j)
    odd = (q & 1) != 0
    sin_r, cos_r = where(odd, c, s), where(odd, s, c)
    sin_t = where((q & 2) != 0, -sin_r, sin_r)
    cos_t = where(((q + 1) & 2) != 0, -cos_r, cos_r)
    return sin_t, cos_t, where((q & 3) == 0, hz - zr, 1.0 - cos_t)


_SINES_BLOCK = 2048  # times per task: the block of arguments and the output stay in cache
_SINES_ARG_MAX = 1e5  # |argument| up to which sincos_vers applies; math.sin beyond


@kernel(fastmath={"contract"})
def sum_of_sines(t, amp, omega, phase, out):  # pragma: no cover - compiled
    """`out[b, k, p] = sum_i amp[b, p, i] sin(omega[b, p, i] t_k + phase[b, p, i])`.

    t (n,); amp, omega, phase (B, P, I); out (B, n, P). In parallel over blocks of times; the
    arguments are formed as `omega * t + phase` (two roundings), then `sincos_vers`.
    """
    n = t.shape[0]
    Bn, P, I = amp.shape
    blocks = (n + _SINES_BLOCK - 1) // _SINES_BLOCK
    for task in numba.prange(blocks):
        lo = task * _SINES_BLOCK
        hi = min(n, lo + _SINES_BLOCK)
        arg = np.empty(hi - lo)
        acc = np.empty(hi - lo)
        for b in range(Bn):
            for p in range(P):
                acc[:] = 0.0
                for i in range(I):
                    w, ph, a = omega[b, p, i], phase[b, p, i], amp[b, p, i]
                    big = False
                    for k in range(hi - lo):
                        arg[k] = w * t[lo + k] + ph
                        big |= abs(arg[k]) > _SINES_ARG_MAX
                    if big:  # arguments outside the reduction's range: libm for those
                        for k in range(hi - lo):
                            s = math.sin(arg[k]) if abs(arg[k]) > _SINES_ARG_MAX else sincos_vers(arg[k])[0]
                            acc[k] += a * s
                    else:
                        for k in range(hi - lo):
                            s, _, _ = sincos_vers(arg[k])
                            acc[k] += a * s
                for k in range(hi - lo):
                    out[b, lo + k, p] = acc[k]
