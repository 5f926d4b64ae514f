"""Run records: what a notebook measured, and everything needed to tell whether it is still current.

A record is ``replications/<chapter>/records/<notebook>-<tier>.json``. Its ``code_hash`` covers the
notebook's code cells and the chapter's own Python modules that it imports: when either changes, the
record is stale.
"""
import ast
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from .errors import ReprobookError


def atomic_write_json(path: Path, payload) -> None:
    """Write JSON so that an interruption leaves either the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, prefix=f".{path.name}.", suffix=".part") as tmp:
        partial = Path(tmp.name)
        try:
            json.dump(payload, tmp, indent=1)
            tmp.write("\n")
            tmp.flush()
            os.fsync(tmp.fileno())
        except BaseException:
            tmp.close()
            partial.unlink(missing_ok=True)
            raise
    os.replace(partial, path)


def code_cells(notebook_path: Path) -> list[str]:
    """The code cells of a MyST or ipynb notebook, without papermill's injected-parameters cell."""
    import jupytext

    notebook = jupytext.read(notebook_path)
    return [cell.source.strip() for cell in notebook.cells
            if cell.cell_type == "code" and "injected-parameters" not in cell.metadata.get("tags", [])]


def imported_names(source: str) -> set[str]:
    """Top-level names of the absolute imports in Python source (IPython ``%``/``!`` lines skipped)."""
    tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def chapter_modules(notebook_path: Path) -> list[Path]:
    """The ``*.py`` modules beside a notebook that it imports, directly or through one another.

    A module that no notebook imports yet (a chapter's next trainer, say, used so far by tests and a
    benchmark) cannot have produced a record's numbers, so it does not make the record stale.
    """
    notebook_path = Path(notebook_path)
    folder, used = notebook_path.parent, set()
    pending = set().union(*map(imported_names, code_cells(notebook_path)))
    while pending:
        module = folder / f"{pending.pop()}.py"
        if module.is_file() and module not in used:
            used.add(module)
            pending |= imported_names(module.read_text())
    return sorted(used)


def code_hash(notebook_path: Path) -> str:
    """sha256 of the notebook's code cells and of the chapter modules it imports (``chapter_modules``)."""
    digest = hashlib.sha256()
    for source in code_cells(notebook_path):
        digest.update(source.encode() + b"\n\x00")
    for module in chapter_modules(notebook_path):
        digest.update(module.name.encode() + b"\x00" + module.read_bytes())
    return digest.hexdigest()


def git_commit(chapter_folder: Path) -> dict:
    """HEAD, and whether the code that runs (the chapter's notebooks and modules, the shared package)
    differs from it. Outputs (executed notebooks, records, figures) do not count."""
    def git(*args):
        result = subprocess.run(["git", *args], cwd=chapter_folder, capture_output=True, text=True)
        return result.stdout.strip() if result.returncode == 0 else None
    top = git("rev-parse", "--show-toplevel")
    if top is None:
        return {"commit": None, "uncommitted_changes": None}
    chapter = Path(chapter_folder).resolve().relative_to(Path(top).resolve()).as_posix()
    code = [f":(top){chapter}/*.py", f":(top){chapter}/*.md", ":(top)shared/reprobook"]
    return {"commit": git("rev-parse", "HEAD"), "uncommitted_changes": bool(git("status", "--porcelain", "--", *code))}


def peak_memory_mb(device) -> dict:
    peak = {"host_max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if getattr(device, "type", None) == "cuda":
        import torch
        peak["device_max_allocated_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return peak


def versions() -> dict:
    import torch
    import torch_geometric

    from . import __version__
    return {"python": platform.python_version(), "torch": torch.__version__,
            "torch_geometric": torch_geometric.__version__, "reprobook": __version__}


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
        self.payload = {
            "chapter": chapter, "notebook": notebook, "tier": tier,
            "code_hash": code_hash(notebook_path), **git_commit(self.path_of_notebook.parent),
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
