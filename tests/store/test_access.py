"""The access mapping: users and groups -> role and brands, deny by default, clear errors for bad files."""

from __future__ import annotations

import json
import logging

import pytest
import yaml

from store.access import (
    Access, AccessFileError, AccessMap, Grant, brand_catalog, groups_from_claims, load_access, parse_access,
    resolve_brands, save_access,
)

MAPPING = {
    "users": {
        "ana@example.com": {"role": "analyst", "brands": ["artemis-burgers"]},
        "max": {"role": "admin", "brands": "all"},
        "mo": {"role": "modeler", "brands": "Artemis Burgers, Other Brand"},
    },
    "groups": {
        "artemis-modelers": {"role": "modeler", "brands": ["other-brand"]},
        "artemis-admins": {"role": "admin", "brands": ["*"]},
    },
}


@pytest.fixture
def mapping(tmp_path) -> AccessMap:
    path = tmp_path / "access.yaml"
    path.write_text(yaml.safe_dump(MAPPING))
    return load_access(path)


def test_users_get_their_role_and_brands(mapping):
    ana = mapping.access_for("ana@example.com")
    assert (ana.role, ana.brands) == ("analyst", ("artemis-burgers",))
    assert not ana.can_launch_jobs and not ana.is_admin and not ana.denied
    mx = mapping.access_for("max")
    assert mx.brands is None and mx.is_admin and mx.can_launch_jobs
    mo = mapping.access_for("mo")
    assert mo.brands == ("Artemis Burgers", "Other Brand") and mo.can_launch_jobs and not mo.is_admin


def test_groups_claim_adds_brands_and_raises_the_role(mapping):
    a = mapping.access_for("ana@example.com", ["artemis-modelers", "unrelated"])
    assert a.role == "modeler" and a.brands == ("artemis-burgers", "other-brand")
    assert a.can_launch_jobs
    # a user known only through a group
    b = mapping.access_for("new@example.com", ["artemis-modelers"])
    assert (b.role, b.brands) == ("modeler", ("other-brand",))
    # a group granting all brands wins over lists
    c = mapping.access_for("ana@example.com", ["artemis-admins"])
    assert c.brands is None and c.is_admin


def test_unknown_users_get_nothing_and_are_logged(mapping, caplog):
    with caplog.at_level(logging.WARNING, logger="artemis.access"):
        a = mapping.access_for("eve@example.com", ["strangers"])
        b = mapping.access_for(None)
    for x in (a, b):
        assert x.brands == () and x.role is None and x.denied
        assert not x.can_launch_jobs and not x.is_admin
    text = caplog.text
    assert "eve@example.com" in text and "strangers" in text and "denied" in text
    assert "None" in text


def test_permits_logs_refusals(mapping, caplog):
    ana, mo = mapping.access_for("ana@example.com"), mapping.access_for("mo")
    with caplog.at_level(logging.WARNING, logger="artemis.access"):
        assert not ana.permits("launch jobs")
        assert mo.permits("launch jobs") and not mo.permits("administer")
        assert ana.permits("view")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "'ana@example.com'" in lines[0] and "launch jobs" in lines[0]
    assert "'mo'" in lines[1] and "administer" in lines[1]


def test_everything_is_an_admin_over_all_brands():
    a = Access.everything()
    assert a.brands is None and a.is_admin and a.can_launch_jobs and not a.denied


def test_groups_from_claims():
    assert groups_from_claims({"cognito:groups": ["a", "b"]}) == ["a", "b"]
    assert groups_from_claims({"groups": "a, b c"}, "groups") == ["a", "b", "c"]
    assert groups_from_claims({"email": "x"}) == []
    assert groups_from_claims(None) == []
    assert groups_from_claims({"cognito:groups": 3}) == []


def test_custom_groups_claim(tmp_path):
    path = tmp_path / "access.json"
    path.write_text(json.dumps({"groups_claim": "roles", "groups": {"g": {"role": "analyst", "brands": ["b"]}}}))
    m = load_access(path)
    assert m.groups_claim == "roles"
    assert m.access_for("u", groups_from_claims({"roles": ["g"]}, m.groups_claim)).brands == ("b",)


@pytest.mark.parametrize("content, where, what", [
    ({"users": {"ana": {"role": "boss", "brands": ["x"]}}}, "users.ana", "role"),
    ({"users": {"ana": {"role": "analyst"}}}, "users.ana", "missing 'brands'"),
    ({"users": {"ana": {"brands": ["x"]}}}, "users.ana", "missing 'role'"),
    ({"users": {"ana": {"role": "analyst", "brands": [1]}}}, "users.ana", "brand"),
    ({"users": {"ana": {"role": "analyst", "brands": ["x"], "brand": "y"}}}, "users.ana", "unknown key"),
    ({"groups": {"g1": ["analyst"]}}, "groups.g1", "expected a mapping"),
    ({"users": ["ana"]}, "'users'", "must map"),
    ({"people": {}}, "top-level", "people"),
])
def test_bad_entries_name_the_file_and_the_entry(tmp_path, content, where, what):
    path = tmp_path / "team-access.yaml"
    path.write_text(yaml.safe_dump(content))
    with pytest.raises(AccessFileError) as e:
        load_access(path)
    msg = str(e.value)
    assert str(path) in msg and where in msg and what in msg


def test_unreadable_files_name_the_file(tmp_path):
    with pytest.raises(AccessFileError, match="not found") as e:
        load_access(tmp_path / "missing.yaml")
    assert "missing.yaml" in str(e.value)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(AccessFileError, match="not valid JSON") as e:
        load_access(bad)
    assert str(bad) in str(e.value)
    bad = tmp_path / "bad.yaml"
    bad.write_text("users: [unclosed")
    with pytest.raises(AccessFileError, match="not valid YAML"):
        load_access(bad)


@pytest.mark.parametrize("name", ["access.yaml", "access.json"])
def test_save_and_load_round_trip(tmp_path, name):
    m = parse_access(MAPPING, "x")
    m.users["new"] = Grant("modeler", ("b1", "b2"))
    path = tmp_path / name
    save_access(m, path)
    back = load_access(path)
    assert back.users == m.users and back.groups == m.groups
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temp file left behind


def test_resolve_brands_by_id_or_display_name():
    catalog = [("Artemis Burgers", "artemis-burgers"), ("Other Brand", "other-brand"), ("No Id", None)]
    assert resolve_brands(None, catalog) is None
    assert resolve_brands(("artemis-burgers",), catalog) == ["Artemis Burgers"]
    assert resolve_brands(("Artemis Burgers", "other-brand"), catalog) == ["Artemis Burgers", "Other Brand"]
    assert resolve_brands(("not-yet-synced",), catalog) == ["not-yet-synced"]
    assert resolve_brands((), catalog) == []


def test_brand_catalog_of_the_demo_store(tmp_path):
    from artemis_panel.startup import ensure_store
    from store.reader import StoreReader

    reader = StoreReader(ensure_store(tmp_path / "store.duckdb"))
    try:
        catalog = brand_catalog(reader)
    finally:
        reader.close()
    assert ("Artemis Burgers", "artemis-burgers") in catalog
    assert resolve_brands(("artemis-burgers",), catalog) == ["Artemis Burgers"]
