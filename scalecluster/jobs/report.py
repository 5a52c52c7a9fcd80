"""One-page reports (Markdown and HTML) and plots (PNG, matplotlib's Agg backend).

A report opens with what it was made from (input, rows, date range, reference
date, columns, settings, where it ran, the scalecluster version), then gives
tables that fit the page: human headers with units, one precision per column,
amounts with a currency when one was given.  A table that would not fit shows
the columns that matter; the full table is the CSV beside the report.

matplotlib is a dependency; should it be missing, the reports are still
written, with a line saying the plots were skipped.
"""

from __future__ import annotations

import html
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

SEVERITY_LEVELS = ("critical", "high", "medium", "low")
#: Symbols for common currency codes (others are written as given, before the amount).
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩"}
#: Colours of the severity levels in the plots and the HTML (colour-blind safe, darkest = most severe).
SEVERITY_COLOURS = {"critical": "#b2182b", "high": "#ef8a62", "medium": "#8073ac", "low": "#67a9cf"}
#: Headers for column names flows and transactions often have.
KNOWN_HEADERS = {
    "src_ip": "Source IP", "dst_ip": "Destination IP", "src_port": "Source port", "dst_port": "Destination port",
    "protocol": "Protocol", "label": "Label", "timestamp": "Time", "total_bytes": "Bytes", "total_packets": "Packets",
    "bytes_per_packet": "Bytes per packet", "send_receive_ratio": "Sent / received", "duration": "Duration (s)",
    "packets_per_second": "Packets per second",
}
#: Rows shown in the report's table of alerts (all are in alerts.csv).
TOP_ALERTS = 20


# ------------------------------------------------------------------ formatting


def money(value: Any, currency: str | None, decimals: int = 2) -> str:
    """``€1,234`` / ``CHF 1,234.50`` / ``1,234`` (no currency): an amount with thousands separators."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    number = f"{abs(float(value)):,.{decimals}f}"
    sign = "-" if float(value) < 0 and float(number.replace(",", "")) != 0 else ""
    if not currency:
        return sign + number
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), currency)
    return f"{sign}{symbol}{number}" if len(symbol) == 1 else f"{sign}{symbol} {number}"


def money_decimals(values: Sequence[float]) -> int:
    """One precision for a column of amounts: whole units when the largest is 100 or more, else cents."""
    finite = [abs(v) for v in values if v is not None and np.isfinite(v)]
    return 0 if finite and max(finite) >= 100 else 2


def count_decimals(values: Sequence[float]) -> int:
    """0 when every value is whole (counts, their medians mostly), else 1, for the whole column."""
    return 0 if all(float(v).is_integer() for v in values if np.isfinite(v)) else 1


def significant(value: float, digits: int = 4) -> str:
    """``24,460`` / ``3.512`` / ``0.001234``: ``digits`` significant digits, thousands separated."""
    if value is None or not np.isfinite(value):
        return "-" if value is None or np.isnan(value) else ("inf" if value > 0 else "-inf")
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


def size_in_bytes(value: float) -> str:
    """``379.0 MB``: bytes in decimal units, one decimal."""
    if value is None or not np.isfinite(value):
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:,.1f} {unit}"
    return f"{value:,.0f} B"


def when(value: Any) -> str:
    """A time as ``2025-01-01 23:44:48`` (no fractions, never nanoseconds); text that is not a time as is."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    try:
        stamp = pd.Timestamp(value) if not isinstance(value, (int, float, np.number)) else None
    except (ValueError, TypeError):
        stamp = None
    if stamp is None or pd.isna(stamp):
        return str(value)
    text = stamp.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text} {stamp.tzname()}" if stamp.tzinfo is not None else text


def header_of(column: str) -> str:
    """A column name as a table header: ``src_ip`` -> ``Source IP``, ``bytes_out`` -> ``Bytes out``."""
    if column in KNOWN_HEADERS:
        return KNOWN_HEADERS[column]
    words = str(column).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


@dataclass
class Table:
    """A table as the reports show it: formatted cells, and which columns are numbers (right-aligned)."""

    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    classes: list[list[str]] | None = None  #: optional CSS class per cell (severity colours)
    #: per column: 1 always shown, 2 hidden on pages narrower than 56em, 3 narrower than 48em (Markdown: all)
    priority: list[int] | None = None

    def markdown(self) -> str:
        def cell(text: str) -> str:
            return str(text).replace("|", "\\|").replace("\n", " ")

        lines = ["| " + " | ".join(cell(h) for h in self.headers) + " |",
                 "|" + "|".join("---:" if n else "---" for n in self.numeric) + "|"]
        lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines)

    def html(self) -> str:
        def cls(numeric: bool, *extra: str) -> str:
            names = " ".join(n for n in ("num" if numeric else "", *extra) if n)
            return f' class="{names}"' if names else ""

        level = [f"p{p}" if p > 1 else "" for p in (self.priority or [1] * len(self.headers))]
        head = "".join(f"<th{cls(n, p)}>{html.escape(h)}</th>" for h, n, p in zip(self.headers, self.numeric, level))
        body = []
        for i, row in enumerate(self.rows):
            extra = self.classes[i] if self.classes else [""] * len(row)
            cells = "".join(f"<td{cls(n, e, p)}>{html.escape(str(c))}</td>"
                            for c, n, e, p in zip(row, self.numeric, extra, level))
            body.append(f"<tr>{cells}</tr>")
        return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _meta_table(rows: list[tuple[str, str]]) -> tuple[str, str]:
    """The header block: (Markdown, HTML)."""
    md = ["| | |", "|---|---|"] + [f"| **{k}** | {str(v).replace('|', '/')} |" for k, v in rows]
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return "\n".join(md), f'<table class="meta">{cells}</table>'


