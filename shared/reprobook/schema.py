"""The chapter contract's two files as JSON Schemas: ``chapter.yaml`` (the paper) and each entry of
``claims.yaml`` (its numbers). ``reprobook.chapters`` validates against them; CONTRIBUTING.md's field
tables are generated from them (``field_table``, checked by a test), and ``reprobook new`` writes a
claims file whose comments are their descriptions. What a schema cannot say (a margin that must not
let the trivial value pass, a notebook that must exist) ``reprobook.chapters`` checks after it.
"""
from jsonschema import Draft202012Validator

from .errors import ReprobookError

TIERS = ("smoke", "full")
CHAPTER_STATUSES = ("in-progress", "done")
COMPARISONS = ("value", "rank")


def _string(description):
    return {"type": "string", "minLength": 1, "description": description}


def _number(description):
    return {"type": "number", "description": description}


CHAPTER_SCHEMA = {
    "title": "chapter.yaml",
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "authors", "venue", "year", "url", "bibtex", "status", "notebooks", "page", "summary"],
    "properties": {
        "title": _string("The paper's title, as printed."),
        "authors": {"type": "array", "items": {"type": "string"}, "minItems": 1, "description": "The paper's authors, in order."},
        "venue": _string("Where the paper appeared (conference or journal, spelled out)."),
        "year": {"type": "integer", "description": "The year of that publication."},
        "url": _string("The paper's canonical address (arXiv abstract or the publisher's page)."),
        "bibtex": _string("The paper's key in book/references.bib."),
        "status": {"enum": list(CHAPTER_STATUSES), "description": "`in-progress` until the full tier has run and the page shows it, then `done`."},
        "notebooks": {"type": "array", "items": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"}, "minItems": 1,
                      "description": "The chapter's notebooks: NAME.md (MyST) paired with NAME.ipynb (executed, full tier)."},
        "page": _string("The chapter page, relative to the book's root, without its suffix (book/chapters/CHAPTER)."),
        "summary": _string("One sentence on what the paper shows, for the landing page."),
    },
}

CLAIM_SCHEMA = {
    "title": "a claim in claims.yaml",
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "statement", "model", "dataset", "metric", "paper_value", "paper_runs", "source", "confirmed", "notebook"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]*$", "description": "Unique in the chapter; lower case and hyphens (gat-cora)."},
        "statement": _string("The claim in one sentence, with the paper's number."),
        "model": _string("The model or method the number belongs to, as the paper names it."),
        "dataset": _string("The data set or split."),
        "metric": _string("What is measured, with its unit: `test accuracy (%)`."),
        "paper_value": _number("The paper's number, exactly as printed."),
        "paper_std": {"type": ["number", "null"], "description": "The paper's spread (± std) where it prints one; omit or null where it does not."},
        "paper_runs": {"type": "integer", "minimum": 1, "description": "How many runs the paper's number is a mean over (1 where it says nothing)."},
        "source": _string("Where in the paper: table, row and column; figure; or page and section."),
        "confirmed": {"type": "boolean", "description": "true only when the number was read in the paper itself (or its authors' typeset copy); false marks it unconfirmed."},
        "notebook": _string("The chapter notebook that measures it."),
        "margin": {"type": "number", "exclusiveMinimum": 0, "description": "Value claims: the equivalence margin; the verdict asks whether the 95 % interval of ours − paper lies within ± margin."},
        "margin_reason": _string("Value claims: why that margin, from the paper (its spread, its printed precision, a figure's reading error), never from our result."),
        "trivial_value": _number("Value claims: what a broken or untrained model scores (majority class, chance, predicting no motion)."),
        "trivial_reason": _string("Value claims: how the trivial value was found."),
        "works_where": {
            "type": "object", "additionalProperties": False, "required": ["detail", "at_least", "reason"],
            "description": "A claim that the method fails (its value near the trivial one) is judged beside proof that it works where it should.",
            "properties": {"detail": _string("The record detail (a number or a per-run list) that must reach at_least."),
                           "at_least": _number("The least mean of that detail."),
                           "reason": _string("Why that proof, from the paper.")},
        },
        "compare": {"enum": list(COMPARISONS), "default": "value",
                    "description": "`value` (an equivalence test, the default) or `rank` (hardware-bound numbers such as timings: the model's place in its rank_group)."},
        "rank_group": _string("Rank claims: the claims ranked together."),
        "rank_reason": _string("Rank claims: what the ordering can and cannot show."),
        "decimals": {"type": "integer", "minimum": 0, "default": 1, "description": "Decimals shown for this claim's numbers."},
        "note": _string("Anything a reader must know to read the number (shown beside it)."),
    },
    "if": {"properties": {"compare": {"const": "rank"}}, "required": ["compare"]},
    "then": {"required": ["rank_group", "rank_reason"]},
    "else": {"required": ["margin", "margin_reason", "trivial_value", "trivial_reason"]},
}

