"""`overhaul preflight --no-cluster` as CI runs it: the manifest corpus through the real command
(files, directories, stdin), its output formats, and the exit codes of bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from overhaul.cli.main import run
from overhaul.knowledge import apis
from tests.support.simproc import sim_command

CORPUS = Path(__file__).resolve().parents[1] / "data" / "manifests"
TABLE = {(e.gvk.api_version, e.gvk.kind) for e in apis.removed_apis()}
FORMATS = ["multi-doc.yaml", "list.yaml", "list.json", "stream.json", "charts/legacy/rendered.yaml"]
TODAY = "2026-12-01"


def preflight(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        sim_command("preflight", *args), input=stdin, capture_output=True, text=True, timeout=120
    )


def test_every_removed_api_in_every_format_and_file_of_a_directory() -> None:
    done = preflight(
        "--no-cluster", "--to", "1.37", "--today", TODAY, "--manifests", str(CORPUS / "removed"), "-o", "json"
    )
    assert done.returncode == 3, done.stderr
    report = json.loads(done.stdout)
    assert report["current"] == {"apiserver": None, "kubelets": {}}
    for name in FORMATS:
        source = f"manifest:{CORPUS / 'removed' / name}"
        found = {
            (f["object"]["apiVersion"], f["object"]["kind"])
            for f in report["findings"]
            if f["source"] == source and f["check"] == "removed-api" and f["severity"] == "blocking"
        }
        assert found == TABLE, name
    assert report["summary"]["blocking"] == len(TABLE) * len(FORMATS)


def test_stdin_and_repeated_manifests() -> None:
    text = (CORPUS / "removed" / "multi-doc.yaml").read_text()
    done = preflight(
        "--no-cluster",
        "--to",
        "v1.37.0",
        "--today",
        TODAY,
        "--manifests",
        "-",
        "--manifests",
        str(CORPUS / "current" / "list.json"),
        "-o",
        "json",
        stdin=text,
    )
    assert done.returncode == 3
    findings = json.loads(done.stdout)["findings"]
    assert {f["source"] for f in findings} == {"manifest:-"}
    assert {(f["object"]["apiVersion"], f["object"]["kind"]) for f in findings} == TABLE


def test_current_api_versions_pass_with_nothing_found() -> None:
    done = preflight(
        "--no-cluster", "--to", "1.37", "--today", TODAY, "--manifests", str(CORPUS / "current"), "-o", "json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "target": "1.37",
        "current": {"apiserver": None, "kubelets": {}},
        "findings": [],
        "summary": {"blocking": 0, "warning": 0, "info": 0},
    }


def test_junit_and_table_outputs() -> None:
    removed = str(CORPUS / "removed" / "list.yaml")
    junit = preflight("--no-cluster", "--to", "1.37", "--today", TODAY, "--manifests", removed, "-o", "junit")
    assert junit.returncode == 3
    suite = ET.fromstring(junit.stdout).find("testsuite")
    assert suite is not None
    failing = [c.get("name") for c in suite.findall("testcase") if c.find("failure") is not None]
    assert failing == ["removed-api"] and len(suite.findall("testcase")) == 14
    table = preflight("--no-cluster", "--to", "1.37", "--today", TODAY, "--manifests", removed)
    assert table.returncode == 3
    assert "BLOCKING (90)" in table.stdout and "not ready" in table.stdout


def test_accepting_a_check_lets_it_pass() -> None:
    removed = str(CORPUS / "removed" / "list.yaml")
    done = preflight(
        "--no-cluster", "--to", "1.37", "--manifests", removed, "--accept", "removed-api", "-o", "json"
    )
    assert done.returncode == 0
    assert json.loads(done.stdout)["summary"]["blocking"] == 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--to", "banana"], "not a Kubernetes version"),
        (["--to", "1.99"], "not a known release"),
        (["--to", "1.35", "-o", "xml"], "choose one of table, json, junit"),
        (["--to", "1.35", "--accept", "everything"], "unknown check"),
        (["--to", "1.35", "--batch", "0"], "--batch"),
        (["--to", "1.35", "--manifests", "/nonexistent/dir"], "no such file"),
        (["--to", "1.35", "--today", "yesterday"], "YYYY-MM-DD"),
    ],
)
def test_bad_usage_exits_2_with_one_line(
    args: list[str], words: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # In-process through the console-script entry point (the same code as the process; no startup cost).
    monkeypatch.setattr(sys, "argv", ["overhaul", "preflight", "--no-cluster", *args])
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.strip().splitlines()
    assert line.startswith("overhaul: ") and words in line


def test_a_malformed_manifest_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    bad = tmp_path / "sub" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n")
    done = preflight("--no-cluster", "--to", "1.35", "--manifests", str(tmp_path), "-o", "json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert f"{bad}:5: invalid YAML" in done.stderr and "Traceback" not in done.stderr
    broken_json = preflight(
        "--no-cluster", "--to", "1.35", "--manifests", "-", stdin='{"apiVersion": "v1",\n  "kind": '
    )
    assert broken_json.returncode == 2 and "-:2: invalid JSON" in broken_json.stderr


def test_a_missing_snapshot_is_bad_input(tmp_path: Path) -> None:
    done = preflight("--to", "1.35", "--from-snapshot", str(tmp_path / "nope.json.gz"))
    assert done.returncode == 2 and "--from-snapshot" in done.stderr
