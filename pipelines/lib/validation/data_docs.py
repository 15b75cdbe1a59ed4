"""Validation results kept between runs (the latest per table) and GE's Data Docs of them.

The results live beside the warehouse (`validation_results/<schema.table>.json`); the Data
Docs site is rebuilt from them into `$FUNNEL_SERVING_DIR/data_docs/`, built aside and swapped
in, so a reader never sees a half-written site.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.lib.validation.results import TableValidation
from pipelines.lib.validation.run import DATA_DOCS_SITE, ephemeral_context
from pipelines.lib.validation.suites import load_suite, suite_path

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult

DATA_DOCS_DIRNAME = "data_docs"


def results_dir_for(warehouse_path: Path) -> Path:
    """Where the latest GE result of each table is kept: beside the warehouse file."""
    return Path(warehouse_path).parent / "validation_results"


def save_results(validations: Iterable[TableValidation], results_dir: Path) -> list[Path]:
    """Write each GE validation result as `<results_dir>/<schema.table>.json` (latest only)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for validation in validations:
        if validation.result is None:
            continue
        document = validation.result.to_json_dict()
        document["meta"]["funnel_validated_at"] = validation.validated_at.isoformat()
        path = results_dir / f"{validation.table}.json"
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps(document, default=str))
        tmp.replace(path)
        written.append(path)
    return written


def load_results(results_dir: Path) -> list[ExpectationSuiteValidationResult]:
    """The GE validation results saved by `save_results`, one per table."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResultSchema,
    )

    schema = ExpectationSuiteValidationResultSchema()
    return [
        schema.load(json.loads(path.read_text()))
        for path in sorted(Path(results_dir).glob("*.*.json"))
    ]


def build_data_docs(
    results: Iterable[TableValidation | ExpectationSuiteValidationResult],
    serving_dir: Path,
    expectations_dir: Path | None = None,
) -> Path:
    """Render GE Data Docs of these results into `<serving_dir>/data_docs/`; return index.html.

    GE's own site builder renders the suites and validation results from an in-memory context.
    The site is built aside and swapped in, so a reader never sees a half-written site.
    """
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    serving_dir = Path(serving_dir)
    serving_dir.mkdir(parents=True, exist_ok=True)
    target = serving_dir / DATA_DOCS_DIRNAME
    staging = serving_dir / f".{DATA_DOCS_DIRNAME}.{uuid.uuid4().hex}"
    context = ephemeral_context(data_docs_dir=staging)
    try:
        for item in results:
            result = item.result if isinstance(item, TableValidation) else item
            if result is None:
                continue
            name = result.suite_name
            if name not in {s.name for s in context.suites.all()}:
                if suite_path(name, expectations_dir).exists():
                    context.suites.add(load_suite(name, expectations_dir))
            validated_at = (result.meta or {}).get("funnel_validated_at")
            if isinstance(item, TableValidation):
                validated_at = item.validated_at
            elif validated_at:
                validated_at = dt.datetime.fromisoformat(validated_at)
            run_id = RunIdentifier(
                run_name="funnel", run_time=validated_at or dt.datetime.now(dt.UTC)
            )
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=name),
                run_id=run_id,
                batch_identifier=name,
            )
            context.validation_results_store.set(key, result)
        context.build_data_docs(site_names=[DATA_DOCS_SITE])
        retired = serving_dir / f".{DATA_DOCS_DIRNAME}.old.{uuid.uuid4().hex}"
        if target.exists():
            target.rename(retired)
        staging.rename(target)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target / "index.html"
