"""The book's generated Markdown, as pure functions over claims and records (no Sphinx here, so that
tests call them directly): each returns the MyST lines that one directive of ``reprobook.sphinxext``
renders. No result is typed into prose: every number on a page comes through one of these.
"""
import re

from .chapters import all_chapters, get_chapter
from .contract import CATALOGUE_STATUSES, chapter_order, read_catalogue
from .errors import ReprobookError
from .notebooks import other_training
from .paths import repo_root
from .records import load_record, summarize
from .verdicts import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, badge, claim_results, format_interval, format_value

BADGE_CLASSES = {"[Re]": "success", "[¬Re]": "danger", "partial": "warning", "not run": "secondary", "stale": "danger"}


def _badge_role(text: str) -> str:
    return f"{{bdg-{BADGE_CLASSES.get(text, 'secondary')}}}`{text}`"


def list_table(header: list[str], rows: list[list[str]], widths: str = "auto", classes: str = "") -> list[str]:
    lines = [":::{list-table}", ":header-rows: 1", f":widths: {widths}", f":class: reprobook-table{' ' + classes if classes else ''}", ""]
    for row in [header, *rows]:       # a cell's further lines (paragraphs) are indented under its first
        cells = [cell.replace("\n", "\n    ") for cell in row]
        lines.append(f"* - {cells[0]}")
        lines.extend(f"  - {cell}" for cell in cells[1:])
    return lines + [":::"]


def _verdict(result) -> str:
    if result.verdict == REPRODUCED:
        return "{bdg-success}`reproduced`"
    if result.verdict == NOT_REPRODUCED:
        return "{bdg-danger}`not reproduced`"
    if result.verdict == INCONCLUSIVE:
        return "{bdg-warning}`inconclusive`"
    return f"{{bdg-secondary}}`{result.verdict}`"


def _chapter_link(chapter, text):
    return f"{{doc}}`{text} </{chapter.page}>`"


