"""Plotly figures of the report, built from the rows `queries` selected.

Figures only place the marts' values: no figure derives a number. Each trace carries
`meta` with the dimensions the page's filters act on (`channel`, `model`, `grain`): the
page's script shows or hides traces by them and narrows date axes, never re-aggregates.
Colours and labels of channels and lifecycle states come from `report_headline` (the seeds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.lib.report.queries import GRAIN_ORDER, Headline

FALLBACK_COLOURS = ("#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#9467bd")
BAR_COLOUR = "#2457c5"


def colour_lookup(headline: Headline) -> Callable[[str], str]:
    """The seed's colour of a channel; a fallback colour for one the seed lacks a colour for."""
    extra: dict[str, str] = {}

    def colour(channel: str) -> str:
        known = headline.channels.get(channel)
        if known is not None and known.colour:
            return known.colour
        if channel not in extra:
            extra[channel] = FALLBACK_COLOURS[len(extra) % len(FALLBACK_COLOURS)]
        return extra[channel]

    return colour


def channel_label(headline: Headline, channel: str) -> str:
    known = headline.channels.get(channel)
    return known.label if known is not None else channel


def ordered_grains(grains) -> list[str]:
    present = list(dict.fromkeys(grains))
    known = [g for g in GRAIN_ORDER if g in present]
    return known + sorted(g for g in present if g not in GRAIN_ORDER)


def cac_figure(go, rows: list[tuple], headline: Headline, currency: str) -> Any:
    """Trailing 30-day CAC per paid channel and model, and the blended line (`all`, the same
    in every model: drawn once). Lines start at the channel's `cac_30d_reliable_from`."""
    colours = colour_lookup(headline)
    series: dict[tuple[str | None, str], tuple[list, list]] = {}
    first_model = next(iter(headline.models), None)
    for model, channel, day, cac in rows:
        if channel == "all":
            if model != first_model:
                continue
            model = None
        xs, ys = series.setdefault((model, channel), ([], []))
        xs.append(day.isoformat())
        ys.append(cac)
    fig = go.Figure()
    for (model, channel), (xs, ys) in series.items():
        label = channel_label(headline, channel)
        blended = model is None
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name=label,
                legendgroup=channel,
                meta={"channel": channel, **({} if blended else {"model": model})},
                line={
                    "color": colours(channel),
                    "width": 2,
                    **({"dash": "dash"} if blended else {}),
                },
                visible=True if blended else model == first_model,
                hovertemplate=f"{label}{'' if blended else f' ({model})'}<br>%{{x|%Y-%m-%d}}: "
                f"%{{y:,.2f}} {currency}<extra></extra>",
            )
        )
    fig.update_layout(
        title={"text": "Trailing 30-day CAC by paid channel, and blended"},
        xaxis={"title": {"text": "date"}, "type": "date"},
        yaxis={
            "title": {"text": f"CAC, trailing 30 days ({currency} per customer)"},
            "rangemode": "tozero",
        },
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.18},
    )
    return fig


