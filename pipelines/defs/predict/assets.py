"""Predicted LTV per customer: the `customer_predictions` asset and its holdout check.

BG/NBD (purchase frequency) and Gamma-Gamma (spend) are fitted by maximum likelihood with
scipy (pipelines/lib/clv_models.py) on every customer's RFM summary, built in DuckDB from
core.fct_orders; p_alive and predicted_ltv_12m are written into marts.customers.

The asset always refits over all customers, whatever partition or range it is launched for,
so it runs once per run (single-run backfill policy). Predictions are written only from
fits that converged; otherwise both columns are set to NULL, the metadata says why, and the
holdout check fails with ERROR. The check does not block publication: the funnel, CAC and
LTV marts do not depend on the forecast, and a bad fit never reaches the mart (NULLs do).
"""

import datetime as dt
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg
import duckdb
import numpy as np

from pipelines.defs.predict import rfm
from pipelines.lib import clv_models

HORIZON_WEEKS = 52.0  # predicted_ltv_12m: the next 52 weeks, undiscounted
HOLDOUT_MAX_WEEKS = 26.0  # the check holds out min(26 weeks, a third of the history)
HOLDOUT_MIN_DAYS = 7  # a holdout under a week (history under 3 weeks) says nothing
# Aggregate holdout error (predicted vs actual repeat purchase days) above which the check
# warns. FHL (2005) report BG/NBD within a few percent on CDNOW; 20% leaves room for
# seasonality and short histories while still flagging a model that no longer fits.
HOLDOUT_WARN_ABS_ERROR = 0.20

ASSET_NAME = "customer_predictions"
CHECK_NAME = "customer_predictions_holdout"


