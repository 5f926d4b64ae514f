"""Where, on what and from which code a result was made: the commit, the machine's versions, peak memory."""
import platform
import resource
import subprocess
from pathlib import Path


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
