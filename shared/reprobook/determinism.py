"""The same seed must give the same numbers: a check that CI pays for once per chapter.

After the smoke tier has run, each chapter's cheapest stored seed is trained a second time (its notebook
executed again over a copy of the run store that lacks only that seed, so every other seed is read back)
and compared with the first training, seed file to seed file and record to record. What may differ is
when and how fast a run went (``VOLATILE``), never a number it measured.
"""
import json
from pathlib import Path

from .runs import protocol_folder

# Keys of a seed file or record that say when, where or how fast, not what was measured.
VOLATILE = {"train_seconds", "provenance", "earlier_attempts", "resumed", "resumed_seeds", "rekeyed", "started",
            "wall_seconds", "compute_seconds", "peak_memory", "runs", "other_training_seconds", "trained_by",
            "device", "versions", "commit", "uncommitted_changes"}


def _volatile(key: str) -> bool:
    return key in VOLATILE or "seconds" in key or "per_second" in key


def differences(first, second, where: str = "") -> list[str]:
    """Where two results (nested dicts and lists of numbers) differ, ignoring ``VOLATILE`` keys; exact."""
    if isinstance(first, dict) and isinstance(second, dict):
        found = []
        for key in sorted(set(first) | set(second)):
            if _volatile(key):
                continue
            if key not in first or key not in second:
                found.append(f"{where}/{key}: only in the {'second' if key not in first else 'first'}")
            else:
                found += differences(first[key], second[key], f"{where}/{key}")
        return found
    if isinstance(first, list) and isinstance(second, list):
        if len(first) != len(second):
            return [f"{where}: {len(first)} items against {len(second)}"]
        return [d for index, (a, b) in enumerate(zip(first, second)) for d in differences(a, b, f"{where}[{index}]")]
    return [] if first == second else [f"{where}: {first!r} against {second!r}"]


def seed_file(entry: dict, store: Path | None = None) -> Path:
    """The seed file of one of a record's ``runs`` entries."""
    return protocol_folder(entry["protocol"], store) / entry["key"] / f"seed-{entry['seed']}.json"


def cheapest_seed(records: list[dict], store: Path | None = None) -> tuple[dict, dict]:
    """Of the seeds that the records trained, the one that took least time: (its record, its ``runs`` entry)."""
    candidates = [(json.loads(seed_file(entry, store).read_text())["train_seconds"], index, record, entry)
                  for index, record in enumerate(records) for entry in record.get("runs", []) if entry["trained"]]
    if not candidates:
        raise ValueError("no record trained a seed")
    _, _, record, entry = min(candidates, key=lambda item: item[:2])
    return record, entry
