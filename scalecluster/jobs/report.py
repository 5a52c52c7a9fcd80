"""One-page reports (Markdown and HTML) and plots (PNG, matplotlib's Agg backend).

matplotlib is the optional extra ``plot``: without it the reports are still
written, with a line saying the plots were skipped.
"""

from __future__ import annotations

import html
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


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


# ------------------------------------------------------------------ plots


def plot_sweep(sweep: pd.DataFrame, chosen: int, plt: Any) -> Any:
    """Elbow (inertia), silhouette (with its interval) and Davies–Bouldin against k."""
    from ..metrics import KSweep

    figure, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    KSweep(sweep, chosen, "").plot(axes=axes)
    figure.suptitle(f"Choosing k: k = {chosen}")
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
    ax.set_xlabel(f"PC1 ({explained[0]:.0%})")
    ax.set_ylabel(f"PC2 ({explained[1]:.0%})")
    ax.legend(markerscale=3, fontsize="small")
    ax.set_title(f"Segments on scaled log RFM ({len(sample):,} customers sampled)")
    return figure


def plot_profile_heatmap(profile: pd.DataFrame, overall: dict[str, float], plt: Any) -> Any:
    """Median recency, frequency and monetary value per segment, coloured by log ratio to the overall median."""
    columns = ["recency", "frequency", "monetary"]
    values = profile[[f"{c}_median" for c in columns]].to_numpy(dtype=np.float64)
    ratio = np.log2((values + 1.0) / (np.array([overall[c] for c in columns]) + 1.0))
    ratio[:, 0] *= -1  # recent is good: colour it like high frequency and spend
    figure, ax = plt.subplots(figsize=(6.0, 0.6 * len(profile) + 1.6))
    limit = max(float(np.abs(ratio).max()), 1e-9)
    ax.imshow(ratio, cmap="RdYlGn", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(3), ["recency (days)", "frequency", "monetary"])
    ax.set_yticks(range(len(profile)), [f"{s}: {n}" for s, n in zip(profile.index, profile["name"])])
    for i in range(values.shape[0]):
        for j in range(3):
            ax.text(j, i, f"{values[i, j]:,.0f}", ha="center", va="center", fontsize="small")
    ax.set_title("Segment medians (green: better than the overall median)")
    return figure


def plot_k_distance(suggestion: Any, plt: Any) -> Any:
    figure, ax = plt.subplots(figsize=(6.0, 3.6))
    suggestion.plot(ax=ax)
    ax.set_title(f"k-distance graph: eps = {suggestion.eps:.4g} at the knee")
    return figure


def plot_alerts(sample: pd.DataFrame, alerts: pd.DataFrame, columns: list[str], plt: Any) -> Any:
    """Normal traffic (sampled) and the alerts on the first two principal components of the scaled features."""
    scaled = [f"{c}_scaled" for c in columns]
    base = sample[scaled].to_numpy(dtype=np.float64)
    mean = base.mean(axis=0)
    _, _, components = np.linalg.svd(base - mean, full_matrices=False)
    figure, ax = plt.subplots(figsize=(6.4, 4.8))
    points = (base - mean) @ components[:2].T
    ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.3, color="grey", label="sampled flows")
    if len(alerts):
        for level in SEVERITY_LEVELS[::-1]:
            chosen = alerts[alerts["severity"] == level]
            if len(chosen):
                p = (chosen[scaled].to_numpy(dtype=np.float64) - mean) @ components[:2].T
                ax.scatter(p[:, 0], p[:, 1], s=10, label=f"{level} ({len(chosen)})")
    ax.set_xlabel("PC1")
    ax.set_ylabel("PC2")
    ax.legend(markerscale=2, fontsize="small")
    ax.set_title("Alerts among the flows (scaled log features)")
    return figure


SEVERITY_LEVELS = ("critical", "high", "medium", "low")


# ------------------------------------------------------------------ reports


def _table_markdown(frame: pd.DataFrame, floatfmt: str = ".3g") -> str:
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = []
    for _, row in frame.iterrows():
        cells = [format(v, floatfmt) if isinstance(v, (float, np.floating)) else str(v) for v in row]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join([header, rule, *rows])


