"""Background training jobs in parallel processes, one thread each, for a chapter's notebook to read
back from the run store: a chapter's ``train_runs.py`` says what a job is and how it trains."""
import argparse
import functools
import multiprocessing
import os
import signal
import sys
import time
from typing import Callable, Iterable

from .errors import ReprobookError


def command_line(description: str, job_help: str, parse_job: Callable, add_options=None) -> argparse.Namespace:
    """The script's arguments: jobs (each text parsed by ``parse_job`` into a list of jobs), ``--workers``
    (default: every core) and the script's own options; a malformed job is a usage error (exit 2)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("jobs", nargs="+", help=job_help)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    if add_options:
        add_options(parser)
    args = parser.parse_args()
    try:
        args.jobs = [job for text in args.jobs for job in parse_job(text)]
    except ReprobookError as error:
        parser.error(str(error))
    return args


def _one_thread() -> None:
    """Each worker's torch on one thread: side by side, threads would only compete for the cores."""
    import torch

    torch.set_num_threads(1)


def _timed(train: Callable, job) -> str:
    began = time.time()
    line = train(job)
    hours = (time.time() - began) / 3600
    return f"{line} ({hours:.1f} h)" if hours >= 2 else f"{line} ({hours * 60:.1f} min)"


def run_in_processes(train: Callable, jobs: Iterable, workers: int) -> None:
    """``train(job)`` for every job, ``workers`` at a time, each in a fresh process with torch on one
    thread; prints the line each returns, with the clock time and how long the job took, as it finishes.
    ``train`` must be a module-level function (spawned processes import it)."""
    # A plain `kill` of this process would leave its workers running: leave through the pool's exit instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped: finished runs are stored, and so is the last "
                                                      "checkpoint of a run in progress where its chapter keeps one"))
    with multiprocessing.get_context("spawn").Pool(workers, initializer=_one_thread, maxtasksperchild=1) as pool:
        for line in pool.imap_unordered(functools.partial(_timed, train), list(jobs)):
            print(time.strftime("%H:%M"), line, flush=True)
