"""The HTML document: header cards, sections, tables, the filters and the file write.

The page is self-contained: plotly.js is inlined once with the first figure, the filter
script and the styles are inline, nothing is loaded from the network. The filters act on
what the marts published, never re-aggregating it:

- date range (from, to): narrows every date axis (CAC, funnel, LTV:CAC, lifecycle, recurring
  retention) and hides funnel table rows whose period starts outside it;
- channels (one checkbox per channel of the seed, and `all`, the blended rows): hides the
  traces and table rows of unchecked channels; a heatmap shows the first checked channel;
- per chart: the attribution model (CAC) and the period grain (funnel, retention).
"""

from __future__ import annotations

import html
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pipelines.lib.report.queries import Figure, Headline

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
# The figure the CAC section explains itself with, not a headline card.
THRESHOLD_FIGURE = "cac_min_window_customers"

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
.filters { position: sticky; top: 0; z-index: 10; background: #fff; margin-top: 18px;
  border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; display: flex;
  flex-wrap: wrap; gap: 8px 20px; align-items: center; font-size: 14px; }
.filters fieldset { border: 0; margin: 0; padding: 0; display: flex; flex-wrap: wrap;
  gap: 4px 12px; align-items: center; }
.filters legend { float: left; color: var(--muted); margin-right: 6px; }
.filters .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 3px; }
.chart-controls { display: flex; gap: 16px; font-size: 14px; margin: 4px 0 8px; }
.chart-controls .shown { color: var(--muted); }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 16px 20px; margin-top: 20px; }
section h2 { margin: 0 0 4px; font-size: 19px; }
section .lead { margin: 0 0 10px; color: var(--muted); font-size: 14px; }
.no-data { padding: 18px; border: 1px dashed var(--line); border-radius: 6px;
  color: var(--muted); text-align: center; }