def _write_pages(folder: str, title: str, blocks: list[tuple[str, Any]]) -> dict[str, str]:
    """Write report.md and report.html from blocks: ("h", text), ("p", text), ("table", frame), ("img", file)."""
    md, body = [f"# {title}", ""], [f"<h1>{html.escape(title)}</h1>"]
    for kind, value in blocks:
        if kind == "h":
            md += [f"## {value}", ""]
            body.append(f"<h2>{html.escape(value)}</h2>")
        elif kind == "p":
            md += [value, ""]
            body.append(f"<p>{html.escape(value)}</p>")
        elif kind == "table":
            md += [_table_markdown(value), ""]
            body.append(value.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0, classes="table"))
        elif kind == "img":
            md += [f"![{value}]({value})", ""]
            body.append(f'<img src="{html.escape(value)}" alt="{html.escape(value)}">')
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse;font-size:90%}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}"
        "img{max-width:100%}"
    )
    page = (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
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
        note = 'Plots skipped: matplotlib is not installed (pip install "scalecluster[plot]").'
        say(f"  {note}")
        return {}, note
    written = {}
    for name, make in makers.items():
        written[f"{name}_png"] = _save(plt, make(plt), os.path.join(folder, f"{name}.png"))
    return written, None


def segment_report(result: Any, folder: str, *, plots: bool = True, say: Callable[[str], None] = print) -> dict[str, str]:
    """Plots and the one-page report of a :class:`~scalecluster.jobs.SegmentResult`, written into ``folder``."""
    makers = {}
    if result.sweep is not None:
        makers["k_sweep"] = lambda plt: plot_sweep(result.sweep, result.k, plt)
    makers["pca"] = lambda plt: plot_segments_pca(result.sample, result.names, plt)
    makers["profile_heatmap"] = lambda plt: plot_profile_heatmap(result.profile, result.overall, plt)
    written, note = _plots(folder, makers, plots, say)

    profile = result.profile.reset_index()
    shown = profile[["segment", "name", "customers", "share", "recency_median", "frequency_median",
                     "monetary_median", "revenue_share", "outliers"]].copy()
    shown["share"] = [f"{v:.1%}" for v in shown["share"]]
    shown["revenue_share"] = [f"{v:.1%}" for v in shown["revenue_share"]]
    blocks: list[tuple[str, Any]] = [
        ("p", f"{result.n_customers:,} customers in {result.k} segments. k: {result.k_reason}."),
        ("h", "Segments"),
        ("table", shown),
        ("p", ("Recency in days since the last order, frequency in orders, monetary in total spend; medians. "
              f"Overall medians: recency {result.overall['recency']:.1f}, frequency {result.overall['frequency']:.1f}, "
              f"monetary {result.overall['monetary']:,.1f}.")),
        ("p", ("Names: recent = median recency below the overall median, frequent = median frequency above it, "
              "high spend = median monetary above it. Champions: the recent, frequent, high-spend segment with "
              "the highest median spend; Loyal: other recent and frequent; New: recent, not frequent; "
              "At Risk: frequent, not recent; Lost: neither. Repeated names get 2, 3, ... by decreasing revenue.")),
        *[("p", n) for n in result.notes],
    ]
    if result.sweep is not None:
        blocks += [("h", "Choosing k"), ("table", result.sweep.round(4))]
    if "k_sweep_png" in written:
        blocks.append(("img", "k_sweep.png"))
    if written:
        blocks += [("h", "Plots")] + [("img", f"{n}.png") for n in ("pca", "profile_heatmap") if f"{n}_png" in written]
    if note:
        blocks.append(("p", note))
    written.update(_write_pages(folder, "Customer segments", blocks))
    return written


def anomaly_report(result: Any, folder: str, *, plots: bool = True, say: Callable[[str], None] = print) -> dict[str, str]:
    """Plots and the one-page report of an :class:`~scalecluster.jobs.AnomalyResult`, written into ``folder``."""
    makers = {}
    if result.eps_suggestion is not None:
        makers["k_distance"] = lambda plt: plot_k_distance(result.eps_suggestion, plt)
    makers["alerts"] = lambda plt: plot_alerts(result.sample, result.alerts, result.features, plt)
    written, note = _plots(folder, makers, plots, say)
    counts = result.alerts["severity"].value_counts() if len(result.alerts) else pd.Series(dtype=int)
    blocks: list[tuple[str, Any]] = [
        ("p", (f"{result.n_flows:,} flows, {len(result.alerts):,} alerts (DBSCAN noise), "
              f"{result.n_clusters} clusters of normal traffic. eps = {result.eps:.4g} ({result.eps_reason}), "
              f"min_samples = {result.min_samples}.")),
        ("p", "Alerts by severity: " + ", ".join(f"{lvl} {int(counts.get(lvl, 0))}" for lvl in SEVERITY_LEVELS) + "."),
        ("p", result.severity_rule),
    ]
    if result.metrics:
        m = result.metrics
        blocks.append(("p", (f"Against the label column: precision {m['precision']:.3f}, recall {m['recall']:.3f}, "
                            f"F1 {m['f1']:.3f} ({m['true_anomalies']:,} labelled anomalies).")))
    blocks += [*[("p", n) for n in result.notes], ("h", "Top alerts")]
    top = result.alerts.head(20)
    blocks.append(("table", top[[c for c in top.columns if not c.endswith("_scaled")]]))
    if written:
        blocks += [("h", "Plots")] + [("img", f"{n}.png") for n in ("k_distance", "alerts") if f"{n}_png" in written]
    if note:
        blocks.append(("p", note))
    written.update(_write_pages(folder, "Traffic anomalies", blocks))
    return written
