"""Great Expectations suites (`expectations/<schema>.<table>.json`) validated inside DuckDB.

- `suites`: the suites as data, their slices and row-count parameters;
- `run`: GE's SQL execution engine over the warehouse, on the slice or the whole table;
- `results`: outcomes flattened for check metadata and people;
- `data_docs`: the latest result per table and GE's Data Docs of them;
- `sqlalchemy_duckdb`: duckdb-engine fixed up for GE (GX issues 10738 and 11579).
"""

from pipelines.lib.validation.data_docs import (
    DATA_DOCS_DIRNAME,
    build_data_docs,
    load_results,
    results_dir_for,
    save_results,
)
from pipelines.lib.validation.results import ExpectationOutcome, TableValidation, summary_markdown
from pipelines.lib.validation.run import (
    RESULT_FORMAT,
    check_scope,
    ephemeral_context,
    validate_table,
    validate_tables,
)
from pipelines.lib.validation.suites import (
    EXPECTATIONS_DIR,
    ROW_COUNT_BOUNDS_META,
    ROW_COUNT_EXPECTATION,
    load_suite,
    row_count_parameters,
    slice_condition,
    suite_path,
    suite_tables,
)

__all__ = [
    "DATA_DOCS_DIRNAME",
    "EXPECTATIONS_DIR",
    "RESULT_FORMAT",
    "ROW_COUNT_BOUNDS_META",
    "ROW_COUNT_EXPECTATION",
    "ExpectationOutcome",
    "TableValidation",
    "build_data_docs",
    "check_scope",
    "ephemeral_context",
    "load_results",
    "load_suite",
    "results_dir_for",
    "row_count_parameters",
    "save_results",
    "slice_condition",
    "suite_path",
    "suite_tables",
    "summary_markdown",
    "validate_table",
    "validate_tables",
]
