"""Train the DeepONet chapter's runs into the run store in parallel, one process and one thread per job,
for the notebook to read back.

A job is ``MODEL:SIZE:SEEDS``: ``DeepONet:10000:0-4`` (the unstacked DeepONet on 10,000 training
triplets, seeds 0 to 4) or ``FNN:1000:0-2``. On one CPU core a DeepONet run on 10,000 triplets takes
about ten minutes and an FNN run two to three times that; smaller training sets take less.

    REPROBOOK_RUNS=replications/deeponet/runs python replications/deeponet/deeponet_train_runs.py DeepONet:10000:0-4 FNN:10000:0-4
"""
import torch

from deeponet_model import MODELS
from deeponet_protocol import run_models
from reprobook.cli import parse_seeds
from reprobook.errors import ReprobookError
from reprobook.jobs import command_line, run_in_processes


def parse_job(text: str) -> list[tuple[str, int, list[int]]]:
    model, _, rest = text.partition(":")
    size, _, seeds = rest.partition(":")
    if model not in MODELS or not size.isdigit():
        raise ReprobookError(f"job {text!r}: expected MODEL:SIZE:SEEDS with a model of {', '.join(MODELS)}")
    return [(model, int(size), parse_seeds(seeds))]


def train(job: tuple[str, int, list[int]]) -> str:
    model, size, seeds = job
    run_models(model, size, seeds, torch.device("cpu"), log=lambda _: None)
    return f"{model} on {size} triplets, seeds {seeds[0]}-{seeds[-1]}"


def main() -> None:
    args = command_line(__doc__.splitlines()[0], "MODEL:SIZE:SEEDS", parse_job)
    run_in_processes(train, args.jobs, args.workers)


if __name__ == "__main__":
    main()
