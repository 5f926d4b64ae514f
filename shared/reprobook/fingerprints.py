"""The code behind a result, found from its imports, never from a list typed by hand.

Two fingerprints stand on it:

* ``training_code(entry)``: the project's modules (the chapter's own ``*.py`` beside the entry and
  ``reprobook``'s) that the module holding the training function imports, transitively. It keys the
  run store: a change to any of them means a stored seed is not reused. The run store itself
  (``reprobook.runs``) is left out, with whatever only it imports: it decides which results are
  reused, never what they are, and with it in, every change to the store would retrain the book.
* ``notebook_code(notebook)``: the notebook's code cells and every project module they import,
  transitively (training and reporting code alike). A record made by other code is stale.

Sources are compared as normalised syntax trees, so what cannot change a number does not count:
docstrings and comments, the text of an error message, and which of the project's modules a name is
imported from; a call of the run store counts without the keywords that say how a result is filed
(batch size, device, log). Each module's statements are hashed in order, with the module's path.

``unproven_since(entry, commit)`` proves that seeds trained at an older commit were made by the code
that runs now: every normalised top-level statement of today's training code was in the training
code at that commit (wherever it lived then), and whatever was there but is gone is a definition or
import that today's code does not use, never a statement that ran for its effect.
"""
import ast
import hashlib
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .errors import ReprobookError
from .paths import repo_root

PACKAGE = "shared/reprobook"
STORE_MODULE = f"{PACKAGE}/runs.py"
STORE_CALLS = {"run_seeds"}
# How a call of the store files its result; "fingerprint" and "device_type" are the keywords of the
# store's first form, whose callers listed the modules of the key by hand.
STORE_KEYWORDS = {"batch_size", "device", "log", "fingerprint", "device_type"}


class Sources:
    """Text of the checkout's files, as they are now (``commit=None``) or at a commit."""

    def __init__(self, root: Path | None = None, commit: str | None = None, overrides: dict | None = None):
        self.root, self.commit = Path(root or repo_root()), commit
        self.overrides = overrides or {}    # {relative path: text}: tests edit a module without touching it
        self._texts: dict[str, str | None] = {}
        self._files = None if commit is None else set(self._git("ls-tree", "-r", "--name-only", commit).splitlines())

    def _git(self, *args) -> str:
        return subprocess.run(["git", *args], cwd=self.root, capture_output=True, text=True, check=True).stdout

    def read(self, relative: str) -> str | None:
        if relative in self.overrides:
            return self.overrides[relative]
        if relative not in self._texts:
            if self.commit is None:
                path = self.root / relative
                self._texts[relative] = path.read_text() if path.is_file() else None
            else:
                self._texts[relative] = self._git("show", f"{self.commit}:{relative}") if relative in self._files else None
        return self._texts[relative]


def _project_module(name: str, level: int, importer: str, sources: Sources) -> list[str]:
    """The project files an ``import name`` (``level`` dots) in ``importer`` loads; [] for other packages."""
    folder = importer.rsplit("/", 1)[0]
    if level:     # relative imports occur only inside reprobook
        parts = [p for p in name.split(".") if p]
        return [f"{PACKAGE}/__init__.py"] + ([f"{PACKAGE}/{parts[0]}.py"] if parts else [])
    top, _, rest = name.partition(".")
    if top == "reprobook":
        return [f"{PACKAGE}/__init__.py"] + ([f"{PACKAGE}/{rest.split('.')[0]}.py"] if rest else [])
    if folder != PACKAGE and sources.read(f"{folder}/{top}.py") is not None:
        return [f"{folder}/{top}.py"]
    return []


