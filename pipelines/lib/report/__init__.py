"""Self-contained offline HTML report built from the published marts.

The report reads the serving copy of the marts (`marts.duckdb`, default schema) through a
read-only connection, so a BI tool holding the same file open never blocks it. It computes
no number: every figure is a mart value (headline figures and the seeds' display lists are
rows of `marts.report_headline`), and the page's filters only show, hide and zoom.

- `queries`: the selects from the marts (filters, joins and ordering only);
- `charts`: the plotly figures;
- `page`: the HTML document, the filters' script and the atomic write.

The output is one HTML file with the plotly.js bundle inlined once (no CDN, no network),
written beside the target and renamed into place so readers never see a half-written file.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import duckdb

from pipelines.lib.report import charts, page, queries
from pipelines.lib.report.page import Renderer, Section, format_figure, no_data
from pipelines.lib.report.queries import Figure, Headline, headline_figures

__all__ = ["Figure", "build_report", "format_figure", "headline_figures"]


def build_report(
    marts_db_path: Path, output_path: Path, *, reporting_currency: str = "USD"
) -> dict[str, Any]:
    """Write the offline HTML report of the marts in `marts_db_path` to `output_path`.

    Returns small metadata: output path, as-of date, sections (with whether each had data),
    number of charts, their ids and the file size in bytes.
    """
    marts_db_path = Path(marts_db_path)
    output_path = Path(output_path)
    if not marts_db_path.is_file():
        raise FileNotFoundError(f"marts database not found: {marts_db_path}")

    import plotly.graph_objects as go  # heavy; only needed when a report is built

    renderer = Renderer()
    currency = reporting_currency
    with duckdb.connect(str(marts_db_path), read_only=True) as con:
        present = queries.use_marts_schema(con)
        headline = queries.headline(con, present)
        sections = [
            _funnel_section(con, present, headline, renderer, go),
            _cac_section(con, present, headline, renderer, go, currency),
            _recurring_retention_section(con, present, headline, renderer, go),
            _retention_section(con, present, renderer, go),
            _ltv_section(con, present, renderer, go, currency),
            _unit_economics_section(con, present, headline, renderer, go),
            _lifecycle_section(con, present, headline, renderer, go),
        ]

    text = page.document(
        page.header(headline, currency), page.filters(headline), sections, headline.as_of
    )
    size_bytes = page.write_atomically(output_path, text)
    return {
        "path": str(output_path),
        "as_of_date": headline.as_of.isoformat() if headline.as_of else None,
        "sections": [s.key for s in sections],
        "sections_without_data": [s.key for s in sections if not s.has_data],
        "charts": renderer.charts,
        "chart_ids": renderer.chart_ids,
        "size_bytes": size_bytes,
    }


def _funnel_section(con, present, headline: Headline, renderer: Renderer, go) -> Section:
    section = Section(
        "funnel",
        "Funnel by week and month",
        "From funnel_summary: of the people entering a stage in the period, those entering the "
        "next stage within the conversion window; hours to next stage over those people "
        "(median and 90th percentile). The chart shows the overall conversion to purchase of "
        "the people entering the funnel; open markers and 'open' rows: the window has not "
        "closed yet, so the figures can still grow.",
    )
    rows = queries.funnel_summary(con, present)
    if not rows:
        return no_data(section, "funnel_summary")
    section.has_data = True
    grains = charts.ordered_grains(r[0] for r in rows)
    default = grains[-1]
    fig = charts.funnel_figure(go, rows, headline)
    options = [(g, g) for g in grains]
    section.body = (
        '<div class="chart-controls">'
        + page.select("chart-funnel", "grain", "period:", options, default)
        + page.select(
            "funnel-summary-table", "grain", "table period:", options, default, table=True
        )  # fmt: skip
        + "</div>"
        + renderer.figure(fig, "chart-funnel", 440, data={"date-axis": "x"})
        + page.funnel_table(rows, headline, default)
    )
    return section


def _cac_section(con, present, headline: Headline, renderer: Renderer, go, currency) -> Section:
    threshold = headline.figure(page.THRESHOLD_FIGURE)
    minimum = page.fmt_int(threshold.value) if threshold else "n/a"
    section = Section(
        "cac",
        "CAC by channel over time",
        f"Customer acquisition cost per paid channel, trailing 30 days ({currency} per new "
        "customer): spend over attributed new customers; pick the attribution model above the "
        "chart. The blended line (all paid spend / all new customers, organic included) is the "
        f"same in every model. A line starts once its trailing 30 days hold at least {minimum} "
        "new customers in every model: thinner windows swing wildly.",
    )
    rows = queries.cac_series(con, present)
    if not rows:
        return no_data(section, "cac_daily", "no paid spend or no window with enough customers")
    section.has_data = True
    drawn = {r[1] for r in rows}
    not_yet = [c.label for c in headline.channels.values() if c.is_paid and c.channel not in drawn]
    fig = charts.cac_figure(go, rows, headline, currency)
    models = [(m, label) for m, label in headline.models.items() if any(r[0] == m for r in rows)]
    note = (
        f'<p class="lead">Not drawn yet (too few new customers in any 30 days): '
        f"{html.escape(', '.join(not_yet))}.</p>"
        if not_yet
        else ""
    )
    section.body = (
        '<div class="chart-controls">'
        + page.select(
            "chart-cac", "model", "attribution model:", models, models[0][0] if models else None
        )  # fmt: skip
        + "</div>"
        + renderer.figure(fig, "chart-cac", 480, data={"date-axis": "x"})
        + note
    )
    return section


def _recurring_retention_section(con, present, headline: Headline, renderer, go) -> Section:
    section = Section(
        "recurring_retention",
        "Recurring retention by day, week and month",
        "From retention_recurring: of the customers buying in period i (every buyer, not only "
        "first purchasers), the share buying again in period i + k. Day cohorts of the last "
        "90 days. The heatmap shows the first checked channel of the filter ('all' first).",
    )
    rows = queries.retention_recurring(con, present)
    if not rows:
        return no_data(section, "retention_recurring")
    section.has_data = True
    grains = charts.ordered_grains(r[0] for r in rows)
    fig = charts.recurring_retention_figure(go, rows, headline)
    section.body = (
        '<div class="chart-controls">'
        + page.select(
            "chart-recurring-retention", "grain", "period:", [(g, g) for g in grains], grains[-1]
        )  # fmt: skip
        + '<span class="shown" data-shown-for="chart-recurring-retention"></span></div>'
        + renderer.figure(
            fig,
            "chart-recurring-retention",
            560,
            data={"date-axis": "y", "single-channel": "1", **page.channel_labels_data(headline)},
        )
    )
    return section


def _retention_section(con, present, renderer: Renderer, go) -> Section:
    section = Section(
        "retention",
        "Cohort retention",
        "Share of each first-purchase cohort (all channels) with a purchase in month k after "
        "the first purchase; month 0 is 100% by definition.",
    )
    rows = queries.cohort_rows(con, present, "retention_rate")
    if not rows:
        return no_data(section, "ltv_cohorts")
    section.has_data = True
    fig, cohorts = charts.cohort_retention_figure(go, rows)
    section.body = renderer.figure(fig, "chart-retention", max(360, 120 + 34 * cohorts))
    return section


def _ltv_section(con, present, renderer: Renderer, go, currency: str) -> Section:
    section = Section(
        "ltv",
        "LTV curves by cohort",
        f"Cumulative net revenue per customer ({currency}) of each first-purchase cohort "
        "(all channels) by months since the first purchase; refunds restate past months.",
    )
    rows = queries.cohort_rows(con, present, "ltv_per_customer")
    if not rows:
        return no_data(section, "ltv_cohorts")
    section.has_data = True
    section.body = renderer.figure(charts.ltv_figure(go, rows, currency), "chart-ltv", 460)
    return section


def _unit_economics_section(con, present, headline: Headline, renderer, go) -> Section:
    section = Section(
        "ltv_to_cac",
        "LTV:CAC by channel",
        "12-month LTV (times gross margin) over CAC for each cohort month and paid channel. "
        "Solid bars: cohorts with 12 full months observed; hatched bars: younger cohorts, "
        "LTV so far. Above 1 a cohort's margin exceeds what it cost to acquire. The blended "
        "bars count organic customers (who cost nothing) against all paid spend, so they sit "
        "above the paid channels'; the header shows the paid-only figure next to it.",
    )
    rows = queries.unit_economics(con, present)
    if not rows:
        return no_data(section, "unit_economics_monthly", "no cohort with a CAC yet")
    section.has_data = True
    fig = charts.unit_economics_figure(go, rows, headline)
    section.body = renderer.figure(fig, "chart-ltv-to-cac", 460, data={"date-axis": "x"})
    return section


def _lifecycle_section(con, present, headline: Headline, renderer, go) -> Section:
    states = list(headline.lifecycle_states.values())
    below = states[-1][0] if states else "the last state"
    section = Section(
        "lifecycle",
        "Customer lifecycle by month",
        "Customers per monthly state (seed lifecycle_states, in its order): new (first "
        "purchase), returning (bought this and last month), resurrecting (bought again after "
        f"a gap); {below} (bought last month, not this one) is drawn below zero.",
    )
    rows = queries.lifecycle(con, present)
    if not rows:
        return no_data(section, "lifecycle_monthly")
    section.has_data = True
    fig = charts.lifecycle_figure(go, rows, headline)
    section.body = renderer.figure(fig, "chart-lifecycle", 420, data={"date-axis": "x"})
    return section
