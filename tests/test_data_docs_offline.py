"""GE Data Docs work offline: built from a real validation, served on 127.0.0.1 and opened in
headless Chromium, every request stays on 127.0.0.1 and the index lists the results, styled."""

from __future__ import annotations

import functools
import json
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import pytest

from pipelines.lib import validation
from pipelines.lib.validation.data_docs import make_offline

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

SUITE = {
    "name": "marts.scores",
    "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "rate", "min_value": 0.0, "max_value": 1.0},
        },
    ],
}
GOOD_SUITE = dict(SUITE, name="marts.good_scores")


@pytest.fixture(scope="module")
def data_docs(tmp_path_factory) -> Path:
    """Data Docs of two real validations: marts.good_scores passes, marts.scores fails."""
    root = tmp_path_factory.mktemp("docs")
    expectations = root / "expectations"
    expectations.mkdir()
    for suite in (SUITE, GOOD_SUITE):
        (expectations / f"{suite['name']}.json").write_text(json.dumps(suite))
    warehouse = root / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema marts")
    con.execute("create table marts.good_scores as select 1 as id, 0.5 as rate")
    con.execute(
        "create table marts.scores as select * from (values (1, 0.5), (null, 1.5)) t(id, rate)"
    )
    con.close()
    results = validation.validate_tables(
        warehouse, ["marts.good_scores", "marts.scores"], None, expectations
    )
    index = validation.build_data_docs(results.values(), root / "serving", expectations)
    return index.parent


EXTERNAL_LOAD = re.compile(
    r"<(?:script|img)\b[^>]*\bsrc=\"https?://|<link\b[^>]*\bhref=\"https?://|url\(['\"]?https?://"
)


@pytest.mark.unit
def test_no_page_or_stylesheet_loads_anything_from_outside(data_docs):
    files = [*data_docs.rglob("*.html"), *data_docs.rglob("*.css")]
    assert len(list(data_docs.rglob("*.html"))) >= 5  # index, 2 suites, 2 validations
    offenders = {
        str(f.relative_to(data_docs)) for f in files if EXTERNAL_LOAD.search(f.read_text())
    }
    assert offenders == set()
    vendor = data_docs / "static" / "vendor"
    assert (vendor / "jquery" / "jquery.min.js").stat().st_size > 50_000
    assert (vendor / "bootstrap" / "css" / "bootstrap.min.css").stat().st_size > 100_000
    assert list((vendor / "font-awesome" / "webfonts").glob("*.woff2"))


@pytest.mark.unit
def test_make_offline_rewrites_relative_to_each_page(tmp_path):
    page = tmp_path / "validations" / "a" / "page.html"
    page.parent.mkdir(parents=True)
    (tmp_path / "static" / "images").mkdir(parents=True)
    (tmp_path / "static" / "images" / "logo-long.png").write_bytes(b"png")
    page.write_text(
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/'
        'bootstrap.min.css"/>\n'
        '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>\n'
        '<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" '
        'integrity="sha384-x" crossorigin="anonymous"></script>\n'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/'
        'logo-long.png?d=1"/> <a href="https://greatexpectations.io">GX</a>'
    )
    make_offline(tmp_path)
    assert page.read_text() == (
        '<link rel="stylesheet" href="../../static/vendor/bootstrap/css/bootstrap.min.css">\n'
        '<script src="../../static/vendor/bootstrap/js/bootstrap.bundle.min.js"></script>\n'
        '<img src="../../static/images/logo-long.png"/> '
        '<a href="https://greatexpectations.io">GX</a>'  # a link is not a request
    )


def _serve(directory: Path):
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Debian chromium not installed at {CHROMIUM}")
def test_index_lists_the_results_styled_with_no_request_leaving_the_machine(data_docs):
    from playwright.sync_api import sync_playwright

    server = _serve(data_docs)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    requests: list[str] = []
    outside: list[str] = []
    errors: list[str] = []

    def route(route):
        url = route.request.url
        requests.append(url)
        if urlparse(url).hostname != "127.0.0.1":
            outside.append(url)
            route.abort()
        else:
            route.continue_()

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.route("**/*", route)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.goto(f"{base}/index.html", wait_until="networkidle")

                table = page.locator("table.ge-index-page-validation-results-table")
                rows = table.locator("tbody tr")
                assert rows.count() == 2
                text = table.inner_text()
                assert "marts.scores" in text and "marts.good_scores" in text
                # Bootstrap's CSS is applied: reboot collapses borders, .table-sm pads cells.
                assert "table" in table.get_attribute("class").split()
                assert table.evaluate("t => getComputedStyle(t).borderCollapse") == "collapse"
                padding = table.locator("td").first.evaluate("c => getComputedStyle(c).padding")
                assert padding == "4.8px"  # .table-sm td: 0.3rem
                # Font Awesome loaded: the status icons have its font.
                family = page.locator("i.fas").first.evaluate(
                    "i => getComputedStyle(i, '::before').fontFamily"
                )
                assert "Font Awesome" in family
                assert page.evaluate(
                    "() => [...document.fonts].some("
                    "f => f.family.includes('Font Awesome') && f.status === 'loaded')"
                )
                # Each row opens its validation page, which renders its expectations.
                page.locator("tbody tr", has_text="marts.scores").first.click()
                page.wait_for_url("**/validations/marts/scores/**")
                page.wait_for_load_state("networkidle")
                assert "expect_column_values_to_not_be_null" in page.content() or (
                    "values must never be null" in page.inner_text("body")
                )
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()

    assert outside == [], f"requests left the machine: {outside}"
    assert errors == []
    assert any(u.endswith("/static/vendor/bootstrap/css/bootstrap.min.css") for u in requests)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Debian chromium not installed at {CHROMIUM}")
def test_dbt_static_docs_are_self_contained(tmp_path, monkeypatch):
    """`make docs` gives dbt's static_index.html: one file, nothing loaded from outside."""
    from dbt.cli.main import dbtRunner
    from playwright.sync_api import sync_playwright

    project = Path(__file__).resolve().parents[1] / "dbt_project"
    monkeypatch.setenv("FUNNEL_WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("FUNNEL_ENV", "dev")
    result = dbtRunner().invoke(
        [
            "docs",
            "generate",
            "--static",
            "--empty-catalog",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            "--quiet",
        ]  # fmt: skip
    )
    assert result.success, result.exception
    static_index = tmp_path / "target" / "static_index.html"

    requested: list[str] = []
    outside: list[str] = []

    def route(route):
        url = route.request.url
        requested.append(url)
        if urlparse(url).scheme not in ("file", "data", "blob", "about"):
            outside.append(url)
            route.abort()
        else:
            route.continue_()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", route)
            page.goto(f"{static_index.as_uri()}#!/model/model.funnel.cac_daily")
            page.wait_for_function(
                "() => document.body.innerText.includes('Customer acquisition cost')",
                timeout=30_000,
            )
            page.wait_for_load_state("networkidle")
        finally:
            browser.close()
    assert outside == []
    assert requested and all(u.startswith(("file:", "data:")) for u in requested)
