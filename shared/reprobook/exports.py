"""``results.json`` and ``results.csv``: the machine-readable twin of the book's tables, one row per claim."""
import csv
import json
from pathlib import Path

from .chapters import all_chapters
from .verdicts import claim_results

EXPORT_FIELDS = ["chapter", "claim", "model", "dataset", "metric", "paper_value", "paper_std", "paper_source",
                 "paper_value_confirmed", "ours_mean", "ours_std", "ours_runs", "gap", "interval_low", "interval_high",
                 "interval_method", "agrees_to_within", "margin", "trivial_value", "verdict", "verdict_explanation",
                 "tier", "device", "commit", "record_started"]


def results_table() -> list[dict]:
    """One row per claim of every chapter: the machine-readable twin of the book's tables."""
    rows = []
    for chapter in all_chapters().values():
        for r in claim_results(chapter):
            record = r.record or {}
            rows.append({
                "chapter": chapter.id, "claim": r.claim.id, "model": r.claim.model, "dataset": r.claim.dataset,
                "metric": r.claim.metric, "paper_value": r.claim.paper_value, "paper_std": r.claim.paper_std,
                "paper_source": r.claim.source, "paper_value_confirmed": r.claim.confirmed,
                "ours_mean": r.mean, "ours_std": r.std, "ours_runs": r.n, "gap": r.gap,
                "interval_low": r.interval and r.interval.low, "interval_high": r.interval and r.interval.high,
                "interval_method": r.interval and r.interval.method, "agrees_to_within": r.interval and r.interval.agreement,
                "margin": r.claim.margin, "trivial_value": r.claim.trivial_value, "verdict": r.verdict,
                "verdict_explanation": r.explanation, "tier": record.get("tier"),
                "device": record.get("device"), "commit": record.get("commit"), "record_started": record.get("started"),
            })
    return rows


def write_exports(out: Path) -> None:
    """``results.json`` and ``results.csv`` in the folder ``out`` (the root of the rendered site)."""
    rows = results_table()
    out = Path(out)
    (out / "results.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    with open(out / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