def _imports(tree: ast.AST, importer: str, sources: Sources) -> set[str]:
    """The project files that the imports anywhere in ``tree`` (functions too) load."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.update(_project_module(alias.name, 0, importer, sources))
        elif isinstance(node, ast.ImportFrom):
            modules = _project_module(node.module or "", node.level, importer, sources)
            found.update(modules)
            if modules and (node.module in (None, "reprobook") or node.level and not node.module):
                for alias in node.names:      # ``from reprobook import training``: a submodule
                    candidate = f"{PACKAGE}/{alias.name}.py"
                    if sources.read(candidate) is not None:
                        found.add(candidate)
    return {path for path in found if sources.read(path) is not None}


def _parse(text: str, cell: bool = False) -> ast.Module:
    if cell:      # IPython's ``%magic`` and ``!shell`` lines in a notebook cell are not Python
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("%", "!")))
    return ast.parse(text)


def closure(roots: dict[str, ast.AST], sources: Sources, exclude: frozenset = frozenset()) -> list[str]:
    """Every project file that the trees in ``roots`` ({where they live: tree}) import, transitively."""
    pending = set().union(*(_imports(tree, where, sources) for where, tree in roots.items())) - exclude
    seen = set()
    while pending:
        path = pending.pop()
        seen.add(path)
        pending |= _imports(_parse(sources.read(path)), path, sources) - seen - exclude
    return sorted(seen)


class _Normalise(ast.NodeTransformer):
    """Drops from a tree what cannot change a result (see the module's docstring)."""

    def __init__(self, importer: str, sources: Sources):
        self.importer, self.sources = importer, sources

    def _strip_docstring(self, node):
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
        return node

    def visit_FunctionDef(self, node):
        return self._strip_docstring(self.generic_visit(node))

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Raise(self, node):
        if isinstance(node.exc, ast.Call):      # the message's text, not what the exception carries
            node.exc.args = [a for a in node.exc.args if not isinstance(a, ast.JoinedStr)
                             and not (isinstance(a, ast.Constant) and isinstance(a.value, str))]
        return node

    def visit_ImportFrom(self, node):
        if _project_module(node.module or "", node.level, self.importer, self.sources):
            node.module, node.level = "<project>", 0
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in STORE_CALLS:
            node.keywords = [k for k in node.keywords if k.arg not in STORE_KEYWORDS]
        return node


def statements(path: str, text: str, sources: Sources, cell: bool = False) -> list[tuple[str, ast.AST]]:
    """The normalised top-level statements of one module, in order, as (``ast.dump`` text, node);
    an import gives one statement per name it binds."""
    tree = _Normalise(path, sources)._strip_docstring(_parse(text, cell))
    found = []
    for node in tree.body:
        node = _Normalise(path, sources).visit(node)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                single = type(node)(names=[alias], **({"module": node.module, "level": node.level}
                                                      if isinstance(node, ast.ImportFrom) else {}))
                found.append((ast.dump(single), single))
        elif not isinstance(node, ast.Pass):
            found.append((ast.dump(node), node))
    return found


@dataclass
class Fingerprint:
    sha256: str
    modules: list[str]        # relative to the checkout's top folder
    statements: Counter       # every normalised statement, wherever it lives: what a proof compares
    nodes: dict               # statement text -> its syntax tree
    entry: str = ""           # the module the search started from (training code)

    def as_dict(self) -> dict:
        return {"sha256": self.sha256, "entry": self.entry, "modules": self.modules}


def _fingerprint(modules: list[str], sources: Sources, cells: list[str] = (), where: str = "") -> Fingerprint:
    digest, found, nodes = hashlib.sha256(), Counter(), {}
    parts = [("<cell>", statements(where, cell, sources, cell=True)) for cell in cells]   # .md and .ipynb alike
    parts += [(module, statements(module, sources.read(module), sources)) for module in modules]
    for name, module_statements in parts:
        digest.update(name.encode() + b"\x01")
        for text, node in module_statements:
            digest.update(text.encode() + b"\x00")
            found[text] += 1
            nodes[text] = node
    return Fingerprint(digest.hexdigest(), modules, found, nodes)


def relative(path: Path, root: Path) -> str:
    return Path(path).resolve().relative_to(root.resolve()).as_posix()


def training_code(entry: Path, sources: Sources | None = None) -> Fingerprint:
    """The training code behind a stored seed: ``entry`` (the module that defines the training function)
    and the project modules it imports, transitively, without the run store."""
    sources = sources or Sources()
    entry = relative(entry, sources.root) if Path(entry).is_absolute() else str(entry)
    text = sources.read(entry)
    if text is None:
        raise ReprobookError(f"no training module {entry} in the checkout{f' at commit {sources.commit}' if sources.commit else ''}")
    modules = sorted({entry, *closure({entry: _parse(text)}, sources, exclude=frozenset({STORE_MODULE}))} - {STORE_MODULE})
    fingerprint = _fingerprint(modules, sources)
    fingerprint.entry = entry
    return fingerprint


def book_root_of(path: Path) -> Path:
    """The checkout that holds ``path``: its nearest folder with ``replications/`` and ``_toc.yml``."""
    for folder in Path(path).resolve().parents:
        if (folder / "replications").is_dir() and (folder / "_toc.yml").is_file():
            return folder
    return repo_root()


def notebook_code(notebook: Path, sources: Sources | None = None) -> Fingerprint:
    """The code behind a record: the notebook's code cells and every project module they import,
    transitively. Papermill's injected parameters and the Colab set-up cell (tagged ``colab``, which
    does nothing elsewhere and names the book's public address) are left out."""
    import jupytext

    sources = sources or Sources(book_root_of(notebook))
    where = relative(notebook, sources.root)
    cells = [cell.source for cell in jupytext.read(notebook).cells
             if cell.cell_type == "code" and not {"injected-parameters", "colab"} & set(cell.metadata.get("tags", []))]
    trees = [_parse(cell, cell=True) for cell in cells]
    modules = closure({where: ast.Module(body=[n for t in trees for n in t.body], type_ignores=[])}, sources)
    return _fingerprint(modules, sources, cells, where)


def _bound_names(node: ast.AST) -> set[str] | None:
    """The names a definition binds, or None for a statement that runs for its effect."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if all(isinstance(t, ast.Name) for t in targets):
            return {t.id for t in targets}
    return None


def _harmless_import(node: ast.AST, text: str, now: Fingerprint, then: Fingerprint) -> bool:
    """A new import that binds what the training code had then: the same import statement, made once
    more (in a module a definition moved to), or names of the project whose one definition today was
    there then, word for word."""
    if not isinstance(node, (ast.Import, ast.ImportFrom)):
        return False
    if text in then.statements:
        return True
    if not (isinstance(node, ast.ImportFrom) and node.module == "<project>"):
        return False
    for alias in node.names:
        definitions = [t for t, n in now.nodes.items() if alias.name in (_bound_names(n) or ())]
        if len(definitions) != 1 or definitions[0] not in then.statements:
            return False
    return True


def unproven_since(entry: str, commit: str, sources: Sources | None = None, entry_then: str | None = None) -> list[str]:
    """Why today's training code of ``entry`` is not provably the training code at ``commit`` (empty when
    it is): statements that run now but were not there then (other than imports that bind what was there
    then), and statements that were there then, are gone now and could have mattered (not an import, or
    a definition today's code uses). ``entry_then``: where the training module was at ``commit``, if it
    has been renamed since."""
    sources = sources or Sources()
    now = training_code(entry, sources)
    then = training_code(entry_then or entry, Sources(sources.root, commit))
    used = {n.id for node in now.nodes.values() for n in ast.walk(node) if isinstance(n, ast.Name)}
    used |= {n.attr for node in now.nodes.values() for n in ast.walk(node) if isinstance(n, ast.Attribute)}
    problems = [f"new since {commit[:10]}: {ast.unparse(now.nodes[text])[:120]}" for text in now.statements - then.statements
                if not _harmless_import(now.nodes[text], text, now, then)]
    for text in then.statements - now.statements:
        node = then.nodes[text]
        names = _bound_names(node)
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (names is not None and not names & used):
            continue
        problems.append(f"gone since {commit[:10]}: {ast.unparse(node)[:120]}")
    return sorted(problems)