def _training_time(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{max(1, round(seconds / 60))} min"


VERDICT_MARKS = {REPRODUCED: "✓", INCONCLUSIVE: "?", NOT_REPRODUCED: "✗"}


def _claim_line(result) -> str:
    """One claim, compactly: its mark, its id, and the interval of ours − paper against its margin."""
    mark = VERDICT_MARKS.get(result.verdict, "·")
    if result.claim.compare == "rank" or result.interval is None:
        detail = "compared by rank" if result.claim.compare == "rank" and result.mean is not None else result.verdict
    else:
        interval = format_interval(result).split(", within")[0]
        detail = f"{interval} (±{result.claim.margin:g})"
    return f"{mark} `{result.claim.id}` {detail}"


def _short_device(description: str) -> str:
    """``CPU: Intel(R) Xeon(R) ... (1 threads)`` -> ``CPU``; ``cuda: NVIDIA H200`` -> ``NVIDIA H200``."""
    kind, _, name = description.partition(": ")
    return "CPU" if kind.lower() == "cpu" else (name or kind)


def dashboard() -> list[str]:
    """The landing page's table: one row per chapter, in the book's order, each claim on a line of its own
    with the 95 % interval of ours − paper and its margin (✓ reproduced, ? inconclusive, ✗ not reproduced)."""
    chapters = all_chapters()
    rows = []
    for chapter_id in [*chapter_order(), *sorted(set(chapters) - set(chapter_order()))]:
        chapter = chapters[chapter_id]
        results = claim_results(chapter)
        records = [load_record(chapter.record_path(nb, "full")) for nb in chapter.notebooks]
        records = [r for r in records if r]
        when = max((r["started"][:10] for r in records), default="—")
        device = ", ".join(dict.fromkeys(_short_device(r["device"]) for r in records)) or "—"
        hours = _training_time(sum(r.get("compute_seconds", 0.0) for r in records)) if records else "—"
        rows.append([f"{_chapter_link(chapter, chapter.title)} ({chapter.year})", _badge_role(badge(results)),
                     "\n\n".join(_claim_line(r) for r in results), f"{when}\n\n{device}, {hours}"])
    header = ["Paper", "Verdict", "Claims: ours − paper, 95 % interval (margin)", "Last full run"]
    return list_table(header, rows, widths="25 10 45 20", classes="reprobook-dashboard")


def chapter_badge(chapter_id: str) -> list[str]:
    """A chapter's verdict badge and one-line summary."""
    chapter = get_chapter(chapter_id)
    results = claim_results(chapter)
    counts = {v: sum(r.verdict == v for r in results) for v in (REPRODUCED, INCONCLUSIVE, NOT_REPRODUCED)}
    not_run = len(results) - sum(counts.values())
    return [f"{_badge_role(badge(results))} **{counts[REPRODUCED]} of {len(results)} claims reproduced**, "
            f"{counts[INCONCLUSIVE]} inconclusive, {counts[NOT_REPRODUCED]} not reproduced, {not_run} not run. "
            f"{chapter.authors[0]} et al., *{chapter.title}*, {chapter.venue} {chapter.year} ([paper]({chapter.url}))."]


def claims_table(chapter_id: str) -> list[str]:
    """Paper vs ours, one row per claim, with the interval, margin and verdict."""
    chapter = get_chapter(chapter_id)
    if not chapter.claims:
        return [f"*No claims yet: `replications/{chapter.id}/claims.yaml` lists none.*"]
    results = claim_results(chapter)
    rows, notes = [], []
    # Data set and metric each get a column where they vary (the data set also where nothing else does).
    show_metric = len({c.metric for c in chapter.claims}) > 1
    show_dataset = len({c.dataset for c in chapter.claims}) > 1 or not show_metric
    for r in results:
        c = r.claim
        paper = format_value(c.paper_value, c.paper_std, decimals=c.decimals) + ("" if c.confirmed else "*")
        ours = (format_value(r.mean, r.std, decimals=c.decimals) + (f" ({r.n})" if r.n else "")
                if r.mean is not None else "—")
        if c.compare == "rank":
            interval, margin = "by rank", "—"
        else:
            interval = format_interval(r) if r.mean is not None else "—"
            margin = f"±{c.margin:g}"
        verdict = _verdict(r) + (f" ({r.explanation})" if r.explanation and r.interval is not None else "")
        rows.append([c.model, *([c.dataset] if show_dataset else []), *([c.metric] if show_metric else []),
                     paper, ours, interval, margin, verdict])
        if r.verdict == "not run here":
            notes.append((r.reason.splitlines()[0], f"{c.model} on {c.dataset}" if show_dataset else c.model))
    header = ["Model", *(["Data set"] if show_dataset else []), *(["Metric"] if show_metric else []), "Paper",
              "Ours: mean ± std (runs)", "Ours − paper: 95 % interval", "Margin", "Verdict"]
    sources = sorted({c.source for c in chapter.claims})
    lines = list_table(header, rows, widths="10 11 9 11 15 19 8 17" if show_dataset and show_metric else "12 13 12 17 22 8 16")
    by_rank = [c for c in chapter.claims if c.compare == "rank"]
    metrics = "; ".join(m[0].upper() + m[1:] for m in dict.fromkeys(c.metric for c in chapter.claims))
    lines += ["", f"*{metrics}. Paper values from {'; '.join(sources)}. "
              "Reproduced: the 95 % interval of (ours − paper) lies inside ± the margin, which is justified "
              "from the paper (its reasons are in the chapter's claims file); not reproduced: it lies wholly "
              "outside; inconclusive: it straddles a bound, or fewer than three runs leave no interval. "
              "“Within X”: ours agrees with the paper to within X, the largest difference the interval allows."
              + (f" Hardware-bound claims ({', '.join(dict.fromkeys(c.metric for c in by_rank))}) are compared by "
                 "ordering: reproduced when the model's place among the models that ran is its place in the paper; "
                 + by_rank[0].rank_reason + "." if by_rank else "")
              + (" \\* Not read from the paper itself: unconfirmed." if any(not c.confirmed for c in chapter.claims) else "")
              + "*"]
    margins = [(c.id, c.margin, c.margin_reason) for c in chapter.claims if c.compare == "value"]
    lines += ["", "Each margin and its reason, from the paper:", ""]
    lines += [f"- `{cid}`: ±{m:g}, {reason}" for cid, m, reason in margins]
    for reason in dict.fromkeys(reason for reason, _ in notes):
        which = ", ".join(dict.fromkeys(claim for r, claim in notes if r == reason))
        lines += ["", f"Not run here ({which}): {reason}"]
    return lines


def describe_seeds(seeds: list[int]) -> str:
    """``5 (0–4)``, ``1 (0)`` or ``3 (0, 2, 7)``."""
    contiguous = len(seeds) > 1 and seeds == list(range(seeds[0], seeds[-1] + 1))
    return f"{len(seeds)} ({seeds[0]}–{seeds[-1]})" if contiguous else f"{len(seeds)} ({', '.join(map(str, seeds))})"


def trained_by(record: dict) -> list[str]:
    """Where a record's runs were trained, for notebooks whose runs say so (details ``<claim>/trained_by``):
    the runs may come from a run store filled earlier, on other machines and at other commits of the
    same code (the store's key holds the source of the modules that decide the result)."""
    runs_on, commits_on = {}, {}      # per machine: how many runs, and at which commits (in order)
    for key, runs in record.get("details", {}).items():
        if key.endswith("/trained_by"):
            for run in runs:
                machine = f"{run['device']}, torch {run['torch']}"
                commit = f"`{(run.get('commit') or 'none')[:10]}`" + (" with uncommitted changes" if run.get("uncommitted_changes") else "")
                runs_on[machine] = runs_on.get(machine, 0) + 1
                commits_on.setdefault(machine, {})[commit] = None
    return [f"{n} run(s) trained on {machine}, at commit(s) {', '.join(commits_on[machine])}" for machine, n in runs_on.items()]


def distinct_runs(runs: list[dict]) -> list[dict]:
    """Each run of a record once: a chapter whose rounds build on earlier rounds asks for a seed again."""
    first = {}
    for run in runs:
        first.setdefault((run["protocol"], run["key"], run["seed"]), run)
    return list(first.values())


def runs_started(runs: list[dict]) -> str:
    """How many runs the record's execution asked the run store for, and what became of them."""
    runs = distinct_runs(runs)
    trained = sum(r["trained"] for r in runs)
    attempts = sum(r["earlier_attempts"] for r in runs)
    return (f"runs behind this record: {len(runs)}, of which {trained} trained by this execution and "
            f"{len(runs) - trained} read from the run store; earlier attempts of these seeds that failed or were "
            f"stopped before finishing: {attempts}")


def runtime(chapter_id: str) -> list[str]:
    """Device, versions, commit and time of a chapter's full-tier records."""
    chapter = get_chapter(chapter_id)
    lines = []
    for notebook in chapter.notebooks:
        record = load_record(chapter.record_path(notebook, "full"))
        if record is None:
            lines += [f"- `{notebook}`: no full-tier run yet.", ""]
            continue
        versions = ", ".join(f"{k} {v}" for k, v in record["versions"].items())
        other = other_training(record)
        commit = (record.get("commit") or "uncommitted")[:10] + (" (with uncommitted changes)" if record.get("uncommitted_changes") else "")
        lines += [
            f"- `{notebook}` (full tier), run on {record['started'][:10]} on **{record['device']}**",
            f"  - training time summed over all runs: {record.get('compute_seconds', 0) / 60:.1f} min; "
            f"the notebook's own execution: {record['wall_seconds'] / 60:.1f} min "
            f"(finished seeds are reused from the run store, see the method page)",
            *([f"  - of the training time, runs behind no claim: {other}"] if other else []),
            f"  - peak host memory: {record['peak_memory']['host_max_rss_mb']:.0f} MB",
            f"  - seeds: {describe_seeds(record['seeds'])}; code: commit `{commit}`, "
            f"code hash `{record['code_hash'][:12]}`",
            f"  - versions: {versions}",
        ]
        lines += [f"  - seeds of `{claim_id}`: {describe_seeds(entry['seeds'])}"
                  for claim_id, entry in record["claims"].items() if entry.get("seeds", record["seeds"]) != record["seeds"]]
        lines += [f"  - {line}" for line in trained_by(record)]
        if record.get("runs"):
            lines.append(f"  - {runs_started(record['runs'])}")
        if "training_path" in record.get("details", {}):
            lines.append(f"  - training path: {record['details']['training_path']}")
    return lines


def measured_value(spec: str) -> str:
    """The number that ``{ours}`SPEC` `` puts into a chapter's prose, read from its full-tier records.

    ``CHAPTER:CLAIM`` is the claim's mean ± std (std left out for one run), with the claim's decimals;
    ``CHAPTER:CLAIM:runs`` lists the runs' values ("8.2 and 16.5"); ``CHAPTER:CLAIM:n`` counts them.
    Instead of a claim, KEY may name a record's detail, a list of per-run values such as
    ``length-top/oracle_accuracy``, or one inside a mapping such as ``size_curve/8``; it takes the
    decimals of the claim it starts with.
    """
    chapter_id, _, rest = spec.partition(":")
    key, _, field = rest.partition(":")
    if not key or field not in ("", "runs", "n"):
        raise ReprobookError(f"{{ours}}`{spec}`: expected CHAPTER:CLAIM, CHAPTER:CLAIM:runs or CHAPTER:CLAIM:n")
    chapter = get_chapter(chapter_id)
    claim_decimals = {claim.id: claim.decimals for claim in chapter.claims}
    decimals = claim_decimals.get(key.split("/")[0], 1)
    records = [r for r in (load_record(chapter.record_path(nb, "full")) for nb in chapter.notebooks) if r]
    values = None
    for record in records:
        if key in record["claims"]:
            entry = record["claims"][key]
            if entry["status"] != "run":
                raise ReprobookError(f"{{ours}}`{spec}`: {key} has not run ({entry.get('reason', entry['status'])})")
            values = entry["values"]
        else:
            values = _detail(record["details"], key)
        if values is not None:
            break
    if values is None:
        raise ReprobookError(f"{{ours}}`{spec}`: no full-tier record of chapter {chapter_id} has {key!r}")
    values = values if isinstance(values, list) else [values]
    if field == "n":
        return str(len(values))
    if field == "runs":
        texts = [str(value) if isinstance(value, int) else f"{value:.{decimals}f}" for value in values]
        return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]
    summary = summarize(values)
    return format_value(summary["mean"], summary["std"], decimals=decimals)


