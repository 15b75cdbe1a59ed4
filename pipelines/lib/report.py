"""Self-contained offline HTML report built from the published marts.

The report reads the serving copy of the marts (`marts.duckdb`, default schema) through a
read-only connection, so a BI tool holding the same file open never blocks it. Every figure
is aggregated inside DuckDB; Python only receives the few rows each chart plots.

The output is one HTML file with the plotly.js bundle inlined once (no CDN, no network),
written beside the target and renamed into place so readers never see a half-written file.
"""

from __future__ import annotations

import html
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

MART_TABLES = (
    "funnel_daily",
    "cac_daily",
    "ltv_cohorts",
    "lifecycle_monthly",
    "unit_economics_monthly",
    "customers",
)

# Default stage order of the funnel_stages seed; stages a user adds sort after these.
STAGE_ORDER = ("awareness", "interest", "consideration", "intent", "purchase", "loyalty")
MODEL_ORDER = ("last_touch", "first_touch", "linear", "position_based", "time_decay")
LIFECYCLE_STATES = ("new", "returning", "resurrecting", "dormant")
# The latest cohorts are the ones a reader acts on; older ones crowd the grouped bars.
MAX_UNIT_ECONOMICS_COHORTS = 24

# One colour per channel in every chart, so a channel reads the same everywhere.
CHANNEL_COLOURS = {
    "google_ads": "#4285f4",
    "meta_ads": "#7b4fd6",
    "linkedin_ads": "#0a8f8f",
    "organic_search": "#2ca02c",
    "email": "#ff7f0e",
    "referral": "#d62728",
    "direct": "#8c564b",
    "all": "#333333",
}
FALLBACK_COLOURS = ("#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#9467bd")
LIFECYCLE_COLOURS = {
    "new": "#2ca02c",
    "returning": "#4285f4",
    "resurrecting": "#ff7f0e",
    "dormant": "#b0b0b0",
}
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --accent: #2457c5; }
* { box-sizing: border-box; }
body { margin: 0; background: #f5f7fa; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header .as-of { margin: 0 0 18px; color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 24px; font-weight: 600; margin: 2px 0; }
.card .hint { color: var(--muted); font-size: 12px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 16px 20px; margin-top: 20px; }
section h2 { margin: 0 0 4px; font-size: 19px; }
section .lead { margin: 0 0 10px; color: var(--muted); font-size: 14px; }
.no-data { padding: 18px; border: 1px dashed var(--line); border-radius: 6px;
  color: var(--muted); text-align: center; }
table { border-collapse: collapse; margin-top: 10px; font-size: 14px; }
th, td { padding: 5px 12px; border-bottom: 1px solid var(--line); text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { color: var(--muted); font-weight: 600; }
footer { margin-top: 24px; color: var(--muted); font-size: 12px; }
"""


@dataclass
class _Section:
    key: str
    title: str
    lead: str
    body: str = ""
    has_data: bool = False


@dataclass
class _Renderer:
    """Turns figures into HTML, inlining plotly.js only with the first figure."""

    charts: int = 0
    chart_ids: list[str] = field(default_factory=list)

    def figure(self, fig: Any, chart_id: str, height: int) -> str:
        if fig.layout.margin.t is None:
            fig.update_layout(margin={"l": 70, "r": 30, "t": 60, "b": 60})
        fig.update_layout(
            template="plotly_white",
            height=height,
            font={"family": "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif"},
        )
        fragment = fig.to_html(
            full_html=False,
            include_plotlyjs=self.charts == 0,
            include_mathjax=False,
            config=PLOTLY_CONFIG,
            default_width="100%",
            default_height=f"{height}px",
            div_id=chart_id,
        )
        self.charts += 1
        self.chart_ids.append(chart_id)
        return fragment


def build_report(
    marts_db_path: Path, output_path: Path, *, reporting_currency: str = "USD"
) -> dict[str, Any]:
    """Write the offline HTML report of the marts in `marts_db_path` to `output_path`.

    Returns small metadata: output path, as-of date, sections (with whether each had data),
    number of charts and the file size in bytes.
    """
    marts_db_path = Path(marts_db_path)
    output_path = Path(output_path)
    if not marts_db_path.is_file():
        raise FileNotFoundError(f"marts database not found: {marts_db_path}")

    import plotly.graph_objects as go  # heavy; only needed when a report is built

    renderer = _Renderer()
    with duckdb.connect(str(marts_db_path), read_only=True) as con:
        present = _tables_with_rows(con)
        as_of = _as_of_date(con, present)
        header = _header(con, present, as_of, reporting_currency)
        sections = [
            _funnel_section(con, present, renderer, go),
            _cac_section(con, present, renderer, go, reporting_currency),
            _retention_section(con, present, renderer, go),
            _ltv_section(con, present, renderer, go, reporting_currency),
            _unit_economics_section(con, present, renderer, go),
            _lifecycle_section(con, present, renderer, go),
        ]

    document = _document(header, sections, as_of)
    size_bytes = _write_atomically(output_path, document)
    return {
        "path": str(output_path),
        "as_of_date": as_of.isoformat() if as_of else None,
        "sections": [s.key for s in sections],
        "sections_without_data": [s.key for s in sections if not s.has_data],
        "charts": renderer.charts,
        "chart_ids": renderer.chart_ids,
        "size_bytes": size_bytes,
    }


# --- reading the marts -------------------------------------------------------------------


def _tables_with_rows(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Mart tables that exist and hold at least one row (missing and empty read the same).

    Also makes the schema holding the marts the default, so queries name tables bare: the
    serving file keeps them in its default schema (`main`; DuckDB names the database
    `marts` after the file), the warehouse in schema `marts`.
    """
    found = con.execute(
        """
        select table_schema, list(table_name) from information_schema.tables
        where table_catalog = current_database() and table_schema in ('marts', 'main')
        group by 1 order by table_schema = 'marts' desc
        """
    ).fetchall()
    found = [(schema, tables) for schema, tables in found if set(tables) & set(MART_TABLES)]
    if not found:
        return set()
    schema, tables = found[0]
    existing = set(tables)
    catalog = con.execute("select current_database()").fetchall()[0][0]
    con.execute(f"use {_quote_identifier(catalog)}.{_quote_identifier(schema)}")
    with_rows = set()
    for table in MART_TABLES:
        if table in existing and con.execute(f"select 1 from {table} limit 1").fetchone():
            with_rows.add(table)
    return with_rows


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _as_of_date(con: duckdb.DuckDBPyConnection, present: set[str]) -> date | None:
    # cac_daily runs to as_of_date by contract; the others only bound it from below.
    candidates = [
        ("cac_daily", "select max(date) from cac_daily"),
        ("funnel_daily", "select max(date) from funnel_daily"),
        ("customers", "select max(last_purchase_date) from customers"),
    ]
    for table, sql in candidates:
        if table in present:
            value = con.execute(sql).fetchone()[0]
            if value is not None:
                return value
    return None


def _stage_rank_sql(column: str) -> str:
    whens = " ".join(f"when '{stage}' then {i}" for i, stage in enumerate(STAGE_ORDER, 1))
    return f"case {column} {whens} else {len(STAGE_ORDER) + 1} end"


def _model_rank_sql(column: str) -> str:
    whens = " ".join(f"when '{model}' then {i}" for i, model in enumerate(MODEL_ORDER, 1))
    return f"case {column} {whens} else {len(MODEL_ORDER) + 1} end"


# --- header --------------------------------------------------------------------------------


def _header(
    con: duckdb.DuckDBPyConnection, present: set[str], as_of: date | None, currency: str
) -> str:
    customers = net_revenue = repeat_share = blended_cac = None
    if "customers" in present:
        customers, net_revenue, repeat_share = con.execute(
            """
            select count(*), sum(net_revenue),
                   count(*) filter (where purchases >= 2) / count(*)
            from customers
            """
        ).fetchone()
    if "cac_daily" in present and as_of is not None:
        # Blended CAC does not depend on the attribution model (every model credits each
        # new customer exactly once), so any model's 'all' row holds it.
        row = con.execute(
            f"""
            select cac_30d from cac_daily
            where channel = 'all' and date = ?
            order by {_model_rank_sql("attribution_model")}, attribution_model
            limit 1
            """,
            [as_of],
        ).fetchone()
        blended_cac = row[0] if row else None

    cards = [
        ("Customers", _fmt_int(customers), "people with at least one purchase"),
        (
            "Blended CAC, last 30 days",
            _fmt_money(blended_cac, currency, decimals=2),
            "all paid spend / all new customers; n/a with no new customers",
        ),
        (
            "Repeat customers",
            _fmt_pct(repeat_share),
            "share of customers with 2+ purchases (any time)",
        ),
        ("Net revenue", _fmt_money(net_revenue, currency), "all time, after refunds"),
    ]
    cards_html = "".join(
        f'<div class="card"><div class="label">{html.escape(label)}</div>'
        f'<div class="value">{html.escape(value)}</div>'
        f'<div class="hint">{html.escape(hint)}</div></div>'
        for label, value, hint in cards
    )
    as_of_text = as_of.isoformat() if as_of else "no data yet"
    return (
        "<header><h1>Funnel, CAC and LTV report</h1>"
        f'<p class="as-of">As of {html.escape(as_of_text)} (latest landed day) '
        f"· amounts in {html.escape(currency)}</p>"
        f'<div class="cards">{cards_html}</div></header>'
    )


# --- sections ------------------------------------------------------------------------------


def _funnel_section(con, present, renderer: _Renderer, go) -> _Section:
    section = _Section(
        "funnel",
        "Funnel: stage entries and conversion",
        "People entering each stage over the whole period, and stage-to-stage conversion "
        "within the conversion window, counted only on days whose window has closed.",
    )
    if "funnel_daily" not in present:
        return _no_data(section, "funnel_daily")
    rows = con.execute(
        f"""
        with by_stage as (
            select stage,
                   {_stage_rank_sql("stage")} as stage_rank,
                   sum(entered) as entered_all,
                   sum(entered) filter (
                       where is_window_complete and converted_to_next is not null
                   ) as entered_complete,
                   sum(converted_to_next) filter (where is_window_complete) as converted
            from funnel_daily
            group by stage
        )
        select stage,
               lead(stage) over (order by stage_rank, stage) as next_stage,
               entered_all,
               entered_complete,
               converted,
               converted / nullif(entered_complete, 0) as conversion_rate
        from by_stage
        order by stage_rank, stage
        """
    ).fetchall()
    section.has_data = True

    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.5, 0.5],
        horizontal_spacing=0.12,
        subplot_titles=(
            "People entering each stage (all days)",
            "Conversion to the next stage (window-complete days)",
        ),
    )
    stages = [r[0] for r in rows]
    fig.add_trace(
        go.Bar(
            x=stages,
            y=[r[2] or 0 for r in rows],
            marker_color="#2457c5",
            text=[_fmt_int(r[2]) for r in rows],
            textposition="outside",
            name="people entering",
            hovertemplate="%{x}: %{y:,} people<extra></extra>",
        ),
        row=1,
        col=1,
    )
    transitions = [r for r in rows if r[1] is not None and r[5] is not None]
    fig.add_trace(
        go.Bar(
            x=[f"{r[0]} →<br>{r[1]}" for r in transitions],
            y=[r[5] for r in transitions],
            marker_color="#0a8f8f",
            text=[_fmt_pct(r[5]) for r in transitions],
            textposition="outside",
            customdata=[[r[4], r[3]] for r in transitions],
            name="conversion rate",
            hovertemplate="%{x}: %{y:.1%} (%{customdata[0]:,} of %{customdata[1]:,})"
            "<extra></extra>",
        ),
        row=1,
        col=2,
    )
    if not transitions:
        fig.add_annotation(
            text="No window-complete days yet",
            xref="x2 domain",
            yref="y2 domain",
            x=0.5,
            y=0.5,
            showarrow=False,
            font={"color": "#616e7c"},
        )
    fig.update_yaxes(title_text="people", rangemode="tozero", row=1, col=1)
    # Fixed 0-100% (plus room for the bar labels) so rates compare across reports.
    fig.update_yaxes(
        title_text="conversion rate (%)", tickformat=".0%", range=[0, 1.12], row=1, col=2
    )
    fig.update_xaxes(title_text="stage", row=1, col=1)
    fig.update_xaxes(title_text="stage transition", tickangle=0, row=1, col=2)
    fig.update_traces(cliponaxis=False)
    fig.update_layout(showlegend=False)
    table_rows = "".join(
        "<tr>"
        f"<td>{html.escape(r[0])}</td>"
        f"<td>{_fmt_int(r[2])}</td>"
        f"<td>{html.escape(r[1]) if r[1] else '&ndash;'}</td>"
        f"<td>{_fmt_int(r[3]) if r[1] else '&ndash;'}</td>"
        f"<td>{_fmt_int(r[4]) if r[1] else '&ndash;'}</td>"
        f"<td>{_fmt_pct(r[5]) if r[1] else '&ndash;'}</td>"
        "</tr>"
        for r in rows
    )
    section.body = renderer.figure(fig, "chart-funnel", 440) + (
        '<table class="funnel-table"><thead><tr><th>stage</th><th>entered (all days)</th>'
        "<th>next stage</th><th>entered (window-complete days)</th><th>converted</th>"
        f"<th>conversion rate</th></tr></thead><tbody>{table_rows}</tbody></table>"
    )
    return section


