"""Validation results kept between runs (the latest per table) and GE's Data Docs of them.

The results live beside the warehouse (`validation_results/<schema.table>.json`); the Data
Docs site is rebuilt from them into `$FUNNEL_SERVING_DIR/data_docs/`, built aside and swapped
in, so a reader never sees a half-written site.

The site works offline: GE's templates load Bootstrap, jQuery, bootstrap-table, Font Awesome,
Vega and a logo from CDNs, so offline its index was unstyled and listed nothing. After GE
builds it, `make_offline` points every page at local copies in `static/vendor/`, taken from
installed packages (XStatic-jQuery, XStatic-Bootstrap 4, XStatic-Font-Awesome; GE's own
images), and drops what has no local copy and the pages do not need (bootstrap-table's
filter controls and the date picker, the dark theme, Vega: no page of our suites draws a
chart). No package ships bootstrap-table, so `BOOTSTRAP_TABLE_OFFLINE_JS` stands in for it: it
renders the rows GE hands to `bootstrapTable({columns, data})` as a Bootstrap table, sorted as
GE asks and re-sorted by a header click, each row linking to its page (no search or filters).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
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
        make_offline(staging)
        retired = serving_dir / f".{DATA_DOCS_DIRNAME}.old.{uuid.uuid4().hex}"
        if target.exists():
            target.rename(retired)
        staging.rename(target)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target / "index.html"


# --- offline assets --------------------------------------------------------------------------

VENDOR_DIR = "static/vendor"

# What GE's pages load from the internet, by URL prefix, and the local file that replaces it
# (relative to VENDOR_DIR); None: dropped (see the module doc).
CDN_REPLACEMENTS: dict[str, str | None] = {
    "https://code.jquery.com/jquery-": "jquery/jquery.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.": "bootstrap/css/bootstrap.min.css",
    # The bundle carries Popper, which GE loads on its own.
    "https://stackpath.bootstrapcdn.com/bootstrap/4.": "bootstrap/js/bootstrap.bundle.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/": None,
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/": "font-awesome/css/all.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table-offline.js"
    ),
}

BOOTSTRAP_TABLE_OFFLINE_JS = """\
/* Offline stand-in for bootstrap-table (see pipelines/lib/validation/data_docs.py): renders
   the rows of $(table).bootstrapTable({columns, data, ...}) as a Bootstrap table, sorted by
   sortName/sortOrder and by a click on a sortable header; a row click fires
   'click-row.bs.table' as bootstrap-table does. Method calls (filters, search) do nothing. */
