"""The purchase (BG/NBD) and spend (Gamma-Gamma) models fitted on every customer's RFM
summary (customer_rfm_summary) by maximum likelihood: one row per model with its parameters,
log-likelihood and whether the fit converged. customer_predictions applies them.

The fits are numpy/scipy code (pipelines/lib/clv_models.py); only the summary (a few numbers
per customer) is read from the warehouse.
"""

import pandas as pd

from pipelines.lib import clv_models

COLUMNS = (
    "model", "converged", "log_likelihood", "iterations", "customers", "message",
    "boundary_note", "r", "alpha", "a", "b", "p", "q", "v", "as_of_date",
)  # fmt: skip


def _row(model: str, fit, error: str | None, as_of_date) -> dict:
    row = dict.fromkeys(COLUMNS)
    row.update(model=model, as_of_date=as_of_date, converged=False, message=error)
    if fit is not None:
        row.update(
            converged=bool(fit.converged),
            log_likelihood=fit.log_likelihood,
            iterations=fit.iterations,
            customers=fit.n_customers,
            message=fit.message,
            boundary_note=fit.boundary_note,
            **fit.params.as_dict(),
        )
    return row


def _fit(fit_function, *arrays):
    try:
        return fit_function(*arrays), None
    except ValueError as error:  # too little data to fit
        return None, str(error)


def model(dbt, session):
    dbt.config(materialized="table")
    summary = dbt.ref("customer_rfm_summary").order("customer_key").df()
    as_of_date = summary["as_of_date"].max() if len(summary) else None
    frequency = summary["frequency"].to_numpy(dtype="float64")
    recency = summary["recency_weeks"].to_numpy(dtype="float64")
    age = summary["age_weeks"].to_numpy(dtype="float64")
    spend = summary["mean_repeat_net_spend"].to_numpy(dtype="float64")
    purchase_fit, purchase_error = _fit(clv_models.fit_bgnbd, frequency, recency, age)
    spend_fit, spend_error = _fit(clv_models.fit_gamma_gamma, frequency, spend)
    rows = [
        _row("bgnbd", purchase_fit, purchase_error, as_of_date),
        _row("gamma_gamma", spend_fit, spend_error, as_of_date),
    ]
    fits = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in ("log_likelihood", "r", "alpha", "a", "b", "p", "q", "v"):
        fits[column] = fits[column].astype("float64")
    fits["iterations"] = fits["iterations"].astype("Int64")
    fits["customers"] = fits["customers"].astype("Int64")
    fits["message"] = fits["message"].astype("string")
    fits["boundary_note"] = fits["boundary_note"].astype("string")
    return fits