def _cac_section(con, present, renderer: _Renderer, go, currency: str) -> _Section:
    section = _Section(
        "cac",
        "CAC by channel over time",
        f"Customer acquisition cost per paid channel, trailing 30 days ({currency} per new "
        "customer): spend over attributed new customers. Pick the attribution model in the "
        "menu; the blended line (all paid spend / all new customers) is the same in every model.",
    )
    if "cac_daily" not in present:
        return _no_data(section, "cac_daily")
    # Paid channels are the ones that carry spend; unpaid channels have zero CAC by definition.
    rows = con.execute(
        f"""
        with paid as (
            select channel from cac_daily
            where channel <> 'all'
            group by channel
            having sum(spend) > 0
        )
        select attribution_model, channel, date, cac_30d
        from cac_daily
        where channel in (select channel from paid)
        order by {_model_rank_sql("attribution_model")}, attribution_model, channel, date
        """
    ).fetchall()
    blended = con.execute(
        f"""
        select date, cac_30d from cac_daily
        where channel = 'all'
          and attribution_model = (
              select attribution_model from cac_daily
              where channel = 'all'
              order by {_model_rank_sql("attribution_model")}, attribution_model
              limit 1
          )
        order by date
        """
    ).fetchall()
    if not rows and not blended:
        return _no_data(section, "cac_daily", "no paid spend yet")
    section.has_data = True

    series: dict[str, dict[str, tuple[list, list]]] = {}
    for model, channel, day, cac in rows:
        xs, ys = series.setdefault(model, {}).setdefault(channel, ([], []))
        xs.append(day.isoformat())
        ys.append(cac)
    models = list(series) or ["blended"]
    default_model = models[0]
    colours = _colour_lookup()

    fig = go.Figure()
    trace_models: list[str | None] = []
    for model, by_channel in series.items():
        for channel, (xs, ys) in by_channel.items():
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    name=channel,
                    legendgroup=channel,
                    line={"color": colours(channel), "width": 2},
                    visible=model == default_model,
                    hovertemplate=f"{channel} ({model})<br>%{{x|%Y-%m-%d}}: "
                    f"%{{y:,.2f}} {currency}<extra></extra>",
                )
            )
            trace_models.append(model)
    if blended:
        fig.add_trace(
            go.Scatter(
                x=[r[0].isoformat() for r in blended],
                y=[r[1] for r in blended],
                mode="lines",
                name="blended (all paid)",
                line={"color": colours("all"), "width": 2, "dash": "dash"},
                hovertemplate=f"blended<br>%{{x|%Y-%m-%d}}: %{{y:,.2f}} {currency}<extra></extra>",
            )
        )
        trace_models.append(None)
    buttons = [
        {
            "label": model,
            "method": "update",
            "args": [
                {"visible": [m is None or m == model for m in trace_models]},
                {"title.text": _cac_title(model)},
            ],
        }
        for model in series
    ]
    fig.update_layout(
        title={"text": _cac_title(default_model if series else None)},
        xaxis_title="date",
        yaxis_title=f"CAC, trailing 30 days ({currency} per customer)",
        yaxis_rangemode="tozero",
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.18},
        # The selector sits on its own row under the title, clear of the modebar (top right).
        margin={"l": 70, "r": 30, "t": 110, "b": 60},
        updatemenus=[
            {
                "type": "dropdown",
                "buttons": buttons,
                "active": 0,
                "x": 0.14,
                "xanchor": "left",
                "y": 1.03,
                "yanchor": "bottom",
                "showactive": True,
            }
        ]
        if buttons
        else [],
        annotations=[
            {
                "text": "attribution model:",
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "xanchor": "left",
                "y": 1.045,
                "yanchor": "bottom",
                "showarrow": False,
            }
        ]
        if buttons
        else [],
    )
    section.body = renderer.figure(fig, "chart-cac", 480)
    return section


