"""Chapters as data: ``replications/<id>/chapter.yaml`` (the paper) and ``claims.yaml`` (its numbers).

Both files are validated on load against ``reprobook.schema``, then for what a schema cannot say (a
margin that lets the trivial value pass, a notebook the chapter lacks, a duplicate id); a malformed
file is a ``ReprobookError`` naming the file and field.
"""
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import ReprobookError
from .paths import repo_root
from .schema import CHAPTER_SCHEMA, CLAIMS_FILE_SCHEMA, TIERS, validate

# The fields a claim compared by value needs beyond the others (reprobook.schema.CLAIM_SCHEMA's "else").
VALUE_CLAIM_FIELDS = ("margin", "margin_reason", "trivial_value", "trivial_reason")


@dataclass
class Claim:
    id: str
    statement: str
    model: str
    dataset: str
    metric: str
    paper_value: float
    paper_runs: int
    source: str
    confirmed: bool
    notebook: str
    margin: float | None = None
    margin_reason: str = ""
    trivial_value: float | None = None
    trivial_reason: str = ""
    paper_std: float | None = None
    note: str = ""
    decimals: int = 1
    compare: str = "value"
    rank_group: str = ""
    rank_reason: str = ""
    works_where: dict | None = None


@dataclass
class Chapter:
    id: str
    folder: Path
    title: str
    authors: list
    venue: str
    year: int
    url: str
    bibtex: str
    status: str
    notebooks: list
    page: str
    summary: str
    claims: list = field(default_factory=list)

    def notebook_source(self, notebook: str) -> Path:
        return self.folder / f"{notebook}.md"

    def executed_notebook(self, notebook: str) -> Path:
        return self.folder / f"{notebook}.ipynb"

    def record_path(self, notebook: str, tier: str) -> Path:
        return self.folder / "records" / f"{notebook}-{tier}.json"


def _check_margin(item: dict, where: str) -> None:
    """A margin must be positive and must not let the trivial value pass, unless the claim is that the
    method fails and it names its proof that the method works where it should (``works_where``)."""
    if not math.isfinite(item["margin"]):
        raise ReprobookError(f"{where}: field 'margin' must be a positive number, got {item['margin']!r}")
    if "works_where" not in item and abs(item["trivial_value"] - item["paper_value"]) <= item["margin"]:
        raise ReprobookError(
            f"{where}: margin {item['margin']:g} would let the trivial value {item['trivial_value']:g} "
            f"({item['trivial_reason']}) pass as the paper's {item['paper_value']:g}; narrow it, or, for a claim "
            "that the method fails, add 'works_where' (the proof that it works where it should)")


def _read_yaml(path: Path):
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ReprobookError(f"{path}: file missing") from None
    except yaml.YAMLError as error:
        raise ReprobookError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None


def load_chapter(folder: Path) -> Chapter:
    meta_path, claims_path = folder / "chapter.yaml", folder / "claims.yaml"
    meta = _read_yaml(meta_path)
    validate(meta, CHAPTER_SCHEMA, str(meta_path))
    chapter = Chapter(id=folder.name, folder=folder, **meta)
    raw = _read_yaml(claims_path)
    if not isinstance(raw, dict) or not isinstance(raw.get("claims"), list):
        raise ReprobookError(f"{claims_path}: expected a top-level 'claims:' list")
    validate(raw, CLAIMS_FILE_SCHEMA, str(claims_path))
    seen = set()
    for index, item in enumerate(raw["claims"]):
        where = f"{claims_path}: claims[{index}] ({item['id']})"
        if item.get("compare", "value") == "value":
            _check_margin(item, where)
        if item["id"] in seen:
            raise ReprobookError(f"{where}: duplicate claim id")
        if item["notebook"] not in chapter.notebooks:
            raise ReprobookError(f"{where}: field 'notebook' names {item['notebook']!r}, not one of the chapter's notebooks {chapter.notebooks}")
        seen.add(item["id"])
        chapter.claims.append(Claim(**item))
    return chapter


def all_chapters(root: Path | None = None) -> dict[str, Chapter]:
    root = root or repo_root()
    folders = sorted(p.parent for p in (root / "replications").glob("*/chapter.yaml"))
    return {folder.name: load_chapter(folder) for folder in folders}


def get_chapter(name: str, root: Path | None = None) -> Chapter:
    chapters = all_chapters(root)
    if name not in chapters:
        raise ReprobookError(f"unknown chapter {name!r}; valid chapters: {', '.join(chapters) or '(none)'}")
    return chapters[name]


def check_tier(tier: str) -> str:
    if tier not in TIERS:
        raise ReprobookError(f"unknown tier {tier!r}; valid tiers: {', '.join(TIERS)}")
    return tier
