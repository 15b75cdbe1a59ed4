"""How well the purchase model predicts: BG/NBD fitted on customer_rfm_calibration (the
history up to a calibration cutoff), its expected repeat purchase days in the holdout after
the cutoff against what the customers did (Fader, Hardie & Lee 2005, section 5). One row.

`outcome` says whether there was enough to judge: 'evaluated', or 'skipped' with the reason
(no holdout: history under three weeks; the calibration fit was impossible or did not
converge). The Dagster check `customer_predictions_holdout` reads this row.
"""

import numpy as np
import pandas as pd

from pipelines.lib import clv_models

COLUMNS = (
    "outcome", "reason", "as_of_date", "calibration_end", "holdout_weeks",
    "calibration_customers", "converged", "boundary_note", "calibration_r",
    "calibration_alpha", "calibration_a", "calibration_b", "actual_repeat_purchase_days",
    "predicted_repeat_purchase_days", "aggregate_error", "mae_per_customer",
    "actual_holdout_net_revenue",
)  # fmt: skip
NUMBERS = (
    "holdout_weeks", "calibration_r", "calibration_alpha", "calibration_a", "calibration_b",
    "actual_repeat_purchase_days", "predicted_repeat_purchase_days", "aggregate_error",
    "mae_per_customer", "actual_holdout_net_revenue",
)  # fmt: skip


def _one_row(values: dict) -> pd.DataFrame:
    """The one row, always with every column (and the same types), whatever the outcome."""
    frame = pd.DataFrame([{column: values.get(column) for column in COLUMNS}])
    for column in NUMBERS:
        frame[column] = frame[column].astype("float64")
    for column in ("outcome", "reason", "boundary_note"):
        frame[column] = frame[column].astype("string")
    frame["calibration_customers"] = frame["calibration_customers"].astype("Int64")
    frame["converged"] = frame["converged"].astype("boolean")
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"]).dt.date
    frame["calibration_end"] = pd.to_datetime(frame["calibration_end"]).dt.date
    return frame


def _skipped(reason: str, **known) -> pd.DataFrame:
    return _one_row({"outcome": "skipped", "reason": reason, **known})


def model(dbt, session):
    dbt.config(materialized="table")
    calibration = dbt.ref("customer_rfm_calibration").order("customer_key").df()
    if calibration.empty:
        return _skipped("history too short to hold any of it out (under three weeks)")
    known = {
        "as_of_date": calibration["as_of_date"].iloc[0],
        "calibration_end": calibration["calibration_end"].iloc[0],
        "holdout_weeks": float(calibration["holdout_days"].iloc[0]) / 7.0,
        "calibration_customers": int(len(calibration)),
    }
    x = calibration["frequency"].to_numpy(dtype="float64")
    t_x = calibration["recency_weeks"].to_numpy(dtype="float64")
    age = calibration["age_weeks"].to_numpy(dtype="float64")
    try:
        fit = clv_models.fit_bgnbd(x, t_x, age)
    except ValueError as error:
        return _skipped(f"calibration fit impossible: {error}", **known)
    known.update(
        converged=bool(fit.converged),
        boundary_note=fit.boundary_note,
        **{f"calibration_{name}": value for name, value in fit.params.as_dict().items()},
    )
    if not fit.converged:
        return _skipped(
            "the calibration fit did not converge"
            + (f" ({fit.boundary_note})" if fit.boundary_note else "")
            + f" on {known['holdout_weeks']:.1f} weeks of holdout",
            **known,
        )
    predicted = clv_models.bgnbd_expected_purchases(fit.params, known["holdout_weeks"], x, t_x, age)
    actual = calibration["holdout_purchase_days"].to_numpy(dtype="float64")
    actual_total, predicted_total = float(actual.sum()), float(predicted.sum())
    return _one_row(
        {
            "outcome": "evaluated",
            **known,
            "actual_repeat_purchase_days": actual_total,
            "predicted_repeat_purchase_days": predicted_total,
            "aggregate_error": (predicted_total - actual_total) / actual_total
            if actual_total
            else None,
            "mae_per_customer": float(np.mean(np.abs(predicted - actual))),
            "actual_holdout_net_revenue": float(
                calibration["holdout_net_revenue"].to_numpy(dtype="float64").sum()
            ),
        }
    )