# ------------------------------------------------------------------ plots


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    if "matplotlib.pyplot" not in sys.modules:  # keep a backend a notebook already chose; else off-screen
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, figure: Any, path: str) -> str:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_sweep(sweep: pd.DataFrame, chosen: int, plt: Any) -> Any:
    """The evidence per k: stability (with its threshold), silhouette (min to max over refits), Davies–Bouldin,
    inertia per customer (an elbow)."""
    from ._stability import STABILITY_THRESHOLD

    figure, axes = plt.subplots(1, 4, figsize=(14, 3.4))
    k = sweep["k"].to_numpy()
    stable = sweep["stable"].to_numpy(dtype=bool) if "stable" in sweep else np.ones(len(k), dtype=bool)
    panels = [("stability", "Stability (mean ARI of refits)"), ("silhouette", "Silhouette (higher is better)"),
              ("davies_bouldin", "Davies–Bouldin (lower is better)"), ("inertia", "Inertia per customer (elbow)")]
    for ax, (column, title) in zip(axes, panels):
        values = sweep[column].to_numpy(dtype=np.float64)
        ax.plot(k, values, color="#555", linewidth=1, zorder=1)
        ax.scatter(k[stable], values[stable], color="#1b7837", zorder=2, label="stable")
        ax.scatter(k[~stable], values[~stable], facecolors="none", edgecolors="#b2182b", zorder=2, label="not stable")
        if column == "stability":
            if "stability_min" in sweep:
                ax.fill_between(k, sweep["stability_min"], values, color="#999", alpha=0.25, linewidth=0)
            ax.axhline(STABILITY_THRESHOLD, color="#b2182b", linestyle=":", linewidth=1)
            ax.set_ylim(min(0.5, float(np.nanmin(values)) - 0.05), 1.02)
            ax.legend(fontsize="x-small", loc="lower left")
        if column == "silhouette" and "silhouette_low" in sweep:
            ax.fill_between(k, sweep["silhouette_low"], sweep["silhouette_high"], color="#999", alpha=0.25, linewidth=0)
        ax.axvline(chosen, color="grey", linestyle="--", linewidth=1)
        ax.set_title(title, fontsize="medium")
        ax.set_xticks(k)
        ax.set_xlabel(f"k (dashed: the chosen k = {chosen})")
    return figure


def plot_segments_pca(sample: pd.DataFrame, names: dict[int, str], plt: Any) -> Any:
    """The sampled customers on the first two principal components of the scaled RFM features."""
    columns = [c for c in sample.columns if c.endswith("_scaled")]
    X = sample[columns].to_numpy(dtype=np.float64)
    X = X - X.mean(axis=0)
    _, singular, components = np.linalg.svd(X, full_matrices=False)
    points = X @ components[:2].T
    explained = singular[:2] ** 2 / max((singular**2).sum(), 1e-300)
    figure, ax = plt.subplots(figsize=(6.4, 4.8))
    for segment, name in sorted(names.items()):
        mask = sample["segment"].to_numpy() == segment
        ax.scatter(points[mask, 0], points[mask, 1], s=4, alpha=0.5, label=f"{segment}: {name}")
    ax.set_xlabel(f"First principal component ({explained[0]:.0%} of the spread)")
    ax.set_ylabel(f"Second ({explained[1]:.0%})")
    ax.legend(markerscale=3, fontsize="small")
    ax.set_title(f"Segments of {len(sample):,} sampled customers\n(recency, frequency, spend: log scale, standardised)",
                 fontsize="medium")
    return figure


def plot_profile_heatmap(profile: pd.DataFrame, overall: dict[str, float], plt: Any, currency: str | None = None) -> Any:
    """Median recency, frequency and monetary value per segment, coloured by log ratio to the overall median."""
    columns = ["recency", "frequency", "monetary"]
    values = profile[[f"{c}_median" for c in columns]].to_numpy(dtype=np.float64)
    ratio = np.log2((values + 1.0) / (np.array([overall[c] for c in columns]) + 1.0))
    ratio[:, 0] *= -1  # recent is good: colour it like high frequency and spend
    figure, ax = plt.subplots(figsize=(6.0, 0.6 * len(profile) + 1.6))
    limit = max(float(np.abs(ratio).max()), 1e-9)
    ax.imshow(ratio, cmap="RdYlGn", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(3), ["Days since\nlast order", "Orders", "Spend"])
    ax.set_yticks(range(len(profile)), [f"{s}: {n}" for s, n in zip(profile.index, profile["name"])])
    decimals = (0, count_decimals(values[:, 1]), money_decimals(values[:, 2]))
    for i in range(values.shape[0]):
        for j in range(3):
            text = money(values[i, j], currency, decimals[2]) if j == 2 else f"{values[i, j]:,.{decimals[j]}f}"
            ax.text(j, i, text, ha="center", va="center", fontsize="small")
    ax.set_title("Segment medians (green: better than the median customer)", fontsize="medium")
    return figure


def plot_k_distance(suggestion: Any, min_samples: int, plt: Any) -> Any:
    figure, ax = plt.subplots(figsize=(6.0, 3.6))
    suggestion.plot(ax=ax)
    ax.set_xlabel("sampled flows, sorted by that distance")
    ax.set_ylabel(f"distance to the {min_samples}th\nnearest flow (scaled)")
    ax.set_title(f"Choosing eps: the knee of the k-distance curve, eps = {suggestion.eps:.4g}", fontsize="medium")
    return figure


#: Alerts drawn at most in the alerts plot (a random sample beyond; the legend still counts every alert).
PLOT_ALERTS = 20_000


