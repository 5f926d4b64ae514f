"""Claims files, records, verdicts and staleness."""
import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import MACHINE_PATH
from reprobook import chapters, records, verdicts
from reprobook.data import atomic_write_json
from reprobook.fingerprints import notebook_code
from reprobook.errors import ReprobookError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def book(tmp_path):
    """A copy of the book's skeleton with the GAT chapter's metadata, claims and code (no records)."""
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n")
    chapter = tmp_path / "replications" / "gat"
    chapter.mkdir(parents=True)
    for name in ("chapter.yaml", "claims.yaml", "gat.md", "gat_model.py", "gat_protocol.py"):
        shutil.copy(ROOT / "replications" / "gat" / name, chapter / name)
    meta = chapter / "chapter.yaml"               # a chapter in progress unless a test says otherwise
    meta.write_text(meta.read_text().replace("status: done", "status: in-progress"))
    return tmp_path


def fake_record(book, values_by_claim, not_run=()):
    chapter = chapters.get_chapter("gat", book)
    source = chapter.notebook_source("gat")
    payload = {"chapter": "gat", "notebook": "gat", "tier": "full", "code_hash": notebook_code(source).sha256,
               "claims": {cid: {"status": "run", **records.summarize(v)} for cid, v in values_by_claim.items()},
               "started": "2026-01-01T00:00:00+00:00", "device": "test", "seeds": [0, 1]}
    for cid in not_run:
        payload["claims"][cid] = {"status": "not_run", "reason": "no data here"}
    atomic_write_json(chapter.record_path("gat", "full"), payload)
    # The executed notebook: same code cells plus papermill's injected parameters.
    import jupytext
    notebook = jupytext.read(source)
    injected = jupytext.reads('tier = "full"', fmt="py:percent").cells[0]
    injected.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(1, injected)
    jupytext.write(notebook, chapter.executed_notebook("gat"))
    return chapter


def test_the_real_claims_files_are_valid():
    """Every chapter's files against the schemas, each claim loaded, and every finished chapter with claims."""
    from jsonschema import validate
    from reprobook.schema import CHAPTER_SCHEMA, CLAIMS_FILE_SCHEMA

    folders = sorted(p.parent for p in (ROOT / "replications").glob("*/chapter.yaml"))
    loaded = chapters.all_chapters()
    assert sorted(loaded) == [folder.name for folder in folders] and len(folders) >= 4
    for folder in folders:
        validate(yaml.safe_load((folder / "chapter.yaml").read_text()), CHAPTER_SCHEMA)
        raw = yaml.safe_load((folder / "claims.yaml").read_text())
        validate(raw, CLAIMS_FILE_SCHEMA)
        assert [claim.id for claim in loaded[folder.name].claims] == [item["id"] for item in raw["claims"]]
        assert loaded[folder.name].claims or loaded[folder.name].status == "in-progress", folder.name


def test_a_malformed_claims_file_names_file_and_field(book):
    path = book / "replications/gat/claims.yaml"
    data = yaml.safe_load(path.read_text())
    del data["claims"][1]["paper_value"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ReprobookError, match=r"claims.yaml: claims\[1\] \(gat-citeseer\): missing field 'paper_value'"):
        chapters.get_chapter("gat", book)


def test_a_wrongly_typed_field_is_reported(book):
    path = book / "replications/gat/claims.yaml"
    path.write_text(path.read_text().replace("paper_value: 83.0", "paper_value: eighty-three"))
    with pytest.raises(ReprobookError, match="field 'paper_value' should be"):
        chapters.get_chapter("gat", book)


def test_unknown_chapter_lists_the_valid_ones(book):
    with pytest.raises(ReprobookError, match="unknown chapter 'gta'; valid chapters: gat"):
        chapters.get_chapter("gta", book)


def test_unknown_tier():
    with pytest.raises(ReprobookError, match="valid tiers: smoke, full"):
        chapters.check_tier("fast")


