"""The multi-seed loop: resumable, one file per finished seed.

A protocol of many runs (GAT: 100 per data set) is interrupted by sessions ending and machines
going back. ``run_seeds`` keeps each finished seed's result in the run store and, when called again
with the same configuration and code, trains only the seeds that are missing. The store's key
hashes the configuration, the device type and the source of every module that decides the result,
so a change to any of them never reuses an old seed.
"""
import hashlib
import inspect
import json
import re
import sys
import time
from pathlib import Path
from typing import Callable, Iterable

from .data import cache_dir, setting_path
from .records import atomic_write_json

RUNS_ENV = "REPROBOOK_RUNS"

# Runs trained side by side per batch. On a 2-core CPU batching measured no faster per run than one at
# a time (memory-bound edge operations), so the CPU trains one seed per batch; a GPU takes 25 at once.
SEEDS_PER_BATCH = {"cpu": 1, "cuda": 25, "mps": 25}
# What a record says about how its runs were trained (reprobook.seedbatch and reprobook.training).
FAST_PATH = "batched seeds (reprobook.seedbatch): sparse input dropout, runs side by side, on-device early stopping"


def run_store() -> Path:
    """Where finished seeds are kept: ``$REPROBOOK_RUNS``, else beside the data cache."""
    return setting_path(RUNS_ENV) or cache_dir().parent / "runs"


def source_fingerprint(*modules) -> str:
    """sha256 over the source text of the given modules: the code whose change invalidates stored seeds."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()


def run_seeds(protocol: str, config: dict, seeds: Iterable[int], train_batch: Callable[[list[int]], list[dict]],
              *, batch_size: int, fingerprint: str, device_type: str, log=print) -> list[dict]:
    """Results for ``seeds`` (a list of dicts, in order), training only those not stored yet.

    ``train_batch(seeds)`` trains the given seeds side by side and returns one dict per seed.
    Each result gains ``seed``, ``train_seconds`` (its share of the batch's wall time) and ``resumed``
    (whether it was read from the store rather than trained by this call).
    """
    seeds = list(seeds)
    key = hashlib.sha256(json.dumps({"config": config, "code": fingerprint, "device": device_type},
                                    sort_keys=True).encode()).hexdigest()[:16]
    folder = run_store() / re.sub(r"[^\w./-]+", "-", protocol) / key     # "top: length" -> "top-length": portable paths
    results = {}
    for seed in seeds:
        path = folder / f"seed-{seed}.json"
        if path.is_file():
            results[seed] = json.loads(path.read_text()) | {"resumed": True}
    todo = [seed for seed in seeds if seed not in results]
    if results:
        log(f"{protocol}: {len(results)} of {len(seeds)} seeds already stored in {folder}")
    for start in range(0, len(todo), batch_size):
        chunk = todo[start:start + batch_size]
        for seed in chunk:    # another process working on the same protocol may have finished it meanwhile
            path = folder / f"seed-{seed}.json"
            if path.is_file():
                results[seed] = json.loads(path.read_text()) | {"resumed": True}
        chunk = [seed for seed in chunk if seed not in results]
        if not chunk:
            continue
        began = time.perf_counter()
        outcome = train_batch(chunk)
        seconds = time.perf_counter() - began
        for seed, result in zip(chunk, outcome):
            result = result | {"seed": seed, "train_seconds": seconds / len(chunk)}
            atomic_write_json(folder / f"seed-{seed}.json", result)
            results[seed] = result | {"resumed": False}
        log(f"{protocol}: {len(results)}/{len(seeds)} seeds done ({seconds:.1f} s for seeds {chunk[0]}-{chunk[-1]})")
        sys.stdout.flush()
    return [results[seed] for seed in seeds]
