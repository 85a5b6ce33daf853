"""Two answers to "how long should Adam warm up?", as functions of the step t = 1, 2, ...

* **RAdam** (Liu et al., ICLR 2020, arXiv 1908.03265, Algorithm 2) multiplies Adam's step
  by a *rectification* r_t that grows from 0 to 1 as the second-moment estimate v_hat_t
  averages more gradients; no warmup is then needed. rho_t is the length of the simple
  moving average that v_hat_t resembles; the variance of 1 / sqrt(v_hat_t) is finite only
  when rho_t > 4, and before that RAdam takes plain momentum steps (torch's ``RAdam``
  switches at rho_t > 5).
* **Untuned linear warmup** (Ma & Yarats, AAAI 2021, arXiv 1910.04209): warm up linearly
  over 2 / (1 - beta2) steps, which tracks RAdam closely; 2,000 steps for beta2 = 0.999,
  only 40 for beta2 = 0.95.

Also the noise of v_hat_t itself: for i.i.d. gradients, its relative standard deviation
follows from the weights of the moving average (``v_hat_relative_std``), and
``adam_moments`` runs Adam's two moving averages on gradients you choose, to watch them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lrcourse.validate import in_range, number

__all__ = [
    "adam_moments",
    "radam_rho",
    "radam_rectification",
    "untuned_warmup",
    "v_hat_relative_std",
    "first_step_reaching",
]


def _steps(t: ArrayLike) -> NDArray[np.float64]:
    t = np.asarray(t)
    if t.dtype.kind not in "iu" or (t.size and t.min() < 1):
        raise ValueError(
            f"t must be an integer step >= 1 (or an array of them), got {t}"
        )
    return t.astype(np.float64)


def _beta2(beta2: float) -> float:
    return in_range("beta2", beta2, 0, 1, low_open=True, high_open=True)


def radam_rho(t: ArrayLike, beta2: float = 0.999) -> NDArray[np.float64]:
    """rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t),  rho_inf = 2 / (1 - beta2) - 1"""
    t, beta2 = _steps(t), _beta2(beta2)
    rho_inf = 2 / (1 - beta2) - 1
    return rho_inf - 2 * t * beta2**t / (1 - beta2**t)


def radam_rectification(t: ArrayLike, beta2: float = 0.999) -> NDArray[np.float64]:
    """r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))

    where rho_t > 4; 0 before (RAdam takes no adaptive step there)."""
    t, beta2 = _steps(t), _beta2(beta2)
    rho_inf = 2 / (1 - beta2) - 1
    rho = radam_rho(t.astype(np.int64), beta2)
    ok = rho > 4
    rho = np.where(ok, rho, 5.0)  # any value > 4: the masked steps return 0
    r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    return np.where(ok, r, 0.0)


def untuned_warmup(t: ArrayLike, beta2: float = 0.999) -> NDArray[np.float64]:
    """omega_t = min(1, t (1 - beta2) / 2): linear warmup over 2 / (1 - beta2) steps"""
    t, beta2 = _steps(t), _beta2(beta2)
    return np.minimum(1.0, t * (1 - beta2) / 2)


def v_hat_relative_std(
    t: ArrayLike, beta2: float = 0.999, kurtosis: float = 3.0
) -> NDArray[np.float64]:
    """std(v_hat_t) / E[g^2] for i.i.d. gradients g with E[g] = 0:

    v_hat_t = sum_i w_i g_i^2 with w_i = (1 - beta2) beta2^(t - i) / (1 - beta2^t), so
    Var(v_hat_t) / E[g^2]^2 = (kurtosis - 1) * sum_i w_i^2, and

        sum_i w_i^2 = (1 - beta2)^2 (1 - beta2^(2t)) / ((1 - beta2^2) (1 - beta2^t)^2).

    ``kurtosis`` is E[g^4] / E[g^2]^2: 3 for a Gaussian gradient (then t = 1 gives
    sqrt(2)). The weights of the average are the same for every coordinate: only the
    gradient's distribution sets how noisy v_hat is, never its scale.
    """
    t, beta2 = _steps(t), _beta2(beta2)
    kurtosis = number("kurtosis", kurtosis, strict=True)
    sum_w2 = (1 - beta2) ** 2 * (1 - beta2 ** (2 * t))
    sum_w2 = sum_w2 / ((1 - beta2**2) * (1 - beta2**t) ** 2)
    return np.sqrt((kurtosis - 1) * sum_w2)


def adam_moments(
    gradients: ArrayLike, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Adam's bias-corrected moments and its step, for gradients g_1 ... g_T (T, ...):

        m_t = beta1 m_{t-1} + (1 - beta1) g_t        m_hat_t = m_t / (1 - beta1^t)
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2      v_hat_t = v_t / (1 - beta2^t)
        u_t = m_hat_t / (sqrt(v_hat_t) + eps)        (the step is lr * u_t)

    Returns (m_hat, v_hat, u), each shaped like ``gradients``; row t - 1 is step t.
    """
    g = np.asarray(gradients, dtype=np.float64)
    if g.ndim == 0 or len(g) == 0:
        raise ValueError(
            f"gradients must have a leading step axis, got shape {g.shape}"
        )
    beta1 = in_range("beta1", beta1, 0, 1, high_open=True)
    beta2, eps = _beta2(beta2), number("eps", eps, strict=True)
    m, v = np.zeros(g.shape[1:]), np.zeros(g.shape[1:])
    m_hat, v_hat = np.empty_like(g), np.empty_like(g)
    for t in range(1, len(g) + 1):
        m = beta1 * m + (1 - beta1) * g[t - 1]
        v = beta2 * v + (1 - beta2) * g[t - 1] ** 2
        m_hat[t - 1] = m / (1 - beta1**t)
        v_hat[t - 1] = v / (1 - beta2**t)
    return m_hat, v_hat, m_hat / (np.sqrt(v_hat) + eps)


def first_step_reaching(values: ArrayLike, level: float) -> int:
    """The first step t (values[0] is t = 1) with values[t - 1] >= level; ValueError if
    none does."""
    values = np.asarray(values, dtype=float)
    hit = np.flatnonzero(values >= level)
    if not hit.size:
        raise ValueError(
            f"level must be reached by values; the largest is {values.max()}"
        )
    return int(hit[0]) + 1