def test_verdicts_from_a_current_record(book):
    chapter = fake_record(book, {"gat-cora": [82.9, 83.1, 83.0], "gat-citeseer": [70.0, 70.4, 70.2],
                                 "gcn-cora": [81.0, 82.5, 81.5], "gcn-citeseer": [70.5, 70.1]}, not_run=["gat-pubmed"])
    by_id = {r.claim.id: r for r in verdicts.claim_results(chapter)}
    assert by_id["gat-cora"].verdict == verdicts.REPRODUCED
    assert by_id["gat-citeseer"].verdict == verdicts.NOT_REPRODUCED
    assert by_id["gat-citeseer"].gap == pytest.approx(70.2 - 72.5)
    assert by_id["gcn-cora"].verdict == verdicts.INCONCLUSIVE          # one-sample interval straddles ±0.55
    assert "runs would settle it" in by_id["gcn-cora"].explanation
    assert by_id["gcn-citeseer"].verdict == verdicts.INCONCLUSIVE      # two runs: no interval
    assert by_id["gcn-citeseer"].explanation.startswith("2 runs, inside the margin")
    assert by_id["gat-pubmed"].verdict == verdicts.NOT_RUN_HERE
    assert by_id["gcn-pubmed"].verdict == verdicts.NOT_RUN_YET
    assert verdicts.badge(list(by_id.values())) == "[¬Re]"
    assert verdicts.chapter_problems(chapter) == []


def claim(**fields):
    base = dict(id="c", statement="", model="m", dataset="d", metric="accuracy (%)", paper_value=72.5, paper_runs=100,
                source="Table 2", confirmed=True, notebook="nb", margin=0.75, margin_reason="", trivial_value=23.1,
                trivial_reason="", paper_std=0.7)
    return chapters.Claim(**(base | fields))


def test_welchs_interval_is_scipys_on_the_same_samples():
    """From the paper's mean, std and runs, the interval is the one scipy gives for two raw samples."""
    from scipy import stats
    ours, theirs = [71.2, 71.9, 70.8, 71.5, 72.0, 71.1], [72.1, 73.0, 71.8, 72.9, 72.4, 72.6, 73.1]
    paper = claim(paper_value=sum(theirs) / len(theirs), paper_std=stats.tstd(theirs), paper_runs=len(theirs))
    expected = stats.ttest_ind(ours, theirs, equal_var=False).confidence_interval(0.95)
    interval = verdicts.difference_interval(ours, paper)
    assert (interval.low, interval.high) == pytest.approx((expected.low, expected.high))
    alone = claim(paper_std=None, paper_value=72.5)
    expected = stats.ttest_1samp(ours, 72.5).confidence_interval(0.95)
    interval = verdicts.difference_interval(ours, alone)
    assert (interval.low, interval.high) == pytest.approx((expected.low - 72.5, expected.high - 72.5))


def test_a_mean_of_many_runs_is_judged_by_its_interval_not_by_one_runs_spread():
    """The book's old rule: GAT on CiteSeer, 71.51 over 100 runs against 72.5 ± 0.7, was "reproduced"
    inside a 1.0-point tolerance by 0.011 points, ten standard errors away. The interval says otherwise."""
    import random
    rng = random.Random(0)
    values = [rng.gauss(0, 1) for _ in range(100)]
    mean, std = sum(values) / 100, (sum((v - sum(values) / 100) ** 2 for v in values) / 99) ** 0.5
    values = [71.51 + 0.7 * (v - mean) / std for v in values]                # mean 71.51, std 0.7, n 100
    verdict, interval, _ = verdicts.judge(claim(margin=1.0), values)
    assert verdict == verdicts.INCONCLUSIVE and interval.low < -1.0 < interval.high
    verdict, interval, _ = verdicts.judge(claim(), values)                   # the paper-derived margin, 0.75
    assert verdict == verdicts.NOT_REPRODUCED and interval.agreement == pytest.approx(0.99 + 0.196, abs=0.01)


def test_a_margin_that_would_let_a_broken_model_pass_is_refused(book):
    path = book / "replications/gat/claims.yaml"
    path.write_text(path.read_text().replace("margin: 0.75", "margin: 60.0", 1))
    with pytest.raises(ReprobookError, match=r"gat-cora\): margin 60 would let the trivial value 31.9"):
        chapters.get_chapter("gat", book)


def test_a_failure_claim_is_judged_beside_proof_that_the_method_works(book):
    failing = claim(paper_value=0.08, paper_std=None, paper_runs=5, margin=2.0, trivial_value=0.0,
                    works_where={"detail": "jump/train_accuracy", "at_least": 99.5, "reason": "fits its training set"})
    values = [0.0, 0.01, 0.03, 0.0, 0.02]
    assert verdicts.judge(failing, values, {"jump/train_accuracy": [99.9, 99.8, 100.0]})[0] == verdicts.REPRODUCED
    verdict, _, why = verdicts.judge(failing, values, {"jump/train_accuracy": [12.0, 10.0]})
    assert verdict == verdicts.INCONCLUSIVE and "does not work where it should" in why
    path = book / "replications/gat/claims.yaml"
    data = yaml.safe_load(path.read_text())
    data["claims"][0] |= {"paper_value": 0.08, "paper_std": None, "trivial_value": 0.0, "margin": 2.0}
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ReprobookError, match="add 'works_where'"):
        chapters.get_chapter("gat", book)
    data["claims"][0]["works_where"] = failing.works_where
    path.write_text(yaml.safe_dump(data))
    assert chapters.get_chapter("gat", book).claims[0].works_where["at_least"] == 99.5