def _cac_title(model: str | None) -> str:
    if model is None:
        return "Blended CAC, trailing 30 days"
    return f"CAC by paid channel, trailing 30 days · model: {model}"


def _cohort_rows(con, present, value_column: str) -> list[tuple]:
    if "ltv_cohorts" not in present:
        return []
    return con.execute(
        f"""
        select strftime(cohort_month, '%Y-%m') as cohort,
               months_since_first_purchase,
               {value_column},
               coalesce(cohort_customers, 0)
        from ltv_cohorts
        where channel = 'all'
        order by cohort_month, months_since_first_purchase
        """
    ).fetchall()


def _retention_section(con, present, renderer: _Renderer, go) -> _Section:
    section = _Section(
        "retention",
        "Cohort retention",
        "Share of each first-purchase cohort (all channels) with a purchase in month k after "
        "the first purchase; month 0 is 100% by definition.",
    )
    rows = _cohort_rows(con, present, "retention_rate")
    if not rows:
        return _no_data(section, "ltv_cohorts")
    section.has_data = True
    cohorts = list(dict.fromkeys(r[0] for r in rows))
    max_k = max(r[1] for r in rows)
    z: list[list[float | None]] = [[None] * (max_k + 1) for _ in cohorts]
    sizes = {}
    for cohort, k, rate, size in rows:
        z[cohorts.index(cohort)][k] = rate
        sizes[cohort] = size
    fig = go.Figure(
        go.Heatmap(
            x=list(range(max_k + 1)),
            y=[f"{c} (n={sizes[c]:,})" for c in cohorts],
            z=z,
            zmin=0,
            zmax=1,
            colorscale="Blues",
            texttemplate="%{z:.0%}",
            hovertemplate="cohort %{y}<br>month %{x}: %{z:.1%} retained<extra></extra>",
            colorbar={"title": {"text": "retained"}, "tickformat": ".0%"},
            xgap=2,
            ygap=2,
        )
    )
    fig.update_layout(
        title={"text": "Retention by cohort month (% of cohort purchasing in month k)"},
        xaxis={"title": {"text": "months since first purchase"}, "dtick": 1},
        yaxis={"title": {"text": "cohort (first-purchase month)"}, "autorange": "reversed"},
    )
    section.body = renderer.figure(fig, "chart-retention", max(360, 120 + 34 * len(cohorts)))
    return section


