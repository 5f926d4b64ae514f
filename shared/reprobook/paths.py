"""Where the book's checkout is: every path the package reads or writes is relative to it."""
from pathlib import Path

from .errors import ReprobookError


def repo_root() -> Path:
    """The checkout that holds ``replications/``: found from the working directory, else from this package."""
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if (folder / "replications").is_dir() and (folder / "_toc.yml").is_file():
                return folder
    raise ReprobookError("cannot find the book's root (a folder with replications/ and _toc.yml); run from inside the checkout")
