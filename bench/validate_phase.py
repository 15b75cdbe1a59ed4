"""Every Great Expectations suite of `expectations/` on a built warehouse, in one process.

    python -m bench.validate_phase --warehouse W --result R

Times `pipelines.lib.validation.validate_tables` over all suites on whole tables (scope
`full`, what `--full-checks` and the weekly run check), wall and CPU (`time.process_time`,
DuckDB's threads included), GE's import (which the first check of a run pays) included and
also reported alone. Read-only on W.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.validate_phase")
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)

    from pipelines.lib import validation

    tables = validation.suite_tables()
    started, cpu_started = time.perf_counter(), time.process_time()
    import great_expectations  # noqa: F401  (timed alone: the first check of a run pays it)

    import_seconds = time.perf_counter() - started
    import_cpu_seconds = time.process_time() - cpu_started
    validations = validation.validate_tables(args.warehouse, tables, scope="full")
    seconds = time.perf_counter() - started
    result = {
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu_started,
        "import_seconds": import_seconds,
        "import_cpu_seconds": import_cpu_seconds,
        "suites": len(tables),
        "expectations": sum(len(v.outcomes) for v in validations.values()),
        "failed_suites": sorted(t for t, v in validations.items() if not v.success),
        "rows": sum(v.row_count or 0 for v in validations.values()),
        "slowest": sorted(
            ((t, round(v.seconds, 2)) for t, v in validations.items()), key=lambda t: -t[1]
        )[:5],
    }
    args.result.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