def _ltv_section(con, present, renderer: _Renderer, go, currency: str) -> _Section:
    section = _Section(
        "ltv",
        "LTV curves by cohort",
        f"Cumulative net revenue per customer ({currency}) of each first-purchase cohort "
        "(all channels) by months since the first purchase; refunds restate past months.",
    )
    rows = _cohort_rows(con, present, "ltv_per_customer")
    if not rows:
        return _no_data(section, "ltv_cohorts")
    section.has_data = True
    by_cohort: dict[str, tuple[list, list]] = {}
    for cohort, k, ltv, _size in rows:
        xs, ys = by_cohort.setdefault(cohort, ([], []))
        xs.append(k)
        ys.append(ltv)
    from plotly.colors import sample_colorscale

    # A sequential scale (old cohorts dark, new ones light) stays readable with many cohorts,
    # where a cycling palette would repeat colours after ten.
    positions = [i / max(len(by_cohort) - 1, 1) for i in range(len(by_cohort))]
    cohort_colours = sample_colorscale("Viridis", [0.85 * p for p in positions])
    fig = go.Figure()
    for (cohort, (xs, ys)), colour in zip(by_cohort.items(), cohort_colours, strict=True):
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                name=cohort,
                line={"color": colour},
                marker={"size": 8},
                hovertemplate=f"cohort {cohort}<br>month %{{x}}: %{{y:,.2f}} {currency}"
                "<extra></extra>",
            )
        )
    fig.update_layout(
        title={"text": f"LTV per customer by cohort ({currency}, cumulative net revenue)"},
        xaxis={"title": {"text": "months since first purchase"}, "dtick": 1},
        yaxis={"title": {"text": f"LTV per customer ({currency})"}, "rangemode": "tozero"},
        legend={"title": {"text": "cohort"}},
    )
    section.body = renderer.figure(fig, "chart-ltv", 460)
    return section


