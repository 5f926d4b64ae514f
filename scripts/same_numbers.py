"""CI's determinism check: each chapter's cheapest smoke seed, trained a second time, gives the same numbers.

    python scripts/same_numbers.py SMOKE_DIR STORE WORK_DIR

SMOKE_DIR holds each chapter's smoke records (SMOKE_DIR/CHAPTER/records/*.json), made over the run store
STORE. For each chapter, the notebook that trained its cheapest seed runs again (``reprobook run``) over a
copy of STORE without that seed, so only it trains; then its seed file and the record are compared with
the first ones (``reprobook.determinism.differences``); claims compared by rank are timings, which
may differ. Two chapters run at a time, one per core.
"""
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from reprobook.chapters import get_chapter
from reprobook.determinism import cheapest_seed, differences, seed_file


def check(chapter_dir: Path, store: Path, work: Path) -> tuple[str, list[str]]:
    chapter = chapter_dir.name
    records = [json.loads(path.read_text()) for path in sorted((chapter_dir / "records").glob("*.json"))]
    record, entry = cheapest_seed(records, store)
    copy = work / chapter / "runs"
    shutil.rmtree(work / chapter, ignore_errors=True)
    shutil.copytree(store, copy)
    seed_file(entry, copy).unlink()
    command = [sys.executable, "-m", "reprobook", "run", chapter, "--notebook", record["notebook"], "--tier", "smoke",
               "--device", "cpu", "--output-dir", str(work / chapter)]
    result = subprocess.run(command, capture_output=True, text=True, env=os.environ | {"REPROBOOK_RUNS": str(copy)})
    what = f"{chapter}: {entry['protocol']} seed {entry['seed']} (notebook {record['notebook']})"
    if result.returncode != 0:
        return what, [f"the second execution failed: {(result.stderr or result.stdout).strip().splitlines()[-1:]}"]
    again = json.loads((work / chapter / "records" / f"{record['notebook']}-smoke.json").read_text())
    found = differences(json.loads(seed_file(entry, store).read_text()), json.loads(seed_file(entry, copy).read_text()), "seed")
    timings = {claim.id for claim in get_chapter(chapter).claims if claim.compare == "rank"}     # hardware-bound
    found += differences({c: e for c, e in record["claims"].items() if c not in timings},
                         {c: e for c, e in again["claims"].items() if c not in timings}, "record/claims")
    return what, found


def main(smoke: str, store: str, work: str) -> int:
    chapters = sorted(path for path in Path(smoke).iterdir() if (path / "records").is_dir())
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda path: check(path, Path(store), Path(work)), chapters))
    failed = 0
    for what, found in outcomes:
        print(f"{what}: {'same numbers' if not found else 'DIFFERENT: ' + '; '.join(found[:5])}")
        failed += bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
