"""The access of the browser session being built: who is signed in (``pn.state.user``, and the groups
claim of ``pn.state.user_info``) looked up in the access mapping file.

Without a login (``ARTEMIS_AUTH`` unset or ``none``, nobody signed in) everyone is an admin of every
brand, as on a laptop. Otherwise the mapping decides, and anything that goes wrong (no mapping file,
a file that no longer parses, nobody signed in) grants nothing.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import panel as pn

from artemis_panel.auth_config import from_env
from store.access import Access, AccessFileError, AccessMap, brand_catalog, groups_from_claims, load_access, resolve_brands

log = logging.getLogger("artemis.access")
_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int], AccessMap]] = {}


def access_map(path: str | Path) -> AccessMap:
    """The mapping file, re-read when it changes (``artemis users add`` needs no restart)."""
    path = Path(path).expanduser().resolve()
    st = os.stat(path) if path.exists() else None
    stamp = (st.st_ino, st.st_mtime_ns) if st else (0, 0)
    with _lock:
        hit = _cache.get(path)
        if hit and hit[0] == stamp:
            return hit[1]
    mapping = load_access(path)
    with _lock:
        _cache[path] = (stamp, mapping)
    return mapping


def access_for(user: str | None, user_info: dict | None, env=None) -> Access:
    """The access of ``user`` (None: nobody signed in) with the token claims ``user_info``."""
    cfg = from_env(env)
    if not cfg.enabled and user is None:
        return Access.everything()
    if cfg.access is None:
        log.warning("access denied: user %r is signed in but ARTEMIS_ACCESS names no access file; "
                    "no brand granted", user)
        return Access.nothing(user)
    try:
        mapping = access_map(cfg.access)
    except AccessFileError as e:
        log.error("access denied: user %r: the access file cannot be used: %s", user, e)
        return Access.nothing(user)
    return mapping.access_for(user, groups_from_claims(user_info, mapping.groups_claim))


def current_access() -> Access:
    """The access of the current session's user."""
    user = pn.state.user
    try:
        info = pn.state.user_info if user else None
    except Exception:  # an id_token that does not decode: no groups
        info = None
    return access_for(user, info)


def visible_brands(access: Access, reader) -> list[str] | None:
    """The store's brand names (what its queries filter on) the access grants: None for all."""
    if access.brands is None:
        return None
    if not access.brands:
        return []
    return resolve_brands(access.brands, brand_catalog(reader))
