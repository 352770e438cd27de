"""The report layer: finding cards, charts, the index page and stage pages (fast; no kernel is started)."""

from __future__ import annotations

import re

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lifecycle_audit import fmt, lang
from lifecycle_audit.findings import ERROR_REASON, Chart, Finding
from lifecycle_audit.report import cards, charts
from lifecycle_audit.report.cards import finding_html
from lifecycle_audit.report.render import index_html, stage_html, write_page

XSS = "<script>alert(1)</script>"
SECRET = "tok-5up3r-s3cr3t-value"
EXTERNAL = re.compile(r"""\b(?:src|href|srcset|xlink:href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
CSS_EXTERNAL = re.compile(r"url\(\s*[\"']?\s*(?:https?:)?//", re.I)

STAGES = [
    ("data_health", "Data health"),
    ("reach", "Reach"),
    ("acquisition", "Acquisition"),
    ("conversion", "Conversion"),
    ("retention", "Retention"),
    ("loyalty", "Loyalty"),
    ("winback", "Win-back"),
]
NAV = [{"stage": s, "title": t, "file": f"{i:02d}_{s}.html"} for i, (s, t) in enumerate(STAGES)]


def _by_device() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "device": ["desktop", "mobile", "tablet"],
            "carts": [1200, 3400, 300],
            "abandonment": [0.62, 0.864, 0.7],
            "revenue_left": [12000.5, 45000.0, 2000.0],
        }
    )


def _campaigns(rows: int = 3) -> pd.DataFrame:
    names = [XSS, "Summer sale", "Newsletter week 12"] + [f"Campaign {i}" for i in range(rows)]
    return pd.DataFrame(
        {
            "campaign": names[:rows],
            "recipient": ["anna.schmidt@example.com", "b@shop.de", "x"][:1] * rows,
            "sent": [12000 + i for i in range(rows)],
            "unsubscribe_rate": [0.002 + i / 1000 for i in range(rows)],
        }
    )


def _base(check_id: str, **kw) -> dict:
    d = dict(
        check_id=check_id,
        stage=check_id.split(".")[0],
        unit="share",
        good=0.6,
        poor=0.8,
        better="lower",
        source="Baymard Institute, average of 49 studies",
        description="Looks at carts and whether they were bought.",
        advice=["Remind within 4 hours.", "Show shipping costs early."],
    )
    d.update(kw)
    return d


@pytest.fixture
def failing() -> Finding:
    table = _by_device()
    return Finding(
        **_base("conversion.cart_abandonment"),
        title="Most carts are abandoned",
        status="fail",
        score=23,
        value=0.813,
        summary="3,972 of 4,900 carts were not bought within 7 days.",
        table=table,
        chart=Chart(
            kind="bar",
            data=table,
            x="device",
            y="abandonment",
            title="Carts not bought, by device",
            x_label="Device",
            y_label="Carts abandoned",
            y_unit="share",
            reference=0.6,
            reference_label="good",
        ),
        at_stake=12345.6,
        at_stake_method="Abandoned carts times the average order value, 10 % recoverable.",
    )


@pytest.fixture
def warning() -> Finding:
    table = _campaigns(20)
    return Finding(
        **_base("retention.over_contacting", unit="rate", good=0.003, poor=0.01, source="Klaviyo Help Center"),
        title="Some campaigns drive unsubscribes",
        status="warn",
        score=71,
        value=0.0052,
        summary="Unsubscribes per campaign average 0.52 %.",
        table=table,
        chart=Chart(
            kind="barh",
            data=table,
            x="campaign",
            y="unsubscribe_rate",
            title="Unsubscribes by campaign",
            x_label="Campaign",
            y_label="Unsubscribed",
            y_unit="share",
            reference=0.003,
        ),
        at_stake=40000.0,
        at_stake_method="Lost subscribers times revenue per subscriber.",
    )


@pytest.fixture
def findings(failing, warning) -> list[Finding]:
    return [
        failing,
        warning,
        Finding(
            **_base("retention.repeat_purchase", better="higher", good=0.3, poor=0.2),
            title="First-time buyers come back",
            status="pass",
            score=94,
            value=0.34,
            summary="34 % ordered again.",
        ),
        Finding(
            **_base("reach.acquisition_cost", unit="money", good=30, poor=60),
            title="A customer costs more to win than they return",
            status="fail",
            score=12,
            value=86.5,
        ),
        Finding(
            **_base("reach.channel_concentration"),
            title="New customers come through one channel",
            status="fail",
            score=5,
            value=0.95,
            at_stake=12345.6,
        ),
        Finding(
            **_base("conversion.customer_research"),
            title="Existing customers are asked what they need",
            status="not_run",
            score=None,
            reason="needs the surveys table, which was not supplied",
        ),
        Finding(
            **_base("winback.churn_risk"),
            title="Valuable customers slipping away are noticed",
            status="error",
            score=None,
            reason="KeyError: 'customer_id' (at winback.py:42)",
        ),
    ]


def _run_info(**kw) -> dict:
    info = {
        "client": "Demo Shop",
        "run_id": "2026-11-22T10-00-00",
        "generated_at": "2026-11-22 10:00",
        "period": {"start": "2025-01-01", "end": "2025-12-31"},
        "currency": "EUR",
        "stages": NAV,
        "failed_stages": [],
        "tables": {"orders": {"rows": 48211, "rejected": 12}, "events": 1203344},
        "versions": {"lifecycle-audit": "0.1.0", "pandas": pd.__version__},
    }
    info.update(kw)
    return info


def _stages(scores: dict[str, int | None], failed: tuple[str, ...] = ()) -> list[dict]:
    return [
        {**n, "question": "?", "score": scores.get(n["stage"]), "status": "failed" if n["stage"] in failed else "ok"}
        for n in NAV
    ]


def _assert_offline(html: str) -> None:
    assert not EXTERNAL.search(html), EXTERNAL.search(html).group(0)
    assert not CSS_EXTERNAL.search(html)
    assert "require.js" not in html and "MathJax" not in html and "@import" not in html


# ---------------------------------------------------------------- formatting


def test_fmt_formats_simply():
    assert fmt.number(1234.5) == "1,234.5"
    assert fmt.percent(0.813) == "81.3%"
    assert fmt.percent(0.6) == "60%"
    assert fmt.percent(0.0052) == "0.52%"
    assert fmt.money(12345, "EUR") == "€12,345"
    assert fmt.money(5.81, "USD") == "$5.81"
    assert fmt.money(1000, "SEK") == "SEK\u00a01,000"
    assert fmt.value(0.813, "share") == "81.3%"
    assert fmt.value(12.5, "days") == "12.5 days"
    assert fmt.value(1, "days") == "1 day"
    assert fmt.value(1234, "count") == "1,234"
    assert fmt.value(None, "money") == fmt.value(float("nan"), "share") == "–"


# ---------------------------------------------------------------- charts


def test_draw_sets_title_labels_and_value_axis(failing):
    fig = charts.draw(failing.chart)
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "Carts not bought, by device"
    assert ax.get_xlabel() == "Device" and ax.get_ylabel() == "Carts abandoned"
    assert ax.yaxis.get_major_formatter()(0.6, 0) == "60%"
    assert tuple(fig.get_size_inches()) == pytest.approx((7.0, 3.6))
    legend = fig.legends[0]
    assert "good" in [t.get_text() for t in legend.get_texts()]  # the reference line is labelled
    assert any(line.get_linestyle() == "--" for line in ax.get_lines())


def test_draw_barh_puts_values_across_and_money_in_currency():
    data = pd.DataFrame({"campaign": ["A", "B"], "revenue": [12000.0, 54000.0]})
    chart = Chart(
        kind="barh",
        data=data,
        x="campaign",
        y="revenue",
        title="Revenue by campaign",
        x_label="Campaign",
        y_label="Revenue",
        y_unit="money",
        reference=10000,
        reference_label="Break-even",
    )
    ax = charts.draw(chart, currency="GBP").axes[0]
    assert ax.get_ylabel() == "Campaign" and ax.get_xlabel() == "Revenue"
    assert ax.xaxis.get_major_formatter()(20000, 0) == "£20K"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B"]


def test_draw_hue_groups_bars_and_lines_one_per_series():
    long = pd.DataFrame(
        {"month": ["Jan", "Jan", "Feb", "Feb"], "segment": ["new", "returning"] * 2, "orders": [1200, 800, 1500, 900]}
    )
    bars = Chart(
        kind="bar",
        data=long,
        x="month",
        y="orders",
        hue="segment",
        title="Orders",
        x_label="Month",
        y_label="Orders",
        y_unit="count",
    )
    ax = charts.draw(bars).axes[0]
    assert len(ax.containers) == 2
    assert ax.yaxis.get_major_formatter()(1500, 0) == "1,500"
    wide = pd.DataFrame(
        {"week": pd.date_range("2026-01-05", periods=8, freq="W"), "open": [0.3] * 8, "click": [0.02] * 8}
    )
    lines = Chart(
        kind="line",
        data=wide,
        x="week",
        y=["open", "click"],
        title="Engagement",
        x_label="Week",
        y_label="Rate",
        y_unit="share",
        reference=0.33,
        reference_label="healthy open",
    )
    ax = charts.draw(lines).axes[0]
    assert len(ax.get_lines()) == 3


def test_draw_leaves_pyplot_and_global_settings_alone(failing):
    before = matplotlib.rcParams["svg.fonttype"], matplotlib.rcParams["font.size"]
    open_before = plt.get_fignums()
    charts.svg(failing.chart)
    assert plt.get_fignums() == open_before
    assert (matplotlib.rcParams["svg.fonttype"], matplotlib.rcParams["font.size"]) == before


def test_svg_is_inline_markup_that_fetches_nothing(warning):
    markup = charts.svg(warning.chart)
    assert markup.startswith("<svg") and markup.rstrip().endswith("</svg>")
    assert "<?xml" not in markup and "<!DOCTYPE" not in markup
    assert "<title>Unsubscribes by campaign</title>" in markup
    assert XSS not in markup and "&lt;script&gt;" in markup  # tick labels are escaped text
    assert "@font-face" not in markup
    _assert_offline(markup)


def test_draw_survives_empty_data_and_dollar_signs():
    chart = Chart(
        kind="bar",
        data=pd.DataFrame({"x": [], "y": []}),
        x="x",
        y="y",
        title="Spend in $ and $",
        x_label="X",
        y_label="Y",
        y_unit="hours",
    )
    assert "<svg" in charts.svg(chart)


# ---------------------------------------------------------------- finding cards


def test_failing_card_shows_everything_escaped(warning):
    html = finding_html(warning)
    assert "Some campaigns drive unsubscribes" in html
    assert "Warning" in html and "la-badge-warn" in html
    assert 'id="retention-over_contacting"' in html
    assert "<svg" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert XSS not in html and "<script" not in html
    assert "0.52%" in html and "good ≤ 0.3%, poor ≥ 1%" in html and "Klaviyo Help Center" in html
    assert "€40,000" in html and "Lost subscribers times revenue per subscriber." in html
    assert "<li>Remind within 4 hours.</li>" in html
    assert "first 15 of 20 rows" in html and html.count("<tr>") == 16  # header + 15 rows
    assert "anna.schmidt@example.com" not in html and "a***@example.com" in html


def test_card_formats_table_numbers_and_headline(failing):
    html = finding_html(failing)
    assert "✗" in html and "Fail" in html and "Score 23" in html
    assert "81.3%" in html and "good ≤ 60%, poor ≥ 80%" in html
    assert "€12,346" in html
    assert ">86.4%<" in html and ">3,400<" in html and ">€45,000<" in html  # share, count, money columns
    assert ">Revenue left<" in html


@pytest.mark.parametrize(
    "status, word, symbol",
    [
        ("pass", "Pass", "✓"),
        ("warn", "Warning", "!"),
        ("fail", "Fail", "✗"),
        ("not_run", "Not run", "–"),
        ("error", "Error", "⚠"),
    ],
)
def test_every_status_has_a_word_and_a_symbol(status, word, symbol):
    ran = status in ("pass", "warn", "fail")
    f = Finding(
        **_base("conversion.thank_you"),
        title="Every order is followed by a thank-you",
        status=status,
        score=50 if ran else None,
        value=0.7 if ran else None,
        reason=None if ran else "needs the messages table",
    )
    html = finding_html(f)
    assert f'<span aria-hidden="true">{symbol}</span> {word}' in html
    assert 'id="conversion-thank_you"' in html
    if not ran:
        assert "needs the messages table" in html and "Score" not in html


def test_card_style_once_per_card_and_optional(failing):
    assert finding_html(failing).count("<style data-la-card-style>") == 1
    assert "<style" not in finding_html(failing, style=False).split("<svg", 1)[0]
    shown = failing._repr_html_()  # what a notebook displays
    assert shown.startswith("<style data-la-card-style>") and 'id="conversion-cart_abandonment"' in shown


def test_card_currency_can_be_set_once_for_a_notebook(failing):
    assert "€12,346" in finding_html(failing) and "$12,346" in finding_html(failing, "USD")
    cards.set_currency("GBP")
    try:
        assert "£12,346" in failing._repr_html_()
    finally:
        cards.set_currency("EUR")


def test_card_renders_from_a_findings_json_dict(failing):
    html = finding_html(failing.to_dict(), style=False)
    assert 'id="conversion-cart_abandonment"' in html and "<svg" in html and ">86.4%<" in html


def test_a_chart_that_cannot_be_drawn_does_not_hide_the_finding(failing):
    failing.chart.kind = "pie"
    html = finding_html(failing)
    assert "Most carts are abandoned" in html and "could not be drawn" in html


# ---------------------------------------------------------------- index page


def test_index_ranks_by_money_then_score_and_links_to_cards(findings):
    dicts = [f.to_dict() for f in findings]
    stages = _stages({"data_health": 100, "reach": 8, "conversion": 23, "retention": 82}, failed=("winback",))
    info = _run_info(failed_stages=[{"stage": "winback", "cell": 7, "error": "ValueError: no orders in the period"}])
    html = index_html(dicts, stages, info)
    top = html.split('id="la-top"', 1)[1].split("</table>", 1)[0]
    order = re.findall(r'href="([^"]+)"', top)
    assert order == [
        "04_retention.html#retention-over_contacting",  # €40,000
        "01_reach.html#reach-channel_concentration",  # €12,346, score 5
        "03_conversion.html#conversion-cart_abandonment",  # €12,346, score 23
        "01_reach.html#reach-acquisition_cost",
    ]  # nothing at stake
    assert "repeat_purchase" not in top  # passed checks are not "top findings"
    assert 'href="03_conversion.html#conversion-cart_abandonment"' in html
    assert "ValueError: no orders in the period" in html and 'role="alert"' in html
    for word in ("Good", "Needs work", "Poor", "Not run"):
        assert word in html
    assert ">–</text>" in html  # a stage with nothing run
    assert "needs the surveys table, which was not supplied" in html  # method: checks not run and why
    assert "Baymard Institute, average of 49 studies" in html and "≤ 60%" in html
    assert "48,211" in html and "1,203,344" in html and "pandas" in html
    assert "Demo Shop" in html and "January 1, 2025 – December 31, 2025" in html and "2026-11-22T10-00-00" in html
    for nav in NAV:
        assert f'href="{nav["file"]}"' in html
    _assert_offline(html)


def test_index_counts_a_check_that_raised_as_an_error_not_as_not_applicable():
    def finding(check_id: str, status: str, reason=None) -> dict:
        return Finding(**_base(check_id), title=check_id, status=status, score=None, reason=reason).to_dict()

    dicts = [
        finding("winback.churn_risk", "error", ERROR_REASON),
        finding("winback.suppression", "not_run", "needs the reviews table, which was not supplied"),
    ]
    html = index_html(dicts, _stages({"winback": None}), _run_info())
    groups = dict(re.findall(r"<summary>([^<(]+) \((\d+)\)</summary>", html))
    assert groups == {"Failed": "0", "Warnings": "0", "Errors": "1", "Passed": "0", "Not applicable": "1"}
    assert "Checks that stopped on an error: 1" in html and "the details are in the run&#39;s log" in html
    assert (
        "1 not run · 1 error" in html and "1 errors" not in html and "1 not run" in html
    )  # the stage's counts and gauge
    not_run = html.split("Checks not run", 1)[1].split("<h3>", 1)[0]
    assert "winback.suppression" in not_run and "winback.churn_risk" not in not_run
    clean = index_html([finding("winback.suppression", "not_run", "no reviews")], _stages({}), _run_info())
    assert "Errors" not in clean and "stopped on an error" not in clean  # no empty group, no notice


def test_the_data_health_gauge_shows_the_share_judged_and_the_inputs_that_unlock_most(findings):
    dicts = [f.to_dict() for f in findings[:2]]
    blocked = findings[2].to_dict()
    dicts += [
        {**blocked, "check_id": f"retention.blocked_{i}", "status": "not_run", "score": None, "unmet": unmet}
        for i, unmet in enumerate((["messages.opened_at"], ["messages.opened_at"], ["surveys", "tickets"]))
    ]
    html = index_html(dicts, _stages({"reach": 40}), _run_info())
    card = html.split('id="la-scores"', 1)[1].split("</section>", 1)[0].replace("<wbr>", "")
    assert 'aria-label="Data health score 40: Poor"' in card  # 2 of 5 checks judged
    assert "2 of 5 checks could be judged" in card
    assert card.index("supply messages.opened_at: +2 checks") < card.index(
        "surveys: needed by 1 check, with other missing data"
    )
    assert 'aria-label="Overall score 40: Poor"' in html  # coverage is not a stage score: the overall leaves it out
    judged_all = index_html([f.to_dict() for f in findings], _stages({}), _run_info())
    assert 'aria-label="Data health score 100: Good"' in judged_all and "supply " not in judged_all
    stage_table = html.split('class="la-list la-stages', 1)[1].split("</table>", 1)[0]
    health_row = stage_table.split("</tr>")[1]  # after the heading row: the data-health stage, as its gauge says
    assert ">40</td>" in health_row and "2 of 5 checks could be judged" in health_row


def test_index_states_the_total_at_stake_counted_once_against_the_periods_revenue(findings):
    dicts = [{**f.to_dict(), "period_revenue": 200_000.0} for f in findings]
    html = index_html(dicts, _stages({}), _run_info())
    top = html.split('id="la-top"', 1)[1].split("</table>", 1)[0]
    # €40,000, €12,345.60 and €12,345.60 of €200,000: 20 % and twice 6.17 % claimed, overlaps counted once:
    # 200,000 × (1 − 0.8 × 0.9383²) = 59,143, below the plain sum 64,691
    assert "Money at stake: €59,143 in 3 findings, 29.6% of the revenue of the period analysed (€200,000)" in top
    assert "their plain sum would be €64,691" in top and "No finding claims more than 20%" in top
    unknown = index_html([f.to_dict() for f in findings], _stages({}), _run_info())
    assert "are not additive: without the period&#39;s revenue this is their plain sum" in unknown
    assert "la-stakes" not in index_html([], _stages({}), _run_info())


def test_index_escapes_client_text(findings):
    f = findings[0].to_dict()
    f["title"] = XSS
    html = index_html([f], _stages({}), _run_info(client="<b>Shop</b>"))
    assert XSS not in html and "&lt;script&gt;" in html and "<b>Shop</b>" not in html


def test_index_overall_score_is_given_or_the_mean_of_stages():
    html = index_html([], _stages({"reach": 40, "conversion": 60}), _run_info())
    assert 'aria-label="Overall score 50: Needs work"' in html
    html = index_html([], _stages({"reach": 40}), _run_info(overall_score=91))
    assert 'aria-label="Overall score 91: Good"' in html
    html = index_html([], _stages({}), _run_info())
    assert 'aria-label="Overall score none: Not run"' in html


def test_pages_are_phone_and_print_ready(findings):
    html = index_html([f.to_dict() for f in findings], _stages({}), _run_info())
    assert 'name="viewport"' in html and "@media print" in html and "max-width" in html
    assert "Content-Security-Policy" in html


# ---------------------------------------------------------------- stage pages


def _notebook(path, card_html: str):
    nb = new_notebook(
        metadata={
            "papermill": {"parameters": {"api_token": SECRET}},
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        }
    )
    nb.cells = [
        new_code_cell(
            "params_path = 'params/demo.yaml'  # the params file",
            metadata={"tags": ["parameters"]},
            outputs=[new_output("stream", name="stdout", text="defaults-cell-output\n")],
        ),
        new_code_cell(
            f"api_token = '{SECRET}'",
            metadata={"tags": ["injected-parameters"]},
            outputs=[new_output("stream", name="stdout", text=f"{SECRET}\n")],
        ),
        new_markdown_cell(
            "## Do visitors buy?\n\nWe compare carts with orders ([Baymard](https://baymard.com/lists))."
        ),
        new_code_cell(
            "print(f'{n_carts} carts')  # CODE-MARKER",
            outputs=[
                new_output("stream", name="stdout", text="4900 carts in the period\n"),
                new_output("stream", name="stderr", text="FutureWarning: something internal\n"),
                new_output("stream", name="stdout", text="top customer: jane.doe@example.org\n"),
            ],
            execution_count=3,
        ),
        new_code_cell(
            "finding", outputs=[new_output("display_data", data={"text/html": card_html, "text/plain": "Finding"})]
        ),
        new_code_cell(
            "debug_table",
            metadata={"tags": ["remove-output"]},
            outputs=[new_output("stream", name="stdout", text="internal-debug-output\n")],
        ),
        new_code_cell(
            "plt.plot()",
            outputs=[
                new_output(
                    "execute_result", execution_count=6, data={"text/plain": "[<matplotlib.lines.Line2D at 0x7f0>]"}
                )
            ],
        ),
        new_code_cell(
            "display(js)",
            outputs=[
                new_output(
                    "display_data",
                    data={"application/javascript": "fetch('https://evil.example/x')", "text/plain": "<js>"},
                )
            ],
        ),
    ]
    nbformat.write(nb, str(path))
    return path


def test_stage_page_shows_outputs_not_code_or_parameters(tmp_path, failing):
    path = _notebook(tmp_path / "03_conversion.ipynb", finding_html(failing))
    info = _run_info(failed_stages=[{"stage": "conversion", "cell": 9, "error": "RuntimeError: boom"}])
    html = stage_html(path, "conversion", info)
    assert "4900 carts in the period" in html  # printed output kept
    assert "Do visitors buy?" in html  # markdown kept
    assert "CODE-MARKER" not in html and "print(" not in html and "In&nbsp;[" not in html
    assert SECRET not in html and "api_token" not in html
    assert "defaults-cell-output" not in html and "params_path" not in html
    assert "internal-debug-output" not in html and "FutureWarning" not in html and "Line2D" not in html
    assert "evil.example" not in html.replace("(https://baymard.com/lists)", "")
    assert 'id="conversion-cart_abandonment"' in html and "<svg" in html
    assert "data-la-card-style" not in html and html.count("/* card:start") == 1  # the stylesheet once, no card copies
    assert "Conversion" in html and "Do interested visitors actually buy" in html and "2026-11-22T10-00-00" in html
    assert 'href="index.html"' in html and 'href="06_winback.html"' in html
    assert 'href="03_conversion.html" aria-current="page"' in html
    assert "RuntimeError: boom" in html
    assert "jane.doe@example.org" not in html and "j***@example.org" in html
    assert 'name="viewport"' in html and "@media print" in html
    _assert_offline(html)
    assert "<script src" not in html


def test_write_page_creates_the_folder(tmp_path):
    target = tmp_path / "reports" / "demo" / "run" / "index.html"
    write_page(target, "<p>é</p>")
    assert target.read_text(encoding="utf-8") == "<p>é</p>"


def test_top_findings_say_how_each_sum_at_stake_was_estimated(findings):
    html = index_html([f.to_dict() for f in findings], _stages({}), _run_info())
    top = html.split('id="la-top"', 1)[1].split("</table>", 1)[0]
    estimated = [f for f in findings if f.status in ("fail", "warn") and f.at_stake is not None and f.at_stake_method]
    assert top.count('class="la-muted la-small la-method"') == len(estimated) == 2
    assert "At stake: Abandoned carts times the average order value, 10 % recoverable." in top
    assert "At stake: Lost subscribers times revenue per subscriber." in top


def test_stage_page_shows_the_chapters_markdown_in_the_reports_language(tmp_path):
    nb = new_notebook(
        cells=[
            new_markdown_cell("# 3 · Conversion", metadata={"tags": ["remove-cell"]}),
            new_markdown_cell(
                "## Findings\n\nOne card per check: what it measured, the threshold it was held against and where that"
                "\nthreshold comes from, the evidence, the money at stake where it can be estimated, and what to do."
                " A check\nwhose data was not supplied says so instead of guessing."
            ),
            new_markdown_cell("## A heading nobody translated"),
        ]
    )
    path = tmp_path / "03_conversion.ipynb"
    nbformat.write(nb, str(path))
    with lang.use("de", "EUR"):
        de = stage_html(path, "conversion", _run_info())
    with lang.use("id", "IDR"):
        id_ = stage_html(path, "conversion", _run_info())
    en = stage_html(path, "conversion", _run_info())
    assert '<h2 id="Befunde">Befunde' in de and "Eine Karte pro Prüfung" in de and "One card per check" not in de
    assert '<h2 id="Temuan">Temuan' in id_ and "Satu kartu per pemeriksaan" in id_ and "One card per check" not in id_
    assert '<h2 id="Findings">Findings' in en and "One card per check" in en
    assert "3 · Conversion" not in de  # the notebook's own title stays out: the page has its header
    assert "A heading nobody translated" in de  # shown as written (tests/test_i18n.py fails on it in a notebook)
