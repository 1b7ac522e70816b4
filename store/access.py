"""Who may see which brands, and do what: the access mapping file (YAML or JSON) and its rules.

The file maps user names, and the groups an OIDC provider puts in its tokens (Cognito:
``cognito:groups``), to a role and the brands granted::

    groups_claim: cognito:groups        # optional: the token claim that lists a user's groups
    users:
      ana@example.com: {role: analyst, brands: [artemis-burgers]}
      max: {role: admin, brands: all}
    groups:
      artemis-modelers: {role: modeler, brands: [artemis-burgers, "Other Brand"]}

A brand is named by its ``brand_id`` or its display name (the ``brand`` the store's queries filter
on); :func:`resolve_brands` turns the names granted into the display names of the store. ``all`` (or
``"*"``) grants every brand. A user matching several entries (their own and their groups') gets the
union of the brands and the highest role. Anyone matching no entry gets no brand at all (deny by
default), and every denial is logged on the ``artemis.access`` logger.

Pure logic: no Panel, no store connection (:func:`brand_catalog` takes any object with ``execute``).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

log = logging.getLogger("artemis.access")

ROLES = ("analyst", "modeler", "admin")  # each can do what the ones before it can
ALL = "all"
DEFAULT_GROUPS_CLAIM = "cognito:groups"
_ALL_ALIASES = (ALL, "*")


class AccessFileError(ValueError):
    """The access mapping file is missing or malformed (the message names the file and the entry)."""


@dataclass(frozen=True)
class Access:
    """What one signed-in user may do. ``brands`` is None for every brand, else the brands granted
    (brand ids or display names, as the file has them; an empty tuple grants nothing). ``role`` is None
    for a user the mapping does not know."""

    user: str | None
    role: str | None
    brands: tuple[str, ...] | None = ()
    groups: tuple[str, ...] = ()

    @classmethod
    def everything(cls, user: str | None = None) -> "Access":
        """An admin over every brand (the app without a login)."""
        return cls(user=user, role="admin", brands=None)

    @classmethod
    def nothing(cls, user: str | None, groups: Iterable[str] = ()) -> "Access":
        return cls(user=user, role=None, brands=(), groups=tuple(groups))

    @property
    def can_launch_jobs(self) -> bool:
        return self.role in ("modeler", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def denied(self) -> bool:
        """Nothing granted at all: no role and no brand."""
        return self.role is None or self.brands == ()

    def permits(self, action: str) -> bool:
        """Whether the user may do ``action`` (``"launch jobs"`` and ``"change run status"`` need modeler,
        ``"administer"`` admin);
        a refusal is logged."""
        need = {"launch jobs": "modeler", "change run status": "modeler", "administer": "admin"}.get(action, "analyst")
        ok = self.role is not None and ROLES.index(self.role) >= ROLES.index(need)
        if not ok:
            log.warning("access denied: user %r (role %s) may not %s (needs %s)", self.user,
                        self.role or "none", action, need)
        return ok


@dataclass(frozen=True)
class Grant:
    """One entry of the file: a role and the brands (None: all)."""

    role: str
    brands: tuple[str, ...] | None


@dataclass
class AccessMap:
    """The parsed mapping file."""

    users: dict[str, Grant] = field(default_factory=dict)
    groups: dict[str, Grant] = field(default_factory=dict)
    groups_claim: str = DEFAULT_GROUPS_CLAIM
    source: str = "<memory>"

    def access_for(self, user: str | None, groups: Iterable[str] = ()) -> Access:
        """The access of ``user``, who belongs to ``groups`` (from the OIDC groups claim). Deny by default."""
        groups = tuple(g for g in groups if isinstance(g, str))
        matched = []
        if user is not None and user in self.users:
            matched.append(self.users[user])
        matched += [self.groups[g] for g in groups if g in self.groups]
        if user is None or not matched:
            log.warning("access denied: user %r (groups %s) matches no entry of %s; no brand granted",
                        user, list(groups), self.source)
            return Access.nothing(user, groups)
        role = max((g.role for g in matched), key=ROLES.index)
        if any(g.brands is None for g in matched):
            brands: tuple[str, ...] | None = None
        else:
            brands = tuple(dict.fromkeys(b for g in matched for b in g.brands))
            if not brands:
                log.warning("access denied: user %r (role %s) is granted no brand by %s", user, role, self.source)
        return Access(user=user, role=role, brands=brands, groups=groups)

    def to_dict(self) -> dict[str, Any]:
        def entry(g: Grant) -> dict[str, Any]:
            return {"role": g.role, "brands": ALL if g.brands is None else list(g.brands)}

        out: dict[str, Any] = {}
        if self.groups_claim != DEFAULT_GROUPS_CLAIM:
            out["groups_claim"] = self.groups_claim
        out["users"] = {u: entry(g) for u, g in sorted(self.users.items())}
        if self.groups:
            out["groups"] = {n: entry(g) for n, g in sorted(self.groups.items())}
        return out


# ---------------------------------------------------------------------------------------------- parsing
def parse_brands(value: Any, where: str) -> tuple[str, ...] | None:
    """``all`` / ``"*"`` -> None; a list (or a comma-separated text) of brand names -> a tuple."""
    if isinstance(value, str):
        if value.strip().lower() in _ALL_ALIASES:
            return None
        value = [v for v in (s.strip() for s in value.split(",")) if v]
    if not isinstance(value, (list, tuple)):
        raise AccessFileError(f"{where}: 'brands' must be a list of brand ids or names, or 'all'; got {value!r}")
    out = []
    for b in value:
        if not isinstance(b, str) or not b.strip():
            raise AccessFileError(f"{where}: every brand must be a non-empty text; got {b!r}")
        if b.strip().lower() in _ALL_ALIASES:
            return None
        out.append(b.strip())
    return tuple(dict.fromkeys(out))


def parse_role(value: Any, where: str) -> str:
    if value not in ROLES:
        raise AccessFileError(f"{where}: 'role' must be one of {', '.join(ROLES)}; got {value!r}")
    return value


def _grant(entry: Any, where: str) -> Grant:
    if not isinstance(entry, Mapping):
        raise AccessFileError(f"{where}: expected a mapping with 'role' and 'brands'; got {entry!r}")
    unknown = set(entry) - {"role", "brands"}
    if unknown:
        raise AccessFileError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))} "
                              "(expected 'role' and 'brands')")
    if "role" not in entry:
        raise AccessFileError(f"{where}: missing 'role' (one of {', '.join(ROLES)})")
    if "brands" not in entry:
        raise AccessFileError(f"{where}: missing 'brands' (a list of brand ids or names, or 'all')")
    return Grant(parse_role(entry["role"], where), parse_brands(entry["brands"], where))


def parse_access(data: Any, source: str = "<memory>") -> AccessMap:
    """Validate the content of a mapping file (already decoded) into an :class:`AccessMap`."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise AccessFileError(f"{source}: expected a mapping with 'users' and/or 'groups' at the top level")
    unknown = set(data) - {"users", "groups", "groups_claim"}
    if unknown:
        raise AccessFileError(f"{source}: unknown top-level key(s) {', '.join(sorted(map(str, unknown)))} "
                              "(expected users, groups, groups_claim)")
    out = AccessMap(source=source)
    claim = data.get("groups_claim", DEFAULT_GROUPS_CLAIM)
    if not isinstance(claim, str) or not claim:
        raise AccessFileError(f"{source}: 'groups_claim' must be the name of a token claim; got {claim!r}")
    out.groups_claim = claim
    for section in ("users", "groups"):
        entries = data.get(section) or {}
        if not isinstance(entries, Mapping):
            raise AccessFileError(f"{source}: '{section}' must map names to {{role, brands}}; got {entries!r}")
        target = out.users if section == "users" else out.groups
        for name, entry in entries.items():
            where = f"{source}: {section}.{name}"
            if not isinstance(name, str) or not name.strip():
                raise AccessFileError(f"{source}: {section}: an entry has an empty or non-text name ({name!r})")
            target[name] = _grant(entry, where)
    return out


