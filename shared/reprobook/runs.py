"""The run store: every finished seed kept as one small JSON file, so that a rerun continues.

A protocol of many runs (GAT: 100 per data set) outlasts a machine that is given back. ``run_seeds``
keeps each finished seed's result and, when called again with the same configuration and code,
trains only the seeds that are missing. A seed's folder is keyed by the configuration, the device
type and the fingerprint of the training code, found from the training function's imports
(``reprobook.fingerprints.training_code``): a change to any module it imports never reuses a seed.

Each seed file carries its provenance: the configuration, the training code's fingerprint and
modules, the commit and whether the training code differed from it, the device, the versions and
the wall time. A seed is marked started before it trains (``seed-N.started.json``); a run that fails
says so in that file, and one that is stopped leaves it behind, so the seed's next result lists it
under ``earlier_attempts``. No run disappears silently.

Chapters commit their store in ``replications/<chapter>/runs/``; ``REPROBOOK_FROM_STORE=1`` makes a
missing seed an error instead of a training (``reprobook run --from-store``).
"""
import functools
import hashlib
import inspect
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .cluster import engine, train_on_cluster
from .data import atomic_write_json, cache_dir, setting_path
from .errors import ReprobookError
from .fingerprints import Fingerprint, training_code
from .paths import repo_root
from .provenance import versions

RUNS_ENV = "REPROBOOK_RUNS"
FROM_STORE_ENV = "REPROBOOK_FROM_STORE"

# Runs trained side by side per batch. On a 2-core CPU batching measured no faster per run than one at
# a time (memory-bound edge operations), so the CPU trains one seed per batch; a GPU takes 25 at once.
SEEDS_PER_BATCH = {"cpu": 1, "cuda": 25, "mps": 25}
# What a record says about how its runs were trained (reprobook.seedbatch and reprobook.training).
FAST_PATH = "batched seeds (reprobook.seedbatch): sparse input dropout, runs side by side, on-device early stopping"

# Every seed this process asked the store for, in order: what a record lists under "runs".
_ASKED: list[dict] = []
# The training code each entry module had when this process first trained or read its seeds.
_FIRST_CODE: dict = {}


def run_store() -> Path:
    """Where finished seeds are kept: ``$REPROBOOK_RUNS``, else beside the data cache."""
    return setting_path(RUNS_ENV) or cache_dir().parent / "runs"


def store_key(config: dict, code_sha256: str, device_type: str) -> str:
    """The folder name of a protocol's seeds: its configuration, training-code fingerprint and device type."""
    return hashlib.sha256(json.dumps({"config": config, "code": code_sha256, "device": device_type},
                                     sort_keys=True).encode()).hexdigest()[:16]


def protocol_folder(protocol: str, store: Path | None = None) -> Path:
    """Where a protocol's keys live: "top: length" -> "top-length", a portable path."""
    return Path(store or run_store()) / re.sub(r"[^\w./-]+", "-", protocol)


def runs_asked_for() -> list[dict]:
    """Each seed asked for in this process: its protocol, store key, seed, whether it was trained now
    or read back, and the attempts before it that failed or were stopped."""
    return [dict(entry) for entry in _ASKED]


def training_code_state(modules: list[str]) -> dict:
    """HEAD, and whether any of the training code's modules differs from it (other uncommitted files do not
    count: they did not train the seed)."""
    def git(*args):
        result = subprocess.run(["git", *args], cwd=repo_root(), capture_output=True, text=True)
        return result.stdout.strip() if result.returncode == 0 else None
    commit = git("rev-parse", "HEAD")
    changed = git("status", "--porcelain", "--", *modules) if commit else None
    return {"commit": commit, "uncommitted_changes": None if changed is None else bool(changed)}


def _training_code_of(train_batch) -> Fingerprint:
    """The training code behind ``train_batch``, as this process first found it: the key of its seeds.
    Training code edited on disk while a process runs would file results under code that did not make
    them, so that is an error."""
    while isinstance(train_batch, functools.partial):
        train_batch = train_batch.func
    source = inspect.getsourcefile(train_batch)
    if source is None or not Path(source).resolve().is_relative_to(repo_root().resolve()):
        raise ReprobookError(f"the training function {getattr(train_batch, '__qualname__', train_batch)!r} is not "
                             "defined in a module of this checkout, so its training code cannot be found")
    code = training_code(Path(source))
    first = _FIRST_CODE.setdefault(code.entry, code)
    if code.sha256 != first.sha256:
        raise ReprobookError(f"the training code of {code.entry} changed on disk while this process ran; "
                             "start it again so that its results are filed under the code that made them")
    return code


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def _trained(train_batch, chunks: list[list[int]], device, start) -> Iterator[tuple[list[int], list[dict], float]]:
    """``(chunk, results, seconds)`` for each chunk that ``start(chunk)`` leaves seeds in: here, one after
    another, or, when ``reprobook run --engine ray`` asked for it (``reprobook.cluster``), as Ray tasks
    sent all at once and returned in any order."""
    if engine() == "ray":
        yield from train_on_cluster(train_batch, [chunk for chunk in map(start, chunks) if chunk], device)
        return
    for chunk in chunks:
        if chunk := start(chunk):
            began = time.perf_counter()
            outcome = train_batch(chunk)
            yield chunk, outcome, time.perf_counter() - began


