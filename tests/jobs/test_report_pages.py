"""The reports as a person reads them: what they were made from, tables that fit the page with human
headers, units and one precision per column, dates as dates, and a browser's view of the HTML.

The browser checks run where a Chromium is installed (skipped elsewhere, as in CI): each page is
laid out at the width of a laptop window and of a narrow one, and nothing may be wider than the page.
A screenshot is left beside each report (``screenshot.png``, 1280 pixels wide) for a look.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalecluster import __version__
from scalecluster.jobs import apply_model, detect_anomalies, drift, report, segment

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
WIDTHS = (1280, 800)
#: Appended to a copy of the page: measures, once everything is laid out, what is wider than the page.
MEASURE = """<script>
window.addEventListener('load', () => {
  const page = document.documentElement;
  const wide = [...document.body.querySelectorAll('*')]
    .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > page.clientWidth + 0.5)
    .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''));
  const out = document.createElement('pre');
  out.id = 'layout-check';
  out.textContent = JSON.stringify({scrollWidth: page.scrollWidth, innerWidth: window.innerWidth, wide: wide});
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def reports(transactions, flows, tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    path, _ = transactions
    segments = segment(path, order="order_id", k_values=range(3, 7), sample_size=1_000, currency="EUR",
                       out=root / "segments", verbose=False)
    alerts = detect_anomalies(flows, eps_sample_size=1_000, out=root / "alerts", verbose=False)
    return segments, alerts


@pytest.fixture(scope="module")
def next_month(reports, transactions, tmp_path_factory):
    """The apply and drift reports of the segmentation's model on the same data."""
    root = tmp_path_factory.mktemp("next-month")
    path, _ = transactions
    segments, _ = reports
    applied = apply_model(segments.paths["out"], path, out=root / "applied", verbose=False)
    moved = drift(segments.paths["out"], path, out=root / "drift", verbose=False)
    return applied, moved


def _page(result) -> str:
    return Path(result.paths["report_html"]).read_text(encoding="utf-8")


def test_each_report_says_what_it_was_made_from(reports):
    for result in reports:
        page = _page(result)
        markdown = Path(result.paths["report_md"]).read_text(encoding="utf-8")
        for label in ("Input", "Rows", "Dates", "Settings", "Ran", "scalecluster"):
            assert f"<th>{label}</th>" in page and f"**{label}**" in markdown
        assert f"<td>{__version__}</td>" in page
        assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d to \d{4}-\d\d-\d\d \d\d:\d\d ", page)
    segments, _ = reports
    assert "<th>Reference date</th>" in _page(segments) and "one day after the last transaction" in _page(segments)
    summary = json.loads(Path(segments.paths["summary"]).read_text(encoding="utf-8"))
    assert summary["run"]["reference_date"] == segments.info["reference_date"]


def test_segment_tables_have_human_headers_units_and_one_precision(reports):
    segments, _ = reports
    table = report.segment_table(segments.profile, "EUR")
    assert not [h for h in table.headers if "_" in h]
    spend = [row[6] for row in table.rows]
    assert all(cell.startswith("€") for cell in spend)
    assert len({len(cell.split(".")[1]) if "." in cell else 0 for cell in spend}) == 1  # one precision
    for column in (3, 7):  # shares
        assert all(re.fullmatch(r"\d+\.\d%", row[column]) for row in table.rows)
    sweep = report.sweep_table(segments.sweep, segments.k)
    assert {len(row[1]) for row in sweep.rows} == {5}  # silhouettes: 0.xxx
    assert report.money(1234.5, "EUR", 0) == "€1,234" and report.money(33.756, "CHF", 2) == "CHF 33.76"
    assert report.money(-5, None, 2) == "-5.00"


def test_the_alerts_table_is_selected_explained_and_dated(reports):
    _, alerts = reports
    table = report.alerts_table(alerts.alerts, alerts)
    assert len(table.headers) <= 11 and len(table.rows) == min(20, len(alerts.alerts))
    time_column = table.headers.index("Time")
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row[time_column]) for row in table.rows)
    assert table.headers[:3] == ["Rank", "Severity", "Score (× eps)"]
    page = _page(alerts)
    assert "divided by eps = " in page and "0 inside normal traffic, 1 at its edge" in page
    for level in ("critical", "high", "medium", "low"):
        assert f'<td class="{level}">{level}</td>' in page
    assert "alerts kept (on a narrow page, fewer columns); each, with every column of the input, is in alerts.csv" in page
    assert "Clusters and suspicious groups" in page


