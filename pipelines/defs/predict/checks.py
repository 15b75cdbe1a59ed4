"""The holdout check of the predictions (the fits themselves are dbt Python models in
dbt_project/models/predict/): does the purchase model, fitted on the history up to a
calibration cutoff, predict the repeat purchases that followed?

It reads the one row of `predict.customer_prediction_holdout` (computed by dbt). Passed when
the aggregate error is within ±20%; WARN beyond, or when there were no repeat purchases in
the holdout; when there is too little data to judge (a history under three weeks, or a
calibration fit that hit its bound on a short holdout), the check passes with the reason
recorded as `skipped` rather than crying wolf. Never blocking: the funnel, CAC and LTV marts
do not depend on the forecast, and a fit that does not converge writes NULLs, not numbers.
"""

import dagster as dg

from pipelines.lib.warehouse import warehouse_connection
from pipelines.settings import load_settings

PREDICTIONS_KEY = dg.AssetKey(["predict", "customer_predictions"])
CHECK_NAME = "customer_predictions_holdout"
# FHL (2005) report BG/NBD within a few percent on CDNOW; 20% leaves room for seasonality and
# short histories while still flagging a model that no longer fits.
HOLDOUT_WARN_ABS_ERROR = 0.20


def holdout_result(row: dict | None) -> dg.AssetCheckResult:
    """The check's verdict on the holdout row (see module doc)."""
    if row is None:
        return dg.AssetCheckResult(passed=True, metadata={"skipped": "no holdout evaluation yet"})
    metadata = {k: v for k, v in row.items() if v is not None and k != "outcome"}
    metadata = {k: (str(v) if not isinstance(v, int | float | str | bool) else v)
                for k, v in metadata.items()}  # fmt: skip
    if row["outcome"] != "evaluated":
        return dg.AssetCheckResult(
            passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"Skipped: {row.get('reason')}",
            metadata={**metadata, "skipped": row.get("reason") or "too little data"},
        )
    error = row.get("aggregate_error")
    passed = error is not None and abs(error) <= HOLDOUT_WARN_ABS_ERROR
    description = (
        "No repeat purchases in the holdout to compare with."
        if error is None
        else f"Predicted vs actual repeat purchase days in the holdout: {error:+.1%} "
        f"({'within' if passed else 'beyond'} ±{HOLDOUT_WARN_ABS_ERROR:.0%})."
    )
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata=metadata,
    )


@dg.asset_check(
    asset=PREDICTIONS_KEY,
    name=CHECK_NAME,
    blocking=False,
    required_resource_keys={"warehouse_lock"},
    additional_deps=[dg.AssetKey(["predict", "customer_prediction_holdout"])],
    description="BG/NBD fitted on all but the last min(26 weeks, a third of the history) "
    "predicts the repeat purchase days of that holdout within ±20% (dbt model "
    "predict.customer_prediction_holdout); skipped with the reason when there is too "
    "little data to judge.",
)
def customer_predictions_holdout() -> dg.AssetCheckResult:
    with warehouse_connection(load_settings().warehouse_path, read_only=True) as con:
        cursor = con.execute("select * from predict.customer_prediction_holdout")
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    return holdout_result(dict(zip(names, rows[0], strict=True)) if rows else None)


defs = dg.Definitions(asset_checks=[customer_predictions_holdout])
