"""Customer-lifetime-value models: BG/NBD purchase frequency and Gamma-Gamma spend.

Pure numpy/scipy maximum-likelihood fits, no I/O. References:

- BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative
  to the Pareto/NBD Model", Marketing Science 24(2). Parameters r, alpha (purchase rate
  ~ Gamma(r, alpha)) and a, b (drop-out probability after each repeat purchase ~ Beta(a, b)).
- Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer
  Base Analysis", JMR 42(4); and Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary
  Value". Parameters p, q, v (v is the paper's gamma).

Inputs per customer: x = number of repeat purchases (frequency), t_x = time of the last
purchase since the first one (recency), T = time since the first purchase (age), all in the
same unit (weeks here), and m = mean value of the repeat purchases.

Fits run in log-parameter space with L-BFGS-B and analytic gradients. The BG/NBD likelihood
depends only on (x, t_x, T), so identical rows are collapsed and weighted by their count;
terms that depend on x alone are computed once per distinct x.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

# Parameters are optimised as log(theta) within these bounds; an estimate that ends on a
# bound means the maximum is not interior (e.g. nobody ever drops out), so not converged.
_LOG_BOUND = 12.0
_BOUND_TOLERANCE = 1e-3  # in log space: within 0.1% of a bound counts as on it
# An estimate at the upper bound is still a valid fit when its partner parameter is large
# too: the mixing distribution has collapsed to a point (no heterogeneity across customers),
# e.g. a, b -> infinity at fixed a / (a + b) = one drop-out probability for everyone.
_HOMOGENEOUS_PARTNER_MIN = np.exp(6.0)
# scipy's hyp2f1 in E[Y(t)] is exact to ~1e-12 up to a + b of a few hundred and overflows
# near 1000; above this, E[Y(t)] is integrated numerically instead.
_HYP2F1_MAX_CONCENTRATION = 200.0
_QUADRATURE_NODES = 48
_QUADRATURE_CHUNK = 65_536


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "v": self.v}


@dataclass(frozen=True)
class FitResult:
    """A maximum-likelihood fit: estimates, total log-likelihood and how the optimiser ended."""

    params: BgNbdParams | GammaGammaParams
    log_likelihood: float
    converged: bool
    message: str
    iterations: int
    n_customers: int  # customers whose data entered the likelihood
    n_distinct_rows: int  # rows after collapsing identical ones
    n_excluded: int = 0  # customers left out (Gamma-Gamma: x == 0 or non-positive spend)
    boundary_note: str = ""  # set when the estimate is a homogeneous limit (see _converged)


# --------------------------------------------------------------------------------------------
# Helpers


def _as_float_arrays(*arrays: np.ndarray) -> list[np.ndarray]:
    converted = [np.asarray(a, dtype=np.float64).ravel() for a in arrays]
    length = converted[0].shape[0]
    if any(a.shape[0] != length for a in converted):
        raise ValueError("all input arrays must have the same length")
    return converted


def collapse_identical_rows(
    *columns: np.ndarray,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Distinct rows of the given columns, their counts, and the index mapping rows back.

    Returns (distinct_columns, counts, inverse) with columns[i] == distinct_columns[i][inverse].
    A lexicographic sort of the columns (about 6x faster than np.unique(axis=0) here).
    """
    arrays = _as_float_arrays(*columns)
    if arrays[0].size == 0:
        return arrays, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort(arrays[::-1])
    sorted_columns = [column[order] for column in arrays]
    starts_group = np.ones(order.size, dtype=bool)
    starts_group[1:] = np.any([c[1:] != c[:-1] for c in sorted_columns], axis=0)
    group_of_sorted = np.cumsum(starts_group) - 1
    inverse = np.empty_like(group_of_sorted)
    inverse[order] = group_of_sorted
    counts = np.bincount(group_of_sorted)
    return [column[starts_group] for column in sorted_columns], counts, inverse


def _minimise(objective, start_log_params: np.ndarray) -> optimize.OptimizeResult:
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(start_log_params)
    return optimize.minimize(
        objective,
        start_log_params,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 1000, "ftol": 1e-13, "gtol": 1e-9},
    )


