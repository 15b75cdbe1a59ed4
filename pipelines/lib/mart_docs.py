"""What the dbt docs say about each mart, read from dbt's manifest, for the serving copy.

`mart_descriptions(manifest_path)` gives, per mart (a model of the `marts` schema), its
description, its columns' descriptions and which columns are money or counts, as the YAML
marks them in a column's `meta` (`meta: {money: true}`, `meta: {count: true}`; under
`config: {meta: ...}` too). `publish_marts` turns them into `COMMENT ON` statements and column
types. The descriptions are the rendered ones: `{{ doc(...) }}` blocks are resolved at parse.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypedDict

MARTS_SCHEMA = "marts"


class MartDoc(TypedDict):
    table: str  # the model's description
    columns: dict[str, str]  # column name -> description (only the described ones)
    money: list[str]  # columns marked meta.money: published as DECIMAL(18, 2)
    counts: list[str]  # columns marked meta.count: published as BIGINT


def _meta(entry: dict) -> dict:
    return {**(entry.get("meta") or {}), **((entry.get("config") or {}).get("meta") or {})}


def mart_descriptions(manifest_path: Path) -> dict[str, MartDoc]:
    """Descriptions and column roles of every mart in the dbt manifest at `manifest_path`."""
    manifest = json.loads(Path(manifest_path).read_text())
    docs: dict[str, MartDoc] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["config"].get("schema") != MARTS_SCHEMA:
            continue
        columns = node.get("columns") or {}
        docs[node["name"]] = MartDoc(
            table=(node.get("description") or "").strip(),
            columns={
                name: column["description"].strip()
                for name, column in columns.items()
                if (column.get("description") or "").strip()
            },
            money=[name for name, column in columns.items() if _meta(column).get("money")],
            counts=[name for name, column in columns.items() if _meta(column).get("count")],
        )
    return dict(sorted(docs.items()))
