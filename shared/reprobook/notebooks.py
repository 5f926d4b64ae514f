"""Cells that every chapter's notebook ends with: its own paper-vs-ours table and its runtime."""
from .verdicts import format_value


def paper_vs_ours(claims: dict, payload: dict) -> str:
    """A Markdown table of every claim against this run's record (``RecordBuilder.payload``)."""
    rows = ["| claim | paper | ours (mean ± std, n) | gap |", "|---|---|---|---|"]
    for claim_id, claim in claims.items():
        d = claim.decimals
        paper = format_value(claim.paper_value, claim.paper_std, decimals=d)
        entry = payload["claims"].get(claim_id)
        if entry is None or entry["status"] != "run":
            rows.append(f"| {claim_id} | {paper} | not run | |")
        else:
            rows.append(f"| {claim_id} | {paper} | {format_value(entry['mean'], entry['std'], decimals=d)} ({entry['n']}) "
                        f"| {entry['mean'] - claim.paper_value:+.{d}f} |")
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
