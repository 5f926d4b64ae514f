"""Train the NTK chapter's runs into the run store in parallel, one process and one thread per job, for the
notebook to read back.

A job is ``KIND:WIDTH:SEEDS``: ``kernel:10000:0-4`` (Section 6.1's kernel runs, 200 steps) or
``function:50:0-99`` (Section 6.2's function runs, 1000 steps). The widest kernel runs take about ten
minutes each on one CPU core; give them a job each and the narrow widths one job between them.

    REPROBOOK_RUNS=replications/ntk/runs python replications/ntk/ntk_train_runs.py kernel:10000:0-4 kernel:10000:5-9 kernel:5000:0-9 function:50:0-99
"""
import torch

from ntk_protocol import run_functions, run_kernels
from reprobook.cli import parse_seeds
from reprobook.errors import ReprobookError
from reprobook.jobs import command_line, run_in_processes

RUNS = {"kernel": run_kernels, "function": run_functions}


def parse_job(text: str) -> list[tuple[str, int, list[int]]]:
    kind, _, rest = text.partition(":")
    width, _, seeds = rest.partition(":")
    if kind not in RUNS or not width.isdigit():
        raise ReprobookError(f"job {text!r}: expected KIND:WIDTH:SEEDS with a kind of {', '.join(RUNS)}")
    return [(kind, int(width), parse_seeds(seeds))]


def train(job: tuple[str, int, list[int]]) -> str:
    kind, width, seeds = job
    RUNS[kind](width, seeds, torch.device("cpu"), log=lambda _: None)
    return f"{kind} runs of width {width}, seeds {seeds[0]}-{seeds[-1]}"


def main() -> None:
    args = command_line(__doc__.splitlines()[0], "KIND:WIDTH:SEEDS", parse_job)
    run_in_processes(train, args.jobs, args.workers)


if __name__ == "__main__":
    main()