def _detail(details: dict, key: str):
    """``details[key]``, where KEY may go on into a mapping: ``size_curve/8`` is ``details["size_curve"]["8"]``;
    into a list of mappings (one per run), it takes the entry of each: ``kept_error/3`` is
    ``[run["3"] for run in details["kept_error"]]``."""
    if key in details:
        return details[key]
    head, _, tail = key.rpartition("/")
    if not head:
        return None
    parent = _detail(details, head)
    if isinstance(parent, list) and parent and all(isinstance(run, dict) and tail in run for run in parent):
        return [run[tail] for run in parent]
    return parent.get(tail) if isinstance(parent, dict) else None


def bibtex_entry(key: str, bib_file) -> str:
    text = bib_file.read_text()
    match = re.search(r"@\w+\{" + re.escape(key) + r",.*?\n\}", text, flags=re.S)
    if not match:
        raise KeyError(f"{key} not found in {bib_file}")
    return match.group(0)


def replication_bibtex(chapter, results, book_url: str) -> str:
    verdict = badge(results)
    prefix = "[¬Re]" if verdict == "[¬Re]" else "[Re]"
    suffix = "" if verdict in ("[Re]", "[¬Re]") else f" ({verdict})"
    records = [load_record(chapter.record_path(nb, "full")) for nb in chapter.notebooks]
    year = max((r["started"][:4] for r in records if r), default="unpublished")
    return "\n".join([
        f"@incollection{{reprobook-{chapter.id},",
        f"  title = {{{{{prefix} {chapter.title}{suffix}}}}},",
        "  author = {{Neural Network Papers, Replicated}},",
        "  booktitle = {Neural Network Papers, Replicated},",
        f"  year = {{{year}}},",
        f"  url = {{{book_url.rstrip('/')}/{chapter.page}.html}},",
        f"  note = {{Replication of {chapter.authors[0]} et al. ({chapter.year})}}",
        "}",
    ])


