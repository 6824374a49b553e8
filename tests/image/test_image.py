"""The operator image as built by `make image`: its config, and its console scripts run by runc as a kubelet would.

Every command runs from the oci-archive itself (unpacked by umoci, config from the image) as the image's
user, with a read-only root filesystem, no capabilities and no network (tests/cluster/image.py, run()).
"""

import errno
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.cluster import image

pytestmark = pytest.mark.image

VENV = "/opt/venv"


def _python(archive: Path, code: str) -> object:
    """Run `code` with the image's venv Python (not through the Entrypoint); it prints one JSON value."""
    result = image.run(archive, [f"{VENV}/bin/python", "-c", code], entrypoint=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_config_runs_the_operator_as_65532_with_no_leftover_cmd(archive: Path) -> None:
    config = image.image_config(archive)["config"]
    assert config["User"] == "65532:65532"
    assert config["Entrypoint"] == [f"{VENV}/bin/maintenance-operator"]
    # A base's CMD (python3 in the slim images) would reach the operator as an argument.
    assert not config.get("Cmd")
    assert next(e for e in config["Env"] if e.startswith("PATH=")).startswith(f"PATH={VENV}/bin:")
    annotations = image.index(archive)["manifests"][0]["annotations"]
    assert annotations["org.opencontainers.image.ref.name"] == image.reference()


def test_operator_help_through_the_entrypoint(archive: Path) -> None:
    result = image.run(archive, ["--help"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: maintenance-operator")
    for option in ("--namespace", "--metrics-port", "--log-format", "--kubeconfig", "--liveness"):
        assert option in result.stdout


def test_plugin_help(archive: Path) -> None:
    result = image.run(archive, ["kubectl-maintenance", "--help"], entrypoint=False)  # found on the image's PATH
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: kubectl maintenance")
    for verb in ("apps", "dbs", "windows", "require", "restart", "preview", "backups", "backup", "restore"):
        assert re.search(rf"^\s+{verb}\s", result.stdout, re.MULTILINE), verb


def test_runs_as_65532_on_a_read_only_root(archive: Path) -> None:
    probe = _python(
        archive,
        "import json, os\n"
        "errors = {}\n"
        "for path in ('/opt/venv/probe', '/probe', '/home/nonroot'):\n"
        "    try:\n"
        "        os.mkdir(path)\n"
        "    except OSError as error:\n"
        "        errors[path] = error.errno\n"
        "print(json.dumps({'uid': os.getuid(), 'gid': os.getgid(), 'errors': errors}))",
    )
    assert probe == {
        "uid": 65532,
        "gid": 65532,
        "errors": {"/opt/venv/probe": errno.EROFS, "/probe": errno.EROFS, "/home/nonroot": errno.EROFS},
    }


def test_time_zones_come_from_the_tzdata_wheel(archive: Path) -> None:
    # With no TZPATH, zoneinfo can only use the tzdata package: the system's zone files do not count.
    probe = _python(
        archive,
        "import datetime as dt, importlib.resources, json, zoneinfo\n"
        "zoneinfo.reset_tzpath([])\n"
        "berlin = zoneinfo.ZoneInfo('Europe/Berlin')\n"
        "offsets = [dt.datetime(2026, m, 15, 12, tzinfo=dt.UTC).astimezone(berlin).utcoffset().seconds"
        " for m in (1, 7)]\n"
        "print(json.dumps({'offsets': offsets, 'tzdata': str(importlib.resources.files('tzdata'))}))",
    )
    assert probe == {"offsets": [3600, 7200], "tzdata": f"{VENV}/lib/python3.11/site-packages/tzdata"}


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_exactly_the_locked_runtime_dependencies(archive: Path) -> None:
    export = subprocess.run(
        [str(image.uv_binary()), "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "--no-header"],
        cwd=image.REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    locked = dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", export, re.MULTILINE))
    expected = {_normalized(name): version for name, version in locked.items()}
    expected["maintenance-operator"] = image.project_version()
    installed = _python(
        archive,
        "import importlib.metadata as m, json\n"
        "print(json.dumps(sorted([d.metadata['Name'], d.version] for d in m.distributions())))",
    )
    assert isinstance(installed, list)
    assert {_normalized(name): version for name, version in installed} == expected
    assert len(installed) == len(expected)  # no distribution twice


def test_no_compilers_package_caches_or_installers(archive: Path) -> None:
    found = _python(
        archive,
        "import glob, json, os, shutil\n"
        "tools = [t for t in ('gcc', 'cc', 'c++', 'make', 'pip', 'pip3', 'uv') if shutil.which(t)]\n"
        "paths = glob.glob('/var/lib/apt/lists/**', recursive=True) + glob.glob('/var/cache/apt/**', recursive=True)\n"
        "caches = [p for p in paths if os.path.isfile(p) and not p.endswith('/lock')]\n"
        "print(json.dumps({'tools': tools, 'caches': caches}))",
    )
    assert found == {"tools": [], "caches": []}


def test_unchanged_inputs_reuse_the_archive(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    again = image.ensure_image()
    elapsed = time.monotonic() - started
    assert again == archive
    assert "reused" in capsys.readouterr().err
    assert elapsed < 10, f"reuse took {elapsed:.1f} s"