.table-wrap { max-height: 420px; overflow: auto; margin-top: 10px; }
table { border-collapse: collapse; font-size: 14px; }
th, td { padding: 5px 12px; border-bottom: 1px solid var(--line); text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2), th:nth-child(3),
td:nth-child(3) { text-align: left; }
th { color: var(--muted); font-weight: 600; position: sticky; top: 0; background: #fff; }
footer { margin-top: 24px; color: var(--muted); font-size: 12px; }
"""

# Shows and hides what the marts published; computes nothing. Trace `meta` carries the
# dimensions (channel, model, grain); rows carry data-channel, data-date, data-grain.
SCRIPT = """
(function () {
  function checkedChannels() {
    return Array.from(document.querySelectorAll('input[name=channel]'))
      .filter(function (box) { return box.checked; })
      .map(function (box) { return box.value; });
  }
  function controls(chartId) {
    var found = {};
    document.querySelectorAll('select[data-chart="' + chartId + '"]').forEach(function (s) {
      found[s.dataset.dim] = s.value;
    });
    return found;
  }
  function inRange(day, from, to) {
    return (!from || day >= from) && (!to || day <= to);
  }
  function dateRange(gd, axis, from, to) {
    if (!from && !to) { return null; }
    var values = [];
    gd.data.forEach(function (t) {
      if (t.visible !== false) { values = values.concat(t[axis] || []); }
    });
    values = values.filter(function (v) { return typeof v === 'string'; }).sort();
    if (!values.length) { return null; }
    var low = from || values[0], high = to || values[values.length - 1];
    return axis === 'y' ? [high, low] : [low, high];
  }
  function apply() {
    var from = document.getElementById('filter-from').value;
    var to = document.getElementById('filter-to').value;
    var channels = checkedChannels();
    document.querySelectorAll('.js-plotly-plot').forEach(function (gd) {
      if (!gd.data) { return; }
      var wanted = controls(gd.id);
      var single = gd.dataset.singleChannel === '1';
      var pick = null;
      if (single) {
        pick = channels.find(function (c) {
          return gd.data.some(function (t) {
            return t.meta && t.meta.channel === c &&
              Object.keys(wanted).every(function (d) { return t.meta[d] === wanted[d]; });
          });
        }) || null;
        var shown = document.querySelector('[data-shown-for="' + gd.id + '"]');
        if (shown) {
          shown.textContent = pick ? 'showing: ' + (gd.dataset['label_' + pick] || pick)
                                   : 'no checked channel has rows';
        }
      }
      var visible = gd.data.map(function (t) {
        var meta = t.meta || {};
        if (meta.channel !== undefined) {
          if (single ? meta.channel !== pick : channels.indexOf(meta.channel) < 0) {
            return false;
          }
        }
        return Object.keys(wanted).every(function (d) {
          return meta[d] === undefined || meta[d] === wanted[d];
        });
      });
      Plotly.restyle(gd, {visible: visible});
      var axis = gd.dataset.dateAxis;
      if (axis) {
        var range = dateRange(gd, axis, from, to), update = {};
        if (range) { update[axis + 'axis.range'] = range; update[axis + 'axis.autorange'] = false; }
        else { update[axis + 'axis.autorange'] = axis === 'y' ? 'reversed' : true; }
        Plotly.relayout(gd, update);
      }
    });
    document.querySelectorAll('tr[data-channel]').forEach(function (row) {
      var table = row.closest('table');
      var grain = document.querySelector('select[data-table="' + table.id + '"]');
      var show = channels.indexOf(row.dataset.channel) >= 0 &&
        inRange(row.dataset.date, from, to) &&
        (!grain || row.dataset.grain === grain.value);
      row.hidden = !show;
    });
  }
  window.funnelReportApplyFilters = apply;
  document.addEventListener('change', function (event) {
    if (event.target.closest('.filters, .chart-controls')) { apply(); }
  });
  window.addEventListener('load', apply);
})();
"""


@dataclass
class Section:
    key: str
    title: str
    lead: str
    body: str = ""
    has_data: bool = False


@dataclass
class Renderer:
    """Turns figures into HTML, inlining plotly.js only with the first figure."""

    charts: int = 0
    chart_ids: list[str] = field(default_factory=list)

    def figure(
        self, fig: Any, chart_id: str, height: int, *, data: dict[str, str] | None = None
    ) -> str:
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
        if data:
            # data-* attributes on the plot div tell the filter script how to treat it
            attributes = "".join(
                f' data-{html.escape(k)}="{html.escape(v)}"' for k, v in data.items()
            )
            fragment = fragment.replace(
                f'<div id="{chart_id}"', f'<div id="{chart_id}"{attributes}', 1
            )
        self.charts += 1
        self.chart_ids.append(chart_id)
        return fragment


def no_data(section: Section, table: str, reason: str = "the table is empty") -> Section:
    section.body = (
        f'<div class="no-data">No data yet: <code>marts.{html.escape(table)}</code> '
        f"({html.escape(reason)}).</div>"
    )
    return section


def select(chart_or_table: str, dim: str, label: str, options: list[tuple[str, str]],
           selected: str | None, *, table: bool = False) -> str:  # fmt: skip
    target = "data-table" if table else "data-chart"
    opts = "".join(
        f'<option value="{html.escape(v)}"{" selected" if v == selected else ""}>'
        f"{html.escape(text)}</option>"
        for v, text in options
    )
    return (
        f'<label>{html.escape(label)} <select {target}="{html.escape(chart_or_table)}" '
        f'data-dim="{html.escape(dim)}">{opts}</select></label>'
    )


# --- formatting ----------------------------------------------------------------------------


def fmt_int(value: float | None) -> str:
    return "n/a" if value is None else f"{int(value):,}"


def fmt_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def fmt_hours(value: float | None) -> str:
    return "&ndash;" if value is None else f"{value:,.1f}"


def format_figure(figure: Figure, currency: str) -> str:
    """A headline figure as text, by its unit (the mart's `unit`)."""
    value = figure.value
    if value is None:
        return "n/a"
    if figure.unit == "count":
        return fmt_int(value)
    if figure.unit == "money":
        return f"{value:,.2f} {currency}"
    if figure.unit == "share":
        return fmt_pct(value)
    return f"{value:,.2f}"


# --- page parts ----------------------------------------------------------------------------


def header(headline: Headline, currency: str) -> str:
    cards = [f for f in headline.figures if f.item != THRESHOLD_FIGURE]
    cards_html = "".join(
        f'<div class="card" data-figure="{html.escape(f.item)}">'
        f'<div class="label">{html.escape(f.label)}</div>'
        f'<div class="value">{html.escape(format_figure(f, currency))}</div>'
        f'<div class="hint">{html.escape(f.description)}</div></div>'
        for f in cards
    )
    if not cards:
        cards_html = (
            '<div class="no-data">No data yet: <code>marts.report_headline</code> '
            "(the table is empty).</div>"
        )
    as_of_text = headline.as_of.isoformat() if headline.as_of else "no data yet"
    return (
        "<header><h1>Funnel, CAC and LTV report</h1>"
        f'<p class="as-of">As of {html.escape(as_of_text)} (latest landed day) '
        f"· amounts in {html.escape(currency)}</p>"
        f'<div class="cards">{cards_html}</div></header>'
    )


def filters(headline: Headline) -> str:
    boxes = "".join(
        f'<label><input type="checkbox" name="channel" value="{html.escape(c.channel)}" checked>'
        f'<span class="swatch" style="background:{html.escape(c.colour or "#7f7f7f")}"></span>'
        f"{html.escape(c.label)}</label>"
        for c in headline.channels.values()
    )
    return (
        '<form class="filters" id="filters" onsubmit="return false">'
        "<fieldset><legend>Dates</legend>"
        '<label>from <input type="date" id="filter-from"></label>'
        '<label>to <input type="date" id="filter-to"></label></fieldset>'
        f"<fieldset><legend>Channels</legend>{boxes}</fieldset></form>"
    )


def funnel_table(rows: list[tuple], headline: Headline, grain: str | None) -> str:
    labels = {c.channel: c.label for c in headline.channels.values()}
    body = "".join(
        f'<tr data-channel="{html.escape(r[2])}" data-date="{r[1].isoformat()}" '
        f'data-grain="{html.escape(r[0])}"{"" if r[0] == grain else " hidden"}>'
        f"<td>{r[1].isoformat()}</td><td>{html.escape(labels.get(r[2], r[2]))}</td>"
        f"<td>{html.escape(r[3])}</td><td>{fmt_int(r[4])}</td>"
        f"<td>{'&ndash;' if r[5] is None else fmt_int(r[5])}</td>"
        f"<td>{'&ndash;' if r[6] is None else fmt_pct(r[6])}</td>"
        f"<td>{fmt_hours(r[7])}</td><td>{fmt_hours(r[8])}</td>"
        f"<td>{'&ndash;' if r[9] is None else fmt_pct(r[9])}</td>"
        f"<td>{'final' if r[10] else 'open'}</td></tr>"
        for r in rows
    )
    return (
        '<div class="table-wrap"><table class="funnel-summary-table" id="funnel-summary-table">'
        "<thead><tr><th>period start</th><th>channel</th><th>stage</th><th>entered</th>"
        "<th>converted to next</th><th>conversion</th><th>median hours to next</th>"
        "<th>p90 hours to next</th><th>overall conversion to purchase</th><th>window</th>"
        f"</tr></thead><tbody>{body}</tbody></table></div>"
    )


def document(
    header_html: str, filters_html: str, sections: list[Section], as_of: date | None
) -> str:
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
        f"<body><main>{header_html}{filters_html}{body}"
        "<footer>Built from the published marts (<code>marts.duckdb</code>); every figure is "
        "a mart value. Self-contained: works offline.</footer></main>"
        f"<script>{SCRIPT}</script></body></html>\n"
    )


def channel_labels_data(headline: Headline) -> dict[str, str]:
    """data-label_<channel> attributes: what a single-channel heatmap says it shows."""
    return {f"label_{c.channel}": c.label for c in headline.channels.values()}


def write_atomically(output_path: Path, text: str) -> int:
    output_path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
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