(function ($) {
  function option(value) { return typeof value === "string" ? window[value] : value; }
  $.fn.bootstrapTable = function (options) {
    if (typeof options === "string") { return this; }
    return this.each(function () {
      var $table = $(this), opts = options || {};
      var columns = opts.columns || [], rows = (opts.data || []).slice();
      var sortKey = opts.sortName, descending = opts.sortOrder === "desc";
      $table.addClass("table table-hover table-bordered bootstrap-table-offline");
      function keyOf(name) {
        var column = columns.filter(function (c) { return c.field === name; })[0];
        return column && column.sortName ? column.sortName : name;
      }
      function render() {
        if (sortKey) {
          var key = keyOf(sortKey);
          rows.sort(function (a, b) {
            var x = a[key], y = b[key], order = x < y ? -1 : x > y ? 1 : 0;
            return descending ? -order : order;
          });
        }
        var $head = $("<tr>"), $body = $("<tbody>");
        columns.forEach(function (column) {
          var $th = $("<th>").text(column.title || column.field);
          if (column.sortable) {
            $th.css("cursor", "pointer").on("click", function () {
              descending = sortKey === column.field ? !descending : false;
              sortKey = column.field;
              render();
            });
          }
          $head.append($th);
        });
        rows.forEach(function (row, index) {
          var $tr = $("<tr>"), attributes = option(opts.rowAttributes);
          var style = option(opts.rowStyle);
          if (attributes) { $tr.attr(attributes(row, index)); }
          if (style) { $tr.css((style(row, index) || {}).css || {}); }
          columns.forEach(function (column) {
            var $td = $("<td>").html(row[column.field] == null ? "" : row[column.field]);
            if (column.align) { $td.css("text-align", column.align); }
            $tr.append($td);
          });
          $tr.on("click", function () { $table.trigger("click-row.bs.table", [row, $tr]); });
          $body.append($tr);
        });
        $table.empty().append($("<thead>").append($head), $body);
      }
      render();
    });
  };
})(jQuery);
"""

_EXTERNAL_SCRIPT = re.compile(r'<script\b[^>]*\bsrc="(https?://[^"]+)"[^>]*>\s*</script>\s*')
_EXTERNAL_LINK = re.compile(r'<link\b[^>]*\bhref="(https?://[^"]+)"[^>]*>\s*')
_EXTERNAL_IMG_SRC = re.compile(r'(<img\b[^>]*\bsrc=)"(https?://[^"]+)"')
_EXTERNAL_CSS_URL = re.compile(r"""url\(\s*['"]?(https?://[^'")]+)['"]?\s*\)""")


def _vendor_assets(site_dir: Path) -> Path:
    """Copy the local replacements of the CDN files into `<site>/static/vendor/`."""
    import xstatic.pkg.bootstrap
    import xstatic.pkg.font_awesome
    import xstatic.pkg.jquery

    vendor = site_dir / VENDOR_DIR
    copies = {
        "jquery/jquery.min.js": Path(xstatic.pkg.jquery.BASE_DIR) / "jquery.min.js",
        "bootstrap/css/bootstrap.min.css": (
            Path(xstatic.pkg.bootstrap.BASE_DIR) / "css" / "bootstrap.min.css"
        ),
        "bootstrap/js/bootstrap.bundle.min.js": (
            Path(xstatic.pkg.bootstrap.BASE_DIR) / "js" / "bootstrap.bundle.min.js"
        ),
        "font-awesome/css/all.min.css": (
            Path(xstatic.pkg.font_awesome.BASE_DIR) / "css" / "all.min.css"
        ),
    }
    for relative, source in copies.items():
        (vendor / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, vendor / relative)
    # all.min.css loads its fonts from ../webfonts/.
    shutil.copytree(
        Path(xstatic.pkg.font_awesome.BASE_DIR) / "webfonts",
        vendor / "font-awesome" / "webfonts",
        dirs_exist_ok=True,
    )
    (vendor / "bootstrap-table-offline.js").write_text(BOOTSTRAP_TABLE_OFFLINE_JS)
    return vendor


def _local_url(url: str, page_dir: Path, site_dir: Path) -> str | None:
    """The relative URL of the local copy replacing `url` on a page in `page_dir`, or None."""
    for prefix, relative in CDN_REPLACEMENTS.items():
        if url.startswith(prefix):
            if relative is None:
                return None
            return Path(os.path.relpath(site_dir / VENDOR_DIR / relative, page_dir)).as_posix()
    # GE's images (the logo the navbar loads from GE's bucket) ship in static/images/.
    image = site_dir / "static" / "images" / url.split("?", 1)[0].rsplit("/", 1)[-1]
    if image.is_file():
        return Path(os.path.relpath(image, page_dir)).as_posix()
    return None


def _offline_html(text: str, page_dir: Path, site_dir: Path) -> str:
    def script(match: re.Match) -> str:
        local = _local_url(match.group(1), page_dir, site_dir)
        return f'<script src="{local}"></script>\n' if local else ""

    def link(match: re.Match) -> str:
        local = _local_url(match.group(1), page_dir, site_dir)
        return f'<link rel="stylesheet" href="{local}">\n' if local else ""

    def image(match: re.Match) -> str:
        local = _local_url(match.group(2), page_dir, site_dir)
        return f'{match.group(1)}"{local or ""}"'

    text = _EXTERNAL_SCRIPT.sub(script, text)
    text = _EXTERNAL_LINK.sub(link, text)
    text = _EXTERNAL_IMG_SRC.sub(image, text)
    return _offline_css(text, page_dir, site_dir)


def _offline_css(text: str, base_dir: Path, site_dir: Path) -> str:
    def url(match: re.Match) -> str:
        local = _local_url(match.group(1), base_dir, site_dir)
        return f"url('{local}')" if local else "none"

    return _EXTERNAL_CSS_URL.sub(url, text)


def make_offline(site_dir: Path) -> None:
    """Make a built Data Docs site load nothing from outside the folder (see module doc)."""
    site_dir = Path(site_dir)
    _vendor_assets(site_dir)
    for page in site_dir.rglob("*.html"):
        text = page.read_text()
        offline = _offline_html(text, page.parent, site_dir)
        if offline != text:
            page.write_text(offline)
    for sheet in (site_dir / "static" / "styles").glob("*.css"):
        text = sheet.read_text()
        offline = _offline_css(text, sheet.parent, site_dir)
        if offline != text:
            sheet.write_text(offline)
