"""pytest plugin used by ``tools/mutate.py`` while mutmut collects which tests reach which
function: calls made while a module- or class-scoped fixture was set up are credited to
every later test of the same module too (mutmut alone credits them to the first test only,
so a mutant in such a function would be checked by that one test)."""

from __future__ import annotations

import pytest

_seen: dict[str, set[str]] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem):  # runs before mutmut's own teardown hook
    try:
        from mutmut.state import state
    except ImportError:  # not under mutmut
        return
    hits = state()._stats
    module = item.nodeid.split("::", 1)[0]
    seen = _seen.setdefault(module, set())
    seen |= hits
    hits |= seen