def build_predict_assets(
    dbt_customers_key: dg.AssetKey,
    warehouse_path_fn: Callable[[], str | os.PathLike[str]],
    partitions_def: dg.PartitionsDefinition | None = None,
    *,
    key_prefix: Sequence[str] = (),
    pool: str | None = None,
) -> tuple[dg.AssetsDefinition, dg.AssetChecksDefinition]:
    """The `customer_predictions` asset (group `predict`) and its holdout check.

    dbt_customers_key: the dbt `customers` mart asset, which this asset updates in place.
    warehouse_path_fn: called at run time for the warehouse DuckDB path.
    partitions_def: the graph's daily partitions, so the asset joins partitioned runs and
        backfills; it recomputes over all customers whatever the partition.
    pool: the Dagster concurrency pool of the DuckDB writer, if the graph uses one.
    """
    asset_key = dg.AssetKey([*key_prefix, ASSET_NAME])

    @dg.asset(
        key=asset_key,
        deps=[dbt_customers_key],
        group_name="predict",
        kinds={"duckdb", "scipy"},
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run() if partitions_def else None,
        pool=pool,
        description=(
            "p_alive and predicted_ltv_12m (expected net revenue in the next 52 weeks, "
            "reporting currency, undiscounted) of every customer in marts.customers, from "
            "BG/NBD and Gamma-Gamma models fitted by maximum likelihood on all customers."
        ),
    )
    def customer_predictions(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        with duckdb.connect(str(warehouse_path_fn())) as con:
            metadata = _predict_and_write(con)
        context.log.info(
            "BG/NBD converged=%s, Gamma-Gamma converged=%s, %s customers",
            metadata.get("bgnbd_converged"),
            metadata.get("gamma_gamma_converged"),
            metadata.get("customers"),
        )
        return dg.MaterializeResult(metadata=metadata)

    @dg.asset_check(
        asset=customer_predictions,
        name=CHECK_NAME,
        blocking=False,
        # Unpartitioned: it judges the one all-customer fit, once per run (partitioned
        # checks are a preview feature in Dagster 1.13).
        pool=pool,
        description=(
            "Fits BG/NBD on all but the last min(26 weeks, a third of the history) and compares "
            "predicted with actual repeat purchase days in that holdout. ERROR when a fit "
            "(this one or the asset's latest) did not converge; WARN when the aggregate error "
            f"exceeds {HOLDOUT_WARN_ABS_ERROR:.0%}."
        ),
    )
    def customer_predictions_holdout(context: dg.AssetCheckExecutionContext):
        asset_converged = _latest_fit_converged(context.instance, asset_key)
        with duckdb.connect(str(warehouse_path_fn())) as con:
            outcome = holdout_evaluation(con)
        metadata = outcome["metadata"]
        if asset_converged is False:
            return dg.AssetCheckResult(
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={**metadata, "reason": "the asset's latest fit did not converge"},
            )
        return dg.AssetCheckResult(
            passed=outcome["passed"], severity=outcome["severity"], metadata=metadata
        )

    return customer_predictions, customer_predictions_holdout


def _latest_fit_converged(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> bool | None:
    event = instance.get_latest_materialization_event(asset_key)
    if event is None or event.asset_materialization is None:
        return None
    flags = [
        event.asset_materialization.metadata.get(name)
        for name in ("bgnbd_converged", "gamma_gamma_converged")
    ]
    values = [flag.value for flag in flags if flag is not None]
    return all(values) if values else None


def _fit_metadata(prefix: str, fit: clv_models.FitResult) -> dict[str, Any]:
    return {
        **{f"{prefix}_{name}": value for name, value in fit.params.as_dict().items()},
        f"{prefix}_log_likelihood": fit.log_likelihood,
        f"{prefix}_converged": bool(fit.converged),
        f"{prefix}_optimizer_message": fit.message,
        f"{prefix}_iterations": fit.iterations,
        f"{prefix}_customers": fit.n_customers,
        **({f"{prefix}_boundary_note": fit.boundary_note} if fit.boundary_note else {}),
    }


def _predict_and_write(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Summarise, fit, predict and write; returns the materialisation metadata."""
    as_of = rfm.resolve_as_of_date(con)
    if as_of is None:
        counts = rfm.write_predictions(con, _empty_summary(con), np.empty(0), np.empty(0))
        return {"customers": 0, "skipped": "no orders in core.fct_orders", **counts}
    customers = rfm.create_rfm_summary(con, "clv_summary", as_of)
    summary = rfm.fetch_summary_arrays(con, "clv_summary")
    x = summary["frequency"]
    t_x, age, spend = (
        summary["recency_weeks"],
        summary["age_weeks"],
        summary["mean_repeat_net_spend"],
    )
    metadata: dict[str, Any] = {
        "as_of_date": as_of.isoformat(),
        "horizon_weeks": HORIZON_WEEKS,
        "customers": customers,
        "customers_with_repeat_purchase": int((x > 0).sum()),
        "spend_fit_excluded_non_positive_spend": int(((x > 0) & (spend <= 0)).sum()),
    }
    p_alive = np.full(customers, np.nan)
    ltv = np.full(customers, np.nan)
    started = time.perf_counter()
    problems: list[str] = []
    purchase_fit = _try_fit("bgnbd", lambda: clv_models.fit_bgnbd(x, t_x, age), metadata, problems)
    spend_fit = _try_fit(
        "gamma_gamma", lambda: clv_models.fit_gamma_gamma(x, spend), metadata, problems
    )
    if spend_fit is not None:
        metadata["gamma_gamma_excluded"] = spend_fit.n_excluded
    metadata["fit_seconds"] = round(time.perf_counter() - started, 3)

    if purchase_fit is not None and purchase_fit.converged:
        p_alive = clv_models.bgnbd_p_alive(purchase_fit.params, x, t_x, age)
        if spend_fit is not None and spend_fit.converged:
            predictions = clv_models.predict_customer_value(
                purchase_fit.params, spend_fit.params, x, t_x, age, spend, horizon=HORIZON_WEEKS
            )
            ltv = predictions.predicted_ltv
            metadata["total_predicted_ltv_12m"] = float(np.nansum(ltv))
            metadata["mean_predicted_ltv_12m"] = float(np.nanmean(ltv))
        metadata["mean_p_alive"] = float(np.mean(p_alive))
    if problems:
        metadata["problems"] = "; ".join(problems)
    metadata.update(rfm.write_predictions(con, "clv_summary", p_alive, ltv))
    metadata["summary"] = dg.MetadataValue.md(_summary_markdown(metadata))
    return metadata


def _try_fit(
    prefix: str,
    fit: Callable[[], clv_models.FitResult],
    metadata: dict[str, Any],
    problems: list[str],
) -> clv_models.FitResult | None:
    """Run a fit, record it in `metadata`; too little data counts as not converged."""
    try:
        result = fit()
    except ValueError as error:
        metadata[f"{prefix}_converged"] = False
        problems.append(f"{prefix}: {error}")
        return None
    metadata.update(_fit_metadata(prefix, result))
    if not result.converged:
        problems.append(f"{prefix} did not converge: {result.message}")
    return result


def _empty_summary(con: duckdb.DuckDBPyConnection) -> str:
    rfm.create_rfm_summary(con, "clv_summary", dt.date(1900, 1, 1))
    return "clv_summary"


def _summary_markdown(metadata: dict[str, Any]) -> str:
    rows = ["| parameter | value |", "| --- | --- |"]
    for model, names in (("bgnbd", ("r", "alpha", "a", "b")), ("gamma_gamma", ("p", "q", "v"))):
        for name in names:
            if f"{model}_{name}" in metadata:
                rows.append(f"| {model} {name} | {metadata[f'{model}_{name}']:.4f} |")
    converged = [
        f"{model}: {'converged' if metadata.get(f'{model}_converged') else 'NOT converged'}"
        for model in ("bgnbd", "gamma_gamma")
    ]
    return (
        f"Fitted on {metadata.get('customers', 0)} customers as of "
        f"{metadata.get('as_of_date', '-')} ({'; '.join(converged)}).\n\n" + "\n".join(rows)
    )


def holdout_evaluation(
    con: duckdb.DuckDBPyConnection,
    holdout_max_weeks: float = HOLDOUT_MAX_WEEKS,
    warn_abs_error: float = HOLDOUT_WARN_ABS_ERROR,
) -> dict[str, Any]:
    """Calibration/holdout comparison of repeat purchase days: passed, severity, metadata."""
    as_of = rfm.resolve_as_of_date(con)
    first = rfm.first_purchase_date(con)
    if as_of is None or first is None:
        return _holdout_skipped("no purchases in core.fct_orders")
    span_days = (as_of - first).days
    holdout_days = int(min(round(holdout_max_weeks * 7), span_days // 3))
    if holdout_days < HOLDOUT_MIN_DAYS:
        return _holdout_skipped(f"{span_days} days of history: too short to hold any out")
    calibration_end = as_of - dt.timedelta(days=holdout_days)
    rfm.create_rfm_summary(con, "clv_calibration", calibration_end, holdout_end=as_of)
    summary = rfm.fetch_summary_arrays(con, "clv_calibration", with_holdout=True)
    x, t_x, age = summary["frequency"], summary["recency_weeks"], summary["age_weeks"]
    metadata: dict[str, Any] = {
        "as_of_date": as_of.isoformat(),
        "calibration_end": calibration_end.isoformat(),
        "holdout_weeks": round(holdout_days / 7, 3),
        "calibration_customers": int(x.size),
    }
    try:
        fit = clv_models.fit_bgnbd(x, t_x, age)
    except ValueError as error:
        return _holdout_skipped(f"calibration fit impossible: {error}", metadata)
    metadata.update(_fit_metadata("calibration_bgnbd", fit))
    if not fit.converged:
        return {
            "passed": False,
            "severity": dg.AssetCheckSeverity.ERROR,
            "metadata": {**metadata, "reason": "calibration BG/NBD fit did not converge"},
        }
    predicted = clv_models.bgnbd_expected_purchases(fit.params, holdout_days / 7, x, t_x, age)
    actual = summary["holdout_purchase_days"]
    actual_total, predicted_total = float(actual.sum()), float(predicted.sum())
    aggregate_error = (predicted_total - actual_total) / actual_total if actual_total else None
    metadata.update(
        {
            "holdout_actual_repeat_purchase_days": actual_total,
            "holdout_predicted_repeat_purchase_days": predicted_total,
            "holdout_aggregate_error": aggregate_error,
            "holdout_mae_per_customer": float(np.mean(np.abs(predicted - actual))),
            "holdout_actual_mean_per_customer": float(actual.mean()),
            "by_calibration_frequency": dg.MetadataValue.md(
                _by_frequency_markdown(x, actual, predicted)
            ),
        }
    )
    metadata.update(_holdout_revenue(summary, predicted))
    warn = aggregate_error is None or abs(aggregate_error) > warn_abs_error
    if warn:
        metadata["reason"] = (
            "no repeat purchases in the holdout"
            if aggregate_error is None
            else f"aggregate error {aggregate_error:+.1%} beyond ±{warn_abs_error:.0%}"
        )
    return {
        "passed": not warn,
        "severity": dg.AssetCheckSeverity.WARN,
        "metadata": {k: v for k, v in metadata.items() if v is not None},
    }


def _holdout_revenue(summary: dict[str, np.ndarray], predicted: np.ndarray) -> dict[str, Any]:
    """Predicted vs actual holdout net revenue (reported only: refunds and price changes
    move it for reasons the purchase model does not claim to know)."""
    try:
        spend_fit = clv_models.fit_gamma_gamma(
            summary["frequency"], summary["mean_repeat_net_spend"]
        )
    except ValueError as error:
        return {"holdout_revenue_note": f"no spend fit: {error}"}
    if not spend_fit.converged:
        return {"holdout_revenue_note": "calibration Gamma-Gamma fit did not converge"}
    spend = clv_models.gamma_gamma_expected_spend(
        spend_fit.params, summary["frequency"], summary["mean_repeat_net_spend"]
    )
    actual, forecast = float(summary["holdout_net_revenue"].sum()), float(np.sum(predicted * spend))
    return {
        "holdout_actual_net_revenue": actual,
        "holdout_predicted_net_revenue": forecast,
        "holdout_revenue_error": (forecast - actual) / actual if actual else None,
    }


def _holdout_skipped(reason: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "passed": True,
        "severity": dg.AssetCheckSeverity.WARN,
        "metadata": {**(metadata or {}), "skipped": reason},
    }


def _by_frequency_markdown(x: np.ndarray, actual: np.ndarray, predicted: np.ndarray) -> str:
    """Mean actual vs predicted holdout purchases by calibration frequency (FHL 2005 Fig. 3)."""
    capped = np.minimum(x, 7).astype(int)
    rows = ["| calibration repeat days | customers | actual mean | predicted mean |"]
    rows.append("| --- | --- | --- | --- |")
    for value in np.unique(capped):
        chosen = capped == value
        label = f"{value}+" if value == 7 else str(value)
        rows.append(
            f"| {label} | {int(chosen.sum())} | {actual[chosen].mean():.3f} | "
            f"{predicted[chosen].mean():.3f} |"
        )
    return "\n".join(rows)