def test_runs_that_would_settle_an_inconclusive_claim():
    """The number of runs it names is the first at which an interval of today's mean and spread decides."""
    values = [82.3, 84.3, 86.3, 83.0, 85.1]
    for paper in (claim(paper_value=83.0, paper_std=None, margin=1.0), claim(paper_value=83.0, paper_std=0.5, paper_runs=100, margin=1.0)):
        assert verdicts.judge(paper, values)[0] == verdicts.INCONCLUSIVE
        runs = verdicts.runs_to_settle(values, paper)
        mean, std = sum(values) / 5, verdicts.stats.tstd(values)
        def decides(n):      # the same mean and spread over n runs: an exact sample of that size
            sample = [mean + std * z for z in standardised(n)]
            return verdicts.judge(paper, sample)[0] != verdicts.INCONCLUSIVE
        assert decides(runs) and not decides(runs - 1)
    on_the_bound = claim(paper_value=83.0, paper_std=None, margin=abs(sum(values) / 5 - 83.0))
    assert verdicts.runs_to_settle(values, on_the_bound) is None
    too_uncertain = claim(paper_value=83.0, paper_std=3.0, paper_runs=5, margin=1.0)     # the paper's own interval is wider
    assert verdicts.runs_to_settle(values, too_uncertain) is None


def standardised(n):
    """n numbers with mean 0 and sample std 1."""
    raw = [float(i) for i in range(n)]
    mean = sum(raw) / n
    std = (sum((r - mean) ** 2 for r in raw) / (n - 1)) ** 0.5
    return [(r - mean) / std for r in raw]


def test_a_run_that_diverged_leaves_the_claim_inconclusive():
    verdict, interval, why = verdicts.judge(claim(), [72.4, float("nan"), 72.6])
    assert verdict == verdicts.INCONCLUSIVE and interval is None and why == "1 of 3 runs gave no finite value"


def test_badges():
    def result(verdict):
        return verdicts.ClaimResult(claim=None, verdict=verdict)
    assert verdicts.badge([result("reproduced")] * 2) == "[Re]"
    assert verdicts.badge([result("reproduced"), result("not run here")]) == "partial"
    assert verdicts.badge([result("not run yet")]) == "not run"


def test_changed_notebook_code_makes_the_record_stale(book):
    chapter = fake_record(book, {"gat-cora": [83.0, 83.2]})
    source = chapter.notebook_source("gat")
    source.write_text(source.read_text().replace('tier = "smoke"', 'tier = "smoke"; edited = True'))
    problems = verdicts.chapter_problems(chapter)
    assert any("stale" in p for p in problems)
    assert {r.verdict for r in verdicts.claim_results(chapter) if r.claim.id == "gat-cora"} == {verdicts.STALE}


def test_changed_chapter_module_makes_the_record_stale(book):
    chapter = fake_record(book, {"gat-cora": [83.0, 83.2]})
    module = chapter.folder / "gat_model.py"
    module.write_text(module.read_text() + "\n# a comment and a docstring change nothing\n")
    module.write_text(module.read_text().replace('"""', '"""Reworded. ', 1))
    assert verdicts.chapter_problems(chapter) == []
    module.write_text(module.read_text() + "\nNEGATIVE_SLOPE = 0.3\n")
    assert any("stale" in p for p in verdicts.chapter_problems(chapter))


def test_only_the_modules_a_notebook_imports_make_its_record_stale(book):
    folder = book / "replications" / "gat"
    (folder / "attention_helpers.py").write_text("SCALE = 1.0\n")     # imported through gat_protocol.py
    protocol = folder / "gat_protocol.py"
    protocol.write_text("import attention_helpers\n" + protocol.read_text())
    chapter = fake_record(book, {"gat-cora": [83.0, 83.2]})
    (folder / "next_trainer.py").write_text("# a trainer no notebook uses yet\n")
    assert verdicts.chapter_problems(chapter) == []
    (folder / "attention_helpers.py").write_text("SCALE = 2.0\n")
    assert any("stale" in p for p in verdicts.chapter_problems(chapter))


