"""pytest plugin used by ``tools/mutate.py`` while mutmut collects which tests reach which
function: calls made while a module- or class-scoped fixture was set up are credited to
every later test of the same module too (mutmut alone credits them to the first test only,
so a mutant in such a function would be checked by that one test).

It also keeps subprocesses out of the stats run: a test that starts ``python -m detente.cli``
in another folder inherits ``MUTANT_UNDER_TEST=stats`` and the child's trampoline then looks
for mutmut's configuration in that folder and fails. While stats are collected the variable
is removed from the environment (mutmut keeps the mode in the process itself as well), so
such a child runs the unmutated code; its calls are not recorded either way (they happen in
another process). Against a mutant the variable stays, so the child runs the mutant."""

from __future__ import annotations

import pytest

_seen: dict[str, set[str]] = {}


def pytest_configure(config):
    import os

    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        try:
            from mutmut.mutation.trampoline import get_mutant_under_test, set_mutant_under_test
        except ImportError:  # another mutmut layout: leave the environment alone
            return
        set_mutant_under_test("stats")
        del os.environ["MUTANT_UNDER_TEST"]
        assert get_mutant_under_test() == "stats"


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
