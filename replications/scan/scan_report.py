"""What the SCAN notebooks show: claims into records, accuracy by length, failure examples."""
import numpy as np

from reprobook.errors import ReprobookError
from reprobook.notebooks import check_seed_list


def record_runs(record, claim_id: str, runs: list[dict]) -> None:
    """A claim's per-seed test accuracies, with training accuracy, speed and each seed's provenance
    (where, on what and from which commit it was trained) as details."""
    record.claim(claim_id, [run["accuracy"] for run in runs], train_seconds=sum(run["train_seconds"] for run in runs),
                 resumed=sum(run["resumed"] for run in runs), seeds=[run["seed"] for run in runs])
    record.detail(f"{claim_id}/train_accuracy_on_2000", [run["train_accuracy"] for run in runs])
    record.detail(f"{claim_id}/updates_per_second", [run["updates_per_second"] for run in runs])
    record.detail(f"{claim_id}/trained_by", [run["trained_by"] for run in runs])


def accuracy_by_length(runs: list[dict], key: str = "by_target_length") -> tuple[list[int], np.ndarray]:
    """Target lengths and, per run, the exact-match accuracy (%) of the test commands of that length."""
    lengths = sorted({int(k) for run in runs for k in run[key]})
    table = np.array([[100 * run[key][str(n)][0] / run[key][str(n)][1] if str(n) in run[key] else np.nan
                       for n in lengths] for run in runs])
    return lengths, table


def plot_by_length(ax, runs: list[dict], label: str, key: str = "by_target_length", **style) -> None:
    lengths, table = accuracy_by_length(runs, key)
    ax.plot(lengths, np.nanmean(table, 0), marker="o", ms=3, label=label, **style)


def failure_table(runs: list[dict], count: int = 8) -> str:
    """Markdown: test commands the first run got wrong, with the truth and its output."""
    rows = ["| command | truth | ours |", "|---|---|---|"]
    for command, truth, ours in runs[0]["failures"][:count]:
        rows.append(f"| {command} | {truth} | {ours or '(nothing)'} |")
    return "\n".join(rows)


def check_runs(results: dict, actions, tier: str) -> None:
    """Sanity bounds: outputs are action sequences; on the full tier every run has learned its training
    set well beyond chance (an untrained network scores 0 %). How close each run comes to the paper's
    own training accuracies is shown by ``training_accuracy_table``, not asserted."""
    for claim_id, runs in results.items():
        for run in runs:
            assert 0.0 <= run["accuracy"] <= 100.0
            assert all(token in actions.tokens for _, _, ours in run["failures"] for token in ours.split())
            if tier == "full":
                assert run["train_accuracy"] >= 50.0, f"{claim_id}, seed {run['seed']}: training accuracy {run['train_accuracy']:.1f} %"


# Sec. 3: "Training accuracy was above 99.5% for the overall-best network in each of the key
# experiments, and it was at least 95% for the top-performers in each experiment specifically."
PAPER_TRAINING_ACCURACY = {"overall-best": 99.5, "top": 95.0}


def training_accuracy_table(results: dict, claims: dict) -> str:
    """Markdown: each run's exact-match accuracy on the first 2,000 training commands, against the
    paper's statement about training accuracy."""
    rows = ["| claim | architecture | seed | training accuracy (%) | the paper's |", "|---|---|---|---|---|"]
    for claim_id, runs in results.items():
        architecture = claims[claim_id].model
        bar = PAPER_TRAINING_ACCURACY["overall-best" if architecture == "overall-best" else "top"]
        for run in runs:
            shortfall = " (below)" if run["train_accuracy"] < bar else ""
            rows.append(f"| {claim_id} | {architecture} | {run['seed']} | {run['train_accuracy']:.1f}{shortfall} | at least {bar:g} |")
    return "\n".join(rows)


def check_seeds_per_claim(seeds_per_claim: dict | None, claims_run: list[str]) -> dict:
    """The ``seeds_per_claim`` parameter, checked: claims this tier runs, each with a list of seeds."""
    seeds_per_claim = dict(seeds_per_claim or {})
    for claim_id, claim_seeds in seeds_per_claim.items():
        if claim_id not in claims_run:
            raise ReprobookError(f"seeds_per_claim: {claim_id!r} is not a claim of this tier; it runs {claims_run}")
        check_seed_list(f"seeds_per_claim: {claim_id!r}", claim_seeds)
    return seeds_per_claim
