"""The bundled landing-zone generator: a realistic, seeded, horizon-independent simulation.

`generate_landing_zone` writes every entity of the landing contract, one CSV per entity and
day; `append_day` adds the next day (the daily drop). See landing_zone.py.
"""

from pipelines.generator.landing_zone import append_day, generate_landing_zone

__all__ = ["append_day", "generate_landing_zone"]
