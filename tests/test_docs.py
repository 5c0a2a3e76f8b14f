"""The documentation says what the code does: the README's models table is the registry's, the
Python blocks of README.md, BENCHMARKS.md and docs/*.md run as written, and every relative link of
those pages leads to a file (and to a heading of it, when it names one)."""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from wavesr.report import models_table

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang == language]


def without_code(text: str) -> str:
    """``text`` without fenced blocks and inline code (a link inside code is not a link)."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def anchors(text: str) -> set[str]:
    """The heading anchors GitHub gives a markdown page (lower case, punctuation dropped, spaces
    to hyphens, ``-1``, ``-2`` ... for repeats)."""
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


PYTHON_BLOCKS = [
    pytest.param(page, i, id=f"{page.relative_to(ROOT)}-{i + 1}")
    for page in PAGES
    for i in range(len(blocks(page.read_text(encoding="utf-8"), "python")))
]


def test_readme_models_block_is_generated_from_the_registry():
    text = README.read_text(encoding="utf-8")
    assert models_table.block(text) == models_table.models_markdown(), (
        "README.md's models table is out of date: run python -m wavesr.report.models_table"
    )


def test_models_table_rewrites_only_its_block(tmp_path):
    page = tmp_path / "README.md"
    page.write_text(f"# title\n\n{models_table.START}\nold\n{models_table.END}\n\nafter\n")
    assert models_table.main([str(page), "--check"]) == 1
    assert models_table.main([str(page)]) == 0
    text = page.read_text()
    assert text.startswith("# title\n\n") and text.endswith("\n\nafter\n")
    assert models_table.block(text) == models_table.models_markdown()
    assert models_table.main([str(page), "--check"]) == 0


def test_models_table_has_a_row_per_shipped_model():
    from wavesr.pretrained import available_models

    rows = [line for line in models_table.models_markdown().splitlines() if line.startswith("| `")]
    assert sorted(r.split("`")[1] for r in rows) == sorted(m.name for m in available_models())


def test_readme_has_a_python_block():
    assert blocks(README.read_text(encoding="utf-8"), "python")


@pytest.mark.parametrize("page,index", PYTHON_BLOCKS)
def test_python_block_runs_as_written(page, index, tmp_path, monkeypatch, one_thread):
    code = blocks(page.read_text(encoding="utf-8"), "python")[index]
    monkeypatch.chdir(tmp_path)
    name = f"{page.relative_to(ROOT)}, python block {index + 1}"
    exec(compile(code, name, "exec"), {"__name__": "__docs__"})


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_files_and_headings(page):
    text = page.read_text(encoding="utf-8")
    broken = []
    for target in LINK.findall(without_code(text)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # an address (https:, mailto:)
        path, _, anchor = unquote(target).partition("#")
        file = page.parent / path if path else page
        if not file.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text(encoding="utf-8")):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page.relative_to(ROOT)}: broken links: {broken}"


def test_anchors_are_github_slugs():
    text = "# A `make bench` title\n## Quality: the models, on data\n## Quality: the models, on data\n"
    assert anchors(text) == {
        "a-make-bench-title",
        "quality-the-models-on-data",
        "quality-the-models-on-data-1",
    }