def _unit_economics_section(con, present, renderer: _Renderer, go) -> _Section:
    section = _Section(
        "ltv_to_cac",
        "LTV:CAC by channel",
        "12-month LTV (times gross margin) over CAC for each cohort month and paid channel. "
        "Solid bars: cohorts with 12 full months observed; hatched bars: younger cohorts, "
        "LTV so far. Above 1 a cohort's margin exceeds what it cost to acquire.",
    )
    if "unit_economics_monthly" not in present:
        return _no_data(section, "unit_economics_monthly")
    rows = con.execute(
        f"""
        with rated as (
            select * from unit_economics_monthly
            where ltv_to_cac is not null and isfinite(ltv_to_cac)
        ),
        latest_cohorts as (
            select distinct cohort_month from rated
            order by cohort_month desc
            limit {MAX_UNIT_ECONOMICS_COHORTS}
        )
        select strftime(cohort_month, '%Y-%m') as cohort,
               channel, ltv_to_cac, is_ltv_12m_complete, ltv_months_observed,
               ltv_12m, cac, new_customers, payback_months
        from rated
        where cohort_month in (select cohort_month from latest_cohorts)
        order by channel = 'all', channel, cohort_month
        """
    ).fetchall()
    if not rows:
        return _no_data(section, "unit_economics_monthly", "no cohort with a CAC yet")
    section.has_data = True
    colours = _colour_lookup()
    by_channel: dict[str, list[tuple]] = {}
    for row in rows:
        by_channel.setdefault(row[1], []).append(row)
    fig = go.Figure()
    for channel, channel_rows in by_channel.items():
        fig.add_trace(
            go.Bar(
                x=[r[0] for r in channel_rows],
                y=[r[2] for r in channel_rows],
                name="blended (all)" if channel == "all" else channel,
                marker={
                    "color": colours(channel),
                    "pattern": {
                        "shape": ["" if r[3] else "/" for r in channel_rows],
                        "fillmode": "overlay",
                    },
                },
                customdata=[
                    [
                        r[4],
                        "complete" if r[3] else "so far",
                        r[5],
                        r[6],
                        r[7],
                        "not yet" if r[8] is None else f"{r[8]} months",
                    ]
                    for r in channel_rows
                ],
                hovertemplate=f"{channel} · cohort %{{x}}<br>LTV:CAC %{{y:.2f}}"
                " (LTV over %{customdata[0]} months, %{customdata[1]})<br>"
                "LTV %{customdata[2]:,.2f} · CAC %{customdata[3]:,.2f} · "
                "%{customdata[4]:,} new customers<br>payback: %{customdata[5]}<extra></extra>",
            )
        )
    fig.add_hline(y=1, line={"color": "#d62728", "dash": "dot"}, annotation_text="break-even (1.0)")
    fig.update_layout(
        title={"text": "LTV:CAC by cohort month and channel (ratio)"},
        barmode="group",
        xaxis={"title": {"text": "cohort (first-purchase month)"}, "type": "category"},
        yaxis={"title": {"text": "LTV:CAC (ratio, 12-month LTV × margin / CAC)"}},
        legend={"orientation": "h", "y": -0.2},
    )
    section.body = renderer.figure(fig, "chart-ltv-to-cac", 460)
    return section


