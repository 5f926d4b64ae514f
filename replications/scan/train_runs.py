"""Train SCAN runs into the run store in parallel, one process and one thread per run, for the
notebooks to read back.

A full SCAN tier is many hours of CPU at the paper's batch size of 1, and a notebook trains its runs
one after another. This script trains the same runs (``seq2seq_runs.run_protocol``, the function the
notebooks call, with the same arguments) in as many processes as there are cores; the notebook then
finds every seed in the run store and only evaluates its figures and record. A job is
``SPLIT:ARCHITECTURE:SEEDS``, with ``:oracle`` where the notebook also decodes with the oracle length
(Experiment 2); seeds are ``0-4`` or ``0,3``. Interrupted, it loses only the runs in progress.

    REPROBOOK_RUNS=replications/scan/runs python replications/scan/train_runs.py \\
        addprim_jump:overall-best:0-4 "addprim_turn_left:top: turn left:0-4"
"""
import time

import torch

import seq2seq_runs
from scan_protocol import ARCHITECTURES, PAPER_PROTOCOL
from reprobook.cli import parse_seeds
from reprobook.errors import ReprobookError
from reprobook.jobs import command_line, run_in_processes
from scan_data import SPLITS


def parse_job(text: str) -> list[tuple[str, str, int, bool]]:
    """``SPLIT:ARCHITECTURE:SEEDS[:oracle]`` as one (split, architecture, seed, oracle) per seed."""
    parts = text.split(":")
    oracle = parts[-1] == "oracle"
    parts = parts[:-1] if oracle else parts
    split, architecture, seeds = parts[0], ":".join(parts[1:-1]), parts[-1]
    if split not in SPLITS or architecture not in ARCHITECTURES:
        raise ReprobookError(f"job {text!r}: expected SPLIT:ARCHITECTURE:SEEDS[:oracle] with a split of "
                             f"{', '.join(SPLITS)} and an architecture of {', '.join(ARCHITECTURES)}")
    return [(split, architecture, seed, oracle) for seed in parse_seeds(seeds)]


def train(job: tuple[str, str, int, bool, int | None]) -> str:
    split, architecture, seed, oracle, updates = job
    torch.set_num_threads(1)
    began = time.time()
    run = seq2seq_runs.run_protocol(split, architecture, ARCHITECTURES[architecture], PAPER_PROTOCOL, [seed],
                                    torch.device("cpu"), updates=updates, oracle=oracle, log=lambda _: None)[0]
    how = "already stored" if run["resumed"] else f"{(time.time() - began) / 60:.0f} min"
    return f"{split} / {architecture} / seed {seed}: test {run['accuracy']:.2f} %, training {run['train_accuracy']:.1f} % ({how})"


def main() -> None:
    args = command_line(__doc__.splitlines()[0], "SPLIT:ARCHITECTURE:SEEDS[:oracle]", parse_job, lambda parser: parser.add_argument(
        "--updates", type=int, help="the notebooks' smoke tier: 100; default: the paper's 100,000"))
    run_in_processes(train, [(*job, args.updates) for job in args.jobs], args.workers)


if __name__ == "__main__":
    main()
