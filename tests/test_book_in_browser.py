"""The rendered book as a reader sees it: built, served on localhost, opened in headless Chromium.

The browser has a laptop's window (1280 x 800) and no network beyond the local server, as a reader
offline. Checks that the landing page shows the dashboard and a verdict badge, that a chapter page
shows a figure, the BibTeX block and its equations typeset by the site's own MathJax, that no table
is wider than its column, that the catalogue sorts and filters, that no page raises a JavaScript
error, and that no internal link or image is broken. Screenshots (landing page, catalogue, a chapter)
are saved under _build/test-artifacts/screenshots.
"""
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "test-artifacts" / "screenshots"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The built book: $REPROBOOK_BUILT_SITE when CI has just built it (scripts/test.sh), else built here."""
    if os.environ.get("REPROBOOK_BUILT_SITE"):
        html = Path(os.environ["REPROBOOK_BUILT_SITE"])
        assert (html / "index.html").is_file(), f"REPROBOOK_BUILT_SITE={html} holds no built book"
    else:
        out = tmp_path_factory.mktemp("book")
        jupyter_book = Path(sys.executable).parent / "jupyter-book"
        subprocess.run([str(jupyter_book), "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going", "-q"],
                       check=True, capture_output=True)
        html = out / "_build" / "html"
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    handler = functools.partial(QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield html, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail("needs Debian's chromium and chromium-driver (scripts/setup.sh installs them as root)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,800",
                 # offline: every host but the local server fails to resolve
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def visit(browser, url, screenshot):
    browser.get(url)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / screenshot))
    # Uncaught exceptions in our pages and failed loads of our own files; not blocked CDNs (no
    # internet here), not the missing favicon browsers always ask for, not console messages.
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"
              and entry.get("source") in ("javascript", "network") and "127.0.0.1" in entry["message"]
              and "favicon.ico" not in entry["message"]]
    assert not errors, errors


def tables_wider_than_their_column(browser) -> list[str]:
    """Tables of the page's article wider than their column: cut off, or scrolled sideways in the theme's
    scrollable container."""
    return browser.execute_script("""
        const article = document.querySelector("article.bd-article").getBoundingClientRect();
        return [...document.querySelectorAll("article.bd-article table")].filter(t => t.offsetParent !== null).flatMap(t => {
            const box = (t.closest(".pst-scrollable-table-container") || t.parentElement).getBoundingClientRect();
            const wide = t.getBoundingClientRect().right > Math.min(box.right, article.right) + 1;
            return wide ? [`${(t.innerText || "").slice(0, 60)}: ${Math.round(t.getBoundingClientRect().width)} px in ${Math.round(box.width)} px`] : [];
        });
    """)


@pytest.mark.parametrize("page", ["book/intro.html", "book/chapters/gat.html", "book/chapters/scan.html",
                                  "book/catalogue.html", "book/method.html", "book/status.html"])
def test_no_table_is_wider_than_its_column_at_1280_px(site, browser, page):
    _, base = site
    browser.get(base + page)
    assert browser.execute_script("return window.innerWidth") <= 1280
    assert tables_wider_than_their_column(browser) == []


def test_equations_are_typeset_offline_by_the_sites_own_mathjax(site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    _, base = site
    visit(browser, base + "book/chapters/dagnn.html", "chapter-dagnn.png")
    scripts = [s.get_attribute("src") for s in browser.find_elements(By.CSS_SELECTOR, "script[src*=mathjax]")]
    assert scripts and all(src.startswith(base) for src in scripts), scripts
    WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "mjx-container"))
    math = browser.find_elements(By.CSS_SELECTOR, ".math")
    assert math and all(element.find_elements(By.CSS_SELECTOR, "mjx-container") for element in math)
    article = browser.find_element(By.CSS_SELECTOR, "article.bd-article").text
    assert "$$" not in article and "\\begin{" not in article and "\\frac" not in article


def test_the_catalogue_sorts_and_filters(site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
    _, base = site
    visit(browser, base + "book/catalogue.html", "catalogue.png")
    WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "table.reprobook-catalogue.dataTable"))
    visible = lambda: browser.find_elements(By.CSS_SELECTOR, "table.reprobook-catalogue tbody tr")
    assert len(visible()) == 215
    browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.CSS_SELECTOR, "table.reprobook-catalogue"))
    browser.save_screenshot(str(SCREENSHOTS / "catalogue-table.png"))
    Select(browser.find_element(By.CSS_SELECTOR, "select[aria-label='Filter by status']")).select_by_value("replicated")
    rows = visible()
    from reprobook.contract import read_catalogue
    replicated = sum(row["status"] == "replicated" for row in read_catalogue())
    assert len(rows) == replicated > 0 and all("replicated" in row.text for row in rows)
    browser.save_screenshot(str(SCREENSHOTS / "catalogue-replicated.png"))
    Select(browser.find_element(By.CSS_SELECTOR, "select[aria-label='Filter by status']")).select_by_value("")
    year = next(h for h in browser.find_elements(By.CSS_SELECTOR, "table.reprobook-catalogue thead th") if h.text.startswith("Year"))
    browser.execute_script("arguments[0].click()", year)
    years = [row.find_elements(By.TAG_NAME, "td")[1].text for row in visible()]
    assert years == sorted(years) and len(years) == 215


def test_landing_page_shows_the_dashboard_and_a_badge(site, browser):
    from selenium.webdriver.common.by import By
    _, base = site
    visit(browser, base + "book/intro.html", "landing.png")
    table = browser.find_element(By.CSS_SELECTOR, "table.reprobook-table")
    assert table.is_displayed() and "Graph Attention Networks" in table.text
    badges = browser.find_elements(By.CSS_SELECTOR, "table.reprobook-table .sd-badge")
    assert badges and badges[0].is_displayed()


def test_chapter_page_shows_claims_figure_and_bibtex(site, browser):
    from selenium.webdriver.common.by import By
    _, base = site
    visit(browser, base + "book/chapters/gat.html", "chapter-gat.png")
    assert browser.find_element(By.CSS_SELECTOR, "table.reprobook-table").is_displayed()
    figure = browser.find_element(By.CSS_SELECTOR, "figure img")
    browser.execute_script("arguments[0].scrollIntoView();", figure)
    assert figure.is_displayed() and browser.execute_script("return arguments[0].naturalWidth", figure) > 0
    rerun = browser.find_element(By.CSS_SELECTOR, "div.admonition.tip")
    assert "Rerun this chapter" in rerun.text and "reprobook run gat --tier full --device auto" in rerun.text
    browser.execute_script("arguments[0].scrollIntoView();", rerun)
    browser.save_screenshot(str(SCREENSHOTS / "chapter-gat-rerun.png"))
    bibtex = [b for b in browser.find_elements(By.CSS_SELECTOR, "div.highlight-bibtex pre") if "@" in b.text]
    assert len(bibtex) == 2 and "reprobook-gat" in bibtex[0].text
    browser.execute_script("arguments[0].scrollIntoView();", bibtex[0])
    browser.save_screenshot(str(SCREENSHOTS / "chapter-gat-cite.png"))


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.targets = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("href", "src"):
            if attrs.get(name) and tag in ("a", "img", "script", "link"):
                self.targets.append(attrs[name])


def test_no_broken_internal_links(site):
    html, _ = site
    broken = []
    for page in html.rglob("*.html"):
        if page.relative_to(html).parts[0] == "_static":     # theme templates, not pages
            continue
        parser = _Links()
        parser.feed(page.read_text(errors="replace"))
        for target in parser.targets:
            parsed = urlparse(target)
            if parsed.scheme or target.startswith(("#", "mailto:", "//")):
                continue
            resolved = urlparse(urljoin(page.relative_to(html).as_posix(), parsed.path)).path
            if parsed.path and not (html / unquote(resolved)).exists():
                broken.append(f"{page.relative_to(html)} -> {target}")
    assert not broken, broken


def test_results_exports_are_published(site):
    import csv
    import json
    html, _ = site
    rows = json.loads((html / "results.json").read_text())
    assert {row["claim"] for row in rows} >= {"gat-cora", "gcn-citeseer"}
    with open(html / "results.csv") as handle:
        assert len(list(csv.DictReader(handle))) == len(rows)


@pytest.mark.parametrize("query", ["Graph Attention Networks", "GAT"])
def test_search_finds_the_chapter_by_title_and_method(site, browser, query):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
    _, base = site
    browser.get(base + f"search.html?q={query.replace(' ', '+')}")
    WebDriverWait(browser, 20).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#search-results ul.search li")))
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#search-results ul.search li a")]
    assert any("book/chapters/gat.html" in link for link in links), links


def test_no_page_names_a_folder_of_the_machine_or_how_the_book_was_made(site):
    """Pages speak to readers about the paper and the runs: no path of the machine that ran them, no
    word about the circumstances the book was written in."""
    import re
    from conftest import MACHINE_PATH as machine
    html, _ = site
    production = re.compile(r"workplace|working session|this session", re.IGNORECASE)
    found = []
    for page in html.rglob("*.html"):
        if page.relative_to(html).parts[0] == "_static":
            continue
        text = page.read_text(errors="replace")
        found += [f"{page.relative_to(html)}: {m.group(0)}" for m in (*machine.finditer(text), *production.finditer(text))]
    assert not found, found[:10]


@pytest.mark.parametrize("page", ["book/intro.html", "book/chapters/gat.html"])
def test_no_serious_accessibility_violation(site, browser, page):
    """axe-core (shipped by axe-selenium-python) on the landing page and a chapter: no violation whose
    impact is serious or critical (contrast of badges, images without alt text, tables without headers, ...)."""
    from axe_selenium_python import Axe
    _, base = site
    browser.get(base + page)
    axe = Axe(browser)
    axe.inject()
    browser.set_script_timeout(60)
    results = axe.run(options="{resultTypes: ['violations']}")
    serious = [f"{v['id']} ({v['impact']}): {v['help']}; e.g. {v['nodes'][0]['html'][:120]}"
               for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, "\n".join(serious)


def test_the_status_page_lists_every_notebook_with_its_record_state(site, browser):
    from selenium.webdriver.common.by import By
    from reprobook.chapters import all_chapters
    _, base = site
    visit(browser, base + "book/status.html", "status.png")
    text = browser.find_element(By.CSS_SELECTOR, "table.reprobook-table").text
    for chapter in all_chapters().values():
        for notebook in chapter.notebooks:
            assert f"{chapter.id}/{notebook}" in text
    assert "current" in text
