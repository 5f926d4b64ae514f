"""Paper vs ours: an equivalence test per claim, a badge per chapter, and the staleness checks.

A claim's verdict rests on the 95 % confidence interval of (our mean − the paper's value): Welch's
interval when the paper reports a spread over two or more runs, a one-sample t interval around the
paper's value when it reports the value alone. Against the claim's margin (fixed from the paper,
never from our result):

* ``reproduced``: the whole interval lies inside ± margin;
* ``not reproduced``: the whole interval lies outside it;
* ``inconclusive``: it straddles a bound (the result says roughly how many runs would settle it), or
  fewer than three runs leave no interval ("one run, inside the margin"), or the model does not do
  what the claim's ``works_where`` check asks (a claim that a method fails means something only
  beside proof that it works where it should).

Claims compared by ``rank`` (hardware-bound timings) are reproduced when the model's place among its
group's claims that ran is the paper's place. Further verdicts: ``not run here`` (the notebook could
not run the claim, with its reason), ``not run yet`` (no full-tier record) and ``stale`` (a record
made by other code than the current one).
"""
import json
import math
from dataclasses import dataclass

from scipy import stats

from .chapters import Chapter, Claim
from .fingerprints import notebook_code
from .records import load_record

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
NOT_RUN_HERE, NOT_RUN_YET, STALE = "not run here", "not run yet", "stale"
CONFIDENCE = 0.95
MIN_RUNS_FOR_AN_INTERVAL = 3


@dataclass
class Interval:
    low: float
    high: float
    method: str               # "Welch" or "one-sample t"

    @property
    def agreement(self) -> float:
        """The interval supports "ours agrees with the paper to within" this, in the claim's unit."""
        return max(abs(self.low), abs(self.high))


@dataclass
class ClaimResult:
    claim: Claim
    verdict: str
    mean: float | None = None
    std: float | None = None
    n: int | None = None
    reason: str = ""
    record: dict | None = None
    interval: Interval | None = None
    explanation: str = ""     # what a reader needs beside the verdict: too few runs, runs that would settle it

    @property
    def gap(self) -> float | None:
        return None if self.mean is None else self.mean - self.claim.paper_value


def _welch(ours_var: float, paper_var: float, n: int, paper_runs: int) -> tuple[float, float]:
    """Standard error and Welch-Satterthwaite degrees of freedom of a difference of two means."""
    se = math.sqrt(ours_var + paper_var)
    terms = ours_var ** 2 / (n - 1) + paper_var ** 2 / (paper_runs - 1)
    return se, (ours_var + paper_var) ** 2 / terms if terms > 0 else math.inf


def difference_interval(values: list[float], claim: Claim) -> Interval | None:
    """95 % interval of (our mean − paper), or None with fewer than three runs."""
    n = len(values)
    if n < MIN_RUNS_FOR_AN_INTERVAL:
        return None
    gap = sum(values) / n - claim.paper_value
    if claim.paper_std is not None and claim.paper_runs >= 2:
        ours_var, paper_var = stats.tvar(values) / n, claim.paper_std ** 2 / claim.paper_runs
        se, df = _welch(ours_var, paper_var, n, claim.paper_runs)
        if se == 0:
            return Interval(gap, gap, "Welch")
        low, high = stats.t.interval(CONFIDENCE, df, loc=gap, scale=se)
        return Interval(float(low), float(high), "Welch")
    if len(set(values)) == 1:      # identical runs: no spread, a point
        return Interval(gap, gap, "one-sample t")
    low, high = stats.ttest_1samp(values, claim.paper_value).confidence_interval(CONFIDENCE)
    return Interval(float(low) - claim.paper_value, float(high) - claim.paper_value, "one-sample t")


def runs_to_settle(values: list[float], claim: Claim, most: int = 100_000) -> int | None:
    """Roughly how many runs of ours, at today's mean and spread, would make the interval decide;
    None when no number would (the paper's own uncertainty, or a mean on the bound)."""
    n, mean = len(values), sum(values) / len(values)
    room = abs(abs(mean - claim.paper_value) - claim.margin)
    ours_var = stats.tvar(values)
    welch = claim.paper_std is not None and claim.paper_runs >= 2
    paper_var = claim.paper_std ** 2 / claim.paper_runs if welch else 0.0

    def half_width(runs: int) -> float:
        if welch:
            se, df = _welch(ours_var / runs, paper_var, runs, claim.paper_runs)
        else:
            se, df = math.sqrt(ours_var / runs), runs - 1
        return stats.t.ppf((1 + CONFIDENCE) / 2, df) * se

    if room == 0 or (welch and stats.t.ppf((1 + CONFIDENCE) / 2, claim.paper_runs - 1) * math.sqrt(paper_var) >= room):
        return None
    low, high = n, n + 1
    while half_width(high) >= room:          # grow, then halve: the half-width falls as runs grow
        low, high = high, high * 2
        if high > most:
            return None
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if half_width(middle) >= room else (low, middle)
    return high