def run_seeds(protocol: str, config: dict, seeds: Iterable[int], train_batch: Callable[[list[int]], list[dict]],
              *, batch_size: int, device, log=print) -> list[dict]:
    """Results for ``seeds`` (a list of dicts, in order), training only those not stored yet.

    ``train_batch(seeds)`` trains the given seeds side by side and returns one dict per seed.
    Each result gains ``seed``, ``train_seconds`` (its share of the batch's wall time), ``config``,
    ``training_code``, ``provenance`` and ``resumed`` (whether it was read from the store).
    """
    from .device import device_description

    seeds = list(seeds)
    code = _training_code_of(train_batch)
    key = store_key(config, code.sha256, device.type)
    folder = protocol_folder(protocol) / key

    def stored(seed):
        path = folder / f"seed-{seed}.json"
        return _read(path) | {"resumed": True} if path.is_file() else None

    results = {seed: found for seed in seeds if (found := stored(seed)) is not None}
    todo = [seed for seed in seeds if seed not in results]
    if results:
        shown = folder.relative_to(repo_root()) if folder.is_relative_to(repo_root()) else folder
        log(f"{protocol}: {len(results)} of {len(seeds)} seeds already stored in {shown}")
    if todo and os.environ.get(FROM_STORE_ENV) == "1":
        raise ReprobookError(f"{protocol}: seeds {', '.join(map(str, todo))} are not in the run store "
                             f"({len(results)} of {len(seeds)} are); train them first or ask for fewer seeds")
    started = {}     # seed -> the provenance of its attempt, and the attempts before it that failed or were stopped

    def start(chunk):
        """The seeds of ``chunk`` still to train (another process sharing the store may have finished some
        meanwhile), each marked as started; a marker left behind is an attempt that failed or was stopped."""
        for seed in chunk:
            if seed not in results and (found := stored(seed)) is not None:
                results[seed] = found
        chunk = [seed for seed in chunk if seed not in results]
        provenance = {**training_code_state(code.modules), "device": device_description(device),
                      "versions": versions(), "started": _now()}
        for seed in chunk:
            marker = folder / f"seed-{seed}.started.json"
            previous = _read(marker) if marker.is_file() else None
            earlier = [*previous.pop("earlier_attempts", []), previous] if previous else []
            started[seed] = (provenance, earlier)
            atomic_write_json(marker, {"status": "started", **provenance, "earlier_attempts": earlier})
        return chunk

    chunks = [todo[first:first + batch_size] for first in range(0, len(todo), batch_size)]
    try:
        for chunk, outcome, seconds in _trained(train_batch, chunks, device, start):
            for seed, result in zip(chunk, outcome):
                provenance, earlier = started.pop(seed)
                result = result | {"seed": seed, "train_seconds": seconds / len(chunk), "config": config,
                                   "training_code": code.as_dict(), "provenance": provenance | {"finished": _now()},
                                   "earlier_attempts": earlier}
                atomic_write_json(folder / f"seed-{seed}.json", result)
                (folder / f"seed-{seed}.started.json").unlink(missing_ok=True)
                results[seed] = result | {"resumed": False}
            log(f"{protocol}: {len(results)}/{len(seeds)} seeds done ({seconds:.1f} s for seeds {chunk[0]}-{chunk[-1]})")
            sys.stdout.flush()
    except BaseException as error:
        for seed, (provenance, earlier) in started.items():      # started, not finished
            atomic_write_json(folder / f"seed-{seed}.started.json",
                              {"status": f"failed: {type(error).__name__}: {error}", **provenance,
                               "stopped": _now(), "earlier_attempts": earlier})
        raise
    for seed in seeds:
        _ASKED.append({"protocol": protocol, "key": key, "seed": seed,
                       "trained": not results[seed]["resumed"],
                       "earlier_attempts": len(results[seed].get("earlier_attempts", []))})
    return [results[seed] for seed in seeds]
