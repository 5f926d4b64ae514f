"""Train EGNN's N-body runs into the run store in parallel, one process and one thread per run, for the
notebook to read back.

On a CPU one run takes 5 to 7 hours, and the notebook trains its models one after another. This script
trains the same runs (``egnn_protocol.run_protocol``, the function the notebook calls, on the same data)
in as many processes as there are cores. A job is ``MODEL:SEEDS`` (seeds ``0-4`` or ``0,3``). Stopped,
a run continues from its last checkpoint (every 250 epochs) when the script or the notebook runs again.

    REPROBOOK_RUNS=replications/egnn/runs python replications/egnn/egnn_train_runs.py EGNN:0 GNN:0 "Radial Field:0" Linear:0
"""
import torch

from egnn_model import MODELS
from egnn_protocol import run_protocol
from nbody import SplitSizes, dataset
from reprobook.cli import parse_seeds
from reprobook.errors import ReprobookError
from reprobook.jobs import command_line, run_in_processes


def parse_job(text: str) -> list[tuple[str, int]]:
    """``MODEL:SEEDS`` as one (model, seed) per seed."""
    model, _, seeds = text.rpartition(":")
    if model not in MODELS:
        raise ReprobookError(f"job {text!r}: expected MODEL:SEEDS with a model of {', '.join(MODELS)}")
    return [(model, seed) for seed in parse_seeds(seeds)]


def train(job: tuple[str, int]) -> str:
    model, seed = job
    run = run_protocol(model, [seed], dataset(sizes=SplitSizes()), torch.device("cpu"), log=lambda _: None)[0]
    stored = ", already stored" if run["resumed"] else ""
    return f"{model} / seed {seed}: test MSE {run['test_mse']:.4f} at epoch {run['best_epoch']}{stored}"


def main() -> None:
    args = command_line(__doc__.splitlines()[0], "MODEL:SEEDS", parse_job)
    run_in_processes(train, args.jobs, args.workers)


if __name__ == "__main__":
    main()
