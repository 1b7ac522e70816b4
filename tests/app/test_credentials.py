"""Password hashes (scrypt, pbkdf2) and the credentials file: hashes only, clear errors, re-read on change."""

from __future__ import annotations

import json
import os

import pytest

from artemis_panel.credentials import (
    CredentialStore, CredentialsError, check_hash, hash_password, load_credentials, save_credentials,
    verify_password,
)


@pytest.mark.parametrize("scheme", ["scrypt", "pbkdf2_sha256"])
def test_hash_and_verify(scheme):
    h = hash_password("correct horse battery", scheme)
    assert h.startswith(scheme + "$") and "correct horse" not in h
    assert check_hash(h) is None
    assert verify_password("correct horse battery", h)
    assert not verify_password("correct horse batterY", h)
    assert not verify_password("", h)
    assert hash_password("correct horse battery", scheme) != h  # salted


def test_tampered_or_unknown_hashes_never_verify():
    h = hash_password("pw-12345678")
    parts = h.split("$")
    parts[5] = parts[5][:-4] + ("AAA=" if parts[5][-4:] != "AAA=" else "BBB=")
    assert not verify_password("pw-12345678", "$".join(parts))
    assert not verify_password("pw-12345678", "pw-12345678")  # a plaintext "hash"
    assert not verify_password("pw-12345678", "md5$abc")
    assert "plaintext" in check_hash("pw-12345678")
    assert check_hash("scrypt$3$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==") == "scrypt parameters out of range"


def test_the_file_holds_hashes_only_and_is_private(tmp_path):
    path = tmp_path / "sub" / "credentials.json"
    save_credentials({"ana": hash_password("ana-password-1")}, path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert "ana-password-1" not in path.read_text()
    users = load_credentials(path)
    assert verify_password("ana-password-1", users["ana"])
    with pytest.raises(CredentialsError, match="plaintext"):
        save_credentials({"ana": "ana-password-1"}, path)
    assert load_credentials(path) == users  # the refused write left the file as it was
    assert sorted(p.name for p in path.parent.iterdir()) == ["credentials.json"]


def test_bad_files_name_the_file_and_the_user(tmp_path):
    path = tmp_path / "team.json"
    path.write_text(json.dumps({"ana": hash_password("ana-password-1"), "bob": "hunter22"}))
    with pytest.raises(CredentialsError) as e:
        load_credentials(path)
    assert str(path) in str(e.value) and "'bob'" in str(e.value) and "plaintext" in str(e.value)
    path.write_text("[1, 2]")
    with pytest.raises(CredentialsError, match="JSON object"):
        load_credentials(path)
    path.write_text("{broken")
    with pytest.raises(CredentialsError, match="not valid JSON"):
        load_credentials(path)
    with pytest.raises(CredentialsError, match="not found"):
        load_credentials(tmp_path / "none.json")


def test_store_rereads_the_file_when_it_changes(tmp_path):
    path = tmp_path / "credentials.json"
    save_credentials({"ana": hash_password("ana-password-1")}, path)
    store = CredentialStore(path)
    assert store.verify("ana", "ana-password-1")
    assert not store.verify("ana", "ana-password-2")
    assert not store.verify("bob", "ana-password-1")
    save_credentials({"ana": hash_password("ana-password-2"), "bob": hash_password("bob-password-1")}, path)
    assert store.verify("ana", "ana-password-2") and not store.verify("ana", "ana-password-1")
    assert store.verify("bob", "bob-password-1")