def cite(chapter_id: str, book_url: str) -> list[str]:
    """BibTeX for our chapter and for the original paper."""
    chapter = get_chapter(chapter_id)
    results = claim_results(chapter)
    bib = repo_root() / "book" / "references.bib"
    return ["This replication:", "", "```bibtex", replication_bibtex(chapter, results, book_url), "```", "",
            "The original paper:", "", "```bibtex", bibtex_entry(chapter.bibtex, bib), "```"]


def _measured_training(chapter) -> dict[str, tuple[float, int]]:
    """Training time of the runs behind a chapter's full-tier records, per kind of device (``CPU``,
    ``GPU``): (seconds summed over runs, runs), read from each run's seed file in the chapter's store."""
    import json

    from .runs import protocol_folder

    measured = {}
    for notebook in chapter.notebooks:
        record = load_record(chapter.record_path(notebook, "full"))
        for run in distinct_runs((record or {}).get("runs", [])):
            path = protocol_folder(run["protocol"], chapter.folder / "runs") / run["key"] / f"seed-{run['seed']}.json"
            if path.is_file():
                seed = json.loads(path.read_text())
                kind = "CPU" if seed["provenance"]["device"].lower().startswith("cpu") else "GPU"
                seconds, runs = measured.get(kind, (0.0, 0))
                measured[kind] = (seconds + seed["train_seconds"] + seed.get("seconds_before_resuming", 0.0), runs + 1)
    return measured


