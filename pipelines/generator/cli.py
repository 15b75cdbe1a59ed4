"""Command line of the generator; `python -m pipelines generate ...` hands its arguments here.

    generate --start 2026-01-01 --days 120 --contacts-per-day 40 --seed 42 [--messy-rate 0.01]
    generate --append-day
Both take --landing-dir (default: FUNNEL_LANDING_DIR, else data/landing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from pipelines.generator.landing_zone import append_day, generate_landing_zone, load_params

# The demo: 120 days at 40 contacts a day gives about 5,000 contacts and 700 buyers.
DEFAULT_DAYS = 120
DEFAULT_CONTACTS_PER_DAY = 40
DEFAULT_SEED = 42
DEFAULT_MESSY_RATE = 0.01


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines generate",
        description="Generate a realistic landing zone (one CSV per entity and day), "
        "or append its next day.",
    )
    parser.add_argument(
        "--append-day",
        action="store_true",
        help="add the day after the last generated one, with the stored parameters",
    )
    parser.add_argument(
        "--start",
        type=dt.date.fromisoformat,
        help="first day, YYYY-MM-DD (default: FUNNEL_START_DATE, else 2026-01-01)",
    )
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
    parser.add_argument("--contacts-per-day", type=int, default=DEFAULT_CONTACTS_PER_DAY)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--messy-rate",
        type=float,
        default=DEFAULT_MESSY_RATE,
        help="share of rows made messy per kind (duplicates, malformed copies, messy e-mails, "
        "contact updates); 0 gives clean files",
    )
    parser.add_argument("--landing-dir", type=Path, help="default: FUNNEL_LANDING_DIR")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["generate"]:  # also runnable as `python -m pipelines.generator.cli generate`
        argv = argv[1:]
    args = _parser().parse_args(argv)
    from pipelines.settings import load_settings

    settings = load_settings()
    landing_dir = args.landing_dir or settings.landing_dir
    began = time.perf_counter()
    try:
        if args.append_day:
            counts = append_day(landing_dir)
            params = load_params(landing_dir)
            what = f"appended {params.start + dt.timedelta(days=params.days - 1)}"
        else:
            start = args.start or settings.start_date
            counts = generate_landing_zone(
                landing_dir,
                start,
                args.days,
                args.contacts_per_day,
                args.seed,
                args.messy_rate,
            )
            last = start + dt.timedelta(days=args.days - 1)
            what = f"generated {start} .. {last} ({args.days} days)"
    except (ValueError, FileNotFoundError, FileExistsError) as exc:
        print(f"generate: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    elapsed = time.perf_counter() - began
    print(f"{what} in {landing_dir} in {elapsed:.1f} s")  # noqa: T201
    for entity, rows in counts.items():
        print(f"  {entity:<18} {rows:>12,} rows")  # noqa: T201
    print(f"  {'total':<18} {sum(counts.values()):>12,} rows")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