def _lifecycle_section(con, present, renderer: _Renderer, go) -> _Section:
    section = _Section(
        "lifecycle",
        "Customer lifecycle by month",
        "Customers per monthly state: new (first purchase), returning (bought this and last "
        "month), resurrecting (bought again after a gap); dormant (bought last month, not "
        "this one) is drawn below zero.",
    )
    if "lifecycle_monthly" not in present:
        return _no_data(section, "lifecycle_monthly")
    rows = con.execute(
        """
        select strftime(month, '%Y-%m') as month, state, coalesce(sum(customers), 0) as customers
        from lifecycle_monthly
        group by all
        order by month, state
        """
    ).fetchall()
    section.has_data = True
    by_state: dict[str, tuple[list, list]] = {}
    for month, state, customers in rows:
        xs, ys = by_state.setdefault(state, ([], []))
        xs.append(month)
        ys.append(-customers if state == "dormant" else customers)
    ordered = [s for s in LIFECYCLE_STATES if s in by_state] + sorted(
        s for s in by_state if s not in LIFECYCLE_STATES
    )
    fig = go.Figure()
    for state in ordered:
        xs, ys = by_state[state]
        fig.add_trace(
            go.Bar(
                x=xs,
                y=ys,
                name=state,
                marker_color=LIFECYCLE_COLOURS.get(state, "#7f7f7f"),
                customdata=[abs(y) for y in ys],
                hovertemplate=f"{state} · %{{x}}: %{{customdata:,}} customers<extra></extra>",
            )
        )
    fig.update_layout(
        title={"text": "Customers by lifecycle state and month"},
        barmode="relative",
        xaxis={"title": {"text": "month"}, "type": "category"},
        yaxis={"title": {"text": "customers (dormant shown negative)"}},
        legend={"orientation": "h", "y": -0.2},
    )
    section.body = renderer.figure(fig, "chart-lifecycle", 420)
    return section