def load_access(path: str | Path) -> AccessMap:
    """Read and validate a mapping file (``.json``: JSON, anything else: YAML)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AccessFileError(f"{path}: access file not found") from None
    except OSError as e:
        raise AccessFileError(f"{path}: cannot read the access file ({e.strerror})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise AccessFileError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {e}") from None
    return parse_access(data, str(path))


def save_access(mapping: AccessMap, path: str | Path) -> None:
    """Write the mapping (JSON for ``.json``, else YAML), atomically."""
    path = Path(path)
    data = mapping.to_dict()
    if path.suffix.lower() == ".json":
        text = json.dumps(data, indent=2) + "\n"
    else:
        text = ("# Artemis access mapping: user or group -> role (analyst, modeler, admin) and brands "
                "(brand ids or names, or 'all').\n" + yaml.safe_dump(data, sort_keys=False))
    write_atomic(path, text, mode=0o644)


def write_atomic(path: str | Path, text: str, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` in one step (a temp file in the same folder, then a rename): readers
    see the old file or the new one, never half of it. The file gets ``mode``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


# ---------------------------------------------------------------------------------------------- helpers
def groups_from_claims(claims: Mapping[str, Any] | None, claim: str = DEFAULT_GROUPS_CLAIM) -> list[str]:
    """The groups listed in a token's ``claim`` (a list, or a comma/space separated text)."""
    if not claims:
        return []
    value = claims.get(claim)
    if value is None:
        return []
    if isinstance(value, str):
        return [g for g in value.replace(",", " ").split() if g]
    if isinstance(value, (list, tuple)):
        return [g for g in value if isinstance(g, str) and g]
    return []


def brand_catalog(reader) -> list[tuple[str, str | None]]:
    """Every brand of the store as (display name, brand_id), from its runs."""
    rows = reader.execute("SELECT DISTINCT brand, brand_id FROM runs ORDER BY brand, brand_id")
    return [(str(b), None if i is None else str(i)) for b, i in rows]


def resolve_brands(granted: Sequence[str] | None, catalog: Iterable[tuple[str, str | None]]) -> list[str] | None:
    """The display names (what the store's queries filter on) of the brands ``granted`` by id or by name.
    None (all brands) stays None; a granted name the store does not know yet is kept as it is (it then
    matches nothing, until a brand of that name arrives)."""
    if granted is None:
        return None
    catalog = list(catalog)
    out: list[str] = []
    for g in granted:
        hits = [name for name, bid in catalog if g == name or (bid is not None and g == bid)]
        out.extend(hits or [g])
    return list(dict.fromkeys(out))
