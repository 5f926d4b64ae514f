"""The book's generated Markdown (reprobook.pages), tested without Sphinx: every directive's content is
a pure function of the claims, records and benchmark results."""
import json
import re
import subprocess
import sys
from pathlib import Path

from reprobook import chapters, pages
from reprobook.chapters import all_chapters, get_chapter

ROOT = Path(__file__).resolve().parents[1]


def test_rendering_needs_no_sphinx():
    code = "import sys, reprobook.pages, reprobook.exports, reprobook.builtsite; print(any(m.split('.')[0] in ('sphinx', 'docutils') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_the_dashboard_has_a_row_per_chapter_and_the_claims_table_a_row_per_claim():
    dashboard = "\n".join(pages.dashboard())
    for chapter in all_chapters().values():
        assert chapter.title in dashboard
        table = pages.claims_table(chapter.id)
        rows = [line for line in table if line.startswith("* - ")]
        assert len(rows) == 1 + len(chapter.claims)                        # the header and one row per claim
        assert any(f"`{claim.id}`: ±{claim.margin:g}" in line for claim in chapter.claims if claim.compare == "value"
                   for line in table)                                      # each margin with its reason
        assert pages.chapter_badge(chapter.id)[0].startswith("{bdg-")


def test_the_claims_table_tells_apart_every_claim_that_differs_in_model_data_set_or_metric():
    """Heterophily's claims have two metrics and five graphs: its GCN rows must still say which graph."""
    for chapter in all_chapters().values():
        table = pages.claims_table(chapter.id)
        rows, start = [], table.index(next(line for line in table if line.startswith("* - ")))
        for line in table[start:]:
            if line.startswith("* - "):
                rows.append([line[4:]])
            elif line.startswith("  - "):
                rows[-1].append(line[4:])
        paper_column = rows[0].index("Paper")
        labels = [tuple(row[:paper_column]) for row in rows[1:]]
        distinct = {(c.model, c.dataset, c.metric) for c in chapter.claims}
        assert len(set(labels)) == len(distinct), chapter.id


def test_a_benchmark_table_is_the_one_its_script_described(tmp_path, monkeypatch):
    result = {"table": {"header": ["Loop", "ms"], "rows": [["plain", "2.0"], ["ours", "1.0"]], "caption": "Measured here."}}
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "toy.json").write_text(json.dumps(result))
    monkeypatch.setattr(pages, "repo_root", lambda: tmp_path)
    lines = pages.benchmark_table("toy")
    assert lines[:5] == [":::{list-table}", ":header-rows: 1", ":widths: auto", ":class: reprobook-table", ""]
    assert lines[5:11] == ["* - Loop", "  - ms", "* - plain", "  - 2.0", "* - ours", "  - 1.0"]
    assert lines[-1] == "Measured here."
    assert pages.benchmark_table("missing")[0].startswith("*No result yet for `missing`")


def test_every_committed_benchmark_result_describes_its_table():
    from reprobook.paths import repo_root

    for path in (repo_root() / "benchmarks" / "results").glob("*.json"):
        table = json.loads(path.read_text())["table"]
        assert table["rows"] and all(len(row) == len(table["header"]) for row in table["rows"]), path.name


def test_the_catalogue_counts_every_paper():
    from reprobook.contract import read_catalogue

    rows = read_catalogue()
    lines = pages.catalogue_page()
    assert lines[0].startswith(f"**{len(rows)} papers:** ")
    counts = {status: int(n) for n, status in re.findall(r"(\d+) (replicated|ready|reduced|out of scope)", lines[0])}
    assert sum(counts.values()) == len(rows) and counts == {s: sum(r["status"] == s for r in rows) for s in counts}
    assert sum(line.startswith("* - ") for line in lines) == len(rows) + 1        # the header and one row per paper


def test_the_dashboard_lists_chapters_in_the_books_order_with_each_claims_interval():
    from reprobook.contract import chapter_order
    from reprobook.verdicts import claim_results

    dashboard = "\n".join(pages.dashboard())
    positions = [dashboard.index(get_chapter(c).title) for c in chapter_order()]
    assert positions == sorted(positions) and len(positions) == len(chapters.all_chapters())
    for result in claim_results(get_chapter("gat")):
        line = next(l for l in dashboard.splitlines() if f"`{result.claim.id}`" in l)
        if result.interval is not None:
            assert f"(±{result.claim.margin:g})" in line and "[" in line


def test_the_rerun_box_gives_both_tiers_commands_and_the_measured_time_per_device():
    box = "\n".join(pages.rerun_box("gat"))
    for command in ("reprobook run gat --tier smoke", "reprobook run gat --tier full --device auto", "reprobook run gat --from-store"):
        assert command in box
    runs = sum(len(json.loads(p.read_text())["runs"]) for p in (ROOT / "replications/gat/records").glob("*-full.json"))
    assert re.search(rf"on a CPU: [\d.]+ (h|min) of training over {runs} runs", box), box
    assert "on a GPU: not measured" in box or "on a GPU: " in box


def as_if_never_run(monkeypatch, tmp_path, chapter_id: str) -> None:
    """Every chapter has a full record now: make one look as if its full tier had never run, by looking its
    records up in an empty folder."""
    original = chapters.Chapter.record_path
    monkeypatch.setattr(chapters.Chapter, "record_path", lambda self, notebook, tier: (
        tmp_path / f"{notebook}-{tier}.json" if self.id == chapter_id else original(self, notebook, tier)))


def test_a_chapter_whose_full_tier_never_ran_says_not_measured(monkeypatch, tmp_path):
    as_if_never_run(monkeypatch, tmp_path, "egnn")
    box = "\n".join(pages.rerun_box("egnn"))
    assert "on a CPU: not measured" in box and "on a GPU: not measured" in box
    assert "on a CPU: not measured" not in "\n".join(pages.rerun_box("gat"))


def test_the_status_page_has_a_row_per_notebook_saying_whether_its_record_is_current(monkeypatch, tmp_path):
    as_if_never_run(monkeypatch, tmp_path, "egnn")
    status = "\n".join(pages.execution_status())
    for chapter in all_chapters().values():
        for notebook in chapter.notebooks:
            assert f"{chapter.id}/{notebook}" in status
    assert "`current`" in status and "`not run yet`" in status       # GAT's record; EGNN made to have none


def test_a_run_that_a_record_asked_for_twice_counts_once():
    """A chapter whose rounds build on earlier rounds asks the store for a seed again: one run, trained once."""
    asked = [{"protocol": "p/round-0", "key": "k", "seed": 0, "trained": True, "earlier_attempts": 0},
             {"protocol": "p/round-1", "key": "k1", "seed": 0, "trained": True, "earlier_attempts": 0},
             {"protocol": "p/round-0", "key": "k", "seed": 0, "trained": False, "earlier_attempts": 0}]
    assert pages.distinct_runs(asked) == asked[:2]
    assert pages.runs_started(asked).startswith("runs behind this record: 2, of which 2 trained by this execution")
