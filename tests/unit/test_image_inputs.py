"""The image's cache key and its inputs (tests/cluster/image.py), without building anything."""

import re
import shutil
from pathlib import Path

import pytest

from tests.cluster import image


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the image's inputs: the Containerfile and the build context."""
    for relative in (image.CONTAINERFILE, *image.context_files()):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(image.REPO / relative, tmp_path / relative)
    return tmp_path


def test_key_names_the_version_and_ignores_bytecode(repo: Path) -> None:
    key = image.cache_key(repo, "0.13.9")
    assert key.startswith(f"{image.project_version()}-")
    cache = repo / "operator" / "maintenance_operator" / "__pycache__"
    cache.mkdir()
    (cache / "main.cpython-311.pyc").write_bytes(b"\0")
    assert image.cache_key(repo, "0.13.9") == key
    assert image.archive_path(key).name == f"maintenance-operator-{key}.oci.tar"


@pytest.mark.parametrize(
    "change",
    ["README.md", "uv.lock", "pyproject.toml", "deploy/image/Containerfile", "operator/maintenance_operator/main.py"],
)
def test_key_changes_with_every_input_file(repo: Path, change: str) -> None:
    before = image.cache_key(repo, "0.13.9")
    with (repo / change).open("a") as handle:
        handle.write("\n")
    assert image.cache_key(repo, "0.13.9") != before


def test_key_changes_with_a_new_source_file_the_base_recipe_and_uv(repo: Path) -> None:
    before = image.cache_key(repo, "0.13.9")
    assert image.cache_key(repo, "0.14.0") != before
    assert image.cache_key(repo, "0.13.9", image.BaseRecipe(include=("python3", "curl"))) != before
    (repo / "operator" / "maintenance_operator" / "new.py").write_text("")
    assert image.cache_key(repo, "0.13.9") != before


def test_docker_context_lists_the_same_inputs() -> None:
    ignore = (image.REPO / "deploy" / "image" / "Containerfile.dockerignore").read_text().splitlines()
    included = [line[1:].rstrip("/") for line in ignore if line.startswith("!")]
    assert included == list(image.CONTEXT)


def test_apt_sources_one_line_and_deb822(tmp_path: Path) -> None:
    apt = tmp_path / "etc" / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "sources.list").write_text(
        "# comment\ndeb [signed-by=/k.gpg] http://mirror.test/debian bookworm main\n"
        "deb-src http://x.test bookworm main\n"
    )
    (apt / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://a.test/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://a.test/debian-security\nSuites: bookworm-security\nComponents: main\n\n"
        "Types: deb\nURIs: http://off.test\nSuites: bookworm\nEnabled: no\n\n"
        "Types: deb\nURIs: http://other.test\nSuites: trixie\n"
    )
    suites = ("bookworm", "bookworm-updates", "bookworm-security")
    assert image.apt_sources(suites, tmp_path) == [
        ("http://mirror.test/debian", "bookworm"),
        ("http://a.test/debian", "bookworm"),
        ("http://a.test/debian", "bookworm-updates"),
        ("http://a.test/debian-security", "bookworm-security"),
    ]


def test_containerfile_takes_the_makefiles_uv() -> None:
    makefile = (image.REPO / "Makefile").read_text()
    containerfile = (image.REPO / image.CONTAINERFILE).read_text()
    pinned = re.search(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    default = re.search(r"^ARG UV_IMAGE=ghcr\.io/astral-sh/uv:(\S+)$", containerfile, re.MULTILINE)
    assert pinned is not None
    assert default is not None
    assert default.group(1) == pinned.group(1)