def test_missing_record_fails_only_a_chapter_marked_done(book):
    chapter = chapters.get_chapter("gat", book)
    assert verdicts.chapter_problems(chapter) == []
    meta = book / "replications/gat/chapter.yaml"
    meta.write_text(meta.read_text().replace("status: in-progress", "status: done"))
    problems = verdicts.chapter_problems(chapters.get_chapter("gat", book))
    assert any("no full-tier record" in p for p in problems)


def test_an_interrupted_write_keeps_the_previous_record(tmp_path, monkeypatch):
    path = tmp_path / "records" / "gat-full.json"
    atomic_write_json(path, {"version": 1})

    def broken_dump(payload, handle, **kwargs):
        handle.write('{"version": 2, "trunc')
        raise KeyboardInterrupt
    monkeypatch.setattr(json, "dump", broken_dump)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_json(path, {"version": 2})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"version": 1}
    assert [p.name for p in path.parent.iterdir()] == ["gat-full.json"]


PAPER_LIST = ROOT.parent / "shared" / "papers.tsv"      # the project's list of papers, beside the checkout


def test_the_catalogue_is_valid_and_complete():
    """Every paper of the project's list exactly once, each triaged (read_catalogue refuses a row without
    a status, field, year or experiment, and any row but a replicated one without its reason)."""
    from reprobook.contract import read_catalogue
    if not PAPER_LIST.is_file():
        pytest.skip(f"the project's paper list is not beside this checkout ({PAPER_LIST.name}); CI has it")
    rows = read_catalogue(ROOT)
    papers = PAPER_LIST.read_text().splitlines()[1:]
    titles = [row["title"] for row in rows]
    assert sorted(titles) == sorted(papers) and len(set(titles)) == len(titles) == 215
    assert {row["chapter"] for row in rows if row["status"] == "replicated"} <= set(chapters.all_chapters())
    assert all(row["reason"] for row in rows if row["status"] != "replicated")


def test_claims_compared_by_rank_judge_the_ordering_of_the_models_that_ran(book):
    """Hardware-bound claims (timings): reproduced when the model's place among its group's claims
    that ran is its place in the paper, whatever the absolute values."""
    path = book / "replications/gat/claims.yaml"
    data = yaml.safe_load(path.read_text())
    for claim in data["claims"]:
        claim.update({"compare": "rank", "rank_group": "time", "decimals": 3, "rank_reason": "timings"})
        for field in chapters.VALUE_CLAIM_FIELDS:
            del claim[field]
    path.write_text(yaml.safe_dump(data))
    chapter = chapters.get_chapter("gat", book)
    paper = {c.id: c.paper_value for c in chapter.claims}          # GAT Cora 83.0 > GCN Cora 81.5, ...
    ranked = sorted(paper, key=paper.get)
    same_order = {cid: [float(i)] for i, cid in enumerate(ranked[:3])}
    fake_record(book, same_order, not_run=ranked[3:])
    results = {r.claim.id: r.verdict for r in verdicts.claim_results(chapter)}
    assert all(results[cid] == verdicts.REPRODUCED for cid in same_order)
    swapped = {ranked[0]: [1.0], ranked[1]: [0.0], ranked[2]: [2.0]}
    fake_record(book, swapped, not_run=ranked[3:])
    results = {r.claim.id: r.verdict for r in verdicts.claim_results(chapter)}
    assert [results[c] for c in ranked[:3]] == [verdicts.NOT_REPRODUCED, verdicts.NOT_REPRODUCED, verdicts.REPRODUCED]


def test_a_rank_claim_needs_its_group(book):
    path = book / "replications/gat/claims.yaml"
    data = yaml.safe_load(path.read_text())
    data["claims"][0]["compare"] = "rank"
    for field in chapters.VALUE_CLAIM_FIELDS:
        del data["claims"][0][field]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ReprobookError, match="needs a 'rank_group' and a 'rank_reason'"):
        chapters.get_chapter("gat", book)


def test_a_claim_run_on_its_own_seeds_says_which(tmp_path):
    from reprobook.pages import describe_seeds
    import torch

    builder = records.RecordBuilder("gat", "gat", "full", ROOT / "replications" / "gat" / "gat.md", torch.device("cpu"),
                                    [0, 1, 2, 3, 4])
    entry = builder.claim("cheap-model", [1.0, 2.0], train_seconds=1.0, seeds=[0, 1])
    assert entry["seeds"] == [0, 1] and entry["n"] == 2
    assert "seeds" not in builder.claim("other", [1.0], train_seconds=1.0)
    with pytest.raises(ValueError, match="2 values but 1 seeds"):
        builder.claim("cheap-model", [1.0, 2.0], train_seconds=1.0, seeds=[0])
    assert describe_seeds([0, 1, 2, 3, 4]) == "5 (0–4)"
    assert describe_seeds([0]) == "1 (0)"
    assert describe_seeds([0, 2, 7]) == "3 (0, 2, 7)"