def rerun_box(chapter_id: str) -> list[str]:
    """A box on the chapter page: the commands for both tiers, and the full tier's measured training time
    on a CPU and on a GPU (from the seed files behind its records)."""
    chapter = get_chapter(chapter_id)
    measured = _measured_training(chapter)
    times = [f"on a {kind}: " + (f"{_training_time(measured[kind][0])} of training over {measured[kind][1]} runs"
                                 if kind in measured else "not measured") for kind in ("CPU", "GPU")]
    return [":::{admonition} Rerun this chapter", ":class: tip", "",
            "From the repository's root, after `bash scripts/setup.sh`:", "", "```bash",
            f".venv/bin/reprobook run {chapter.id} --tier smoke                # seconds to minutes on a CPU: the code path",
            f".venv/bin/reprobook run {chapter.id} --tier full --device auto   # the paper's protocol",
            f".venv/bin/reprobook run {chapter.id} --from-store                # our committed runs, re-executed: trains nothing",
            "```", "",
            f"The full tier, as measured for this book: {'; '.join(times)}. One run trains at a time per "
            "process; finished runs are kept, so an interrupted full tier continues where it stopped.", ":::"]


def execution_status() -> list[str]:
    """Every notebook's last full-tier run: date, device, wall time, library versions, and whether its
    record is current (made by today's code)."""
    from .verdicts import record_problems

    chapters = all_chapters()
    rows = []
    for chapter_id in [*chapter_order(), *sorted(set(chapters) - set(chapter_order()))]:
        chapter = chapters[chapter_id]
        for notebook in chapter.notebooks:
            record = load_record(chapter.record_path(notebook, "full"))
            name = _chapter_link(chapter, f"{chapter.id}/{notebook}")
            if record is None:
                rows.append([name, "—", "—", "—", "—", "{bdg-secondary}`not run yet`"])
                continue
            versions = ", ".join(f"{k} {v}" for k, v in record["versions"].items() if k != "reprobook")
            current = "{bdg-danger}`stale`" if record_problems(chapter, notebook) else "{bdg-success}`current`"
            hours = _training_time(record.get("compute_seconds", 0.0))
            rows.append([name, record["started"][:10], _short_device(record["device"]),
                         f"{_training_time(record['wall_seconds'])} (training {hours})", versions, current])
    return list_table(["Notebook", "Last full run", "Device", "Wall time", "Versions", "Record"], rows,
                      widths="22 12 10 20 26 10")


def catalogue_page() -> list[str]:
    """The catalogue of papers: counts per status and per field, then one row per paper (sortable and
    filterable in the browser: ``static/catalogue.js``)."""
    rows = read_catalogue()
    chapters = all_chapters()
    counts = {status: sum(r["status"] == status for r in rows) for status in CATALOGUE_STATUSES}
    fields = sorted({r["field"] for r in rows}, key=lambda f: (-sum(r["field"] == f for r in rows), f))
    lines = [f"**{len(rows)} papers:** " + ", ".join(f"{n} {status}" for status, n in counts.items()) + ".", "",
             "**By field:** " + ", ".join(f"{field} {sum(r['field'] == field for r in rows)}" for field in fields) + ".", ""]
    order = {status: i for i, status in enumerate(CATALOGUE_STATUSES)}
    table = []
    for row in sorted(rows, key=lambda r: (order[r["status"]], r["title"].lower())):
        title = row["title"].replace("|", "\\|").replace("$", "")
        if row["chapter"] in chapters:      # replicated, or a chapter in progress: its page shows what has run
            chapter = chapters[row["chapter"]]
            title = f"{_chapter_link(chapter, title)} {_badge_role(badge(claim_results(chapter)))}"
        experiment = "" if row["experiment"] == "-" else row["experiment"]
        table.append([title, row["year"], row["field"], row["status"], experiment, row["reason"]])
    return lines + list_table(["Paper", "Year", "Field", "Status", "Experiment", "Why this status"], table,
                              widths="30 6 11 9 22 22", classes="reprobook-catalogue")


def benchmark_table(name: str) -> list[str]:
    """The table of ``benchmarks/results/NAME.json``, as its script described it (its ``table``: header,
    rows, caption), so that a new benchmark needs no code here."""
    import json

    path = repo_root() / "benchmarks" / "results" / f"{name}.json"
    if not path.is_file():
        return [f"*No result yet for `{name}`: run its script in `benchmarks/`.*"]
    table = json.loads(path.read_text()).get("table")
    if not table:
        raise ReprobookError(f"benchmarks/results/{name}.json describes no table (header, rows, caption); run its script again")
    return list_table(table["header"], table["rows"]) + ["", table["caption"]]
