"""Train Git Re-Basin's pairs into the run store in parallel, one process and one thread per job, for the
notebook to read back.

A job is ``WIDTH:PAIRS``: ``1:0-4`` for the five full-width pairs (followed through training at the
notebook's observed epochs), ``0.25:0-2`` for three pairs of a narrower network (the end point only).

    REPROBOOK_RUNS=replications/git_rebasin/runs python replications/git_rebasin/rebasin_train_runs.py 1:0-1 1:2-4 0.125:0-2 0.25:0-2 0.5:0-2
"""
import torch

from rebasin_protocol import WIDTH_MULTIPLIERS, run_pairs
from reprobook.cli import parse_seeds
from reprobook.errors import ReprobookError
from reprobook.jobs import command_line, run_in_processes


def parse_job(text: str) -> list[tuple[float, list[int]]]:
    width, _, pairs = text.rpartition(":")
    try:
        multiplier = float(width)
    except ValueError:
        multiplier = None
    if multiplier not in WIDTH_MULTIPLIERS:
        raise ReprobookError(f"job {text!r}: expected WIDTH:PAIRS with a width of {', '.join(map(str, WIDTH_MULTIPLIERS))}")
    return [(multiplier, parse_seeds(pairs))]


def train(job: tuple[float, list[int]]) -> str:
    multiplier, pairs = job
    kwargs = {} if multiplier == 1.0 else {"observed": ()}
    found = run_pairs(pairs, torch.device("cpu"), width_multiplier=multiplier, log=lambda _: None, **kwargs)
    barriers = ", ".join(f"{pair['barriers']['weight matching']['test']:.3f}" for pair in found)
    return f"width {multiplier:g} / pairs {pairs}: test barrier after weight matching {barriers}"


def main() -> None:
    args = command_line(__doc__.splitlines()[0], "WIDTH:PAIRS", parse_job)
    run_in_processes(train, args.jobs, args.workers)


if __name__ == "__main__":
    main()
