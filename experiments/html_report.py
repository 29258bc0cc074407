"""``report.html``: one self-contained page (no network; open it from disk) for a comparison or ablation.

Sections: the summary table (test score with 95% CI, pass rates, calls, p-values vs the baseline); the
held-out scores with their CIs as a plot; per strategy, the winning genome in full (instruction,
system text, placement, demos, settings) with a diff against the seed prompt and the winner's lineage
(each step's operator, parents and what changed in text and settings); the progress, validation and
Pareto plots; and a per-example table (input, expected, every strategy's answer, pass/fail, category)
that the page filters as you type. Plots are embedded as base64 PNGs; the filter is a few lines of
inline JavaScript.
"""
from __future__ import annotations

import base64
import difflib
import html
import json
from pathlib import Path

from experiments.report import Cell, ComparisonReport

GENOME_SETTINGS = ("placement", "temperature", "max_tokens", "chain_of_thought", "model", "few_shot_k", "demo_ids",
                   "system")

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;color:#1d2330;
padding:0 1rem}h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:1px solid #dde;padding-bottom:.3rem}
table{border-collapse:collapse;font-size:.88rem;margin:.6rem 0}th,td{border:1px solid #dde;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f3f5fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{background:#e3f6e1}.fail{background:#fbe4e4}pre{background:#f6f7fb;padding:.6rem;white-space:pre-wrap;
font-size:.85rem;margin:.3rem 0}.add{background:#d7f5d3}.del{background:#f9d4d4;text-decoration:line-through}
.card{border:1px solid #dde;border-radius:6px;padding:.8rem 1rem;margin:1rem 0}.muted{color:#667}
img{max-width:100%;border:1px solid #eef}.grid{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
input[type=search]{width:24rem;padding:.3rem}
"""

FILTER_JS = """
function filterRows(){const q=document.getElementById('q').value.toLowerCase();
const only=document.getElementById('disagree').checked;
for(const tr of document.querySelectorAll('#examples tbody tr')){
const hit=tr.textContent.toLowerCase().includes(q);const dis=tr.dataset.disagree==='1';
tr.style.display=(hit&&(!only||dis))?'':'none';}
document.getElementById('shown').textContent=
[...document.querySelectorAll('#examples tbody tr')].filter(t=>t.style.display!=='none').length;}
"""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def text_diff(old: str, new: str) -> str:
    """Word-level diff of two texts as HTML (deleted and added words marked)."""
    a, b = old.split(), new.split()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op in ("delete", "replace"):
            out.append(f'<span class="del">{esc(" ".join(a[i1:i2]))}</span>')
        if op in ("insert", "replace"):
            out.append(f'<span class="add">{esc(" ".join(b[j1:j2]))}</span>')
        if op == "equal":
            out.append(esc(" ".join(a[i1:i2])))
    return " ".join(out) or '<span class="muted">(empty)</span>'


def settings_changes(old: dict, new: dict) -> list[str]:
    return [f"{k}: {old.get(k)!r} → {new.get(k)!r}" for k in GENOME_SETTINGS if old.get(k) != new.get(k)]


def _img(path: Path, alt: str) -> str:
    if not path.is_file():
        return ""
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<figure><img alt="{esc(alt)}" src="data:image/png;base64,{data}"><figcaption class="muted">{esc(alt)}</figcaption></figure>'


def _summary_table(rows: list[dict]) -> str:
    cols = [("variant", "variant"), ("suite", "suite"), ("strategy", "strategy"), ("test", "test_score"),
            ("95% CI", None), ("test pass", "test_pass_rate"), ("train", "train_after"), ("val", "val_after"),
            ("calls task/opt", None), ("p vs baseline", "wilcoxon_p_vs_baseline"), ("failed calls", None),
            ("winner recommended", "winner_recommended")]
    if not any("variant" in r for r in rows):
        cols = cols[1:]
    if any("test_pass_at_k" in r for r in rows):
        k = next(r["test_k"] for r in rows if "test_k" in r)
        cols += [(f"pass@{k}", "test_pass_at_k"), (f"pass^{k}", "test_pass_all_k"), ("flaky", "test_flake_rate")]
    head = "".join(f"<th>{esc(c)}</th>" for c, _ in cols)
    body = []
    for r in rows:
        cells = []
        for name, key in cols:
            if name == "95% CI":
                cells.append(f'<td class="num">{r["ci95_low"]:.3f}–{r["ci95_high"]:.3f}</td>')
            elif name == "calls task/opt":
                cells.append(f'<td class="num">{r["task_calls"]}/{r["optimizer_calls"]}</td>')
            elif name == "failed calls":
                cells.append(f'<td class="num">{r.get("failed_task_calls", 0)}/{r.get("failed_optimizer_calls", 0)}</td>')
            elif key in ("test_pass_at_k", "test_pass_all_k", "test_flake_rate"):
                cells.append(f'<td class="num">{r[key]:.1%}</td>' if key in r else "<td>-</td>")
            elif key in ("test_pass_rate", "train_after", "val_after"):
                cells.append(f'<td class="num">{r[key]:.1%}</td>')
            elif key == "test_score":
                cells.append(f'<td class="num"><b>{r[key]:.3f}</b></td>')
            elif key == "wilcoxon_p_vs_baseline":
                cells.append(f'<td class="num">{r[key]:.3f}</td>' if key in r else "<td>-</td>")
            else:
                cells.append(f"<td>{esc(r.get(key, ''))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _winner_card(cell: Cell) -> str:
    result = cell.result
    seed, best = result.seed_genome.to_json(), result.best_genome.to_json()
    settings = "".join(f"<tr><th>{esc(k)}</th><td>{esc(best.get(k))}</td></tr>" for k in GENOME_SETTINGS)
    changes = settings_changes(seed, best)
    lineage = []
    for parent, node in zip([None, *result.lineage[:-1]], result.lineage):
        genome = node.get("genome") or {}
        before = (parent or {}).get("genome") or {}
        what = (text_diff(before.get("instruction", ""), genome.get("instruction", "")) if parent else esc(genome.get("instruction", "")))
        sets = "; ".join(settings_changes(before, genome)) if parent else ""
        q = node.get("quality")
        lineage.append(f"<tr><td>{esc(node['id'])}</td><td>{esc(node['operator'])}</td><td>{esc(', '.join(node['parents']))}</td>"
                       f"<td class='num'>{'' if q is None else f'{q:.3f}'}</td><td>{what}</td><td>{esc(sets)}</td></tr>")
    label = f"{cell.label} · seed {cell.seed}"
    return (f'<div class="card"><h3>{esc(label)}: {esc(result.best_genome.id)}</h3>'
            f"<p>test {result.before['test']['pass_rate']:.1%} → <b>{result.after['test']['pass_rate']:.1%}</b> · "
            f"stopped: {esc(result.stop_reason)}</p>"
            f"<p><b>Recommendation:</b> {esc(result.recommendation.get('reason', '-'))}</p>"
            f"<p><b>Instruction</b> (diff against the seed prompt)</p><pre>{text_diff(seed['instruction'], best['instruction'])}</pre>"
            f"<details><summary>winning prompt in full</summary><pre>{esc(best['instruction'])}</pre>"
            f"<table>{settings}</table></details>"
            f"<p><b>Settings changed from the seed:</b> {esc('; '.join(changes)) or 'none'}</p>"
            f"<details><summary>lineage ({len(result.lineage)} genomes)</summary><table><thead><tr><th>genome</th>"
            f"<th>operator</th><th>parents</th><th>train</th><th>instruction change</th><th>settings change</th></tr></thead>"
            f"<tbody>{''.join(lineage)}</tbody></table></details></div>")


def _examples_table(cells: list[Cell]) -> str:
    """One row per (suite, test example), a column per strategy (first seed): answer and verdict."""
    first = {}
    for c in cells:
        first.setdefault((c.variant, c.suite, c.strategy), c)
    runs = list(first.values())
    labels = [f"{c.suite}/{c.label}" if len({x.suite for x in runs}) > 1 else c.label for c in runs]
    rows: dict[tuple, dict] = {}
    flaky = {label: set((c.result.repeats.get("after") or {}).get("flaky", ())) for c, label in zip(runs, labels)}
    for c, label in zip(runs, labels):
        for r in c.result.test_records:
            row = rows.setdefault((c.suite, r.example_id), {"input": r.input_text, "expected": r.expected, "by": {}})
            row["by"][label] = r
    head = "<th>example</th><th>input</th><th>expected</th>" + "".join(f"<th>{esc(label)}</th>" for label in labels)
    body = []
    for (suite, ex_id), row in rows.items():
        verdicts = {r.passed for r in row["by"].values()}
        tds = []
        for label in labels:
            r = row["by"].get(label)
            if r is None:
                tds.append("<td></td>")
                continue
            note = "" if r.passed else f"<br><span class='muted'>{esc(r.category or '')}</span>"
            if ex_id in flaky[label]:
                note += "<br><span class='muted' title='passes some samples and fails others'>flaky</span>"
            tds.append(f"<td class='{'pass' if r.passed else 'fail'}'>{esc(r.answer[:160]) or '<i>(empty)</i>'}{note}</td>")
        body.append(f"<tr data-disagree='{int(len(verdicts) > 1)}'><td>{esc(ex_id)}</td><td>{esc(row['input'][:200])}</td>"
                    f"<td>{esc(row['expected'])}</td>{''.join(tds)}</tr>")
    return (f'<p><input type="search" id="q" placeholder="filter: input, answer, category…" oninput="filterRows()"> '
            f'<label><input type="checkbox" id="disagree" onchange="filterRows()"> only where strategies disagree</label> '
            f'· <span id="shown">{len(body)}</span> of {len(body)} shown</p>'
            f'<table id="examples"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')


def render_html(report: ComparisonReport, out_dir: Path, title: str, plot_dir: Path) -> Path:
    """Write ``out_dir/report.html`` for ``report``; return its path."""
    cells = report.cells
    suites = list(dict.fromkeys(c.suite for c in cells))
    winners = {}
    for c in cells:  # per (variant, suite, strategy): the seed with the best test score
        key = (c.variant, c.suite, c.strategy)
        score = sum(r.score for r in c.result.test_records)
        if c.strategy != "baseline" and (key not in winners or score > winners[key][0]):
            winners[key] = (score, c)
    plots = "".join(
        "<div class='grid'>" + _img(plot_dir / f"{s}_test_scores.png", f"{s}: held-out test score with 95% CI")
        + _img(plot_dir / f"{s}_progress.png", f"{s}: best train score vs LLM calls")
        + _img(plot_dir / f"{s}_progress_val.png", f"{s}: val score of the current best vs LLM calls")
        + _img(plot_dir / f"{s}_pareto.png", f"{s}: quality vs tokens, Pareto fronts") + "</div>"
        + _img(plot_dir / f"{s}_winner_lineage.png", f"{s}: lineage of the best run")
        for s in suites)
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>{CSS}</style><script>{FILTER_JS}</script></head>
<body><h1>{esc(title)}</h1>
<p class="muted">Held-out test scores are means over the test examples (and seeds) with two-level bootstrap 95% CIs;
p-values are paired Wilcoxon tests against the seed prompt (baseline). Train/val are pass rates of the chosen prompt.</p>
<h2>Summary</h2>{_summary_table(report.rows)}
<h2>Winning prompts</h2>{''.join(_winner_card(c) for _, c in winners.values())}
<h2>Plots</h2>{plots}
<h2>Per-example results (held-out test)</h2>{_examples_table(cells)}
<script type="application/json" id="data">{esc(json.dumps({"rows": report.rows, "pairwise": report.pairwise}))}</script>
</body></html>"""
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
