"""The session's access: everything without a login, the mapping with one (deny when anything is off),
and the app restricted to the brands granted."""

from __future__ import annotations

import logging
import os

import pytest

from artemis_panel.session_access import access_for
from store.access import Access

ACCESS = """
users:
  ana: {role: analyst, brands: [artemis-burgers]}
  bob: {role: modeler, brands: [other-brand]}
groups:
  artemis-admins: {role: admin, brands: all}
"""


@pytest.fixture
def access_file(tmp_path):
    path = tmp_path / "access.yaml"
    path.write_text(ACCESS)
    return path


def test_without_login_everyone_sees_everything():
    a = access_for(None, None, env={})
    assert a.brands is None and a.is_admin and a.user is None
    assert access_for(None, None, env={"ARTEMIS_AUTH": "none"}).brands is None


def test_with_login_the_mapping_decides(access_file):
    env = {"ARTEMIS_AUTH": "basic", "ARTEMIS_ACCESS": str(access_file)}
    ana = access_for("ana", {"user": "ana"}, env=env)
    assert (ana.user, ana.role, ana.brands) == ("ana", "analyst", ("artemis-burgers",))
    claims = {"email": "carol@example.com", "cognito:groups": ["artemis-admins"]}
    carol = access_for("carol@example.com", claims, env={**env, "ARTEMIS_AUTH": "oidc"})
    assert carol.is_admin and carol.brands is None and carol.groups == ("artemis-admins",)


def test_anything_off_grants_nothing(access_file, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="artemis.access"):
        # nobody signed in although login is on
        assert access_for(None, None, env={"ARTEMIS_AUTH": "basic", "ARTEMIS_ACCESS": str(access_file)}).denied
        # a stranger
        assert access_for("eve", {}, env={"ARTEMIS_AUTH": "basic", "ARTEMIS_ACCESS": str(access_file)}).denied
        # signed in (a login set up by hand) but no mapping configured
        assert access_for("ana", {}, env={}).denied
        # a mapping file that no longer parses
        bad = tmp_path / "bad.yaml"
        bad.write_text("users: {ana: {role: owner, brands: all}}")
        assert access_for("ana", {}, env={"ARTEMIS_AUTH": "basic", "ARTEMIS_ACCESS": str(bad)}).denied
    text = caplog.text
    assert "'eve'" in text and "ARTEMIS_ACCESS" in text and "bad.yaml" in text


def test_an_edited_mapping_applies_to_new_sessions(access_file):
    env = {"ARTEMIS_AUTH": "basic", "ARTEMIS_ACCESS": str(access_file)}
    assert access_for("dan", {}, env=env).denied
    access_file.write_text(ACCESS.replace("groups:", "  dan: {role: admin, brands: all}\ngroups:"))
    st = os.stat(access_file)
    os.utime(access_file, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # a distinct mtime
    assert access_for("dan", {}, env=env).is_admin


def test_the_app_shows_only_the_brands_granted(demo_store):
    from artemis_panel.app import ArtemisApp

    ana = ArtemisApp(demo_store, access=Access(user="ana", role="analyst", brands=("artemis-burgers",)))
    assert ana.access.user == "ana" and not ana.access.can_launch_jobs
    assert ana.state.brands == ["Artemis Burgers"]
    assert ana.state.param.brand.objects == ["Artemis Burgers"] and ana.state.run_id
    assert "ana · analyst" in ana.user_badge().object and "./logout" in ana.user_badge().object

    bob = ArtemisApp(demo_store, access=Access(user="bob<script>", role="modeler", brands=("other-brand",)))
    assert bob.state.param.brand.objects == [] and bob.state.run_id is None
    badge = bob.user_badge().object
    assert "no data for your brands (other-brand)" in badge and "<script>" not in badge

    nobody = ArtemisApp(demo_store, access=Access.nothing("eve"))
    assert nobody.state.brands == [] and nobody.state.param.brand.objects == []

    everyone = ArtemisApp(demo_store)  # no login: as before
    assert everyone.access.is_admin and everyone.state.brands is None and everyone.user_badge() is None
    assert "Artemis Burgers" in everyone.state.param.brand.objects
