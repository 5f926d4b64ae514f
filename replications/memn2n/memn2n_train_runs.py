"""Train the MemN2N restarts of the full tier into the run store in parallel, one process and one thread per job,
for the notebook to read back.

A job is ``per-task:TASKS:SEEDS`` (PE LS RN, 3 hops, trained on each task alone: one job per task) or
``joint:MODEL:SEEDS`` with MODEL one of joint-1-hop, joint-2-hops, joint-3-hops, joint-pe-ls-rn (one job per
restart). On one CPU core a per-task restart takes 8 to 21 seconds, a joint one 3 (one hop) to 6 minutes (three
hops). Stopped, a job continues at its first restart not stored when the script or the notebook runs again. The
full tier:

    REPROBOOK_RUNS=replications/memn2n/runs python replications/memn2n/memn2n_train_runs.py per-task:1-20:0-29 joint:joint-1-hop:0-29 joint:joint-2-hops:0-29 joint:joint-3-hops:0-29 joint:joint-pe-ls-rn:0-29
"""
import torch

from memn2n_data import TASKS
from memn2n_protocol import JOINT_MODELS, Runs
from reprobook.cli import parse_seeds
from reprobook.errors import ReprobookError
from reprobook.jobs import command_line, run_in_processes


def parse_job(text: str) -> list[tuple]:
    kind, _, rest = text.partition(":")
    which, _, seeds = rest.rpartition(":")
    if kind == "per-task":
        tasks = parse_seeds(which)
        if not set(tasks) <= set(TASKS):
            raise ReprobookError(f"job {text!r}: the tasks are 1-20")
        return [("per-task", task, parse_seeds(seeds)) for task in tasks]
    if kind == "joint" and which in JOINT_MODELS:
        return [("joint", which, [seed]) for seed in parse_seeds(seeds)]
    raise ReprobookError(f"job {text!r}: expected per-task:TASKS:SEEDS or joint:MODEL:SEEDS with a model of "
                         f"{', '.join(JOINT_MODELS)}")


def train(job: tuple) -> str:
    kind, which, seeds = job
    runs = Runs(torch.device("cpu"), log=lambda _: None)
    if kind == "per-task":
        found = runs.per_task("pe-ls-rn", which, seeds)
    else:
        setting, hops = JOINT_MODELS[which]
        found = runs.joint(setting, hops, seeds)
    errors = sorted(sum(run["test_error"].values()) / len(run["test_error"]) for run in found)
    return f"{kind} {which} / restarts {seeds[0]}-{seeds[-1]}: median test error {errors[len(errors) // 2]:.1f} %"


def main() -> None:
    args = command_line(__doc__.splitlines()[0], "per-task:TASKS:SEEDS or joint:MODEL:SEEDS", parse_job)
    run_in_processes(train, args.jobs, args.workers)


if __name__ == "__main__":
    main()
