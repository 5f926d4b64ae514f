"""Paper vs ours: a verdict per claim, a badge per chapter, and the staleness checks.

Verdicts: ``reproduced`` (our mean within the claim's tolerance of the paper's value; for a claim
compared by rank, the model's place among its group's claims that ran is the paper's place), ``not
reproduced``, ``not run here`` (the notebook ran but could not run this claim, with its reason),
``not run yet`` (no full-tier record) and ``stale`` (a record made by other code than the current one).
"""
import json
from dataclasses import dataclass

from .chapters import Chapter, Claim
from .fingerprints import notebook_code
from .records import load_record

REPRODUCED, NOT_REPRODUCED = "reproduced", "not reproduced"
NOT_RUN_HERE, NOT_RUN_YET, STALE = "not run here", "not run yet", "stale"


@dataclass
class ClaimResult:
    claim: Claim
    verdict: str
    mean: float | None = None
    std: float | None = None
    n: int | None = None
    reason: str = ""
    record: dict | None = None

    @property
    def gap(self) -> float | None:
        return None if self.mean is None else self.mean - self.claim.paper_value


def record_problems(chapter: Chapter, notebook: str, tier: str = "full") -> list[str]:
    """Why this notebook's committed record and executed notebook cannot be trusted (empty if they can)."""
    record = load_record(chapter.record_path(notebook, tier))
    if record is None:
        return [f"{chapter.id}/{notebook}: no {tier}-tier record ({chapter.record_path(notebook, tier).name})"]
    problems = []
    current = notebook_code(chapter.notebook_source(notebook)).sha256
    if record.get("code_hash") != current:
        problems.append(f"{chapter.id}/{notebook}: stale {tier}-tier record: made by other code than the current "
                        f"notebook and the modules it imports (record {record.get('code_hash', '?')[:12]}, now {current[:12]})")
    executed = chapter.executed_notebook(notebook)
    if not executed.is_file():
        problems.append(f"{chapter.id}/{notebook}: the executed notebook {executed.name} is missing")
    else:
        if notebook_code(executed).sha256 != record.get("code_hash"):
            problems.append(f"{chapter.id}/{notebook}: {executed.name} was not executed from the code that made the record")
        cells = json.loads(executed.read_text()).get("cells", [])
        if any(out.get("output_type") == "error" for cell in cells for out in cell.get("outputs", [])):
            problems.append(f"{chapter.id}/{notebook}: {executed.name} contains an error output")
        tiers = [c for c in cells if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
        if tiers and f'tier = "{tier}"' not in "".join(tiers[0].get("source", "")):
            problems.append(f"{chapter.id}/{notebook}: {executed.name} was not executed on the {tier} tier")
    return problems


def claim_results(chapter: Chapter) -> list[ClaimResult]:
    """One verdict per claim from the chapter's committed full-tier records."""
    results = []
    stale = {nb: bool(record_problems(chapter, nb)) for nb in chapter.notebooks}
    for claim in chapter.claims:
        record = load_record(chapter.record_path(claim.notebook, "full"))
        entry = (record or {}).get("claims", {}).get(claim.id)
        if record is None or entry is None:
            results.append(ClaimResult(claim, NOT_RUN_YET, reason="no full-tier record"))
        elif entry["status"] == "not_run":
            verdict = STALE if stale[claim.notebook] else NOT_RUN_HERE
            results.append(ClaimResult(claim, verdict, reason=entry["reason"], record=record))
        else:
            within = abs(entry["mean"] - claim.paper_value) <= claim.tolerance
            verdict = STALE if stale[claim.notebook] else (REPRODUCED if within else NOT_REPRODUCED)
            results.append(ClaimResult(claim, verdict, entry["mean"], entry["std"], entry["n"], record=record))
    for result in results:
        if result.claim.compare == "rank" and result.verdict in (REPRODUCED, NOT_REPRODUCED):
            result.verdict = REPRODUCED if same_rank(result, results) else NOT_REPRODUCED
    return results


def same_rank(result: ClaimResult, results: list[ClaimResult]) -> bool:
    """Whether the claim's place in its rank group, among the group's claims that ran, is the paper's."""
    group = [r for r in results if r.claim.rank_group == result.claim.rank_group and r.mean is not None]
    ours = sorted(group, key=lambda r: r.mean).index(result)
    paper = sorted(group, key=lambda r: r.claim.paper_value).index(result)
    return ours == paper


def badge(results: list[ClaimResult]) -> str:
    """``[Re]`` when every claim ran and was reproduced, ``[¬Re]`` when a run claim was not,
    ``partial`` when the claims that ran were reproduced but others did not run, ``not run`` when none ran."""
    ran = [r for r in results if r.verdict in (REPRODUCED, NOT_REPRODUCED)]
    if any(r.verdict == STALE for r in results):
        return "stale"
    if not ran:
        return "not run"
    if any(r.verdict == NOT_REPRODUCED for r in ran):
        return "[¬Re]"
    return "[Re]" if len(ran) == len(results) else "partial"


def chapter_problems(chapter: Chapter) -> list[str]:
    """What makes ``reprobook verify`` fail: a stale record always, a missing one when the chapter is done."""
    problems = []
    for notebook in chapter.notebooks:
        found = record_problems(chapter, notebook)
        missing = not chapter.record_path(notebook, "full").is_file()
        if missing and chapter.status != "done":
            continue
        problems.extend(found)
    if chapter.status == "done":
        for result in claim_results(chapter):
            if result.verdict == NOT_RUN_YET:
                problems.append(f"{chapter.id}: chapter is marked done but claim {result.claim.id} has no record")
    return problems


def format_value(mean, std, n=None, decimals: int = 1) -> str:
    if mean is None:
        return "—"
    text = f"{mean:.{decimals}f} ± {std:.{decimals}f}" if std else f"{mean:.{decimals}f}"
    return f"{text} (n={n})" if n else text

