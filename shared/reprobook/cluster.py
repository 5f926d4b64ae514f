"""Seeds trained as Ray tasks on an existing cluster (``reprobook run CHAPTER --engine ray``).

The notebook's kernel is the Ray driver: ``reprobook.runs.run_seeds`` sends each batch of missing seeds
as one task and writes each seed to the driver's run store as its task returns, so a stopped run
resumes where it stopped and the store never holds half a seed (a task whose worker dies is retried
by Ray). Workers get the checkout as Ray's ``working_dir`` (without the run stores, records and
figures) and the driver's import path inside it, so a task imports the same chapter code that keyed
its seeds; they must run the same Python environment as the driver, as Ray requires.

The kernel reports progress to a file (``REPROBOOK_PROGRESS``) that ``reprobook run`` shows as one
progress bar, so nothing of it reaches the executed notebook.
"""
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from .errors import ReprobookError
from .paths import repo_root

ENGINES = ("local", "ray")
ENGINE_ENV = "REPROBOOK_ENGINE"
ADDRESS_ENV = "REPROBOOK_RAY_ADDRESS"
PROGRESS_ENV = "REPROBOOK_PROGRESS"
# Not sent to the workers: what they never read, and the bulk of the checkout.
NOT_SENT = [".git", ".venv", "_build", "replications/*/runs", "replications/*/records", "replications/*/figures",
            "*.ipynb", "__pycache__"]


def engine() -> str:
    return os.environ.get(ENGINE_ENV, "local")


def check_address(address: str) -> None:
    """One line and exit 2 (a ReprobookError) when nothing listens at ``host:port``."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ReprobookError(f"--address {address!r}: expected HOST:PORT of a Ray cluster's head (ray start --head)")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as error:
        raise ReprobookError(f"no Ray cluster at {address} ({error.strerror or error}); start one with "
                             "`ray start --head` or give the head's address") from None


def worker_path() -> list[str]:
    """The driver's import path inside the checkout, relative to it (the workers' working directory)."""
    root, environment = repo_root().resolve(), Path(sys.prefix).resolve()
    entries = ["shared"]
    for entry in sys.path:
        path = Path(entry or os.getcwd()).resolve()
        if path.is_relative_to(root) and not path.is_relative_to(environment) and path.is_dir():
            relative = path.relative_to(root).as_posix() or "."
            if relative not in entries:
                entries.append(relative)
    return entries


def connect() -> None:
    import ray

    if ray.is_initialized():
        return
    address = os.environ[ADDRESS_ENV]
    check_address(address)
    ray.init(address=address, log_to_driver=False, logging_level="ERROR",
             runtime_env={"working_dir": str(repo_root()), "excludes": NOT_SENT,
                          "env_vars": {"PYTHONPATH": os.pathsep.join(worker_path()), "OMP_NUM_THREADS": "1"}})


def _train(train_batch: Callable, chunk: list[int]):
    import torch

    torch.set_num_threads(1)
    began = time.perf_counter()
    return train_batch(chunk), time.perf_counter() - began


def train_on_cluster(train_batch: Callable, chunks: list[list[int]], device) -> Iterator[tuple[list[int], list[dict], float]]:
    """Each chunk as one Ray task; ``(chunk, results, seconds)`` as each task returns, in any order."""
    import ray

    connect()
    task = ray.remote(_train).options(num_cpus=1, num_gpus=1 if device.type == "cuda" else 0, max_retries=3)
    pending = {task.remote(train_batch, chunk): chunk for chunk in chunks}
    report({"submitted": sum(map(len, chunks))})
    while pending:
        (done,), _ = ray.wait(list(pending), num_returns=1)
        chunk = pending.pop(done)
        results, seconds = ray.get(done)
        report({"done": len(chunk)})
        yield chunk, results, seconds


def report(event: dict) -> None:
    path = os.environ.get(PROGRESS_ENV)
    if path:
        with open(path, "a") as file:
            file.write(json.dumps(event) + "\n")


class ProgressBar:
    """Shows a progress file as one tqdm bar (seeds done of those sent, with the time left) while the
    notebooks run; the bar's total grows as the notebooks send more seeds."""

    def __init__(self, path: Path):
        self.path, self.stop = Path(path), threading.Event()
        self.thread = threading.Thread(target=self._follow, daemon=True)

    def __enter__(self):
        self.path.write_text("")
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.stop.set()
        self.thread.join()

    def _follow(self):
        from tqdm import tqdm

        with tqdm(total=0, unit="seed", desc="seeds on the cluster", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
            read = 0
            while True:
                stopping = self.stop.wait(1.0)
                text = self.path.read_text()
                end = text.rfind("\n") + 1      # whole lines only: the kernel may be writing one
                for event in map(json.loads, text[read:end].splitlines()):
                    bar.total += event.get("submitted", 0)
                    bar.update(event.get("done", 0))
                read = end
                bar.refresh()
                if stopping:
                    return
