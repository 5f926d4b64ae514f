"""Train the lottery-ticket trials into the run store in parallel, one process and one thread per job,
for the notebook to read back.

On a CPU one trial's 16 rounds and 4 controls take about 75 minutes of one core. A job is
``SETTING:SEEDS`` (``paper:0-1``); the trials of one job train side by side. Stopped, a trial continues
at the round it stopped in when the script or the notebook runs again.

    REPROBOOK_RUNS=replications/lottery_ticket/runs python replications/lottery_ticket/lottery_train_runs.py paper:0-1 paper:2-4 repository:0-2
"""
import torch

from lottery_protocol import SETTINGS, Trials, experiment
from reprobook.cli import parse_seeds
from reprobook.errors import ReprobookError
from reprobook.jobs import command_line, run_in_processes


def parse_job(text: str) -> list[tuple[str, list[int]]]:
    setting, _, seeds = text.rpartition(":")
    if setting not in SETTINGS:
        raise ReprobookError(f"job {text!r}: expected SETTING:SEEDS with a setting of {', '.join(SETTINGS)}")
    return [(setting, parse_seeds(seeds))]


def train(job: tuple[str, list[int]]) -> str:
    setting, seeds = job
    found = experiment(Trials(setting, torch.device("cpu"), log=lambda _: None), seeds)
    last = max(found["ticket"])
    accuracy = ", ".join(f"{run['test_accuracy']:.2f}" for run in found["ticket"][last])
    return f"{setting} / trials {seeds}: test accuracy at round {last}: {accuracy}"


def main() -> None:
    args = command_line(__doc__.splitlines()[0], "SETTING:SEEDS", parse_job)
    run_in_processes(train, args.jobs, args.workers)


if __name__ == "__main__":
    main()
