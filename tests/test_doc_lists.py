"""Lists that prose repeats agree with the registries they come from (run by `make check` with the suite).

The augmentations come from `looc_hub/views/registry.py`, the protocols and their metrics from
`looc_hub/eval/protocols.py`. A list of three or more augmentations is a claim when its neighbourhood says what
it lists: "leave-one-out" or "Z_i" (every leave-one-out augmentation), "base" (MoCo v2's base augmentations),
"the view engine's" or "every augmentation" (all of them). Other lists (an order of operations, a figure's
caption) are prose. A list beside the code that builds it (`augmentations=`, `LooCViewGenerator(`) is an
example of a configuration. Read: README.md, CONTRIBUTING.md, docs/*.md and the package's Markdown (the card
template); every docstring, attributes' included, of the package, scripts/ and training/.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest

import looc_hub
from looc_hub.eval import protocols
from looc_hub.views.registry import LEAVE_ONE_OUT_AUGMENTATIONS, REGISTRY

BASE = {name for name, spec in REGISTRY.items() if spec.base}
CLAIMS = (
    (re.compile(r"leave-one-out|Z_i"), set(LEAVE_ONE_OUT_AUGMENTATIONS)),
    (re.compile(r"\bbase\b"), BASE),
    (re.compile(r"the view engine's|every augmentation"), set(REGISTRY)),
)
NEIGHBOURHOOD = 80  # characters either side of a list that may say what it lists

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path(looc_hub.__file__).parent
GENERATED = {"docs/zoo.md"}  # written from the registries by scripts/make_cards.py
DOCS = sorted(
    path
    for path in [REPO / "README.md", REPO / "CONTRIBUTING.md", *(REPO / "docs").glob("*.md"), *PACKAGE.rglob("*.md")]
    if path.relative_to(REPO).as_posix() not in GENERATED
)  # the card template (looc_hub/hub/templates/) included
CODE = sorted([*PACKAGE.rglob("*.py"), *(REPO / "scripts").glob("*.py"), *(REPO / "training").glob("*.py")])
_NAME = r"[`\"]?(crop|flip|blur|colou?r|rotation|texture)[`\"]?"
_SEPARATOR = r"(?:,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+)"
LISTING = re.compile(rf"{_NAME}(?:{_SEPARATOR}{_NAME}){{2,}}")
EXAMPLE = re.compile(r"augmentations=|LooCViewGenerator\(")


def passages(text: str) -> list[str]:
    """Paragraphs with their lines joined (a list may wrap), each table row alone, fenced code left out."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        rows = [line for line in paragraph.splitlines() if line.lstrip().startswith("|")]
        prose = [line.strip() for line in paragraph.splitlines() if not line.lstrip().startswith("|")]
        found += [*rows, " ".join(prose)]
    return [passage for passage in found if passage and not EXAMPLE.search(passage)]


def listed_augmentations(text: str) -> list[tuple[tuple[str, ...], str]]:
    """Every list of 3+ augmentation names (colour read as color), with its neighbourhood."""
    names = re.compile(_NAME)
    return [
        (
            tuple(name.replace("colour", "color") for name in names.findall(match.group(0))),
            passage[max(0, match.start() - NEIGHBOURHOOD) : match.end() + NEIGHBOURHOOD],
        )
        for passage in passages(text)
        for match in LISTING.finditer(passage)
    ]


def stale_listings(text: str) -> list[tuple[str, ...]]:
    """Lists that claim a registry group (every leave-one-out, base or augmentation) but name other ones."""
    stale = []
    for names, neighbourhood in listed_augmentations(text):
        claims = [group for pattern, group in CLAIMS if pattern.search(neighbourhood)]
        if claims and set(names) not in claims:
            stale.append(names)
    return stale


def docstrings(path: Path) -> str:
    """Every string that stands as a statement: module, class and function docstrings, and attributes' ones."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    strings = [
        node.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    ]
    return "\n\n".join(strings)


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.relative_to(REPO).as_posix())
def test_docs_list_the_registrys_augmentations(path):
    assert not stale_listings(path.read_text(encoding="utf-8")), (
        f"{path.relative_to(REPO)} lists augmentations that differ from the registry "
        f"(leave-one-out: {list(LEAVE_ONE_OUT_AUGMENTATIONS)}; all: {list(REGISTRY)})"
    )


def test_docstrings_list_the_registrys_augmentations():
    stale = {path.relative_to(REPO).as_posix(): found for path in CODE if (found := stale_listings(docstrings(path)))}
    assert not stale, f"docstrings listing other augmentations than the registry's: {stale}"


def test_the_listing_check_finds_a_stale_list():
    stale = 'one Z_i per "leave-one-out" augmentation (colour,\nrotation, texture)\n\n| `crop`, `flip`, "flip" | base |'
    assert stale_listings(stale) == [("color", "rotation", "texture"), ("crop", "flip", "flip")]
    current = "Z_i (blur, colour, rotation or texture); the base crop, flip and blur"
    current += "\n\nthe view engine's crop, flip, blur, color, rotation, texture"
    assert not stale_listings(current) and len(listed_augmentations(current)) == 3
    assert not stale_listings("crop, flip and rotation are one resampling")  # no claim: prose
    assert not listed_augmentations("| LooC (colour, rotation, texture) | `LooCViewGenerator((...))` |")


def test_the_evaluation_docs_list_every_protocol_and_percentage():
    text = (REPO / "docs" / "evaluation.md").read_text(encoding="utf-8")
    table = text[text.index("| protocol | module |") :].split("\n\n")[0]
    rows = Counter(re.findall(r"^\|[^|]*\| `(\w+)\.py` \|", table, flags=re.MULTILINE))
    declared = Counter({module.__name__.rpartition(".")[2]: len(module.PROTOCOLS) for module in protocols.MODULES})
    assert rows == declared, "docs/evaluation.md's protocol table: one row per protocol, by module"
    sentence = re.search(r"percentages in \[0, 100\] for ([^)]*)\)", text).group(1)
    assert set(re.findall(r"`([\w@]+)`", sentence)) == set(protocols.percent_metrics())


def test_every_statement_string_is_read_as_a_docstring(tmp_path):
    path = tmp_path / "planted.py"
    path.write_text('X = 1\n"""One Z_i per leave-one-out augmentation (colour, rotation, texture)."""\n')
    assert stale_listings(docstrings(path)) == [("color", "rotation", "texture")]
