"""Predicted LTV: BG/NBD and Gamma-Gamma per customer (see assets.py)."""