def funnel_figure(go, rows: list[tuple], headline: Headline) -> Any:
    """Overall conversion to purchase (first stage rows of funnel_summary) per period, one line
    per channel and grain; open markers where the window is not complete yet."""
    colours = colour_lookup(headline)
    first_stage = headline.stages[0] if headline.stages else None
    series: dict[tuple[str, str], list[tuple]] = {}
    for grain, start, channel, stage, *_rest, overall, complete in rows:
        if stage == first_stage and overall is not None:
            series.setdefault((grain, channel), []).append((start.isoformat(), overall, complete))
    grains = ordered_grains(g for g, _ in series)
    fig = go.Figure()
    for (grain, channel), points in series.items():
        label = channel_label(headline, channel)
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in points],
                y=[p[1] for p in points],
                mode="lines+markers",
                name=label,
                legendgroup=channel,
                meta={"channel": channel, "grain": grain},
                visible=bool(grains) and grain == grains[-1],
                line={"color": colours(channel), "width": 2},
                marker={
                    "size": 8,
                    "symbol": ["circle" if p[2] else "circle-open" for p in points],
                },
                customdata=["final" if p[2] else "window still open" for p in points],
                hovertemplate=f"{label} · {grain} of %{{x|%Y-%m-%d}}: %{{y:.1%}} "
                "(%{customdata})<extra></extra>",
            )
        )
    fig.update_layout(
        title={"text": f"Overall conversion to purchase of the people entering {first_stage}"},
        xaxis={"title": {"text": "period start"}, "type": "date"},
        yaxis={
            "title": {"text": "conversion to purchase (%)"},
            "tickformat": ".0%",
            "rangemode": "tozero",
        },
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def recurring_retention_figure(go, rows: list[tuple], headline: Headline) -> Any:
    """One heatmap per (grain, channel) of retention_recurring: period i down, k across."""
    cells: dict[tuple[str, str], dict] = {}
    for grain, start, channel, k, rate, active, retained, complete in rows:
        cell = cells.setdefault((grain, channel), {"starts": {}, "max_k": 0})
        cell["starts"].setdefault(start.isoformat(), {})[k] = (rate, active, retained, complete)
        cell["max_k"] = max(cell["max_k"], k)
    grains = ordered_grains(g for g, _ in cells)
    first_channel = next(iter(headline.channels), None)
    fig = go.Figure()
    for (grain, channel), cell in cells.items():
        starts = list(cell["starts"])
        ks = list(range(cell["max_k"] + 1))
        z = [[cell["starts"][s].get(k, (None,))[0] for k in ks] for s in starts]
        custom = [
            [(lambda v: [v[2], v[1]] if v else [None, None])(cell["starts"][s].get(k)) for k in ks]
            for s in starts
        ]
        fig.add_trace(
            go.Heatmap(
                x=ks,
                y=starts,
                z=z,
                customdata=custom,
                zmin=0,
                zmax=1,
                colorscale="Blues",
                name=f"{channel_label(headline, channel)} · {grain}",
                meta={"channel": channel, "grain": grain},
                visible=bool(grains) and grain == grains[-1] and channel == first_channel,
                hovertemplate=f"{grain} of %{{y}} + %{{x}}: %{{z:.1%}} retained "
                "(%{customdata[0]} of %{customdata[1]})<extra></extra>",
                colorbar={"title": {"text": "retained"}, "tickformat": ".0%"},
                xgap=1,
                ygap=1,
            )
        )
    fig.update_layout(
        title={"text": "Recurring retention: buyers of period i buying again in period i + k"},
        xaxis={"title": {"text": "periods since (k)"}},
        yaxis={"title": {"text": "period i (start)"}, "type": "date", "autorange": "reversed"},
    )
    return fig


def cohort_retention_figure(go, rows: list[tuple]) -> Any:
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
    return fig, len(cohorts)


def ltv_figure(go, rows: list[tuple], currency: str) -> Any:
    from plotly.colors import sample_colorscale

    by_cohort: dict[str, tuple[list, list]] = {}
    for cohort, k, ltv, _size in rows:
        xs, ys = by_cohort.setdefault(cohort, ([], []))
        xs.append(k)
        ys.append(ltv)
    # A sequential scale (old cohorts dark, new ones light) stays readable with many cohorts.
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
    return fig


def unit_economics_figure(go, rows: list[tuple], headline: Headline) -> Any:
    colours = colour_lookup(headline)
    by_channel: dict[str, list[tuple]] = {}
    for row in rows:
        by_channel.setdefault(row[1], []).append(row)
    fig = go.Figure()
    for channel, channel_rows in by_channel.items():
        name = (
            "blended (all channels, incl. organic customers)"
            if channel == "all"
            else channel_label(headline, channel)
        )
        fig.add_trace(
            go.Bar(
                x=[r[0].isoformat() for r in channel_rows],
                y=[r[2] for r in channel_rows],
                name=name,
                meta={"channel": channel},
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
                hovertemplate=f"{name} · cohort %{{x|%Y-%m}}<br>LTV:CAC %{{y:.2f}}"
                " (LTV over %{customdata[0]} months, %{customdata[1]})<br>"
                "LTV %{customdata[2]:,.2f} · CAC %{customdata[3]:,.2f} · "
                "%{customdata[4]:,} new customers<br>payback: %{customdata[5]}<extra></extra>",
            )
        )
    fig.add_hline(y=1, line={"color": "#d62728", "dash": "dot"}, annotation_text="break-even (1.0)")
    fig.update_layout(
        title={"text": "LTV:CAC by cohort month and channel (ratio)"},
        barmode="group",
        xaxis={
            "title": {"text": "cohort (first-purchase month)"},
            "type": "date",
            "dtick": "M1",
            "tickformat": "%Y-%m",
        },
        yaxis={"title": {"text": "LTV:CAC (ratio, 12-month LTV × margin / CAC)"}},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def lifecycle_figure(go, rows: list[tuple], headline: Headline) -> Any:
    """Customers per lifecycle state and month; the state drawn below zero is the seed's last
    (dormant by default: customers leaving), so the bars read as inflow over outflow."""
    by_state: dict[str, tuple[list, list]] = {}
    for month, state, customers in rows:
        xs, ys = by_state.setdefault(state, ([], []))
        xs.append(month.isoformat())
        ys.append(customers)
    states = list(headline.lifecycle_states)
    below = states[-1] if states else None
    fig = go.Figure()
    for state, (xs, ys) in by_state.items():
        label, colour = headline.lifecycle_states.get(state, (state, None))
        fig.add_trace(
            go.Bar(
                x=xs,
                y=[-y if state == below else y for y in ys],
                name=label,
                marker_color=colour or "#7f7f7f",
                customdata=ys,
                hovertemplate=f"{label} · %{{x|%Y-%m}}: %{{customdata:,}} customers<extra></extra>",
            )
        )
    fig.update_layout(
        title={"text": "Customers by lifecycle state and month"},
        barmode="relative",
        xaxis={"title": {"text": "month"}, "type": "date", "dtick": "M1", "tickformat": "%Y-%m"},
        yaxis={"title": {"text": f"customers ({below} shown negative)"}},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig
