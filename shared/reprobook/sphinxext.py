"""Sphinx directives that build the book's result tables from claims and records at build time.

No result is typed into prose: every number on a page comes through one of these directives.

* ``{replication-dashboard}``: one row per chapter (the landing page).
* ``{replication-badge} CHAPTER``: the chapter's verdict badge and a one-line summary.
* ``{replication-claims} CHAPTER``: paper vs ours, one row per claim, with the verdict.
* ``{replication-runtime} CHAPTER``: device, versions, commit, wall time of the full-tier records.
* ``{replication-cite} CHAPTER``: BibTeX for our chapter and for the original paper.
* ``{ours}`CHAPTER:KEY[:runs|:n]` ``: one measured number in running prose (see ``measured_value``).
"""
import re
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective, SphinxRole

from .chapters import all_chapters, get_chapter, repo_root
from .errors import ReprobookError
from .notebooks import other_training
from .records import load_record, summarize
from .verdicts import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, badge, claim_results, format_interval, format_value

BADGE_CLASSES = {"[Re]": "success", "[¬Re]": "danger", "partial": "warning", "not run": "secondary", "stale": "danger"}


def _badge_role(text: str) -> str:
    return f"{{bdg-{BADGE_CLASSES.get(text, 'secondary')}}}`{text}`"


def _list_table(header: list[str], rows: list[list[str]], widths: str = "auto") -> list[str]:
    lines = [":::{list-table}", ":header-rows: 1", f":widths: {widths}", ":class: reprobook-table", ""]
    for row in [header, *rows]:
        lines.append(f"* - {row[0]}")
        lines.extend(f"  - {cell}" for cell in row[1:])
    return lines + [":::"]


class _MarkdownDirective(SphinxDirective):
    """Renders MyST markdown produced by ``markdown()``, and rebuilds the page when records change."""

    def markdown(self) -> list[str]:
        raise NotImplementedError

    def run(self):
        root = repo_root()
        for path in (root / "replications").glob("*/*.yaml"):
            self.env.note_dependency(str(path))
        for path in (root / "replications").glob("*/records/*.json"):
            self.env.note_dependency(str(path))
        container = nodes.container()
        text = StringList(self.markdown(), source=self.env.docname)
        self.state.nested_parse(text, self.content_offset, container)
        return container.children


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


class Dashboard(_MarkdownDirective):
    def markdown(self):
        rows = []
        for chapter in all_chapters().values():
            results = claim_results(chapter)
            counts = {v: sum(r.verdict == v for r in results) for v in (REPRODUCED, INCONCLUSIVE, NOT_REPRODUCED)}
            not_run = len(results) - sum(counts.values())
            records = [load_record(chapter.record_path(nb, "full")) for nb in chapter.notebooks]
            records = [r for r in records if r]
            when = max((r["started"][:10] for r in records), default="—")
            device = ", ".join(dict.fromkeys(r["device"] for r in records)) or "—"     # each device once
            rows.append([_chapter_link(chapter, chapter.title), str(chapter.year), _badge_role(badge(results)),
                         str(counts[REPRODUCED]), str(counts[INCONCLUSIVE]), str(counts[NOT_REPRODUCED]), str(not_run),
                         when, device,
                         _training_time(sum(r.get("compute_seconds", 0.0) for r in records)) if records else "—"])
        header = ["Paper", "Year", "Verdict", "Reproduced", "Inconclusive", "Not reproduced", "Not run", "Last full run",
                  "Device", "Training time"]
        return _list_table(header, rows)


class Badge(_MarkdownDirective):
    required_arguments = 1

    def markdown(self):
        chapter = get_chapter(self.arguments[0])
        results = claim_results(chapter)
        counts = {v: sum(r.verdict == v for r in results) for v in (REPRODUCED, INCONCLUSIVE, NOT_REPRODUCED)}
        not_run = len(results) - sum(counts.values())
        return [f"{_badge_role(badge(results))} **{counts[REPRODUCED]} of {len(results)} claims reproduced**, "
                f"{counts[INCONCLUSIVE]} inconclusive, {counts[NOT_REPRODUCED]} not reproduced, {not_run} not run. "
                f"{chapter.authors[0]} et al., *{chapter.title}*, {chapter.venue} {chapter.year} ([paper]({chapter.url}))."]


class Claims(_MarkdownDirective):
    required_arguments = 1

    def markdown(self):
        chapter = get_chapter(self.arguments[0])
        results = claim_results(chapter)
        rows, notes = [], []
        single_metric = len({c.metric for c in chapter.claims}) == 1
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
            rows.append([c.model, c.dataset if single_metric else c.metric, paper, ours, interval, margin, verdict])
            if r.verdict == "not run here":
                notes.append((r.reason.splitlines()[0], f"{c.model} on {c.dataset}" if single_metric else c.model))
        header = ["Model", "Data set" if single_metric else "Metric", "Paper", "Ours: mean ± std (runs)",
                  "Ours − paper: 95 % interval", "Margin", "Verdict"]
        sources = sorted({c.source for c in chapter.claims})
        lines = _list_table(header, rows, widths="12 13 12 17 22 8 16")
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


def runs_started(runs: list[dict]) -> str:
    """How many runs the record's execution asked the run store for, and what became of them."""
    trained = sum(r["trained"] for r in runs)
    attempts = sum(r["earlier_attempts"] for r in runs)
    return (f"runs behind this record: {len(runs)}, of which {trained} trained by this execution and "
            f"{len(runs) - trained} read from the run store; earlier attempts of these seeds that failed or were "
            f"stopped before finishing: {attempts}")


class Runtime(_MarkdownDirective):
    required_arguments = 1

    def markdown(self):
        chapter = get_chapter(self.arguments[0])
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
    """``details[key]``, where KEY may go on into a mapping: ``size_curve/8`` is ``details["size_curve"]["8"]``."""
    if key in details:
        return details[key]
    head, _, tail = key.rpartition("/")
    if not head:
        return None
    parent = _detail(details, head)
    return parent.get(tail) if isinstance(parent, dict) else None


class Ours(SphinxRole):
    def run(self):
        for path in (repo_root() / "replications").glob("*/records/*.json"):
            self.env.note_dependency(str(path))
        try:
            return [nodes.Text(measured_value(self.text))], []
        except ReprobookError as error:
            message = self.inliner.reporter.error(str(error), line=self.lineno)
            return [nodes.problematic(self.rawtext, self.rawtext)], [message]


def bibtex_entry(key: str, bib_file: Path) -> str:
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


class Cite(_MarkdownDirective):
    required_arguments = 1

    def markdown(self):
        chapter = get_chapter(self.arguments[0])
        results = claim_results(chapter)
        bib = repo_root() / "book" / "references.bib"
        book_url = self.config.reprobook_url
        return ["This replication:", "", "```bibtex", replication_bibtex(chapter, results, book_url), "```", "",
                "The original paper:", "", "```bibtex", bibtex_entry(chapter.bibtex, bib), "```"]


class BenchmarkResult(_MarkdownDirective):
    """``{benchmark-result} NAME``: the table of ``benchmarks/results/NAME.json``, as the script wrote it."""
    required_arguments = 1

    def markdown(self):
        import json

        path = repo_root() / "benchmarks" / "results" / f"{self.arguments[0]}.json"
        self.env.note_dependency(str(path))
        if not path.is_file():
            return [f"*No result yet for `{self.arguments[0]}`: run its script in `benchmarks/`.*"]
        result = json.loads(path.read_text())
        if result.get("benchmark") == "scan_side_by_side":                           # benchmarks/scan_side_by_side.py
            columns = {"train_ms_per_run": "autograd", "written_backward_train_ms_per_run": "written backward",
                       "graphed_train_ms_per_run": "autograd, one CUDA graph",
                       "graphed_written_backward_train_ms_per_run": "written backward, one CUDA graph",
                       "forward_ms_per_run": "forward only"}
            columns = {key: name for key, name in columns.items() if key in result["rows"][0]}
            rows = [[str(r["runs_side_by_side"])] + [f"{r[key]:.3f}" for key in columns] + [f"{r['train_speedup']:.1f}×"]
                    for r in result["rows"]]
            lines = _list_table(["Runs side by side", *columns.values(), "autograd: per run, vs one run"], rows)
            return lines + ["", f"Milliseconds per run-update, measured on {result['device']}, torch {result['torch']}, "
                            f"{result['steps']} time steps of a 2-layer, 200-unit LSTM stack, best of {result['repeats']}."]
        if "rows" in result and "plain_updates_per_second" in result["rows"][0]:     # benchmarks/scan_speed.py
            rows = [[r["model"], f"{r['plain_updates_per_second']:.1f}", f"{r['ours_updates_per_second']:.1f}",
                     f"{r['speedup']:.2f}×"] for r in result["rows"]]
            lines = _list_table(["Architecture", "tutorial loop: updates/s", "ours, one run: updates/s", "ours / tutorial"], rows)
            return lines + ["", f"Measured on {result['device']}, torch {result['torch']}, {result['updates_timed']} "
                            f"updates, best of {result['repeats']}, every loop in one process."]
        if "rows" in result:            # a per-model comparison (benchmarks/egnn_speed.py)
            rows = [[r["model"], f"{r['plain_ms_per_run_epoch']:.1f}", f"{r['ours_ms_per_run_epoch']:.1f}",
                     str(r["runs_side_by_side"]), f"{r['speedup']:.2f}×"] for r in result["rows"]]
            lines = _list_table(["Model", "plain: ms per run-epoch", "ours: ms per run-epoch", "runs side by side",
                                 "plain / ours"], rows)
            return lines + ["", f"Measured on {result['device']}, torch {result['torch']}, {result['epochs_timed']} "
                            f"epochs, best of {result['repeats']}; our path: {result['path']}. {result['note'].capitalize()}."]
        rows = [[s["name"], f"{1000 * s['seconds_per_epoch']:.1f}", f"{s['seconds_per_run']:.1f}",
                 f"{s['mean_accuracy']:.2f}", str(len(s["accuracies"]))] for s in (result["plain"], result["ours"])]
        lines = _list_table(["Loop", "ms per epoch", "s per run", "mean test accuracy (%)", "runs"], rows)
        return lines + ["", f"Ratio plain / ours: **{result['speedup_per_epoch']:.2f}×** per epoch, "
                        f"**{result['speedup_per_run']:.2f}×** per run. Accuracy: Welch t-test p = "
                        f"{result['welch_t_p']:.2f}, Mann–Whitney p = {result['mann_whitney_p']:.2f}. "
                        f"Measured {result['date']} on {result['device']}, torch {result['torch']}, "
                        f"{result['threads']} thread(s), both loops in one process."]


CATALOGUE_STATUSES = ("replicated", "planned", "out of scope")


def read_catalogue(path: Path) -> list[dict]:
    """``book/catalogue.tsv``: one row per paper the book draws from (title, status, chapter, reason)."""
    import csv

    from .errors import ReprobookError

    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    chapters = all_chapters()
    for number, row in enumerate(rows, start=2):
        if row["status"] not in CATALOGUE_STATUSES:
            raise ReprobookError(f"{path}:{number}: status {row['status']!r} is not one of {', '.join(CATALOGUE_STATUSES)}")
        if row["status"] == "replicated" and row["chapter"] not in chapters:
            raise ReprobookError(f"{path}:{number}: 'replicated' needs an existing chapter id, got {row['chapter']!r}")
        if row["status"] == "out of scope" and not row["reason"]:
            raise ReprobookError(f"{path}:{number}: 'out of scope' needs a reason")
    return rows


class Catalogue(_MarkdownDirective):
    def markdown(self):
        path = repo_root() / "book" / "catalogue.tsv"
        self.env.note_dependency(str(path))
        rows = read_catalogue(path)
        chapters = all_chapters()
        counts = {status: sum(r["status"] == status for r in rows) for status in CATALOGUE_STATUSES}
        lines = [f"{len(rows)} papers: " + ", ".join(f"{n} {status}" for status, n in counts.items()) + ".", ""]
        order = {status: i for i, status in enumerate(CATALOGUE_STATUSES)}
        table = []
        for row in sorted(rows, key=lambda r: (order[r["status"]], r["title"].lower())):
            title = row["title"].replace("|", "\\|").replace("$", "")
            if row["status"] == "replicated":
                chapter = chapters[row["chapter"]]
                title = _chapter_link(chapter, title)
                status = f"{_badge_role(badge(claim_results(chapter)))} replicated"
            else:
                status = row["status"]
                if row["chapter"] in chapters:      # a chapter in progress: its page already shows what has run
                    title = _chapter_link(chapters[row["chapter"]], title)
            table.append([title, status, row["reason"] or ""])
        return lines + _list_table(["Paper", "Status", "Note"], table, widths="60 15 25")


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


def write_exports(app, exception) -> None:
    """``results.json`` and ``results.csv`` at the root of the rendered site."""
    import csv
    import json

    if exception is not None or app.builder.format != "html":
        return
    rows = results_table()
    out = Path(app.outdir)
    (out / "results.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    with open(out / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def drop_duplicate_inline_scripts(app, exception) -> None:
    """Remove repeated identical inline ``<script>`` lines from the written pages.

    With jupyter-book 1.0.4, sphinx-thebe 0.3.1 and sphinx-togglebutton, every page carries their
    inline configuration scripts twice; the second ``const THEBE_JS_URL`` raises a SyntaxError in
    the browser. Deduplicating the context's script list does not help (the copies are added while
    the template renders), so the written HTML is cleaned instead.
    """
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        lines = page.read_text().split("\n")
        seen, kept = set(), []
        for line in lines:
            inline = line.strip()
            if inline.startswith("<script>") and inline.endswith("</script>"):
                if inline in seen:
                    continue
                seen.add(inline)
            kept.append(line)
        if len(kept) != len(lines):
            page.write_text("\n".join(kept))


def setup(app):
    app.connect("build-finished", write_exports)
    app.connect("build-finished", drop_duplicate_inline_scripts)
    app.add_config_value("reprobook_url", "https://example.invalid/reprobook", "env")
    app.add_directive("replication-dashboard", Dashboard)
    app.add_directive("replication-badge", Badge)
    app.add_directive("replication-claims", Claims)
    app.add_directive("replication-runtime", Runtime)
    app.add_directive("replication-cite", Cite)
    app.add_directive("paper-catalogue", Catalogue)
    app.add_directive("benchmark-result", BenchmarkResult)
    app.add_role("ours", Ours())
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
