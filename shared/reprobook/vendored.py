"""Third-party scripts the built book serves itself, so that its pages work offline: MathJax (the
equations) and DataTables (sorting and filtering the catalogue). They come from pinned Python packages,
so that ``pip install`` brings them like any dependency, and are copied into the built site's
``_static/vendor``. Every file is checked before it is copied: against the sha256 its package's wheel
recorded, and each entry script also against the checksum pinned here.
"""
import base64
import hashlib
import shutil
from importlib import metadata
from pathlib import Path

from .errors import ReprobookError

VENDORED = {
    "mathjax": {
        "distribution": "django-static-mathjax", "version": "3.2.2.1", "root": "mathjax/static/mathjax",
        # the TeX and MathML input with HTML output that Sphinx loads by default, its fonts, and the TeX
        # extensions it loads on demand
        "files": ["es5/tex-mml-chtml.js", "es5/output/chtml/fonts/woff-v2", "es5/input/tex/extensions", "LICENSE"],
        "pinned": {"es5/tex-mml-chtml.js": "8aacaa13814e2dd77de7b5f10a7c0cda3a0bcd0af3a2129f8aa7a794f607fd55"},
    },
    "datatables": {
        "distribution": "itables", "version": "2.9.1", "root": "itables/html",
        "files": ["dt_bundle.js", "dt_bundle.css"],
        "pinned": {"dt_bundle.js": "feb9593a7aaff42c8269148e8cfbe19b032f4c824b26fe0c7842cdd2fefa17f5",
                   "dt_bundle.css": "300743d92985efee4d89b218066fba12489a9125d24c31f89eb50dda59a347b2"},
    },
}
# Where the pages load them from, relative to the site's _static folder.
MATHJAX_PATH = "vendor/mathjax/es5/tex-mml-chtml.js"
DATATABLES_SCRIPT, DATATABLES_STYLE = "vendor/datatables/dt_bundle.js", "vendor/datatables/dt_bundle.css"


def _recorded(distribution: str, version: str) -> tuple[Path, dict[str, str]]:
    """The installed distribution's folder and its RECORD: relative path -> sha256 (hex)."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise ReprobookError(f"the book serves its own copy of {distribution}=={version}: pip install it "
                             "(it is one of the project's dependencies)") from None
    if dist.version != version:
        raise ReprobookError(f"{distribution} {dist.version} is installed; the book's checksums are for {version}: "
                             f"pip install {distribution}=={version}")
    hashes = {}
    for file in dist.files or []:
        if file.hash and file.hash.mode == "sha256":
            padded = file.hash.value + "=" * (-len(file.hash.value) % 4)
            hashes[file.as_posix()] = base64.urlsafe_b64decode(padded).hex()
    return Path(dist.locate_file("")), hashes


def copy_vendored(static: Path) -> list[Path]:
    """Copy every vendored file, checked, to ``static/vendor/NAME/...``; return the files written."""
    written = []
    for name, spec in VENDORED.items():
        base, recorded = _recorded(spec["distribution"], spec["version"])
        for entry in spec["files"]:
            source = base / spec["root"] / entry
            sources = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
            for path in sources:
                relative = path.relative_to(base).as_posix()
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                expected = spec["pinned"].get(path.relative_to(base / spec["root"]).as_posix(), recorded.get(relative))
                if digest != expected or recorded.get(relative) != digest:
                    raise ReprobookError(f"{relative} of {spec['distribution']} {spec['version']} does not match its "
                                         f"checksum; reinstall it (pip install --force-reinstall {spec['distribution']}=={spec['version']})")
                target = static / "vendor" / name / path.relative_to(base / spec["root"])
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                written.append(target)
    return written
