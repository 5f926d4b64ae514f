"""The Sphinx extension: glue only. Each directive renders the MyST lines of one ``reprobook.pages``
function and rebuilds its page when claims or records change; the build-finished hooks write the
results exports (``reprobook.exports``), copy the scripts the site serves itself (MathJax, DataTables:
``reprobook.vendored``) and clean the written HTML (``reprobook.builtsite``).

* ``{replication-dashboard}``: one row per chapter (the landing page).
* ``{replication-badge} CHAPTER``: the chapter's verdict badge and a one-line summary.
* ``{replication-claims} CHAPTER``: paper vs ours, one row per claim, with the verdict.
* ``{replication-runtime} CHAPTER``: device, versions, commit, wall time of the full-tier records.
* ``{replication-cite} CHAPTER``: BibTeX for our chapter and for the original paper.
* ``{paper-catalogue}``: every paper the book draws from (``book/catalogue.tsv``).
* ``{replication-rerun} CHAPTER``: a box with the commands for both tiers and the measured training time.
* ``{execution-status}``: every notebook's last full-tier run, and whether its record is current.
* ``{benchmark-result} NAME``: the table a benchmark script wrote into ``benchmarks/results/NAME.json``.
* ``{ours}`CHAPTER:KEY[:runs|:n]` ``: one measured number in running prose (``pages.measured_value``).
"""
import shutil
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective, SphinxRole

from . import pages
from .builtsite import drop_duplicate_inline_scripts
from .errors import ReprobookError
from .exports import write_exports
from .paths import repo_root
from .vendored import DATATABLES_STYLE, MATHJAX_PATH, copy_vendored

STATIC = Path(__file__).parent / "static"
CATALOGUE_PAGE = "book/catalogue"


def _dependencies(env) -> None:
    root = repo_root()
    for pattern in ("replications/*/*.yaml", "replications/*/records/*.json", "book/catalogue.tsv", "benchmarks/results/*.json"):
        for path in root.glob(pattern):
            env.note_dependency(str(path))


def _directive(render, arguments: int = 0):
    """A directive whose content is ``render(*arguments)``, MyST parsed in place."""
    class Directive(SphinxDirective):
        required_arguments = arguments

        def run(self):
            _dependencies(self.env)
            extra = (self.config.html_baseurl,) if render is pages.cite else ()
            container = nodes.container()
            text = StringList(render(*self.arguments, *extra), source=self.env.docname)
            self.state.nested_parse(text, self.content_offset, container)
            return container.children
    Directive.__name__ = f"{render.__name__.title().replace('_', '')}Directive"
    return Directive


class Ours(SphinxRole):
    def run(self):
        _dependencies(self.env)
        try:
            return [nodes.Text(pages.measured_value(self.text))], []
        except ReprobookError as error:
            message = self.inliner.reporter.error(str(error), line=self.lineno)
            return [nodes.problematic(self.rawtext, self.rawtext)], [message]


def _configure(app, config) -> None:
    # equations typeset by the site's own MathJax, so that a page read or built offline shows them
    config.mathjax_path = MATHJAX_PATH


def _page_scripts(app, pagename, templatename, context, doctree) -> None:
    if pagename == CATALOGUE_PAGE:
        app.add_css_file(DATATABLES_STYLE)
        app.add_js_file("catalogue.js", type="module")


def _after_build(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        static = Path(app.outdir) / "_static"
        copy_vendored(static)
        for path in STATIC.iterdir():       # copied each time: Sphinx keeps what an earlier build copied
            shutil.copyfile(path, static / path.name)
        write_exports(Path(app.outdir))
        drop_duplicate_inline_scripts(Path(app.outdir))


def setup(app):
    app.connect("config-inited", _configure)
    app.connect("html-page-context", _page_scripts)
    app.connect("build-finished", _after_build)
    app.add_css_file("reprobook.css")
    app.add_directive("replication-dashboard", _directive(pages.dashboard))
    app.add_directive("replication-badge", _directive(pages.chapter_badge, 1))
    app.add_directive("replication-claims", _directive(pages.claims_table, 1))
    app.add_directive("replication-runtime", _directive(pages.runtime, 1))
    app.add_directive("replication-cite", _directive(pages.cite, 1))
    app.add_directive("paper-catalogue", _directive(pages.catalogue_page))
    app.add_directive("replication-rerun", _directive(pages.rerun_box, 1))
    app.add_directive("execution-status", _directive(pages.execution_status))
    app.add_directive("benchmark-result", _directive(pages.benchmark_table, 1))
    app.add_role("ours", Ours())
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
