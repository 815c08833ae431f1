"""Citations of docs/architecture.md point at sections that exist, and none point at the old outside design file.

Code and docs cite the map as ``docs/architecture.md §Saga`` (and docs link ``architecture.md#saga``);
the section names are its ``## `` headings, so renaming one without its citations fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"

SKIP_DIRS = {".git", ".venv", ".data", "node_modules", "staticfiles", "static", "test-artifacts", "__pycache__"}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".html", ".cfg", ".ini", ".yml", ".yaml"}
TEXT_NAMES = {"Makefile", "Procfile"}

CITATION = re.compile(r"docs/architecture\.md §([A-Za-z][\w-]*)")
SECTION_REFERENCE = re.compile(r"§([A-Za-z][\w-]*)")  # inside architecture.md itself
LINK_ANCHOR = re.compile(r"architecture\.md#([\w-]+)")
# Spelled in two parts so this file does not cite what it forbids.
OLD_DESIGN_CITATION = re.compile("DESIGN" + r"(\.md|\s+section|\s+rule)")


def _text_files() -> list[Path]:
    found = []
    stack = [ROOT]
    while stack:
        folder = stack.pop()
        for path in folder.iterdir():
            if path.is_dir():
                if path.name not in SKIP_DIRS and not path.is_symlink():
                    stack.append(path)
            elif path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES:
                found.append(path)
    return sorted(found)


def _sections() -> list[str]:
    return re.findall(r"^## (.+?)\s*$", ARCHITECTURE.read_text(encoding="utf-8"), flags=re.MULTILINE)


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _occurrences(pattern: re.Pattern) -> list[tuple[str, int, str]]:
    hits = []
    for path in _text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            for match in pattern.finditer(line):
                hits.append((str(path.relative_to(ROOT)), number, match.group(1)))
    return hits


def test_the_architecture_sections_are_unique_and_citable():
    sections = _sections()
    assert len(sections) == len(set(sections))
    citable = [s for s in sections if re.fullmatch(r"[A-Za-z][\w-]*", s)]
    assert {"Layers", "Rooms", "Events", "Saga", "Lifecycles", "Money", "API", "Tests"} <= set(citable)


def test_every_citation_names_a_section_that_exists():
    sections = set(_sections())
    citations = _occurrences(CITATION)
    assert citations, "nothing cites docs/architecture.md any more?"
    missing = [f"{path}:{line} cites §{name}" for path, line, name in citations if name not in sections]
    assert missing == []


def test_the_architecture_page_refers_only_to_its_own_sections():
    sections = set(_sections())
    text = ARCHITECTURE.read_text(encoding="utf-8")
    assert sorted(set(SECTION_REFERENCE.findall(text)) - sections) == []


def test_every_link_into_the_architecture_page_lands_on_a_heading():
    anchors = {_anchor(s) for s in _sections()}
    missing = [f"{path}:{line} links #{anchor}" for path, line, anchor in _occurrences(LINK_ANCHOR)]
    assert [m for m in missing if m.rsplit("#", 1)[1] not in anchors] == []


def test_no_citation_of_the_old_design_file_remains():
    assert _occurrences(OLD_DESIGN_CITATION) == []
