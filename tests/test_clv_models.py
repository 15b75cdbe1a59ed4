"""BG/NBD and Gamma-Gamma fits, on the RFM summary the dbt project builds.

The reference data is Fader & Hardie's CDNOW sample (2,357 customers of the March 1997
cohort, 78 weeks of transactions) as shipped inside the `lifetimes` package, a test-only
dependency. Its files are read straight from the installed package: importing lifetimes
itself fails on pandas 3.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import duckdb
import numpy as np
import pytest
from scipy import integrate, special

from pipelines.lib import clv_models as cm
from tests.dbt_models import build_predictions

pytestmark = pytest.mark.unit

# Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", Marketing Science 24(2),
# section 5, fitted on the first 39 weeks of the CDNOW sample (calibration period ending
# 1997-09-30): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4.
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_BGNBD_LL = -9582.4
# Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value", on the 946 customers of
# that period with repeat purchases: p = 6.25, q = 3.74, gamma (our v) = 15.44. The
# log-likelihood -4055.9177 is the reference value of CLVTools' correctness test for the
# same fit (tests/testthat/test_correctness_gg.R).
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}
PUBLISHED_GAMMA_GAMMA_LL = -4055.9177
CDNOW_CALIBRATION_END = dt.date(1997, 9, 30)


def _lifetimes_dataset(name: str) -> Path:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("test dependency missing: pip install -c constraints.txt -e '.[dev]'")
    return Path(spec.submodule_search_locations[0]) / "datasets" / name


def _read_csv(name: str) -> dict[str, np.ndarray]:
    rows = np.genfromtxt(_lifetimes_dataset(name), delimiter=",", names=True)
    return {column: rows[column] for column in rows.dtype.names}


def _load_cdnow_orders(con: duckdb.DuckDBPyConnection) -> None:
    """core.fct_orders from CDNOW_sample.txt (customer, date, CDs, dollars per transaction)."""
    path = _lifetimes_dataset("CDNOW_sample.txt")
    con.execute("create schema if not exists core")
    con.execute(
        f"""
        create or replace table core.fct_orders as
        with lines as (
            select regexp_split_to_array(trim(regexp_replace(line, '\\s+', ' ', 'g')), ' ')
                as fields
            from read_csv('{path}', columns = {{'line': 'varchar'}}, header = false,
                          delim = '|')
        )
        select
            row_number() over () as order_id,
            fields[2] as customer_key,
            strptime(fields[3], '%Y%m%d') as ordered_at,
            strptime(fields[3], '%Y%m%d')::date as order_date,
            true as is_purchase,
            fields[5]::double as net_revenue
        from lines
        """
    )


def _assert_two_decimals(estimates: dict[str, float], published: dict[str, float]) -> None:
    for name, value in published.items():
        assert abs(estimates[name] - value) < 0.005, (name, estimates[name], value)


# ---------------------------------------------------------------------------------------------
# Acceptance: the published CDNOW fits


@pytest.fixture(scope="module")
def cdnow_warehouse(tmp_path_factory) -> Path:
    """A warehouse with CDNOW's orders as core.fct_orders and the predict models built by
    dbt as of the end of the calibration period."""
    root = tmp_path_factory.mktemp("cdnow")
    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        _load_cdnow_orders(con)
    build_predictions(warehouse, root, CDNOW_CALIBRATION_END.isoformat())
    return warehouse


@pytest.fixture(scope="module")
def cdnow_calibration_summary(cdnow_warehouse) -> dict[str, np.ndarray]:
    """RFM summary of the CDNOW calibration period, built by the dbt model."""
    columns = ["frequency", "recency_weeks", "age_weeks", "mean_repeat_net_spend"]
    with duckdb.connect(str(cdnow_warehouse)) as con:  # in-process dbt may hold it read-write
        fetched = con.execute(
            "select "
            + ", ".join(f"{c}::double as {c}" for c in columns)
            + " from predict.customer_rfm_summary order by customer_key"
        ).fetchnumpy()
    assert len(fetched["frequency"]) == 2357
    return {c: np.asarray(fetched[c], dtype=np.float64) for c in columns}


def test_rfm_summary_sql_reproduces_the_shipped_cdnow_summary(cdnow_calibration_summary):
    shipped = _read_csv("cdnow_customers_summary_with_transactions.csv")
    ours = cdnow_calibration_summary  # ordered by customer_key = the zero-padded ID
    np.testing.assert_array_equal(ours["frequency"], shipped["x"])
    np.testing.assert_allclose(ours["recency_weeks"], shipped["t_x"], atol=0.006)
    np.testing.assert_allclose(ours["age_weeks"], shipped["T"], atol=0.006)
    repeat = shipped["x"] > 0
    np.testing.assert_allclose(
        ours["mean_repeat_net_spend"][repeat], shipped["zbar"][repeat], atol=0.006
    )


def test_bgnbd_matches_fader_hardie_lee_on_cdnow(cdnow_calibration_summary):
    s = cdnow_calibration_summary
    fit = cm.fit_bgnbd(s["frequency"], s["recency_weeks"], s["age_weeks"])
    assert fit.converged
    assert fit.n_customers == 2357
    _assert_two_decimals(fit.params.as_dict(), PUBLISHED_BGNBD)
    assert fit.log_likelihood == pytest.approx(PUBLISHED_BGNBD_LL, abs=0.05)


def test_gamma_gamma_matches_fader_hardie_on_cdnow(cdnow_calibration_summary):
    s = cdnow_calibration_summary
    fit = cm.fit_gamma_gamma(s["frequency"], s["mean_repeat_net_spend"])
    assert fit.converged
    assert (fit.n_customers, fit.n_excluded) == (946, 2357 - 946)
    _assert_two_decimals(fit.params.as_dict(), PUBLISHED_GAMMA_GAMMA)
    assert fit.log_likelihood == pytest.approx(PUBLISHED_GAMMA_GAMMA_LL, abs=0.005)


def test_fits_on_the_shipped_summary_files():
    # cdnow_customers_summary.csv rounds t_x and T to 2 decimals: still the published BG/NBD.
    summary = _read_csv("cdnow_customers_summary.csv")
    fit = cm.fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    assert fit.converged
    _assert_two_decimals(fit.params.as_dict(), PUBLISHED_BGNBD)
    # Its zbar is rounded to cents, which moves v to 15.4477 (15.45, as in lifetimes' docs)
    # instead of 15.44 from exact amounts: p and q to 2 decimals, v within 0.01.
    with_spend = _read_csv("cdnow_customers_summary_with_transactions.csv")
    spend = cm.fit_gamma_gamma(with_spend["x"], with_spend["zbar"]).params
    _assert_two_decimals({"p": spend.p, "q": spend.q}, {"p": 6.25, "q": 3.74})
    assert spend.v == pytest.approx(15.44, abs=0.01)


# ---------------------------------------------------------------------------------------------
# Model properties

CDNOW_PARAMS = cm.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
HIGH_A_PARAMS = cm.BgNbdParams(r=1.3, alpha=6.0, a=2.5, b=4.0)


def _expected_purchases_by_quadrature(params, horizon, x, t_x, age):
    """E[Y(t)] as P(alive) * E[(1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p], p ~ Beta(a, b+x).

    Given alive, lambda | data ~ Gamma(r+x, alpha+T) and p | data ~ Beta(a, b+x); a live
    customer makes (1 - exp(-lambda p t)) / p purchases on average in the next t.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b

    def integrand(p):
        given_p = -np.expm1((r + x) * (np.log(alpha + age) - np.log(alpha + age + p * horizon)))
        return (
            given_p
            / p
            * np.exp((a - 1) * np.log(p) + (b + x - 1) * np.log1p(-p))
            / np.exp(special.betaln(a, b + x))
        )

    value, _ = integrate.quad(integrand, 0, 1, limit=200)
    return value * cm.bgnbd_p_alive(params, [x], [t_x], [age])[0]


@pytest.mark.parametrize(
    ("params", "tolerance"),
    [
        (CDNOW_PARAMS, 1e-6),  # the 2F1 closed form
        (HIGH_A_PARAMS, 1e-6),
        (cm.BgNbdParams(r=0.4, alpha=6.9, a=150.0, b=130.0), 1e-4),  # a + b > 200: quadrature
    ],
)
@pytest.mark.parametrize(
    ("x", "t_x", "age"), [(0, 0.0, 30.0), (2, 30.43, 38.86), (7, 10.0, 60.0), (60, 70.0, 71.0)]
)
def test_expected_purchases_match_numerical_integration(params, tolerance, x, t_x, age):
    closed_form = cm.bgnbd_expected_purchases(params, 52.0, [x], [t_x], [age])[0]
    assert closed_form == pytest.approx(
        _expected_purchases_by_quadrature(params, 52.0, x, t_x, age), rel=tolerance
    )


def test_one_dropout_probability_for_everyone_is_a_valid_limit():
    # Simulated with p = 0.3 for every customer: the MLE runs a, b to infinity at
    # a / (a + b) = 0.3. That is the homogeneous limit, a usable fit, not a failure.
    rng = np.random.default_rng(5)
    age = rng.integers(1, 157, size=20_000).astype(float)
    x, t_x = cm.simulate_bgnbd(cm.BgNbdParams(r=0.8, alpha=5.0, a=3e6, b=7e6), age, rng)
    fit = cm.fit_bgnbd(x, t_x, age)
    assert fit.converged
    assert "drop-out probability" in fit.boundary_note
    assert fit.params.a / (fit.params.a + fit.params.b) == pytest.approx(0.3, abs=0.03)
    # E[Y(t)] in that limit: p fixed, so P(alive) (1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p.
    p = fit.params.a / (fit.params.a + fit.params.b)
    sample = slice(0, 50)
    expected = cm.bgnbd_expected_purchases(fit.params, 52.0, x[sample], t_x[sample], age[sample])
    r, alpha = fit.params.r, fit.params.alpha
    limit = (
        cm.bgnbd_p_alive(fit.params, x[sample], t_x[sample], age[sample])
        * (1 - ((alpha + age[sample]) / (alpha + age[sample] + p * 52.0)) ** (r + x[sample]))
        / p
    )
    np.testing.assert_allclose(expected, limit, rtol=1e-3)


def test_p_alive_is_one_without_repeat_purchases_and_falls_with_silence():
    # BG/NBD customers can only drop out right after a repeat purchase, so x = 0 means alive.
    assert np.all(cm.bgnbd_p_alive(CDNOW_PARAMS, [0, 0, 0], [0, 0, 0], [1.0, 20.0, 80.0]) == 1.0)
    ages = np.array([10.0, 20.0, 40.0, 80.0])
    p_alive = cm.bgnbd_p_alive(CDNOW_PARAMS, np.full(4, 3), np.full(4, 10.0), ages)
    assert p_alive[0] == pytest.approx(
        1 / (1 + 0.793 / (2.426 + 3 - 1) * ((4.414 + 10) / (4.414 + 10)) ** (0.243 + 3))
    )
    assert np.all(np.diff(p_alive) < 0) and np.all((p_alive > 0) & (p_alive < 1))


def test_predictions_are_finite_and_increase_with_frequency_for_recent_buyers():
    spend_params = cm.GammaGammaParams(p=6.25, q=3.74, v=15.44)
    x = np.arange(0, 200, dtype=float)
    age = np.full_like(x, 100.0)
    t_x = np.where(x > 0, age, 0.0)  # purchased on the last day: still alive
    predictions = cm.predict_customer_value(
        CDNOW_PARAMS, spend_params, x, t_x, age, np.full_like(x, 40.0)
    )
    for values in (predictions.expected_purchases, predictions.predicted_ltv):
        assert np.all(np.isfinite(values))
        assert np.all(np.diff(values[1:]) > 0)
    assert np.all(predictions.predicted_ltv >= 0)


def test_predictions_stay_finite_across_a_wide_grid():
    x, t_x, age = np.meshgrid(np.arange(0, 300, 7.0), [0.1, 5.0, 50.0], [50.0, 156.0])
    x, t_x, age = x.ravel(), t_x.ravel(), age.ravel()
    t_x = np.where(x > 0, t_x, 0.0)
    for params in (CDNOW_PARAMS, HIGH_A_PARAMS, cm.BgNbdParams(0.5, 2.0, 1.0, 3.0)):
        expected = cm.bgnbd_expected_purchases(params, 52.0, x, t_x, age)
        assert np.all(np.isfinite(expected)) and np.all(expected >= 0)


def test_simulation_matches_the_unconditional_expectation():
    # Checks simulate_bgnbd (used by the benchmark) against FHL (2005) eq. 9.
    rng = np.random.default_rng(7)
    age = np.full(200_000, 52.0)
    x, t_x = cm.simulate_bgnbd(CDNOW_PARAMS, age, rng)
    expected = cm.bgnbd_unconditional_expected_purchases(CDNOW_PARAMS, 52.0)
    assert x.mean() == pytest.approx(expected, rel=0.03)
    assert np.all((t_x <= age) & ((x > 0) | (t_x == 0)))


def test_fit_recovers_simulated_parameters_and_weights_equal_duplicates():
    rng = np.random.default_rng(11)
    age = rng.integers(1, 157, size=20_000).astype(float)
    true = cm.BgNbdParams(r=0.6, alpha=5.0, a=0.9, b=3.0)
    x, t_x = cm.simulate_bgnbd(true, age, rng)
    fit = cm.fit_bgnbd(x, t_x, age)
    assert fit.converged
    for name, value in true.as_dict().items():
        assert getattr(fit.params, name) == pytest.approx(value, rel=0.25), name
    # Collapsing identical rows into weights changes nothing.
    t_x_days = np.round(t_x * 7) / 7
    collapsed = cm.fit_bgnbd(x, t_x_days, age)
    uncollapsed = cm.fit_bgnbd(x, t_x_days, age, collapse=False)
    assert collapsed.n_distinct_rows < uncollapsed.n_distinct_rows
    assert collapsed.log_likelihood == pytest.approx(uncollapsed.log_likelihood, rel=1e-9)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(collapsed.params, name) == pytest.approx(
            getattr(uncollapsed.params, name), rel=1e-5
        )


def test_analytic_gradients_match_finite_differences():
    summary = _read_csv("cdnow_customers_summary_with_transactions.csv")
    x, t_x, age, spend = summary["x"], summary["t_x"], summary["T"], summary["zbar"]
    x_values, x_index = cm._distinct_x(x)
    weights = np.ones_like(x)
    log_params = np.log([0.4, 3.0, 1.2, 2.0])
    _, grad = cm._bgnbd_ll_and_grad(log_params, x, t_x, age, weights, x_values, x_index)
    numeric = [
        (
            cm._bgnbd_ll_and_grad(log_params + step, x, t_x, age, weights, x_values, x_index)[0]
            - cm._bgnbd_ll_and_grad(log_params - step, x, t_x, age, weights, x_values, x_index)[0]
        )
        / 2e-6
        for step in np.eye(4) * 1e-6
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5)
    keep = x > 0
    log_params = np.log([3.0, 2.0, 10.0])
    args = (cm._SpendData.build(x[keep], spend[keep], np.ones(int(keep.sum()))),)
    _, grad = cm._gamma_gamma_ll_and_grad(log_params, *args)
    numeric = [
        (
            cm._gamma_gamma_ll_and_grad(log_params + step, *args)[0]
            - cm._gamma_gamma_ll_and_grad(log_params - step, *args)[0]
        )
        / 2e-6
        for step in np.eye(3) * 1e-6
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5)


def test_spend_fit_leaves_out_non_positive_spend_and_one_time_buyers():
    summary = _read_csv("cdnow_customers_summary_with_transactions.csv")
    x, spend = summary["x"], summary["zbar"]
    clean = cm.fit_gamma_gamma(x, spend)
    # Refunded-away repeat purchases (0, negative) and a one-time buyer with a stray value.
    x_messy = np.concatenate([x, [3, 1, 2, 0]])
    spend_messy = np.concatenate([spend, [0.0, -12.5, np.nan, 50.0]])
    messy = cm.fit_gamma_gamma(x_messy, spend_messy)
    assert messy.params == clean.params
    assert messy.n_customers == clean.n_customers == 946
    assert messy.n_excluded == clean.n_excluded + 4
    expected = cm.gamma_gamma_expected_spend(messy.params, [3, 1, 0], [0.0, -12.5, 50.0])
    p, q, v = 6.2488, 3.7446, 15.4477
    # Non-positive means count as 0; x = 0 gets the population mean p v / (q - 1).
    np.testing.assert_allclose(
        expected, [p * v / (3 * p + q - 1), p * v / (p + q - 1), p * v / (q - 1)], rtol=1e-3
    )


def test_degenerate_data_is_reported_as_not_converged():
    # Nobody ever came back: the purchase rate runs to zero, no interior maximum.
    fit = cm.fit_bgnbd(np.zeros(500), np.zeros(500), np.linspace(1, 50, 500))
    assert not fit.converged
    with pytest.raises(ValueError, match="at least two customers"):
        cm.fit_gamma_gamma(np.zeros(10), np.zeros(10))
