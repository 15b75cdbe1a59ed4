"""Predicted LTV: the fits are dbt Python models; here, the holdout check (checks.py)."""