def _converged(
    result: optimize.OptimizeResult, homogeneous_pairs: dict[tuple[int, int], str] | None = None
) -> tuple[bool, str]:
    """Whether the fit is usable, and the notes of the pairs that sit in a homogeneous limit.

    L-BFGS-B can stop on a failed line search right at the optimum (no further reduction
    representable), so a vanishing gradient of the per-customer mean objective counts as
    success too. An estimate on a bound is not an interior maximum, unless it is an upper
    bound in one of `homogeneous_pairs` (shape and scale of a mixing distribution) whose
    partner is large too: that is the limit where every customer shares one value.
    """
    small_gradient = bool(np.all(np.isfinite(result.jac)) and np.max(np.abs(result.jac)) < 1e-5)
    ok = bool((result.success or small_gradient) and np.isfinite(result.fun))
    at_upper = result.x >= _LOG_BOUND - _BOUND_TOLERANCE
    at_lower = result.x <= -_LOG_BOUND + _BOUND_TOLERANCE
    explained = np.zeros_like(at_upper)
    notes = []
    for (first, second), note in (homogeneous_pairs or {}).items():
        values = np.exp(result.x[[first, second]])
        if at_upper[[first, second]].any() and np.all(values >= _HOMOGENEOUS_PARTNER_MIN):
            explained[[first, second]] = True
            notes.append(note)
    ok = ok and not at_lower.any() and not (at_upper & ~explained).any()
    return ok, "; ".join(notes)


# --------------------------------------------------------------------------------------------
# BG/NBD


def _wsum(weights: np.ndarray, values: np.ndarray) -> float:
    # Elementwise then sum rather than `weights @ values`: a BLAS dot product here wakes
    # OpenBLAS's thread pool, which on a busy 2-core machine made each call 10x slower.
    return float(np.sum(weights * values))


