"""Every relative link in the project's Markdown, and every Markdown file it names in code
(`docs/local-stack.md`), leads to a file that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(
    path
    for path in ROOT.rglob("*.md")
    if not any(
        part.startswith(".") or part == "node_modules" for part in path.relative_to(ROOT).parts
    )
)
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
_NAMED = re.compile(r"`([\w./-]+\.md)`")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_relative_links_lead_to_files_that_exist(document: Path) -> None:
    text = document.read_text("utf-8")
    targets = [t for t in _LINK.findall(text) if "://" not in t]
    missing = [t for t in targets if not (document.parent / t).exists()]
    named = _NAMED.findall(text)
    missing += [t for t in named if not ((document.parent / t).exists() or (ROOT / t).exists())]
    assert missing == [], f"{document.relative_to(ROOT)} links to missing {missing}"
