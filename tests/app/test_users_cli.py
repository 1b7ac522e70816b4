"""``artemis users add / list / remove``: the credentials file (hashes only, 0600) and the access mapping."""

from __future__ import annotations

import io
import json
import os

import pytest

from artemis_panel import cli
from artemis_panel.credentials import load_credentials, verify_password
from store.access import load_access


@pytest.fixture
def files(tmp_path, monkeypatch):
    creds, access = tmp_path / "credentials.json", tmp_path / "access.yaml"
    monkeypatch.setenv("ARTEMIS_CREDENTIALS", str(creds))
    monkeypatch.setenv("ARTEMIS_ACCESS", str(access))
    return creds, access


def run(monkeypatch, capsys, *argv, stdin: str = ""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    rc = cli.main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_add_list_remove(files, monkeypatch, capsys):
    creds, access = files
    rc, out, _ = run(monkeypatch, capsys, "users", "add", "ana", "--role", "analyst", "--brands",
                     "artemis-burgers", "--password-stdin", stdin="ana-password-1\n")
    assert rc == 0 and "added ana" in out
    rc, _, _ = run(monkeypatch, capsys, "users", "add", "max", "--role", "admin", "--brands", "all",
                   "--password-stdin", stdin="max password 2\n")
    assert rc == 0
    rc, _, _ = run(monkeypatch, capsys, "users", "add", "oidc@example.com", "--role", "modeler",
                   "--brands", "a,b", "--no-password")
    assert rc == 0

    users = load_credentials(creds)
    assert set(users) == {"ana", "max"}
    assert verify_password("ana-password-1", users["ana"]) and verify_password("max password 2", users["max"])
    text = creds.read_text()
    assert "ana-password-1" not in text and "max password 2" not in text
    assert os.stat(creds).st_mode & 0o777 == 0o600
    m = load_access(access)
    assert m.access_for("ana").brands == ("artemis-burgers",)
    assert m.access_for("max").brands is None and m.access_for("max").is_admin
    assert m.access_for("oidc@example.com").brands == ("a", "b")

    rc, out, _ = run(monkeypatch, capsys, "users", "list")
    assert rc == 0
    rows = {line.split()[1]: line for line in out.splitlines()[1:]}
    assert set(rows) == {"ana", "max", "oidc@example.com"}
    assert "analyst" in rows["ana"] and "artemis-burgers" in rows["ana"] and rows["ana"].endswith("yes")
    assert rows["oidc@example.com"].endswith("no") and "a, b" in rows["oidc@example.com"]
    assert "password-1" not in out

    rc, out, _ = run(monkeypatch, capsys, "users", "remove", "ana")
    assert rc == 0 and "removed ana" in out
    assert "ana" not in load_credentials(creds) and "ana" not in load_access(access).users
    assert load_access(access).access_for("ana").denied
    rc, _, err = run(monkeypatch, capsys, "users", "remove", "ana")
    assert rc == 2 and "no user 'ana'" in err
    assert sorted(p.name for p in creds.parent.iterdir()) == ["access.yaml", "credentials.json"]


def test_add_refuses_a_duplicate_without_replace(files, monkeypatch, capsys):
    creds, _ = files
    assert run(monkeypatch, capsys, "users", "add", "ana", "--role", "analyst", "--brands", "x",
               "--password-stdin", stdin="first-password\n")[0] == 0
    rc, _, err = run(monkeypatch, capsys, "users", "add", "ana", "--role", "admin", "--brands", "all",
                     "--password-stdin", stdin="second-password\n")
    assert rc == 2 and "exists" in err and "--replace" in err
    assert verify_password("first-password", load_credentials(creds)["ana"])
    rc, out, _ = run(monkeypatch, capsys, "users", "add", "ana", "--role", "admin", "--brands", "all",
                     "--password-stdin", "--replace", stdin="second-password\n")
    assert rc == 0 and "updated ana" in out
    assert verify_password("second-password", load_credentials(creds)["ana"])


def test_prompted_password_must_match(files, monkeypatch, capsys):
    creds, _ = files
    answers = iter(["prompted-pass", "prompted-pass"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert run(monkeypatch, capsys, "users", "add", "ana", "--role", "analyst", "--brands", "x")[0] == 0
    assert verify_password("prompted-pass", load_credentials(creds)["ana"])
    answers = iter(["prompted-pass", "other-pass!"])
    rc, _, err = run(monkeypatch, capsys, "users", "add", "bob", "--role", "analyst", "--brands", "x")
    assert rc == 2 and "differ" in err
    assert "bob" not in load_credentials(creds)


@pytest.mark.parametrize("argv, stdin, message", [
    (["--role", "analyst", "--brands", "x", "--password-stdin"], "short\n", "too short"),
    (["--role", "analyst", "--brands", " , ", "--password-stdin"], "long-enough-pw\n", "no brand"),
    (["--role", "analyst", "--brands", "x", "--password-stdin", "--no-password"], "", "exclude"),
])
def test_bad_input_writes_nothing(files, monkeypatch, capsys, argv, stdin, message):
    creds, access = files
    rc, _, err = run(monkeypatch, capsys, "users", "add", "ana", *argv, stdin=stdin)
    assert rc == 2 and message in err
    assert not creds.exists() and not access.exists()


def test_no_files_configured(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ARTEMIS_CREDENTIALS", raising=False)
    monkeypatch.delenv("ARTEMIS_ACCESS", raising=False)
    rc, _, err = run(monkeypatch, capsys, "users", "list")
    assert rc == 2 and "ARTEMIS_ACCESS" in err
    rc, _, err = run(monkeypatch, capsys, "users", "add", "ana", "--role", "analyst", "--brands", "x",
                     "--access", str(tmp_path / "a.yaml"), "--password-stdin", stdin="long-enough-pw\n")
    assert rc == 2 and "ARTEMIS_CREDENTIALS" in err


def test_json_access_file(tmp_path, monkeypatch, capsys):
    access = tmp_path / "access.json"
    rc, _, _ = run(monkeypatch, capsys, "users", "add", "ana", "--role", "modeler", "--brands", "b1",
                   "--no-password", "--access", str(access))
    assert rc == 0
    assert json.loads(access.read_text())["users"]["ana"] == {"role": "modeler", "brands": ["b1"]}