def plot_alerts(sample: pd.DataFrame, alerts: pd.DataFrame, columns: list[str], plt: Any) -> Any:
    """Normal traffic as a grey density, the alerts as coloured rings over it.

    Both on the first two principal components of the *normal* sampled flows'
    scaled features, so the axes describe normal traffic.  Rings (not filled
    dots) leave the grey visible under thousands of alerts; the most severe
    are drawn last, on top.
    """
    scaled = [f"{c}_scaled" for c in columns]
    flagged = set(alerts["row"]) if len(alerts) else set()
    normal = sample[~sample.index.isin(flagged)] if flagged else sample
    base = (normal if len(normal) >= 3 else sample)[scaled].to_numpy(dtype=np.float64)
    if not len(base):  # nothing scored: the axes of the features' own units
        base = np.zeros((1, len(scaled)))
    mean = base.mean(axis=0)
    _, _, components = np.linalg.svd(base - mean, full_matrices=False)
    # Two axes even for one feature or one flow: the missing ones are flat (zeros).
    project = np.zeros((len(scaled), 2))
    project[:, : min(2, len(components))] = components[:2].T
    points = (base - mean) @ project
    figure, ax = plt.subplots(figsize=(8.4, 5.0))
    ax.hexbin(points[:, 0], points[:, 1], gridsize=60, bins="log", cmap="Greys", mincnt=1, linewidths=0,
              zorder=1)
    ax.scatter([], [], marker="h", color="grey", label=f"normal traffic\n({len(normal):,} sampled flows)")
    drawn = alerts
    if len(alerts) > PLOT_ALERTS:  # millions of rings draw for minutes and show nothing more
        drawn = alerts.sample(n=PLOT_ALERTS, random_state=0)
    if len(drawn):
        for level in SEVERITY_LEVELS[::-1]:
            chosen = drawn[drawn["severity"] == level]
            if len(chosen):
                p = (chosen[scaled].to_numpy(dtype=np.float64) - mean) @ project
                ax.scatter(p[:, 0], p[:, 1], s=18, facecolors="none", edgecolors=SEVERITY_COLOURS[level],
                           linewidths=0.8, alpha=0.8, label=f"{level} ({int((alerts['severity'] == level).sum()):,})", zorder=2)
    ax.set_xlabel("First principal component of normal traffic")
    ax.set_ylabel("Second principal component")
    ax.legend(fontsize="small", title="alerts by severity", title_fontsize="small", loc="upper left",
              bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    shown = f"{len(alerts):,} alerts" if len(drawn) == len(alerts) else \
        f"{len(drawn):,} of {len(alerts):,} alerts (a random sample)"
    ax.set_title(f"{shown} (rings) against normal traffic (grey; darker = more flows)", fontsize="medium")
    return figure


# ------------------------------------------------------------------ pages

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:62em;margin:1.5em auto;
padding:0 1em;line-height:1.45;color:#222}
h1{margin-bottom:.3em}h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;max-width:100%}
table.data{font-size:88%}
td,th{padding:3px 7px;border-bottom:1px solid #e3e3e3;vertical-align:top;text-align:left}
td.num{white-space:nowrap}.chosen{font-weight:600}
table.data th{background:#f4f4f4;font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums}
table.meta{font-size:92%}table.meta th{font-weight:600;white-space:nowrap;padding-right:1.2em;color:#444}
table.meta table.data td{overflow-wrap:break-word}
table.data td{overflow-wrap:break-word}
p.note{color:#555;font-size:90%}
.critical{color:#b2182b;font-weight:600}.high{color:#c4551f;font-weight:600}.medium{color:#6a5a9c}.low{color:#2c7fb8}
img{max-width:100%;height:auto;display:block;margin:.8em 0}
@media (max-width:56em){.p2{display:none}table.data{font-size:82%}}
@media (max-width:48em){.p3{display:none}}
@media (max-width:36em){table.data td{overflow-wrap:anywhere;white-space:normal}}
"""


def _write_pages(folder: str, title: str, meta: list[tuple[str, str]], blocks: list[tuple[str, Any]]) -> dict[str, str]:
    """Write report.md and report.html: the header block, then ("h", text), ("p", text), ("note", text),
    ("table", Table) and ("img", file) blocks."""
    meta_md, meta_html = _meta_table(meta)
    md, body = [f"# {title}", "", meta_md, ""], [f"<h1>{html.escape(title)}</h1>", meta_html]
    for kind, value in blocks:
        if kind == "h":
            md += [f"## {value}", ""]
            body.append(f"<h2>{html.escape(value)}</h2>")
        elif kind in ("p", "note"):
            md += [value if kind == "p" else f"*{value}*", ""]
            body.append(f"<p{' class=note' if kind == 'note' else ''}>{html.escape(value)}</p>")
        elif kind == "table":
            md += [value.markdown(), ""]
            body.append(value.html())
        elif kind == "img":
            md += [f"![{value}]({value})", ""]
            body.append(f'<img src="{html.escape(value)}" alt="{html.escape(value)}">')
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n" + "\n".join(body)
        + "\n</body></html>\n"
    )
    paths = {"report_md": os.path.join(folder, "report.md"), "report_html": os.path.join(folder, "report.html")}
    with open(paths["report_md"], "w", encoding="utf-8") as handle:
        handle.write("\n".join(md))
    with open(paths["report_html"], "w", encoding="utf-8") as handle:
        handle.write(page)
    return paths


def _plots(folder: str, makers: dict[str, Callable[[Any], Any]], plots: bool, say: Callable[[str], None]) -> tuple[dict[str, str], str | None]:
    """Save each plot; returns the paths and a note when plots were skipped."""
    if not plots:
        return {}, "Plots were not requested."
    plt = _pyplot()
    if plt is None:
        note = "Plots skipped: matplotlib is not installed (pip install matplotlib)."
        say(f"  {note}")
        return {}, note
    written = {}
    for name, make in makers.items():
        written[f"{name}_png"] = _save(plt, make(plt), os.path.join(folder, f"{name}.png"))
    return written, None


def _run_rows(info: dict[str, Any]) -> list[tuple[str, str]]:
    """The header block's last rows: where and when it ran, and the version."""
    ran = info.get("run_on", "")
    if info.get("started"):
        ran += f"; started {info['started']}"
    if info.get("seconds") is not None:
        ran += f", took {info['seconds']:.1f} s"
    return [("Ran", ran), ("scalecluster", info.get("version", ""))]


def quality_blocks(quality: dict[str, Any], info: dict[str, Any], notes: Sequence[str] = ()) -> list[tuple[str, Any]]:
    """The data-quality section: rows read, set aside and why, customers, date range, reference date."""
    from ._transactions import CUSTOMER_REASONS, ROW_REASONS

    columns = info.get("columns", {})
    settings = info.get("settings", {})

    def n(value: Any) -> str:
        return f"{int(value):,}"

    rows: list[list[str]] = [["Rows read", n(quality["rows"]), ""]]
    for key, words in ROW_REASONS.items():
        if key not in quality or (key == "missing_order" and "order" not in columns):
            continue
        if key == "duplicates" and settings.get("keep_duplicates"):
            rows.append(["Exact duplicates (kept: --keep-duplicates)", "not checked", ""])
            continue
        if key == "late" and info.get("reference_rule") != "given":
            continue
        rows.append([f"Set aside: {words}", n(quality[key]), ""])
    rows.append(["Valid rows", n(quality["valid_rows"]), ""])
    if quality.get("refund_rows"):
        rows.append(["… of which refunds (negative amounts)", n(quality["refund_rows"]), ""])
    rows.append(["Customers", "", n(quality["customers"])])
    for key, words in CUSTOMER_REASONS.items():
        rows.append([f"Set aside: {words}", "", n(quality[key])])
    rows.append(["Customers segmented" if "segmented" in quality else "Customers", "", n(quality.get("segmented", 0))])
    if "first" in info:
        rows.append(["Dates (valid rows)", f"{info['first']} to {info['last']}", ""])
    if "reference_date" in info:
        rows.append(["Reference date", f"{info['reference_date']} ({info.get('reference_rule', '')})", ""])
    table = Table(["", "Rows", "Customers"], rows, [False, True, True], priority=[1, 1, 1])
    from ._transactions import Roles, reading_note

    blocks: list[tuple[str, Any]] = [("h", "Data quality"), ("table", table)]
    if "customer" in columns:
        blocks.append(("note", reading_note(Roles(columns["customer"], columns.get("timestamp", ""),
                                                  columns.get("amount", "")))))
    blocks += [("note", note) for note in notes]
    return blocks


def segment_report(result: Any, folder: str, *, plots: bool = True, say: Callable[[str], None] = print) -> dict[str, str]:
    """Plots and the one-page report of a :class:`~scalecluster.jobs.SegmentResult`, written into ``folder``."""
    from ._stability import STABILITY_THRESHOLD

    currency = getattr(result, "currency", None)
    makers = {}
    if result.sweep is not None:
        makers["k_sweep"] = lambda plt: plot_sweep(result.sweep, result.k, plt)
    makers["pca"] = lambda plt: plot_segments_pca(result.sample, result.names, plt)
    makers["profile_heatmap"] = lambda plt: plot_profile_heatmap(result.profile, result.overall, plt, currency)
    written, note = _plots(folder, makers, plots, say)

    info = result.info or {}
    columns = info.get("columns", {})
    settings = info.get("settings", {})
    meta = [("Input", info.get("input", ""))]
    if "rows" in info:
        meta.append(("Rows", f"{info['rows']:,} transactions, {result.n_customers:,} customers segmented"))
    if "first" in info:
        meta.append(("Dates", f"{info['first']} to {info['last']} (first and last valid transaction)"))
        meta.append(("Reference date", (f"{info['reference_date']} ({info['reference_rule']}); recency counts the "
                                       "days from a customer's last order to it")))
    if columns:
        meta.append(("Columns", ", ".join(f"{role}: {column}" for role, column in columns.items())))
    if settings:
        k_text = f"k {settings.get('k')} (chosen: {result.k})" if result.sweep is not None else f"k = {result.k}"
        reading = []
        if settings.get("keep_duplicates"):
            reading.append("duplicates kept")
        if settings.get("date_format"):
            reading.append(f"dates {settings['date_format']}")
        elif settings.get("dayfirst"):
            reading.append("dates day first")
        meta.append(("Settings", (f"{k_text}; {settings.get('n_init')} KMeans starts; "
                                 + (f"{settings.get('stability_fits')} refits per k on up to "
                                    f"{settings.get('subsample'):,} customers, silhouettes on "
                                    f"{settings.get('sample_size'):,}; " if result.sweep is not None else "")
                                 + f"seed {settings.get('random_state')}; currency {currency or 'none'}"
                                 + (f"; {', '.join(reading)}" if reading else ""))))
    meta += _run_rows(info)

    quality = getattr(result, "quality", None) or {}
    unit = f" ({CURRENCY_SYMBOLS.get(currency.upper(), currency)})" if currency else ""
    blocks: list[tuple[str, Any]] = []
    if quality:
        blocks += quality_blocks(quality, info, result.notes)
    blocks += [
        ("h", "Segments"),
        ("p", f"{result.n_customers:,} customers in {result.k} segments. k: {result.k_reason}."),
        ("table", segment_table(result.profile, currency)),
        ("note", (f"Outliers: customers outside the IQR fences (log scale), left out of the fit and assigned to "
                 f"their nearest segment. All columns (means, medians, revenue{unit}) are in profile.csv; every "
                 "customer's segment is in labels/; the model to label next month's customers is in model/ "
                 "(scalecluster apply).")),
        ("h", "What to do"),
        ("table", action_table(result.profile)),
        ("p", ("Names: recent = median days since the last order below the median customer's "
               f"({result.overall['recency']:,.0f} days), frequent = median orders above the median customer's "
               f"({result.overall['frequency']:,.0f}), high spend = median spend above the median customer's "
               f"({money(result.overall['monetary'], currency, money_decimals([result.overall['monetary']]))}). "
               "Champions: the recent, frequent, high-spend segment with the highest median spend; Loyal: other "
               "recent and frequent; New: recent, not frequent; At Risk: frequent, not recent; Lost: neither. "
               "Segments of one kind are told apart by the feature where they differ most (high / low spend, "
               "frequent / occasional, lapsed recently / long ago).")),
    ]
    if not quality:
        blocks += [("note", n) for n in result.notes]
    if result.sweep is not None:
        blocks += [("h", "Choosing k"), ("table", sweep_table(result.sweep, result.k)),
                   ("note", (f"Stability: for each k, {settings.get('stability_fits', 5)} KMeans fits on different "
                             "random subsamples label one common sample of customers; the mean adjusted Rand index "
                             "between every two fits' labels (1: the same segments every time; 0: chance). A k is "
                             f"stable at {STABILITY_THRESHOLD} or more. Rule: the stable k with the highest "
                             "silhouette (how much closer customers are to their own segment than to the next, "
                             "from -1 to 1; the range is over the refits). Davies–Bouldin (lower is better) and the "
                             "inertia per customer are shown as further evidence. All values: sweep.csv."))]
    if "k_sweep_png" in written:
        blocks.append(("img", "k_sweep.png"))
    if written:
        blocks += [("h", "Plots")] + [("img", f"{n}.png") for n in ("pca", "profile_heatmap") if f"{n}_png" in written]
    if note:
        blocks.append(("note", note))
    written.update(_write_pages(folder, "Customer segments", meta, blocks))
    return written


def segment_table(profile: pd.DataFrame, currency: str | None) -> Table:
    """One row per segment: size, shares and medians with units, one precision per column."""
    frequency = count_decimals(profile["frequency_median"].to_numpy())
    spend = money_decimals(profile["monetary_median"].to_numpy())
    rows = []
    for segment, row in profile.iterrows():
        rows.append([
            str(segment), str(row["name"]), f"{int(row['customers']):,}", f"{row['share']:.1%}",
            f"{row['recency_median']:,.0f}", f"{row['frequency_median']:,.{frequency}f}",
            money(row["monetary_median"], currency, spend), f"{row['revenue_share']:.1%}", f"{int(row['outliers']):,}",
        ])
    headers = ["Segment", "Name", "Customers", "Share of customers", "Days since last order (median)",
               "Orders (median)", "Spend (median)", "Share of revenue", "Outliers"]
    return Table(headers, rows, [True, False, True, True, True, True, True, True, True],
                 priority=[1, 1, 1, 2, 1, 1, 1, 1, 3])


def action_table(profile: pd.DataFrame) -> Table:
    """Segment, name and recommended action."""
    rows = [[str(s), str(row["name"]), str(row.get("action", ""))] for s, row in profile.iterrows()]
    return Table(["Segment", "Name", "Recommended action"], rows, [True, False, False])


def sweep_table(sweep: pd.DataFrame, chosen: int) -> Table:
    rows, classes = [], []
    for _, row in sweep.iterrows():
        k = int(row["k"])
        stable = "yes" if row.get("stable", True) else "no"
        rows.append([f"{k}{' (chosen)' if k == chosen else ''}", f"{row['stability']:.3f}",
                     f"{row['stability_min']:.3f}", stable, f"{row['silhouette']:.3f}",
                     f"{row['silhouette_low']:.3f} to {row['silhouette_high']:.3f}", f"{row['davies_bouldin']:.3f}",
                     significant(row["inertia"])])
        classes.append(["chosen" if k == chosen else ""] * 8)
    return Table(["k", "Stability", "Lowest pair", "Stable", "Silhouette", "Range over refits", "Davies–Bouldin",
                  "Inertia per customer"], rows, [True, True, True, False, True, True, True, True], classes,
                 priority=[1, 1, 3, 1, 1, 2, 2, 3])


def anomaly_report(result: Any, folder: str, *, plots: bool = True, say: Callable[[str], None] = print,
                   title: str = "Traffic anomalies") -> dict[str, str]:
    """Plots and the one-page report of an :class:`~scalecluster.jobs.AnomalyResult`, written into ``folder``."""
    from ._alerts import SEVERITY_MEANING, SEVERITY_THRESHOLDS

    makers = {}
    if result.eps_suggestion is not None:
        makers["k_distance"] = lambda plt: plot_k_distance(result.eps_suggestion, result.min_samples, plt)
    makers["alerts"] = lambda plt: plot_alerts(result.sample, result.alerts, result.features, plt)
    written, note = _plots(folder, makers, plots, say)

    info = result.info or {}
    settings = info.get("settings", {})
    meta = [("Input", info.get("input", ""))]
    model = info.get("model")
    if model:
        meta.append(("Model", (f"anomaly model {str(model.get('id', ''))[:8]}"
                               + (f", written {model['created']}" if model.get("created") else "")
                               + (f" by scalecluster {model['scalecluster']}" if model.get("scalecluster") else "")
                               + (f" ({model['path']})" if model.get("path") else "")
                               + "; no refit: its eps, clusters and core points")))
    if "rows" in info:
        meta.append(("Rows", f"{info['rows']:,} flows, {result.n_flows:,} with usable features"))
    if "first" in info:
        meta.append(("Dates", f"{info['first']} to {info['last']} (column {info.get('time_column')!r})"))
    columns = info.get("columns", {})
    if "features" in columns:
        meta.append(("Features", ", ".join(columns["features"])))
    elif columns:
        meta.append(("Features", (f"{', '.join(result.features)} (traffic features from the columns "
                                 f"{', '.join(columns.values())})")))
    if settings:
        labels = (f"; labels from {settings['label']!r} (normal rows: {settings['normal']!r})"
                  if "label" in settings else "; no label column")
        meta.append(("Settings", (f"eps {result.eps:.4g} ({result.eps_reason}); min_samples {result.min_samples}; "
                                 f"features {'log1p, then ' if settings.get('log', True) else ''}standardised"
                                 f"{labels}; seed {settings.get('random_state')}")))
    meta += _run_rows(info)

    counts = result.alerts["severity"].value_counts() if len(result.alerts) else pd.Series(dtype=int)
    n_alerts = getattr(result, "n_alerts", len(result.alerts))
    share = n_alerts / result.n_flows if result.n_flows else 0.0
    bounds = dict(SEVERITY_THRESHOLDS)
    severity_rows, severity_classes = [], []
    upper = None
    for level in SEVERITY_LEVELS:
        low = max(bounds[level], 1.0)
        reach = f"{low:g} to {upper:g} × eps" if upper is not None else f"{low:g} × eps or more"
        severity_rows.append([level, reach, SEVERITY_MEANING[level], f"{int(counts.get(level, 0)):,}"])
        severity_classes.append([level, "", "", ""])
        upper = low
    groups = getattr(result, "groups", None)
    suspicious = groups[~groups["normal"]] if groups is not None else None
    cut = len(result.alerts) < n_alerts
    blocks: list[tuple[str, Any]] = [
        ("p", (f"{n_alerts:,} alerts among {result.n_flows:,} flows ({share:.1%}); {result.n_clusters} clusters "
               f"of normal traffic" + (f", {len(suspicious)} suspicious groups." if suspicious is not None else "."))),
    ]
    if cut:
        blocks.append(("p", (f"Alert budget: the {len(result.alerts):,} highest-scored alerts were kept (top "
                             f"{len(result.alerts):,}); {n_alerts - len(result.alerts):,} lower-scored alerts were "
                             "cut. The counts, the groups and the metrics are of all alerts; every flow's score is "
                             "in labels/.")))
    blocks += [
        ("h", "Severity"),
        ("note", "Of the alerts kept." if cut else "Of all alerts."),
        ("table", Table(["Severity", "Distance from normal traffic", "Meaning", "Alerts"], severity_rows,
                        [False, False, False, True], severity_classes)),
        ("p", ("How far is an alert? Each flow is a point whose coordinates are its features, log-scaled and "
               "standardised (1 = one standard deviation). DBSCAN groups a sample of the traffic into clusters; "
               "clusters that are small or look like scans are suspicious groups, the others are normal traffic. "
               "Every flow's score (column score in alerts.csv and labels/) is its distance to the nearest core "
               f"point of normal traffic divided by eps = {result.eps:.4g}: 0 inside normal traffic, 1 at its edge; "
               "a flow scoring above 1 is an alert, and 20 is twenty times as far out.")),
    ]
    if result.metrics:
        m = result.metrics
        blocks.append(("p", (f"Against the label column {result.label!r}: precision {m['precision']:.3f} "
                             f"({m['true_positives']:,} of {m['alerts']:,} alerts are labelled anomalies), recall "
                             f"{m['recall']:.3f} ({m['true_positives']:,} of {m['true_anomalies']:,} labelled "
                             f"anomalies found), F1 {m['f1']:.3f}.")))
    blocks += [("note", n) for n in result.notes]
    if groups is not None:
        from ._groups import GROUP_RULE

        blocks += [("h", "Clusters and suspicious groups"), ("p", GROUP_RULE + " Every cluster is in groups.csv."),
                   ("table", groups_table(groups))]
    hosts = getattr(result, "hosts", None)
    if hosts is not None:
        blocks += [("h", "Hosts"), ("table", hosts_table(hosts))]
        n_hosts = getattr(result, "n_hosts", len(hosts))
        blocks.append(("note", (f"The {min(TOP_ALERTS, len(hosts))} highest-scored of {n_hosts:,} host rows"
                                + (f" ({n_hosts - len(hosts):,} cut by the budget)" if len(hosts) < n_hosts else "")
                                + "; every one kept is in hosts.csv, with its aggregates.")))
    blocks.append(("h", "Top alerts"))
    if len(result.alerts):
        blocks.append(("table", alerts_table(result.alerts, result)))
        blocks.append(("note", (f"The {min(TOP_ALERTS, len(result.alerts))} highest-scored of "
                               f"{len(result.alerts):,} alerts kept (on a narrow page, fewer columns); each, "
                               "with every column of the input, is in alerts.csv (row: the flow's position in the "
                               "input, from 0).")))
    else:
        blocks.append(("p", "No alerts."))
    if written:
        blocks += [("h", "Plots")] + [("img", f"{n}.png") for n in ("k_distance", "alerts") if f"{n}_png" in written]
    if note:
        blocks.append(("note", note))
    written.update(_write_pages(folder, title, meta, blocks))
    return written


def alerts_table(alerts: pd.DataFrame, result: Any, limit: int = TOP_ALERTS) -> Table:
    """The top alerts with the columns that tell them apart, formatted to fit the page.

    Rank, severity, distance in eps; the time; up to three columns of the
    input that identify the flow (text first: addresses, protocol); the label;
    and up to three features in their own units.
    """
    top = alerts.head(limit)
    features = list(result.features)
    label = getattr(result, "label", None)
    time_column = getattr(result, "time_column", None)
    skip = {"rank", "row", "severity", "distance", "score", "cluster", label, time_column,
            *features, *[c for c in alerts.columns if c.endswith("_scaled")]}
    for used in (result.info or {}).get("columns", {}).values():  # the inputs of the features
        skip.update([used] if isinstance(used, str) else used)
    context = [c for c in alerts.columns if c not in skip and not isinstance(c, (list, tuple))]
    text_first = sorted(context, key=lambda c: (pd.api.types.is_numeric_dtype(alerts[c].dtype), context.index(c)))
    context = text_first[:3]
    shown_features = [f for f in ("total_bytes", "duration") if f in features] or features[:3]

    headers = ["Rank", "Severity", "Score (× eps)"]
    numeric = [True, False, True]
    priority = [1, 1, 1]
    if time_column is not None and time_column in top.columns:
        headers.append(header_of(time_column) if time_column != "timestamp" else "Time")
        numeric.append(False)
        priority.append(1)
    headers += [header_of(c) for c in context]
    numeric += [False] * len(context)
    priority += [1, 1, 2][: len(context)]
    if label is not None and label in top.columns:
        headers.append("Label")
        numeric.append(False)
        priority.append(2)
    headers += [header_of(f) for f in shown_features]
    numeric += [True] * len(shown_features)
    priority += [1, 3, 3][: len(shown_features)]

    formats = {f: _feature_format(f, top[f].to_numpy(dtype=np.float64)) for f in shown_features}
    rows, classes = [], []
    for _, row in top.iterrows():
        cells = [f"{int(row['rank']):,}", str(row["severity"]), f"{row['score']:,.1f}"]
        if time_column is not None and time_column in top.columns:
            cells.append(when(row[time_column]))
        cells += ["-" if pd.isna(row[c]) else str(row[c]) for c in context]
        if label is not None and label in top.columns:
            cells.append(str(row[label]))
        cells += [formats[f](row[f]) for f in shown_features]
        rows.append(cells)
        classes.append(["", str(row["severity"])] + [""] * (len(cells) - 2))
    return Table(headers, rows, numeric, classes, priority)


def groups_table(groups: pd.DataFrame) -> Table:
    """One row per cluster: kind (with why), flows, share, profile and the hosts involved; groups first."""
    ordered = groups.sort_values(["normal", "flows"], ascending=[True, False], kind="stable")
    has_hosts = "hosts" in ordered
    rows, classes = [], []
    for number, g in ordered.iterrows():
        kind = "normal traffic" if g["normal"] else f"suspicious group ({g['why']})"
        cells = [str(number), kind, f"{int(g['flows']):,}", f"{g['share']:.1%}", str(g["profile"])]
        if has_hosts:
            cells.append(str(g["hosts"]))
        rows.append(cells)
        classes.append(["", "" if g["normal"] else "high"] + [""] * (len(cells) - 2))
    headers = ["Cluster", "Kind", "Flows", "Share", "Profile"] + (["Hosts (flows in the sample)"] if has_hosts else [])
    return Table(headers, rows, [False, False, True, True, False, False][: len(headers)], classes,
                 [1, 1, 1, 2, 1, 3][: len(headers)])


def hosts_table(hosts: pd.DataFrame, limit: int = TOP_ALERTS) -> Table:
    """The highest-scored host rows: host (and window), score, flows, destinations, ports, share without a reply."""
    top = hosts.head(limit)
    keys = list(top.columns[: list(top.columns).index("score")])
    headers = [header_of(k) for k in keys] + ["Score (× eps)", "Flows", "Destinations", "Ports", "No reply",
                                              "Bytes out"]
    rows, classes = [], []
    for _, row in top.iterrows():
        cells = [when(row[k]) if k == "window" else str(row[k]) for k in keys]
        cells += [f"{row['score']:,.1f}", f"{int(row['flows']):,}", f"{int(row['destinations']):,}",
                  f"{int(row['ports']):,}", f"{row['no_reply']:.0%}", size_in_bytes(row["bytes_out"])]
        rows.append(cells)
        classes.append([""] * len(keys) + [_severity_class(row["score"])] + [""] * 5)
    numeric = [False] * len(keys) + [True] * 6
    return Table(headers, rows, numeric, classes, [1] * len(keys) + [1, 1, 1, 1, 2, 3])


def _severity_class(score: float) -> str:
    from ._alerts import severity_of

    return str(severity_of([score])[0]) if score > 1 else ""


def _feature_format(name: str, values: np.ndarray) -> Callable[[Any], str]:
    if name == "total_bytes" or name.startswith("bytes"):
        return size_in_bytes
    if name in ("total_packets",) or name.startswith("packets_") and name != "packets_per_second":
        return lambda v: f"{float(v):,.0f}"
    if name == "duration":
        return lambda v: f"{float(v):,.2f}"
    return significant


# ------------------------------------------------------------------ apply and drift


def _model_rows(info: dict[str, Any]) -> list[tuple[str, str]]:
    """Header rows naming the model applied."""
    model = info.get("model", {})
    text = f"{model.get('k', '?')} segments, id {str(model.get('id', ''))[:8]}"
    if model.get("created"):
        text += f", written {model['created'].replace('T', ' ')[:16]}"
    if model.get("scalecluster"):
        text += f" by scalecluster {model['scalecluster']}"
    if model.get("path"):
        text += f" ({model['path']})"
    return [("Model", text)]


def _new_data_meta(info: dict[str, Any], n_customers: int, currency: str | None) -> list[tuple[str, str]]:
    meta = [("Input", info.get("input", ""))] + _model_rows(info)
    if "rows" in info:
        meta.append(("Rows", f"{info['rows']:,} transactions, {n_customers:,} customers labelled"))
    if "first" in info:
        meta.append(("Dates", f"{info['first']} to {info['last']} (first and last valid transaction)"))
        meta.append(("Reference date", f"{info['reference_date']} ({info['reference_rule']})"))
    columns = info.get("columns", {})
    if columns:
        meta.append(("Columns", ", ".join(f"{role}: {column}" for role, column in columns.items())))
    return meta + _run_rows(info)


def apply_report(result: Any, folder: str, *, plots: bool = True, say: Callable[[str], None] = print) -> dict[str, str]:
    """The one-page report of an :class:`~scalecluster.jobs.ApplyResult`, written into ``folder``."""
    currency = result.currency
    profile = result.profile
    makers = {"profile_heatmap": lambda plt: plot_profile_heatmap(profile, result.overall, plt, currency)}
    written, note = _plots(folder, makers, plots, say)
    blocks: list[tuple[str, Any]] = quality_blocks(result.quality, result.info, result.notes)
    blocks += [
        ("h", "Segments"),
        ("p", (f"{result.n_customers:,} customers given the model's {len(result.names)} segments (nearest centre, "
               "the model's numbers and names).")),
        ("table", segment_table(profile, currency)),
        ("table", Table(["Segment", "Name", "Share now", "Share at training"],
                        [[str(s), str(r["name"]), f"{r['share']:.1%}", f"{r['share_then']:.1%}"]
                         for s, r in profile.iterrows()], [True, False, True, True])),
        ("note", ("Every customer's segment is in labels/; how far the data moved from the training data: "
                  "scalecluster drift.")),
        ("h", "What to do"),
        ("table", action_table(profile)),
    ]
    if written:
        blocks += [("h", "Plots"), ("img", "profile_heatmap.png")]
    if note:
        blocks.append(("note", note))
    written.update(_write_pages(folder, "Customer segments, applied", _new_data_meta(result.info, result.n_customers,
                                                                                    currency), blocks))
    return written


def plot_drift(result: Any, plt: Any) -> Any:
    """Each segment's share then and now (flagged ones marked), and each feature's PSI against its levels."""
    table = result.segments
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 0.45 * len(table) + 2.6),
                                         gridspec_kw={"width_ratios": [2, 1]})
    y = np.arange(len(table))
    left.barh(y - 0.2, table["share_then"], height=0.4, color="#bbbbbb", label="at training")
    colours = ["#b2182b" if flag else "#2c7fb8" for flag in table["flagged"]]
    left.barh(y + 0.2, table["share_now"], height=0.4, color=colours, label="now")
    left.set_yticks(y, [f"{s}: {n}{'  (moved)' if f else ''}" for s, n, f in
                        zip(table.index, table["name"], table["flagged"])])
    left.invert_yaxis()
    left.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    left.set_xlabel("share of customers")
    left.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    left.set_title(f"Segments then and now (red: moved; share ±{result.share_threshold:.0%} or a median "
                   f"±{result.shift_threshold:g})", fontsize="medium")
    psi_table = result.psi
    right.bar(psi_table["feature"], psi_table["psi"],
              color=["#b2182b" if v >= 0.25 else "#ef8a62" if v >= 0.1 else "#67a9cf" for v in psi_table["psi"]])
    for bound in (0.1, 0.25):
        right.axhline(bound, color="grey", linestyle=":", linewidth=1)
    right.set_ylim(0, max(0.3, float(psi_table["psi"].max()) * 1.15))
    right.set_title("Population-stability index\n(dotted: 0.1 moderate, 0.25 major)", fontsize="medium")
    return figure


def drift_report(result: Any, folder: str, *, plots: bool = True, say: Callable[[str], None] = print) -> dict[str, str]:
    """Plots and the one-page report of a :class:`~scalecluster.jobs.DriftResult`, written into ``folder``."""
    assigned = result.assignment
    currency = assigned.currency
    written, note = _plots(folder, {"drift": lambda plt: plot_drift(result, plt)}, plots, say)
    table = result.segments
    spend = money_decimals(list(table["monetary_median_then"]) + list(table["monetary_median_now"]))
    rows, classes = [], []
    for segment, row in table.iterrows():
        rows.append([
            str(segment), str(row["name"]), f"{row['share_then']:.1%}", f"{row['share_now']:.1%}",
            f"{row['recency_median_then']:,.0f} → {row['recency_median_now']:,.0f}",
            f"{row['frequency_median_then']:,.0f} → {row['frequency_median_now']:,.0f}",
            f"{money(row['monetary_median_then'], currency, spend)} → {money(row['monetary_median_now'], currency, spend)}",
            f"{row['changed_share']:.1%} of {int(row['returning']):,}" if row["returning"] else "-",
            "moved" if row["flagged"] else "",
        ])
        classes.append(["", "", "", "", "", "", "", "", "critical" if row["flagged"] else ""])
    segments = Table(["Segment", "Name", "Share then", "Share now", "Days since last order (median)",
                      "Orders (median)", "Spend (median)", "Returning customers who changed segment", "Flag"],
                     rows, [True, False, True, True, True, True, True, True, False], classes,
                     priority=[1, 1, 1, 1, 2, 2, 2, 1, 1])
    psi_table = Table(["Feature", "PSI", "Change", "Bins"],
                      [[header_of(r["feature"]), f"{r['psi']:.3f}", str(r["level"]), str(int(r["bins"]))]
                       for _, r in result.psi.iterrows()], [False, True, False, True])
    if result.drifted:
        moved = [f"{s} ({table.loc[s, 'name']}: {table.loc[s, 'why']})" for s in result.flagged]
        head = ("Segments that moved beyond the thresholds: " + "; ".join(moved) + "." if moved
                else "No segment moved beyond the thresholds, but a feature's PSI is 0.1 or more.")
    else:
        head = "No drift: no segment moved beyond the thresholds, and every feature's PSI is below 0.1."
    blocks: list[tuple[str, Any]] = quality_blocks(assigned.quality, result.info, result.notes)
    blocks += [
        ("h", "Drift"),
        ("p", head),
        ("table", segments),
        ("note", (f"A segment is flagged when its share of customers moved by {result.share_threshold:.0%} or more "
                  "(percentage points), or one of its medians by "
                  f"{result.shift_threshold:g} or more in the model's scaled units (log1p, divided by the training "
                  "spread of all customers). Returning customers: in both the training data and the new data "
                  f"({result.returning:,}; {result.changed:,} changed segment); the full table of moves is "
                  "transitions.csv, every number drift.csv.")),
        ("h", "Population stability"),
        ("table", psi_table),
        ("note", ("PSI of the new customers against the training customers over the training deciles of each "
                  "feature: sum of (share now - share then) × ln(share now / share then); below 0.1 little change, "
                  "0.1 to 0.25 moderate, above 0.25 major.")),
    ]
    if written:
        blocks += [("h", "Plots"), ("img", "drift.png")]
    if note:
        blocks.append(("note", note))
    written.update(_write_pages(folder, "Segment drift", _new_data_meta(result.info, assigned.n_customers, currency),
                                blocks))
    return written
