"""What every benchmark script writes: its result with the machine it ran on and the table the book shows
({benchmark-result} NAME renders ``table``: header, rows and caption)."""
import json
import platform
import time
from pathlib import Path

import torch

from reprobook.device import device_description


def machine(device: torch.device) -> dict:
    return {"device": device_description(device), "torch": torch.__version__, "python": platform.python_version()}


def timed(function) -> float:
    """Wall time of ``function()``, with the GPU's queue drained before and after."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    began = time.perf_counter()
    function()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - began


def write_result(result: dict, table, path: Path) -> None:
    """``result`` with its ``table`` (``table(result)``) as JSON at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result | {"table": table(result)}, indent=1) + "\n")
    print(f"written {path}")
