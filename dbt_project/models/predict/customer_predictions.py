"""p_alive and predicted_ltv_12m of every customer in customer_rfm_summary, from the fits in
customer_prediction_fits: the probability the customer is still alive, and the expected net
revenue in the next 52 weeks (reporting currency, undiscounted) = expected purchases
(BG/NBD) x expected spend per purchase (Gamma-Gamma). Null when a fit did not converge, so a
bad fit never reaches the mart as numbers. Checked by its own (blocking) suite, then joined
into marts.customers by dbt.
"""

import numpy as np
import pandas as pd

from pipelines.lib import clv_models

HORIZON_WEEKS = 52.0


def _converged_params(fits: pd.DataFrame, model: str, names: tuple[str, ...]) -> dict | None:
    row = fits[fits["model"] == model]
    if row.empty or not bool(row["converged"].iloc[0]):
        return None
    return {name: float(row[name].iloc[0]) for name in names}


def model(dbt, session):
    dbt.config(materialized="table")
    summary = dbt.ref("customer_rfm_summary").order("customer_key").df()
    fits = dbt.ref("customer_prediction_fits").df()
    frequency = summary["frequency"].to_numpy(dtype="float64")
    recency = summary["recency_weeks"].to_numpy(dtype="float64")
    age = summary["age_weeks"].to_numpy(dtype="float64")
    spend = summary["mean_repeat_net_spend"].to_numpy(dtype="float64")
    p_alive = np.full(len(summary), np.nan)
    ltv = np.full(len(summary), np.nan)
    purchase = _converged_params(fits, "bgnbd", ("r", "alpha", "a", "b"))
    spend_model = _converged_params(fits, "gamma_gamma", ("p", "q", "v"))
    if purchase is not None and len(summary):
        purchase_params = clv_models.BgNbdParams(**purchase)
        p_alive = clv_models.bgnbd_p_alive(purchase_params, frequency, recency, age)
        if spend_model is not None:
            predicted = clv_models.predict_customer_value(
                purchase_params,
                clv_models.GammaGammaParams(**spend_model),
                frequency,
                recency,
                age,
                spend,
                horizon=HORIZON_WEEKS,
            )
            ltv = predicted.predicted_ltv
    return pd.DataFrame(
        {
            "customer_key": summary["customer_key"].astype("string"),
            "p_alive": pd.array(np.where(np.isfinite(p_alive), p_alive, np.nan), "Float64"),
            "predicted_ltv_12m": pd.array(np.where(np.isfinite(ltv), ltv, np.nan), "Float64"),
        }
    )
