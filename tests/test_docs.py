"""The README is a front door and docs/ the rooms behind it: every relative link and anchor resolves, every page is
reachable from the README, the README stays short, every params key is documented once (docs/params.md, written
from the schema), and the docs speak to users (no internal issue numbers)."""

import re
from pathlib import Path

from nerflow.params import fields

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path: Path) -> set:
    """The anchors of a markdown file's headings, as GitHub makes them."""
    found = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") and not line.startswith("#!"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def test_every_relative_link_and_anchor_resolves():
    checked = 0
    for page in PAGES:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)  # links, not code
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):  # http(s) and the like: not checked here
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            assert resolved.exists(), f"{page.relative_to(ROOT)}: link to {target}: no such file"
            if anchor:
                assert anchor in anchors(resolved), f"{page.relative_to(ROOT)}: link to {target}: no such heading"
            checked += 1
    assert checked > 40


def test_every_docs_page_is_reached_from_the_readme_and_the_readme_is_short():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = {target.partition("#")[0] for target in LINK.findall(readme)}
    for page in (ROOT / "docs").glob("*.md"):
        assert f"docs/{page.name}" in linked, f"README.md does not link {page.relative_to(ROOT)}"
    assert len(readme.splitlines()) <= 200


def test_every_params_key_is_documented_once():
    """docs/params.md has a row for each key; no other page has a params table of its own."""
    reference = (ROOT / "docs" / "params.md").read_text(encoding="utf-8")
    for key, _ in fields():
        assert reference.count(f"| `{key}` |") == 1, key
    top = {key for key, _ in fields() if "." not in key}
    for page in PAGES:
        if page.name == "params.md":
            continue
        rows = re.findall(r"^\| `([\w.<>]+)` \|", page.read_text(encoding="utf-8"), flags=re.M)
        assert not set(rows) & top, f"{page.relative_to(ROOT)} documents params {set(rows) & top}: link docs/params.md"


def test_the_docs_speak_to_users():
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"\bissues? \d+", text, flags=re.I), f"{page.relative_to(ROOT)} names an internal issue"
        assert "/tmp/" not in text and ".device/" not in text, f"{page.relative_to(ROOT)} names a temporary path"
        if page.name == "BENCHMARKS.md":  # its history, after the current figures, tells how things got here
            text = text[:text.index("\n## History")]
        # The user's task, not the project's history: what was removed, the defaults of a past day, which machine.
        for phrase in ("since removed", "seed-style", "the default of 20", "was one task", "on this machine,",
                       "bit for bit on this machine"):
            assert phrase not in text, f"{page.relative_to(ROOT)}: {phrase!r}"
