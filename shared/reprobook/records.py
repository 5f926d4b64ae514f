"""Run records: what a notebook measured, and everything needed to tell whether it is still current.

A record is ``replications/<chapter>/records/<notebook>-<tier>.json``. Its ``code_hash`` is the
fingerprint of the notebook's code cells and of every project module they import, transitively
(``reprobook.fingerprints.notebook_code``): when any of them changes, the record is stale. It also
lists every run the notebook asked the run store for (``runs``), the ones that failed or were stopped
included.
"""
import json
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

from .data import atomic_write_json
from .errors import ReprobookError
from .fingerprints import notebook_code
from .provenance import git_commit, peak_memory_mb, versions
from .runs import runs_asked_for


def summarize(values: list[float]) -> dict:
    """Mean and sample standard deviation, as papers report them over repeated runs."""
    return {"values": values, "n": len(values), "mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0}


class RecordBuilder:
    """Collects a notebook's measurements; ``write`` saves the record atomically at the end of the run."""

    def __init__(self, chapter: str, notebook: str, tier: str, notebook_path: Path, device, seeds: list[int]):
        from .device import device_description

        self.started = time.time()
        self.path_of_notebook = Path(notebook_path)
        code = notebook_code(self.path_of_notebook)
        self.payload = {
            "chapter": chapter, "notebook": notebook, "tier": tier,
            "code_hash": code.sha256, "code_modules": code.modules, **git_commit(self.path_of_notebook.parent),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "device": device_description(device), "device_type": device.type,
            "versions": versions(), "seeds": list(seeds), "claims": {}, "details": {},
            "other_training_seconds": {},
        }
        self.device = device

    def claim(self, claim_id: str, values: list[float], *, train_seconds: float, resumed: int = 0,
              seeds: list[int] | None = None) -> dict:
        """``seeds``: the seeds behind ``values``, where a notebook runs this claim on other seeds than the record's."""
        entry = {"status": "run", **summarize(values), "train_seconds": train_seconds, "resumed_seeds": resumed}
        if seeds is not None:
            if len(seeds) != len(values):
                raise ValueError(f"{claim_id}: {len(values)} values but {len(seeds)} seeds")
            entry["seeds"] = list(seeds)
        self.payload["claims"][claim_id] = entry
        return entry

    def not_run(self, claim_id: str, reason: str) -> None:
        self.payload["claims"][claim_id] = {"status": "not_run", "reason": reason}

    def detail(self, key: str, value) -> None:
        self.payload["details"][key] = value

    def training(self, label: str, train_seconds: float) -> None:
        """Training time of runs that back no claim (a figure's), so that the record's total counts them."""
        self.payload["other_training_seconds"][label] = train_seconds

    def write(self, record_dir: Path) -> Path:
        self.payload["wall_seconds"] = time.time() - self.started
        self.payload["compute_seconds"] = (sum(c.get("train_seconds", 0.0) for c in self.payload["claims"].values())
                                           + sum(self.payload["other_training_seconds"].values()))
        self.payload["peak_memory"] = peak_memory_mb(self.device)
        self.payload["runs"] = runs_asked_for()
        path = Path(record_dir) / f"{self.payload['notebook']}-{self.payload['tier']}.json"
        atomic_write_json(path, self.payload)
        return path


def load_record(path: Path) -> dict | None:
    if not Path(path).is_file():
        return None
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise ReprobookError(f"{path}: not valid JSON ({error})") from None