def judge(claim: Claim, values: list[float], details: dict | None = None) -> tuple[str, Interval | None, str]:
    """(verdict, interval, explanation) of one claim compared by value."""
    n = len(values)
    if n == 0:
        return INCONCLUSIVE, None, "no runs"
    broken = sum(not math.isfinite(v) for v in values)
    if broken:
        return INCONCLUSIVE, None, f"{broken} of {n} runs gave no finite value"
    gap = sum(values) / n - claim.paper_value
    works = works_where_problem(claim, details or {})
    interval = difference_interval(values, claim)
    if interval is None:
        side = "inside" if abs(gap) <= claim.margin else "outside"
        runs = "one run" if n == 1 else f"{n} runs"
        return INCONCLUSIVE, None, f"{runs}, {side} the margin; an interval needs {MIN_RUNS_FOR_AN_INTERVAL} runs"
    if interval.low >= -claim.margin and interval.high <= claim.margin:
        verdict, explanation = REPRODUCED, ""
    elif interval.low > claim.margin or interval.high < -claim.margin:
        verdict, explanation = NOT_REPRODUCED, ""
    else:
        more = runs_to_settle(values, claim)
        verdict = INCONCLUSIVE
        explanation = (f"straddles the margin; about {more} runs would settle it" if more else
                       "straddles the margin; more runs of ours alone would not settle it")
    if works:
        return INCONCLUSIVE, interval, works
    return verdict, interval, explanation


def works_where_problem(claim: Claim, details: dict) -> str:
    """Why a claim's proof that the method works where it should fails ("" when it holds or none is asked)."""
    if not claim.works_where:
        return ""
    key, least = claim.works_where["detail"], claim.works_where["at_least"]
    values = details.get(key)
    if values is None:
        return f"the record lacks {key}, the proof that the model works where it should"
    values = values if isinstance(values, list) else [values]
    mean = sum(values) / len(values)
    if mean < least:
        return f"the model does not work where it should ({claim.works_where['reason']}: {mean:.1f} < {least:g})"
    return ""


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
            verdict, interval, explanation = (judge(claim, entry["values"], record.get("details"))
                                              if claim.compare == "value" else (NOT_RUN_YET, None, ""))
            results.append(ClaimResult(claim, STALE if stale[claim.notebook] else verdict, entry["mean"], entry["std"],
                                       entry["n"], record=record, interval=interval, explanation=explanation))
    for result in results:
        if result.claim.compare == "rank" and result.verdict != STALE and result.mean is not None:
            result.verdict = REPRODUCED if same_rank(result, results) else NOT_REPRODUCED
    return results


def same_rank(result: ClaimResult, results: list[ClaimResult]) -> bool:
    """Whether the claim's place in its rank group, among the group's claims that ran, is the paper's."""
    group = [r for r in results if r.claim.rank_group == result.claim.rank_group and r.mean is not None]
    ours = sorted(group, key=lambda r: r.mean).index(result)
    paper = sorted(group, key=lambda r: r.claim.paper_value).index(result)
    return ours == paper


def badge(results: list[ClaimResult]) -> str:
    """``[Re]`` when every claim was reproduced, ``[¬Re]`` when one was not reproduced, ``partial``
    when none failed but some are inconclusive or did not run, ``not run`` when none ran."""
    if any(r.verdict == STALE for r in results):
        return "stale"
    ran = [r for r in results if r.verdict in (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)]
    if not ran:
        return "not run"
    if any(r.verdict == NOT_REPRODUCED for r in ran):
        return "[¬Re]"
    return "[Re]" if all(r.verdict == REPRODUCED for r in results) else "partial"


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


def format_interval(result: ClaimResult) -> str:
    """``[-1.2, -0.8], within 1.2`` in the claim's decimals (one more where that reads as 0)."""
    interval, d = result.interval, result.claim.decimals
    if interval is None:
        return result.explanation or "—"
    while d < 6 and round(interval.agreement, d) == 0 and interval.agreement > 0:
        d += 1
    return f"[{interval.low:+.{d}f}, {interval.high:+.{d}f}], within {interval.agreement:.{d}f}"