CLAIMS_FILE_SCHEMA = {"title": "claims.yaml", "type": "object", "required": ["claims"], "additionalProperties": False,
                      "properties": {"claims": {"type": "array", "items": CLAIM_SCHEMA}}}

_TYPE_NAMES = {"string": "str", "number": "a number", "integer": "int", "boolean": "bool", "array": "list", "object": "a mapping"}


def _message(error) -> str:
    """One line in the book's style for a jsonschema error: which field, and what is wrong with it."""
    field = error.path[-1] if error.path and isinstance(error.path[-1], str) else None
    if error.validator == "required":
        missing = next(name for name in error.validator_value if name not in error.instance)
        if error.schema is CLAIM_SCHEMA["then"]:
            return f"a claim compared by rank needs a 'rank_group' and a 'rank_reason' (what the ordering can and cannot show); missing field '{missing}'"
        return f"missing field '{missing}'"
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"unknown field(s) {', '.join(unknown)}"
    if error.validator == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return f"field '{field}' should be {' or '.join(_TYPE_NAMES.get(t, t) for t in expected)}, got {error.instance!r}"
    if error.validator == "enum":
        return f"field '{field}' must be one of {', '.join(map(str, error.validator_value))}, got {error.instance!r}"
    if error.validator == "exclusiveMinimum":
        return f"field '{field}' must be a positive number, got {error.instance!r}"
    return f"field '{field}': {error.message}"


def _where(error, base: str, document) -> str:
    where, node = base, document
    for part in list(error.path)[:-1] if error.path and isinstance(error.path[-1], str) else list(error.path):
        node = node[part]
        if isinstance(part, int):
            where += f"[{part}]" + (f" ({node['id']})" if isinstance(node, dict) and "id" in node else "")
        else:
            where += f": {part}" if part != "claims" else ": claims"
    return where


def validate(document, schema: dict, where: str) -> None:
    """Raise a ReprobookError naming the file and field of the first thing wrong with ``document``."""
    errors = sorted(Draft202012Validator(schema).iter_errors(document), key=lambda e: (list(map(str, e.path)), e.validator != "required"))
    if errors:
        first = errors[0]
        if first.validator in ("if", "then", "else") and first.context:
            first = first.context[0]
        raise ReprobookError(f"{_where(first, where, document)}: {_message(first)}")


def requirement(schema: dict, name: str) -> str:
    """When a field is required: "yes", "value claims" or "rank claims" (a claim's if/then/else), or "no"."""
    if name in schema.get("required", []):
        return "yes"
    if name in schema.get("else", {}).get("required", []):
        return "value claims"
    if name in schema.get("then", {}).get("required", []):
        return "rank claims"
    return "no"


def field_table(schema: dict) -> str:
    """A Markdown table of a schema's fields: name, when it is required, and what it holds."""
    rows = ["| field | required | what it holds |", "|---|---|---|"]
    rows += [f"| `{name}` | {requirement(schema, name)} | {spec['description']} |" for name, spec in schema["properties"].items()]
    return "\n".join(rows)
