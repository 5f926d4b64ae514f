"""What every chapter's notebook shares: its one-call preamble (``start``), its Colab set-up cell, and
the cells it ends with (its own paper-vs-ours table and its runtime).

A notebook's parameters cell holds ``tier``, ``device``, ``seeds`` and ``output_dir`` (and any of its
own); its next code cell is the Colab set-up (tagged ``colab``, written by ``colab_setup_source`` from
``_config.yml``, and outside the record's fingerprint, since it does nothing elsewhere); then::

    TIERS = {"smoke": {"seeds": [0, 1], ...}, "full": {"seeds": list(range(100)), ...}}
    settings, seeds, run_device, figures, claims, record = start("gat/gat", TIERS, tier, device, seeds, output_dir)
    ...
    finish(record, output_dir)
"""
from pathlib import Path
from typing import NamedTuple

from .verdicts import ClaimResult, format_interval, format_value, judge

COLAB_TAG = "colab"


class NotebookStart(NamedTuple):
    settings: dict      # the tier's entry of the notebook's TIERS
    seeds: list         # the seeds asked for, else the tier's
    device: object      # the torch.device that ``device`` resolves to
    figures: Path       # where the notebook saves its figures
    claims: dict        # {claim id: Claim} of this notebook's claims, in claims.yaml's order
    record: object      # the RecordBuilder of this execution


def start(notebook: str, tiers: dict, tier: str, device: str, seeds, output_dir) -> NotebookStart:
    """The preamble of ``notebook`` ("chapter/notebook"): checks the tier, resolves the device, picks
    the seeds, sets the book's figure style, starts the record, and prints what this execution runs."""
    from .chapters import check_tier, get_chapter
    from .device import resolve_device
    from .errors import ReprobookError
    from .plotting import use_book_style
    from .records import RecordBuilder

    chapter_id, _, name = notebook.partition("/")
    chapter = get_chapter(chapter_id)
    if name not in chapter.notebooks:
        raise ReprobookError(f"unknown notebook {name!r} of chapter {chapter_id}; its notebooks: {', '.join(chapter.notebooks)}")
    settings = tiers[check_tier(tier)]
    seeds = check_seed_list("seeds", seeds) if seeds is not None else list(settings["seeds"])
    run_device = resolve_device(device)
    claims = {claim.id: claim for claim in chapter.claims if claim.notebook == name}
    record = RecordBuilder(chapter_id, name, tier, chapter.notebook_source(name), run_device, seeds)
    use_book_style()
    print(f"{notebook}: tier={tier}, device={run_device}, {len(seeds)} seed(s): {seeds if len(seeds) <= 8 else f'{seeds[0]}-{seeds[-1]}'}")
    return NotebookStart(settings, seeds, run_device, Path(output_dir) / "figures", claims, record)


def check_seed_list(what: str, seeds) -> list[int]:
    """A parameter that names seeds, checked: a non-empty list of non-negative integers."""
    from .errors import ReprobookError

    if not isinstance(seeds, list) or not seeds or not all(isinstance(seed, int) and seed >= 0 for seed in seeds):
        raise ReprobookError(f"{what} needs a list of non-negative seeds, got {seeds!r}")
    return seeds


def colab_setup_source(chapter: str, repository_url: str) -> str:
    """The code of a chapter notebook's Colab cell: on Colab, fetch the book and install its package."""
    return "\n".join([
        "# Opened in Colab? Fetch the book's code first (elsewhere this cell does nothing).",
        "import os, subprocess, sys",
        'if "google.colab" in sys.modules and not os.path.exists("chapter.yaml"):',
        f'    subprocess.run(["git", "clone", "--depth", "1", "{repository_url}", "/content/book"], check=True)',
        '    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", "/content/book"], check=True)',
        f'    sys.path[:0] = ["/content/book/shared", "/content/book/replications/{chapter}"]',
        f'    os.chdir("/content/book/replications/{chapter}")',
    ])


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


def finish(record, output_dir) -> Path:
    """The notebook's last cell: writes the record to ``output_dir/records`` and prints its runtime."""
    path = record.write(Path(output_dir) / "records")
    print(runtime_summary(record.payload, path))
    return path


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
