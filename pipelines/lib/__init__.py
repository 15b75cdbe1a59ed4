"""Helpers shared by the areas: contract, extraction, warehouse, serving."""
