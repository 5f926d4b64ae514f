"""Cells that every chapter's notebook ends with: its own paper-vs-ours table and its runtime."""
from .verdicts import ClaimResult, format_interval, format_value, judge


def paper_vs_ours(claims: dict, payload: dict) -> str:
    """A Markdown table of every claim against this run's record (``RecordBuilder.payload``), with the
    verdict the book will show once the record is committed (``reprobook.verdicts.judge``)."""
    rows = ["| claim | paper | ours (mean ± std, n) | ours − paper: 95 % interval | margin | verdict |",
            "|---|---|---|---|---|---|"]
    for claim_id, claim in claims.items():
        d = claim.decimals
        paper = format_value(claim.paper_value, claim.paper_std, decimals=d)
        entry = payload["claims"].get(claim_id)
        if entry is None or entry["status"] != "run":
            rows.append(f"| {claim_id} | {paper} | not run | | | |")
            continue
        ours = f"{format_value(entry['mean'], entry['std'], decimals=d)} ({entry['n']})"
        if claim.compare == "rank":
            rows.append(f"| {claim_id} | {paper} | {ours} | by rank | | |")
            continue
        verdict, interval, explanation = judge(claim, entry["values"], payload.get("details"))
        result = ClaimResult(claim, verdict, entry["mean"], entry["std"], entry["n"], interval=interval, explanation=explanation)
        rows.append(f"| {claim_id} | {paper} | {ours} | {format_interval(result)} | ±{claim.margin:g} | {verdict} |")
    return "\n".join(rows)


def other_training(record: dict) -> str:
    """The part of a record's training time that backs no claim, as "label 1.0 min, ..." ("" if none)."""
    return ", ".join(f"{label} {seconds / 60:.1f} min" for label, seconds in record.get("other_training_seconds", {}).items())


def runtime_summary(payload: dict, record_path) -> str:
    """Device, versions and time of a written record, as the notebook's last output."""
    other = other_training(payload)
    return "\n".join([
        f"device: {payload['device']}",
        f"versions: {payload['versions']}",
        f"training time summed over runs: {payload['compute_seconds'] / 60:.1f} min"
        + (f" (of which runs behind no claim: {other})" if other else "")
        + f"; this execution: {payload['wall_seconds'] / 60:.1f} min",
        f"record written to {record_path}",
    ])
