"""Background training jobs in parallel processes, one thread each, for a chapter's notebook to read
back from the run store: a chapter's ``train_runs.py`` says what a job is and how it trains."""
import multiprocessing
import signal
import sys
import time
from typing import Callable, Iterable


def run_in_processes(train: Callable, jobs: Iterable, workers: int) -> None:
    """``train(job)`` for every job, ``workers`` at a time, each in a fresh process; prints the line each
    returns, with the time, as it finishes. ``train`` must be a module-level function (spawned processes
    import it)."""
    # A plain `kill` of this process would leave its workers running: leave through the pool's exit instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped: finished runs are stored, and so is the last "
                                                      "checkpoint of a run in progress where its chapter keeps one"))
    with multiprocessing.get_context("spawn").Pool(workers, maxtasksperchild=1) as pool:
        for line in pool.imap_unordered(train, list(jobs)):
            print(time.strftime("%H:%M"), line, flush=True)