def test_the_training_time_counts_runs_that_back_no_claim(tmp_path):
    from reprobook.notebooks import other_training, runtime_summary
    import torch

    builder = records.RecordBuilder("gat", "gat", "full", ROOT / "replications" / "gat" / "gat.md", torch.device("cpu"), [0])
    builder.claim("gat-cora", [83.0], train_seconds=60.0)
    builder.claim("gat-cora-oracle", [90.0], train_seconds=0.0)
    builder.training("figure runs", 120.0)
    path = builder.write(tmp_path)
    record = json.loads(path.read_text())
    assert record["compute_seconds"] == 180.0
    assert other_training(record) == "figure runs 2.0 min"
    assert "of which runs behind no claim: figure runs 2.0 min" in runtime_summary(record, path)
    assert other_training({"compute_seconds": 1.0}) == ""          # records written before the field existed


def test_numbers_in_prose_come_from_the_records(book, monkeypatch):
    from reprobook.pages import measured_value

    chapter = fake_record(book, {"gat-cora": [82.94, 83.36]}, not_run=["gat-pubmed"])
    record = json.loads(chapter.record_path("gat", "full").read_text())
    record["details"] = {"gat-cora/epochs": [210, 190], "curve": {"8": [99.51]},
                         "kept": {"gat": [{"3": 12.04, "5": 1.0}, {"3": 14.0, "5": 2.0}]}}
    atomic_write_json(chapter.record_path("gat", "full"), record)
    monkeypatch.chdir(book)
    assert measured_value("gat:gat-cora") == "83.2 ± 0.3"
    assert measured_value("gat:gat-cora:runs") == "82.9 and 83.4"
    assert measured_value("gat:gat-cora:n") == "2"
    assert measured_value("gat:gat-cora/epochs:runs") == "210 and 190"
    assert measured_value("gat:curve/8") == "99.5"
    assert measured_value("gat:kept/gat/3:runs") == "12.0 and 14.0"        # an entry of each run's mapping
    for spec, message in [("gat:gat-pubmed", "has not run"), ("gat:gcn-cora", "no full-tier record"),
                          ("gat:gat-cora:median", "expected CHAPTER:CLAIM"), ("nope:x", "unknown chapter")]:
        with pytest.raises(ReprobookError, match=message):
            measured_value(spec)


def test_the_runtime_section_says_where_stored_runs_were_trained():
    from reprobook.pages import trained_by
    laptop = {"device": "CPU: laptop (1 threads)", "torch": "2.13.0", "commit": "abcdef1234567", "uncommitted_changes": False}
    gpu = {"device": "CUDA: H100", "torch": "2.13.0", "commit": "1234567abcdef", "uncommitted_changes": True}
    record = {"details": {"a/trained_by": [laptop, laptop], "b/trained_by": [gpu], "a/train_accuracy_on_2000": [99.0, 98.0]}}
    assert trained_by(record) == ["2 run(s) trained on CPU: laptop (1 threads), torch 2.13.0, at commit(s) `abcdef1234`",
                                  "1 run(s) trained on CUDA: H100, torch 2.13.0, at commit(s) `1234567abc` with uncommitted changes"]
    assert trained_by({"details": {}}) == []


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_no_record_stored_seed_or_executed_notebook_names_a_folder_of_the_machine():
    files = [*ROOT.glob("replications/*/records/*.json"), *ROOT.glob("replications/*/runs/**/*.json"),
             *(chapter.executed_notebook(nb) for chapter in chapters.all_chapters().values() for nb in chapter.notebooks)]
    assert files
    for path in files:
        found = [text for text in strings(json.loads(path.read_text())) if MACHINE_PATH.search(text)]
        assert not found, f"{path.relative_to(ROOT)}: {found[0][:200]}"
    assert MACHINE_PATH.search("missing data file: not in the offline mirror REPROBOOK_OFFLINE_MIRROR=/tmp/mirror")


@pytest.mark.parametrize("seeds", [[], 3, [0, -1], [0, 1.5], None])
def test_a_parameter_naming_seeds_needs_a_list_of_non_negative_seeds(seeds):
    from reprobook.notebooks import check_seed_list

    with pytest.raises(ReprobookError, match=r"curve_seeds needs a list of non-negative seeds, got "):
        check_seed_list("curve_seeds", seeds)
    assert check_seed_list("curve_seeds", [0, 4]) == [0, 4]
