"""``reprobook rekey CHAPTER``: after a refactoring of training code, keep the committed seeds that the
code still provably made, under the key that code gives them now.

A seed's folder is keyed by its configuration, device type and training-code fingerprint
(``reprobook.runs``), so moving a definition into another module or renaming a module gives every seed
a new key, and a rerun would train them all again. A seed moves to its new key only when
``reprobook.fingerprints.unproven_since`` finds nothing against it: every normalised statement of
today's training code was in the training code at the commit that trained the seed, and whatever is
gone since was a definition or import that today's code does not use. The seed file keeps its
provenance and gains a ``rekeyed`` entry (old key, old entry module, date, the reason); its markers of
earlier attempts move with it. A seed that cannot be proved stays where it is and is named.
"""
import json
import subprocess
from datetime import date
from pathlib import Path

from .data import atomic_write_json
from .errors import ReprobookError
from .fingerprints import training_code, unproven_since
from .runs import store_key

HOW = ("the old key, recomputed from the seed's configuration and training-code fingerprint, matches its folder; "
       "every normalised statement of today's training code was in the training code at the seed's commit, "
       "and nothing gone since ran for its effect")


def trained_entry(result: dict) -> str:
    """The module that held the training function when the seed was trained."""
    moves = result.get("rekeyed", [])
    return next((move["from_entry"] for move in moves if "from_entry" in move), result["training_code"]["entry"])


def rekey(store: Path, renamed: dict[str, str] | None = None, dry_run: bool = False) -> tuple[list[str], list[str]]:
    """Move every provable seed of ``store`` (a chapter's ``runs/``) to its current key. ``renamed``:
    {old entry module: new} for training modules renamed since. Returns (what moved, what could not)."""
    renamed = renamed or {}
    moved, refused, current, proofs = [], [], {}, {}
    destination_of = {}      # old folder -> new folder, for the markers
    for path in sorted(Path(store).glob("**/seed-*.json")):
        if path.name.endswith(".started.json"):
            continue
        result = json.loads(path.read_text())
        entry = renamed.get(result["training_code"]["entry"], result["training_code"]["entry"])
        if entry not in current:
            current[entry] = training_code(entry)
        code = current[entry]
        devices = [d for d in ("cpu", "cuda", "mps") if store_key(result["config"], result["training_code"]["sha256"], d) == path.parent.name]
        if not devices:
            refused.append(f"{path}: its folder is not the key of its configuration and code")
            continue
        new_key = store_key(result["config"], code.sha256, devices[0])
        if new_key == path.parent.name:
            continue
        commit, then = result["provenance"]["commit"], trained_entry(result)
        if (entry, commit, then) not in proofs:
            try:
                proofs[entry, commit, then] = unproven_since(entry, commit, entry_then=then)
            except (ReprobookError, subprocess.CalledProcessError) as error:      # no such module or commit
                proofs[entry, commit, then] = [str(error).splitlines()[0]]
        if proofs[entry, commit, then]:
            refused.append(f"{path}: not provably the same code: {'; '.join(proofs[entry, commit, then][:3])}")
            continue
        target = path.parent.parent / new_key / path.name
        destination_of[path.parent] = target.parent
        moved.append(f"{path.relative_to(store)} -> {new_key}")
        if dry_run:
            continue
        result["training_code"] = code.as_dict()
        result["rekeyed"] = [*result.get("rekeyed", []), {"from_key": path.parent.name, "from_entry": then,
                                                          "on": date.today().isoformat(), "how": HOW}]
        atomic_write_json(target, result)
        path.unlink()
    for old, new in destination_of.items():
        for marker in sorted(old.glob("seed-*.started.json")):
            moved.append(f"{marker.relative_to(store)} -> {new.name}")
            if not dry_run:
                atomic_write_json(new / marker.name, json.loads(marker.read_text()))
                marker.unlink()
        if not dry_run and old.is_dir() and not any(old.iterdir()):
            old.rmdir()
    return moved, refused

