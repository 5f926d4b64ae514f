"""Post-processing of the built HTML, after Sphinx has written it."""
from pathlib import Path


def drop_duplicate_inline_scripts(outdir: Path) -> None:
    """Remove repeated identical inline ``<script>`` lines from the written pages.

    With jupyter-book 1.0.4, sphinx-thebe 0.3.1 and sphinx-togglebutton, every page carries their
    inline configuration scripts twice; the second ``const THEBE_JS_URL`` raises a SyntaxError in
    the browser. Deduplicating the context's script list does not help (the copies are added while
    the template renders), so the written HTML is cleaned instead.
    """
    for page in Path(outdir).rglob("*.html"):
        lines = page.read_text().split("\n")
        seen, kept = set(), []
        for line in lines:
            inline = line.strip()
            if inline.startswith("<script>") and inline.endswith("</script>"):
                if inline in seen:
                    continue
                seen.add(inline)
            kept.append(line)
        if len(kept) != len(lines):
            page.write_text("\n".join(kept))