def test_the_alerts_plot_draws_alerts_as_rings_over_normal_traffic(reports):
    pytest.importorskip("matplotlib")
    from matplotlib.collections import PathCollection, PolyCollection

    _, alerts = reports
    plt = report._pyplot()
    figure = report.plot_alerts(alerts.sample, alerts.alerts, alerts.features, plt)
    collections = figure.axes[0].collections
    density = [c for c in collections if isinstance(c, PolyCollection)]
    rings = [c for c in collections if isinstance(c, PathCollection) and len(c.get_offsets())]
    plt.close(figure)
    assert len(density) == 1 and density[0].get_zorder() < min(r.get_zorder() for r in rings)
    assert all(len(r.get_facecolor()) == 0 or np.allclose(r.get_facecolor()[:, 3], 0) for r in rings)
    assert sum(len(r.get_offsets()) for r in rings) == len(alerts.alerts)


def _browser() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def _chromium(browser: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--virtual-time-budget=5000", *args], capture_output=True, text=True, timeout=120,
                          check=False)


def test_apply_and_drift_reports_say_what_they_were_made_from(next_month):
    for result in next_month:
        page = _page(result)
        for label in ("Input", "Model", "Rows", "Dates", "Reference date", "Ran", "scalecluster"):
            assert f"<th>{label}</th>" in page
        assert page.index("<h2>Data quality</h2>") < page.index("<h2>", page.index("<h2>Data quality</h2>") + 1)
    _, moved = next_month
    assert "No drift" in _page(moved) and "<h2>Population stability</h2>" in _page(moved)


@pytest.mark.parametrize("which", ["segments", "alerts", "applied", "drift"])
def test_pages_fit_the_browser_window(reports, next_month, which):
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium installed (apt-get install chromium)")
    result = {"segments": reports[0], "alerts": reports[1], "applied": next_month[0], "drift": next_month[1]}[which]
    page = Path(result.paths["report_html"])
    probe = page.with_name("layout-probe.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    _chromium(browser, f"--window-size={WIDTHS[0]},2400", f"--screenshot={page.with_name('screenshot.png')}",
              page.as_uri())
    for width in WIDTHS:
        dom = _chromium(browser, f"--window-size={width},1600", "--dump-dom", probe.as_uri()).stdout
        found = re.search(r'<pre id="layout-check">(.*?)</pre>', dom, re.DOTALL)
        assert found, dom[-2000:]
        layout = json.loads(found.group(1).replace("&quot;", '"'))
        assert layout["innerWidth"] == width
        assert layout["scrollWidth"] <= layout["innerWidth"], (width, layout)
        assert layout["wide"] == [], (width, layout)
    probe.unlink()


def test_the_alerts_plot_draws_a_sample_of_a_flood_but_counts_every_alert():
    plt = report._pyplot()
    if plt is None:
        pytest.skip("matplotlib is not installed")
    rng = np.random.default_rng(0)
    n = report.PLOT_ALERTS + 5_000
    sample = pd.DataFrame(rng.normal(size=(500, 2)), columns=["a_scaled", "b_scaled"])
    alerts = pd.DataFrame({"row": np.arange(1_000, 1_000 + n), "severity": np.where(np.arange(n) < 7, "critical", "low"),
                           "a_scaled": rng.normal(5, 1, n), "b_scaled": rng.normal(5, 1, n)})
    figure = report.plot_alerts(sample, alerts, ["a", "b"], plt)
    axes = figure.axes[0]
    assert axes.get_title().startswith(f"{report.PLOT_ALERTS:,} of {n:,} alerts (a random sample)")
    drawn = sum(len(c.get_offsets()) for c in axes.collections[1:])
    assert drawn == report.PLOT_ALERTS
    legend = [t.get_text() for t in axes.get_legend().get_texts()]
    assert "critical (7)" in legend and f"low ({n - 7:,})" in legend
    plt.close(figure)