def _bgnbd_ll_and_grad(
    log_params: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    age: np.ndarray,
    weights: np.ndarray,
    x_values: np.ndarray,
    x_index: np.ndarray,
    weight_per_x: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Weighted total log-likelihood and its gradient with respect to the log-parameters.

    Per customer: ln[B(a, b+x) / B(a, b)] + ln[Gamma(r+x) alpha^r / Gamma(r)]
    + ln[(alpha+T)^-(r+x) + 1{x>0} a / (b+x-1) (alpha+t_x)^-(r+x)]  (FHL 2005, eq. 6).
    """
    if weight_per_x is None:
        weight_per_x = np.bincount(x_index, weights, minlength=x_values.size)
    r, alpha, a, b = np.exp(log_params)
    has_repeat_value = x_values > 0
    # Per distinct x (few values): the terms that do not depend on t_x or T.
    safe_b_x_1 = np.where(has_repeat_value, b + x_values - 1.0, 1.0)
    per_x_const = special.gammaln(r + x_values) + special.betaln(a, b + x_values)
    per_x_log_ratio = np.where(has_repeat_value, np.log(a) - np.log(safe_b_x_1), -np.inf)
    inv_b_x_1 = np.where(has_repeat_value, 1.0 / safe_b_x_1, 0.0)
    psi_r_x = special.digamma(r + x_values)
    psi_a_b_x = special.digamma(a + b + x_values)
    psi_b_x = special.digamma(b + x_values)

    # Per row: the two ways of having made the last purchase at t_x and being seen at T.
    r_x = r + x
    log_alpha_age = np.log(alpha + age)
    log_alpha_tx = np.log(alpha + t_x)
    u_age = -r_x * log_alpha_age
    u_tx = per_x_log_ratio[x_index] - r_x * log_alpha_tx  # -inf where x == 0
    log_sum = np.logaddexp(u_age, u_tx)
    w_tx = np.exp(u_tx - log_sum)  # share of the "dropped out after the last purchase" term
    w_age = 1.0 - w_tx

    total_weight = weights.sum()
    x_free = r * np.log(alpha) - special.gammaln(r) - special.betaln(a, b)
    ll = _wsum(weights, log_sum) + _wsum(weight_per_x, per_x_const) + total_weight * x_free

    psi_a_b = special.digamma(a + b)
    d_r = (
        _wsum(weight_per_x, psi_r_x)
        - _wsum(weights, w_age * log_alpha_age + w_tx * log_alpha_tx)
        + total_weight * (np.log(alpha) - special.digamma(r))
    )
    d_alpha = -_wsum(weights, r_x * (w_age / (alpha + age) + w_tx / (alpha + t_x))) + (
        total_weight * r / alpha
    )
    d_a = -_wsum(weight_per_x, psi_a_b_x) + _wsum(weights, w_tx) / a + total_weight * psi_a_b
    d_b = (
        _wsum(weight_per_x, psi_b_x - psi_a_b_x)
        - _wsum(weights, w_tx * inv_b_x_1[x_index])
        + total_weight * (psi_a_b - special.digamma(b))
    )
    grad_log = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
    return float(ll), grad_log


def _distinct_x(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x_values, x_index = np.unique(x, return_inverse=True)
    return x_values, x_index.ravel()


def _validate_rft(x: np.ndarray, t_x: np.ndarray, age: np.ndarray) -> None:
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValueError("frequency must be a non-negative whole number")
    if np.any(t_x < 0) or np.any(t_x > age):
        raise ValueError("recency must lie in [0, T]")
    if not (np.all(np.isfinite(t_x)) and np.all(np.isfinite(age))):
        raise ValueError("recency and T must be finite")


def bgnbd_log_likelihood(
    params: BgNbdParams,
    x: np.ndarray,
    t_x: np.ndarray,
    age: np.ndarray,
    weights: np.ndarray | None = None,
) -> float:
    """Total BG/NBD log-likelihood of the customers (each row weighted by `weights`)."""
    x, t_x, age = _as_float_arrays(x, t_x, age)
    weights = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    x_values, x_index = _distinct_x(x)
    log_params = np.log([params.r, params.alpha, params.a, params.b])
    ll, _ = _bgnbd_ll_and_grad(log_params, x, t_x, age, weights, x_values, x_index)
    return ll


def fit_bgnbd(
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
    weights: np.ndarray | None = None,
    collapse: bool = True,
) -> FitResult:
    """Maximum-likelihood BG/NBD fit on (x, t_x, T), optionally with row weights (counts).

    Identical (x, t_x, T) rows are collapsed into one weighted row first (`collapse`), which
    is what makes a fit on a million customers quick when times are measured in whole days.
    """
    x, t_x, age = _as_float_arrays(frequency, recency, age)
    if x.size == 0:
        raise ValueError("no customers to fit")
    _validate_rft(x, t_x, age)
    if weights is None:
        weights = np.ones_like(x)
    weights = np.asarray(weights, dtype=np.float64).ravel()
    n_customers = int(round(weights.sum()))
    if collapse:
        (x, t_x, age, row_weights), counts, _ = collapse_identical_rows(x, t_x, age, weights)
        weights = row_weights * counts
    x_values, x_index = _distinct_x(x)
    weight_per_x = np.bincount(x_index, weights, minlength=x_values.size)
    total_weight = weights.sum()

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = _bgnbd_ll_and_grad(
            log_params, x, t_x, age, weights, x_values, x_index, weight_per_x
        )
        # Mean per customer keeps the objective's scale independent of the customer count.
        return -ll / total_weight, -grad / total_weight

    # Start: r = 1 with alpha matching the mean observed purchase rate; a = 1, b = 3.
    mean_rate = max(_wsum(weights, x) / _wsum(weights, np.maximum(age, 1e-9)), 1e-6)
    start = np.log([1.0, 1.0 / mean_rate, 1.0, 3.0])
    result = _minimise(objective, start)
    r, alpha, a, b = np.exp(result.x)
    params = BgNbdParams(r=float(r), alpha=float(alpha), a=float(a), b=float(b))
    converged, note = _converged(
        result,
        {
            (0, 1): "r, alpha -> infinity: one purchase rate for every customer",
            (2, 3): "a, b -> infinity: one drop-out probability for every customer",
        },
    )
    return FitResult(
        params=params,
        log_likelihood=float(-result.fun * total_weight),
        converged=converged,
        boundary_note=note,
        message=str(result.message),
        iterations=int(result.nit),
        n_customers=n_customers,
        n_distinct_rows=int(x.size),
    )


def bgnbd_p_alive(
    params: BgNbdParams, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """P(still alive at T | x, t_x, T). Equal to 1 for x == 0 by the model's construction
    (a customer can only drop out right after a repeat purchase)."""
    x, t_x, age = _as_float_arrays(frequency, recency, age)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    has_repeat = x > 0
    safe_b_x_1 = np.where(has_repeat, b + x - 1.0, 1.0)
    log_odds_dead = (
        np.log(a) - np.log(safe_b_x_1) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
    )
    return np.where(has_repeat, special.expit(-log_odds_dead), 1.0)


def bgnbd_expected_purchases(
    params: BgNbdParams,
    horizon: float,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
    hyp2f1_max_concentration: float = _HYP2F1_MAX_CONCENTRATION,
) -> np.ndarray:
    """E[number of purchases in (T, T + horizon] | x, t_x, T] (FHL 2005, eq. 10).

    The paper's form multiplies ((alpha+T)/(alpha+T+t))^(r+x), tiny for large x, by a 2F1
    that is huge for large x. Euler's transformation 2F1(A,B;C;z) = (1-z)^(C-A-B)
    2F1(C-A,C-B;C;z) folds the two into (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose
    first parameters no longer grow with x, so scipy's series stays accurate. When a + b is
    large (a nearly homogeneous drop-out probability) the 2F1 overflows instead; there, and
    wherever it is not finite, the same expectation is integrated over p's posterior.
    """
    x, t_x, age = _as_float_arrays(frequency, recency, age)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if horizon < 0:
        raise ValueError("horizon must be >= 0")
    if a + b > hyp2f1_max_concentration:
        expected_if_alive = _expected_if_alive_by_quadrature(params, horizon, x, age)
    else:
        if abs(a - 1.0) < 1e-9:  # removable singularity at a == 1
            a = 1.0 + 1e-9
        c = a + b + x - 1.0
        z = horizon / (alpha + age + horizon)
        with np.errstate(invalid="ignore", over="ignore"):
            hyp = special.hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
            not_yet_lost = 1.0 - np.exp((a - 1.0) * np.log1p(-z)) * hyp
            expected_if_alive = c / (a - 1.0) * not_yet_lost
        failed = ~np.isfinite(expected_if_alive) | (expected_if_alive < 0)
        if failed.any():
            expected_if_alive[failed] = _expected_if_alive_by_quadrature(
                params, horizon, x[failed], age[failed]
            )
    return expected_if_alive * bgnbd_p_alive(params, x, t_x, age)


def _expected_if_alive_by_quadrature(
    params: BgNbdParams, horizon: float, x: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """E[(1 - ((alpha+T) / (alpha+T+p t))^(r+x)) / p] with p ~ Beta(a, b+x): the expected
    purchases of a live customer (lambda | alive ~ Gamma(r+x, alpha+T); a live customer
    makes (1 - exp(-lambda p t)) / p purchases on average in the next t).

    Gauss-Legendre over p's quantiles: the integrand is bounded and smooth in the quantile
    level, and the nodes follow p's posterior however concentrated it is.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    levels, level_weights = np.polynomial.legendre.leggauss(_QUADRATURE_NODES)
    levels, level_weights = (levels + 1.0) / 2.0, level_weights / 2.0
    x_values, x_index = _distinct_x(x)
    p_nodes = special.betaincinv(a, b + x_values[:, None], levels[None, :])
    result = np.empty(x.size)
    for start in range(0, x.size, _QUADRATURE_CHUNK):
        rows = slice(start, start + _QUADRATURE_CHUNK)
        p = p_nodes[x_index[rows]]
        log_alpha_age = np.log(alpha + age[rows])[:, None]
        shape = (r + x[rows])[:, None]
        lost = -np.expm1(shape * (log_alpha_age - np.log(np.exp(log_alpha_age) + p * horizon)))
        # As p -> 0 the integrand tends to (r+x) t / (alpha+T).
        limit = shape * horizon / np.exp(log_alpha_age)
        integrand = np.divide(lost, p, out=np.broadcast_to(limit, p.shape).copy(), where=p > 0)
        result[rows] = np.sum(integrand * level_weights, axis=1)
    return result


def bgnbd_unconditional_expected_purchases(params: BgNbdParams, horizon: np.ndarray) -> np.ndarray:
    """E[X(t)] for a customer just acquired (FHL 2005, eq. 9): repeat purchases in (0, t]."""
    t = np.asarray(horizon, dtype=np.float64)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + t)
    return (
        (a + b - 1.0)
        / (a - 1.0)
        * (1.0 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1.0, z))
    )