def _no_data(section: _Section, table: str, reason: str = "the table is empty") -> _Section:
    section.body = (
        f'<div class="no-data">No data yet: <code>marts.{html.escape(table)}</code> '
        f"({html.escape(reason)}).</div>"
    )
    return section


# --- output --------------------------------------------------------------------------------


def _document(header: str, sections: list[_Section], as_of: date | None) -> str:
    title = "Funnel report" + (f" as of {as_of.isoformat()}" if as_of else "")
    body = "".join(
        f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>'
        f'<p class="lead">{html.escape(s.lead)}</p>{s.body}</section>'
        for s in sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{header}{body}"
        "<footer>Built from the published marts (<code>marts.duckdb</code>). "
        "Self-contained: works offline.</footer></main></body></html>\n"
    )


def _write_atomically(output_path: Path, document: str) -> int:
    output_path.parent.mkdir(parents=True, exist_ok=True)
    data = document.encode("utf-8")
    fd, tmp_name = tempfile.mkstemp(
        dir=output_path.parent, prefix=f".{output_path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        # mkstemp creates 0600; the report is meant to be opened by anyone who can read serving.
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, output_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return len(data)


# --- formatting ----------------------------------------------------------------------------


def _colour_lookup():
    extra: dict[str, str] = {}

    def colour(channel: str) -> str:
        if channel in CHANNEL_COLOURS:
            return CHANNEL_COLOURS[channel]
        if channel not in extra:
            extra[channel] = FALLBACK_COLOURS[len(extra) % len(FALLBACK_COLOURS)]
        return extra[channel]

    return colour


def _fmt_int(value: float | None) -> str:
    return "n/a" if value is None else f"{int(value):,}"


def _fmt_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _fmt_money(value: float | None, currency: str, decimals: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{decimals}f} {currency}"