def simulate_bgnbd(
    params: BgNbdParams, age: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw (x, t_x) for customers of the given ages T from the BG/NBD process.

    Each customer has lambda ~ Gamma(r, 1/alpha) and p ~ Beta(a, b); purchases arrive as a
    Poisson process; after each repeat purchase the customer drops out with probability p,
    so the number of repeat purchases before dropping out is J ~ Geometric(p) on 1, 2, ...
    With N ~ Poisson(lambda T) arrivals, x = min(N, J) and, given N, the arrival times are
    uniform order statistics, so t_x / T ~ Beta(x, N - x + 1).
    """
    age = np.asarray(age, dtype=np.float64)
    n = age.shape[0]
    rate = rng.gamma(params.r, 1.0 / params.alpha, size=n)
    dropout = rng.beta(params.a, params.b, size=n)
    arrivals = rng.poisson(rate * age)
    purchases_before_dropout = rng.geometric(np.clip(dropout, 1e-300, 1.0))
    x = np.minimum(arrivals, purchases_before_dropout)
    t_x = np.zeros(n)
    has_repeat = x > 0
    t_x[has_repeat] = age[has_repeat] * rng.beta(
        x[has_repeat], arrivals[has_repeat] - x[has_repeat] + 1
    )
    return x.astype(np.float64), t_x


# --------------------------------------------------------------------------------------------
# Gamma-Gamma


@dataclass(frozen=True)
class _SpendData:
    """Gamma-Gamma inputs with everything that does not depend on the parameters precomputed."""

    weights: np.ndarray
    x_times_m: np.ndarray
    weighted_x: np.ndarray
    x_values: np.ndarray
    weight_per_x: np.ndarray
    sum_w_x_log_x: float
    sum_w_x_log_m: float
    sum_w_log_m: float

    @classmethod
    def build(cls, x: np.ndarray, mean_spend: np.ndarray, weights: np.ndarray) -> _SpendData:
        x_values, x_index = _distinct_x(x)
        log_m = np.log(mean_spend)
        return cls(
            weights=weights,
            x_times_m=x * mean_spend,
            weighted_x=weights * x,
            x_values=x_values,
            weight_per_x=np.bincount(x_index, weights, minlength=x_values.size),
            sum_w_x_log_x=_wsum(weights * x, np.log(x)),
            sum_w_x_log_m=_wsum(weights * x, log_m),
            sum_w_log_m=_wsum(weights, log_m),
        )


def _gamma_gamma_ll_and_grad(log_params: np.ndarray, data: _SpendData) -> tuple[float, np.ndarray]:
    """Weighted total log-likelihood and gradient in the log-parameters.

    Per customer: ln Gamma(px+q) - ln Gamma(px) - ln Gamma(q) + q ln v + px ln x
    + (px-1) ln m - (px+q) ln(v + x m)  (Fader & Hardie 2013). Terms in x alone are summed
    per distinct x; only ln(v + x m) is computed per customer.
    """
    p, q, v = np.exp(log_params)
    px_values = p * data.x_values
    log_v_xm = np.log(v + data.x_times_m)
    sum_w_log_v_xm = _wsum(data.weights, log_v_xm)
    sum_w_x_log_v_xm = _wsum(data.weighted_x, log_v_xm)
    total_weight = data.weights.sum()
    ll = (
        _wsum(data.weight_per_x, special.gammaln(px_values + q) - special.gammaln(px_values))
        + p * data.sum_w_x_log_x
        + p * data.sum_w_x_log_m
        - data.sum_w_log_m
        - p * sum_w_x_log_v_xm
        - q * sum_w_log_v_xm
        + total_weight * (q * np.log(v) - special.gammaln(q))
    )
    psi_px_q = special.digamma(px_values + q)
    d_p = (
        _wsum(data.weight_per_x * data.x_values, psi_px_q - special.digamma(px_values))
        + data.sum_w_x_log_x
        + data.sum_w_x_log_m
        - sum_w_x_log_v_xm
    )
    d_q = (
        _wsum(data.weight_per_x, psi_px_q)
        - sum_w_log_v_xm
        + total_weight * (np.log(v) - special.digamma(q))
    )
    inverse_v_xm = 1.0 / (v + data.x_times_m)
    d_v = (
        -p * _wsum(data.weighted_x, inverse_v_xm)
        - q * _wsum(data.weights, inverse_v_xm)
        + total_weight * q / v
    )
    return float(ll), np.array([d_p * p, d_q * q, d_v * v])


def gamma_gamma_usable(frequency: np.ndarray, mean_spend: np.ndarray) -> np.ndarray:
    """Customers the spend model can learn from: a repeat purchase and positive mean spend."""
    x, m = _as_float_arrays(frequency, mean_spend)
    return (x > 0) & np.isfinite(m) & (m > 0)


def gamma_gamma_log_likelihood(
    params: GammaGammaParams, frequency: np.ndarray, mean_spend: np.ndarray
) -> float:
    """Total Gamma-Gamma log-likelihood of the usable customers (x > 0, mean spend > 0)."""
    x, m = _as_float_arrays(frequency, mean_spend)
    keep = gamma_gamma_usable(x, m)
    log_params = np.log([params.p, params.q, params.v])
    data = _SpendData.build(x[keep], m[keep], np.ones(int(keep.sum())))
    ll, _ = _gamma_gamma_ll_and_grad(log_params, data)
    return ll


def fit_gamma_gamma(frequency: np.ndarray, mean_spend: np.ndarray) -> FitResult:
    """Maximum-likelihood Gamma-Gamma fit on customers with x > 0 and mean spend > 0.

    Others (no repeat purchase, or repeat purchases refunded to zero or below) are left out
    of the fit and counted in `n_excluded`.
    """
    x, m = _as_float_arrays(frequency, mean_spend)
    keep = gamma_gamma_usable(x, m)
    n_used = int(keep.sum())
    if n_used < 2:
        raise ValueError("the spend model needs at least two customers with x > 0 and spend > 0")
    # Mean spends are continuous and rarely repeat: no collapsing of identical rows here.
    data = _SpendData.build(x[keep], m[keep], np.ones(n_used))

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = _gamma_gamma_ll_and_grad(log_params, data)
        return -ll / n_used, -grad / n_used

    # Start from a moment match: p = 1 and q = 2 put the population mean spend at v.
    start = np.log([1.0, 2.0, float(np.mean(m[keep]))])
    result = _minimise(objective, start)
    p, q, v = np.exp(result.x)
    converged, note = _converged(
        result, {(1, 2): "q, v -> infinity: one mean spend for every customer"}
    )
    return FitResult(
        params=GammaGammaParams(p=float(p), q=float(q), v=float(v)),
        log_likelihood=float(-result.fun * n_used),
        converged=converged and bool(q > 1.0),  # q <= 1: infinite population mean spend
        boundary_note=note,
        message=str(result.message),
        iterations=int(result.nit),
        n_customers=n_used,
        n_distinct_rows=n_used,
        n_excluded=int(x.size - n_used),
    )


def gamma_gamma_expected_spend(
    params: GammaGammaParams, frequency: np.ndarray, mean_spend: np.ndarray
) -> np.ndarray:
    """E[value of a future purchase | x, mean spend] (Fader & Hardie 2013, eq. 5).

    p (v + x m) / (p x + q - 1): a weighted mean of the population mean p v / (q - 1) and
    the customer's own mean m. For x == 0 it is the population mean. A non-positive mean
    (repeat purchases refunded away) is taken as 0, the limit of the formula as m -> 0+,
    which shrinks the estimate towards 0 as such a customer's purchases accumulate.
    """
    x, m = _as_float_arrays(frequency, mean_spend)
    p, q, v = params.p, params.q, params.v
    observed = np.where((x > 0) & np.isfinite(m), np.maximum(m, 0.0), 0.0)
    denominator = p * x + q - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        spend = p * (v + x * observed) / denominator
    return np.where(denominator > 0, spend, np.nan)


# --------------------------------------------------------------------------------------------
# Together


@dataclass(frozen=True)
class CustomerPredictions:
    p_alive: np.ndarray
    expected_purchases: np.ndarray
    expected_spend: np.ndarray
    predicted_ltv: np.ndarray


def predict_customer_value(
    purchase_params: BgNbdParams,
    spend_params: GammaGammaParams,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
    mean_spend: np.ndarray,
    horizon: float = 52.0,
) -> CustomerPredictions:
    """Expected purchases in the next `horizon` (weeks) times expected spend per purchase.

    No discounting: the 12-month figure is undiscounted expected net revenue.
    """
    expected_purchases = bgnbd_expected_purchases(purchase_params, horizon, frequency, recency, age)
    expected_spend = gamma_gamma_expected_spend(spend_params, frequency, mean_spend)
    return CustomerPredictions(
        p_alive=bgnbd_p_alive(purchase_params, frequency, recency, age),
        expected_purchases=expected_purchases,
        expected_spend=expected_spend,
        predicted_ltv=expected_purchases * expected_spend,
    )
