"""The compiled twin of the engine's hazard step gives the numpy step's numbers exactly.

The numpy step (``engine._simulate_chunk`` step 6 with ``engine._hazard_parts``) is the reference.
The twin (``detente.crisis._compiled_hazard``) is compared with it on random flashpoints, cause
terms and states that reach every branch (per-run and single coefficients, barred initiators and
partial background shares, postponed meetings, shocks, dead flashpoints, more and fewer than 8
flashpoints, values the twin must hand back), and on whole engine chunks of the four bundled
scenarios, byte for byte. Skipped when numba (the ``fast`` extra) is missing.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from detente.crisis import engine as E
from detente.crisis import kernels as K
from twin_helpers import needs_numba

NCAUSE = E.NCAUSE
ACTORS = ["a", "b", "c", "d", "e"]


def _world(rng: np.random.Generator, n: int, J: int, *, per_run: bool, hold_on: bool, prov_on: bool) -> dict:
    """Random flashpoints, values and state arrays shaped as in the engine."""
    A = len(ACTORS)
    aidx = {a: i for i, a in enumerate(ACTORS)}
    dyad_ids = ["ab", "cd", "ae"]
    directions = [(0, "a", "b"), (0, "b", "a"), (1, "c", "d"), (1, "d", "c"), (2, "a", "e"), (2, "e", "a")]
    fps = []
    for j in range(J):
        fps.append(SimpleNamespace(
            id=f"f{j}", dyads=list(rng.choice(dyad_ids, size=int(rng.integers(1, 3)), replace=False)),
            involves=list(rng.choice(ACTORS, size=3, replace=False)),
            crisis=SimpleNamespace(demander=str(rng.choice(ACTORS))), local=str(rng.choice(ACTORS)),
            escalation=SimpleNamespace(rungs=int(rng.integers(2, 6)))))
    allowed = rng.random(A) < 0.7
    allowed[0] = True

    def val(lo: float, hi: float) -> Any:
        return rng.uniform(lo, hi, n) if per_run and rng.random() < 0.6 else float(rng.uniform(lo, hi))

    V: dict[str, Any] = {"policies.stall.hold_damping": val(0.0, 1.5), "triangle.coupling.provocation.beta": val(-1, 3)}
    for f in fps:
        b = f"flashpoints[{f.id}].beta"
        V[f"flashpoints[{f.id}].base_hazard_m"] = val(0.0, 0.3)
        for k, lo, hi in (("groups", -0.5, 2), ("agreement", -3, 1), ("forced", -1, 3), ("pressure", -1, 2),
                          ("crisis_pwar", -1, 4), ("moral_hazard", -1, 2), ("rung", -1, 3), ("forces", -1, 2)):
            V[f"{b}.{k}"] = val(lo, hi)
    bgs = []
    for _ in fps:
        bg = rng.random(A) * (rng.random(A) < 0.6)
        bg = bg / bg.sum() if bg.sum() > 0 else bg
        bgs.append(bg * allowed)
    NK = 6
    hold_fp = [sorted(set(rng.integers(0, NK, int(rng.integers(0, 6))).tolist())) for _ in fps]
    forces = rng.normal(0, 0.5, (n, J))
    forces[rng.random((n, J)) < 0.1] = -np.inf          # log 0 of the Richardson forces
    return dict(
        n=n, J=J, A=A, aidx=aidx, dyad_ids=dyad_ids, directions=directions, fps=fps, allowed=allowed, V=V, bgs=bgs,
        hold_on=hold_on, hold_fp=hold_fp, prov_on=prov_on, prov_fps={f.id for f in fps if rng.random() < 0.6},
        prov_init=str(rng.choice(ACTORS)),
        # sums of up to 5 tracks below and above the cap 1, summed in numpy's order or not
        pending_hold=(rng.random((n, NK)) < 0.6) * rng.uniform(0, 0.45, (n, NK)) * 10.0 ** rng.integers(-3, 1, (n, NK)),
        g_damp=rng.uniform(0, 1, (n, J)) * (rng.random((n, J)) < 0.5),
        agreed_fp=(rng.random((n, J)) < 0.3).astype(float),
        alive=rng.random((n, J)) < 0.7,
        forced=rng.random((len(directions), n)) < 0.3,
        prox=rng.uniform(0, 1, (len(directions), n)) * (rng.random((len(directions), n)) < 0.6),
        pwar=rng.uniform(-0.1, 0.8, (n, J)), mh=rng.uniform(-0.2, 0.6, (n, J)),
        rung=rng.integers(0, 4, (J, n)).astype(np.int16), forces=forces,
        wedge_fail=rng.uniform(-0.2, 1, n), smult=[float(x) if rng.random() < 0.5 else 1.0 for x in rng.uniform(0, 3, J)],
    )


def _reference(w: dict, s: int, rng: np.random.Generator, state: dict) -> tuple:
    """Step 6 of engine._simulate_chunk with the engine's numpy code (the shock multipliers given)."""
    n, J, A, V = w["n"], w["J"], w["A"], w["V"]
    aidx, directions, dyad_ids, dtm = w["aidx"], w["directions"], w["dyad_ids"], 1.0
    fp_parts = []
    lam_fp = np.zeros((n, J))
    causes = np.zeros((J, NCAUSE))
    diag_init = state["diag_init"]
    alive = state["alive"]
    for j, f in enumerate(w["fps"]):
        b = f"flashpoints[{f.id}].beta"
        lam0 = V[f"flashpoints[{f.id}].base_hazard_m"]
        neg = -V[f"{b}.groups"] * w["g_damp"][:, j] + V[f"{b}.agreement"] * w["agreed_fp"][:, j]
        if w["hold_on"] and w["hold_fp"][j]:
            neg = neg - V["policies.stall.hold_damping"] * np.minimum(
                w["pending_hold"][:, w["hold_fp"][j]].sum(axis=1), 1.0)
        lam_b = lam0 * np.exp(neg) * w["smult"][j] * alive[:, j]
        terms: list[tuple[int, Any, Any]] = []
        for r, (di, D, _R) in enumerate(directions):
            if dyad_ids[di] in f.dyads and D in f.involves:
                terms.append((1, V[f"{b}.forced"] * w["forced"][r] + V[f"{b}.pressure"] * w["prox"][r], aidx[D]))
        terms.append((2, V[f"{b}.crisis_pwar"] * w["pwar"][:, j], aidx[f.crisis.demander]))
        terms.append((3, V[f"{b}.moral_hazard"] * w["mh"][:, j], aidx[f.local]))
        esc = V[f"{b}.rung"] * w["rung"][j] / (f.escalation.rungs - 1) + V[f"{b}.forces"] * np.maximum(w["forces"][:, j], 0)
        terms.append((4, esc, w["bgs"][j]))
        if w["prov_on"] and f.id in w["prov_fps"]:
            terms.append((5, V["triangle.coupling.provocation.beta"] * w["wedge_fail"], aidx[w["prov_init"]]))
        parts = E._hazard_parts(lam_b, w["bgs"][j], terms, w["allowed"])
        for cause, lam, who in parts:
            lam_fp[:, j] += lam
            tot_l = float(np.sum(lam))
            causes[j, cause] += tot_l
            if isinstance(who, np.ndarray):
                ws = who.sum()
                if ws > 0:
                    diag_init[s, j] += tot_l * who / ws
            else:
                diag_init[s, j, who] += tot_l
        fp_parts.append(parts)
    h_fp = K.hazard_prob(lam_fp, dtm)
    p_any = K.hazard_prob(lam_fp.sum(axis=1), dtm)
    u = rng.random(n)
    onset = u < p_any
    who = np.zeros(0, np.int64)
    if onset.any():
        rows = np.nonzero(onset)[0]
        hsum = h_fp[rows].cumsum(axis=1)
        pick = np.minimum((rng.random(len(rows))[:, None] * hsum[:, -1:] > hsum).sum(axis=1), J - 1)
        u_who = rng.random(len(rows))
        u_cause = rng.random(len(rows))
        who = np.zeros(len(rows), np.int64)
        cause_of = np.zeros(len(rows), np.int64)
        for j in range(J):
            sel = np.nonzero(pick == j)[0]
            if not len(sel):
                continue
            rr = rows[sel]
            W = np.zeros((len(sel), A))
            Cw = np.zeros((len(sel), NCAUSE))
            for cause, lam, whom in fp_parts[j]:
                lv = lam[rr] if np.ndim(lam) else np.full(len(sel), lam)
                if isinstance(whom, np.ndarray):
                    W += lv[:, None] * (whom / max(whom.sum(), 1e-300))[None, :]
                else:
                    W[:, whom] += lv
                Cw[:, cause] += lv
            cw = W.cumsum(axis=1)
            who[sel] = np.minimum((u_who[sel, None] * cw[:, -1:] > cw).sum(axis=1), A - 1)
            cc = Cw.cumsum(axis=1)
            cause_of[sel] = np.minimum((u_cause[sel, None] * cc[:, -1:] > cc).sum(axis=1), NCAUSE - 1)
        state["onset_step"][rows, pick] = s
        state["onset_init"][rows, pick] = who
        state["onset_cause"][rows, pick] = cause_of
        alive[rows, pick] = False
        fresh = state["first_step"][rows] < 0
        state["first_step"][rows[fresh]] = s
        state["first_fp"][rows[fresh]] = pick[fresh]
        state["first_init"][rows[fresh]] = who[fresh]
        if state["stop"]:
            alive[rows, :] = False
    return h_fp, p_any, causes, who


def _twin(w: dict) -> Any:
    from detente.crisis._compiled_hazard import HazardTwin

    # no shocks here: the multipliers are set below (the chunk tests run seesaw-2021's Olympic window)
    steps = SimpleNamespace(n_steps=4, shocks=[])
    tw = HazardTwin(n=w["n"], fps=w["fps"], directions=w["directions"], dyad_ids=w["dyad_ids"], aidx=w["aidx"],
                    V=w["V"], bgs=w["bgs"], allowed=w["allowed"], hold_on=w["hold_on"], hold_fp=w["hold_fp"],
                    n_cause=NCAUSE, c=steps, prov_term=(w["prov_fps"], w["V"]["triangle.coupling.provocation.beta"],
                                                        w["prov_init"]) if w["prov_on"] else None)
    assert (tw.smult == 1.0).all()
    tw.smult[:] = w["smult"]
    return tw


def _twin_step(tw: Any, w: dict, s: int, rng: np.random.Generator, state: dict) -> tuple | None:
    """The engine's compiled branch of step 6 (the same draws in the same order)."""
    got = tw.hazards(s, 1.0, w["pending_hold"], w["g_damp"], w["agreed_fp"], state["alive"], w["forced"],
                     w["prox"], w["pwar"], w["mh"], w["rung"], w["forces"], w["wedge_fail"])
    if got is None:
        return None
    h_fp, p_any, parts, tots = got
    causes = np.zeros((w["J"], NCAUSE))
    u = rng.random(w["n"])
    rows = np.nonzero(u < p_any)[0]
    draws = [rng.random(len(rows)) if rows.size else u[:0] for _ in range(3)]
    who = tw.onsets(s, rows, *draws, h_fp, parts, tots, causes, state["diag_init"][s], state["onset_step"],
                    state["onset_init"], state["onset_cause"], state["alive"], state["first_step"], state["first_fp"],
                    state["first_init"], state["stop"])
    return h_fp, p_any, causes, who


def _state(w: dict, stop: bool, T: int = 4) -> dict:
    n, J = w["n"], w["J"]
    return dict(diag_init=np.zeros((T, J, w["A"])), alive=w["alive"].copy(), stop=stop,
                onset_step=np.full((n, J), -1, np.int16), onset_init=np.full((n, J), -1, np.int8),
                onset_cause=np.full((n, J), -1, np.int8), first_step=np.full(n, -1, np.int16),
                first_fp=np.full(n, -1, np.int8), first_init=np.full(n, -1, np.int8))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@needs_numba
@pytest.mark.parametrize("J", [1, 3, 7, 8, 10])
@pytest.mark.parametrize("per_run", [False, True])
def test_twin_equals_the_numpy_step_on_random_worlds(J, per_run):
    rng = np.random.default_rng([J, per_run])
    onsets = 0
    for rep in range(6):
        w = _world(rng, int(rng.choice([1, 7, 40, 300])), J, per_run=per_run, hold_on=bool(rep % 2),
                   prov_on=rep % 3 != 0)
        stop = bool(rep % 2)
        ref_state, twin_state = _state(w, stop), _state(w, stop)
        tw = _twin(w)
        seed = int(rng.integers(1 << 30))
        for s in range(3):   # months in a row: onsets kill flashpoints, later months see them dead
            r_rng, t_rng = np.random.default_rng([seed, s]), np.random.default_rng([seed, s])
            want = _reference(w, s, r_rng, ref_state)
            got = _twin_step(tw, w, s, t_rng, twin_state)
            assert got is not None
            for x, y in zip(want, got):
                assert _same(x, y)
            for k in ref_state:
                if k != "stop":
                    assert _same(ref_state[k], twin_state[k]), k
            assert r_rng.random() == t_rng.random()   # the same number of draws
            onsets += len(want[3])
    assert onsets > 20   # the picking is compared, not only the hazards


@needs_numba
def test_twin_hands_values_that_are_not_finite_to_the_numpy_code():
    rng = np.random.default_rng(5)
    for where in ("pwar", "mh", "forces", "g_damp", "wedge_fail"):
        w = _world(rng, 50, 3, per_run=True, hold_on=True, prov_on=True)
        w["alive"][:] = True
        w["allowed"][:] = True
        w["bgs"] = [np.full(len(ACTORS), 1 / len(ACTORS)) for _ in w["fps"]]
        w["prov_fps"] = {f.id for f in w["fps"]}
        w[where][7] = np.nan if where != "forces" else np.inf
        tw = _twin(w)
        assert tw.hazards(0, 1.0, w["pending_hold"], w["g_damp"], w["agreed_fp"], w["alive"], w["forced"],
                          w["prox"], w["pwar"], w["mh"], w["rung"], w["forces"], w["wedge_fail"]) is None, where
    # -inf forces (log 0) are ordinary: the escalation term takes max(forces, 0)
    w = _world(rng, 50, 3, per_run=False, hold_on=False, prov_on=False)
    w["forces"][:] = -np.inf
    assert _twin(w).hazards(0, 1.0, w["pending_hold"], w["g_damp"], w["agreed_fp"], w["alive"], w["forced"],
                            w["prox"], w["pwar"], w["mh"], w["rung"], w["forces"], w["wedge_fail"]) is not None


@needs_numba
def test_dead_flashpoints_with_a_huge_exponent_still_match():
    """A dead flashpoint whose e^{neg} overflows gives NaN in the numpy step (∞·0): the twin must
    not take its shortcut for dead flashpoints there, but compute and hand the month back."""
    rng = np.random.default_rng(9)
    w = _world(rng, 20, 2, per_run=False, hold_on=False, prov_on=False)
    w["alive"][:] = False
    w["V"]["flashpoints[f0].beta.agreement"] = 800.0
    w["agreed_fp"][:] = 1.0
    w["V"]["flashpoints[f0].beta.groups"] = 0.0
    tw = _twin(w)
    assert tw.hazards(0, 1.0, w["pending_hold"], w["g_damp"], w["agreed_fp"], w["alive"], w["forced"],
                      w["prox"], w["pwar"], w["mh"], w["rung"], w["forces"], w["wedge_fail"]) is None
    w["V"]["flashpoints[f0].beta.agreement"] = 40.0      # large but finite: the shortcut's zero
    st_r, st_t = _state(w, True), _state(w, True)
    want = _reference(w, 0, np.random.default_rng(1), st_r)
    got = _twin_step(_twin(w), w, 0, np.random.default_rng(1), st_t)
    assert got is not None and all(_same(x, y) for x, y in zip(want, got))


SCENARIO_CASES = [
    ("seesaw-2021", "combined", {}),
    ("seesaw-2021", "combined", {"settings.draw_assumptions": True}),
    ("seesaw-2021", "article", {"policies.stall.enabled": False}),
    ("seesaw-2021", None, {"settings.after_first_war": "stop"}),
    ("taiwan-strait-1995", None, {"settings.draw_assumptions": True}),
    ("cuba-1962", None, {}),
    ("crimea-2014", None, {"settings.draw_assumptions": True}),
]


@needs_numba
@pytest.mark.parametrize("name, hypothesis, extra", SCENARIO_CASES)
def test_engine_chunk_is_byte_identical_with_the_hazard_twin(name, hypothesis, extra, monkeypatch):
    from detente import examples
    from detente.crisis import _compiled_hazard as H

    used = []
    real = H.HazardTwin.hazards

    def counted(self: Any, *a: Any) -> Any:
        got = real(self, *a)
        used.append(got is not None)
        return got

    monkeypatch.setattr(H.HazardTwin, "hazards", counted)
    plan = E.plan(examples.load(name), {"runs": 500, "chunk_size": 500, "hypothesis": hypothesis, "set": extra,
                                        "record_paths": True}, seed=13)
    job = plan.chunks[0]
    parts = []
    for use in (False, True):
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(job.root, spawn_key=(job.chunk,))))
        parts.append(E.simulate(job.compiled, job.n, rng, True, use_compiled=use))
    assert used and all(used)   # every month went through the twin
    a, b = parts
    assert (a["first_step"] >= 0).any(), "some run must go to war, or the onset picking is not exercised"
    for k in a:
        if isinstance(a[k], dict):
            for kk in a[k]:
                assert _same(a[k][kk], b[k][kk]), (k, kk)
        elif isinstance(a[k], np.ndarray):
            assert _same(a[k], b[k]), k
        else:
            assert a[k] == b[k], k


@pytest.mark.parametrize("n", [1, 7, 8, 9, 127, 128, 129, 1000, 8193])
def test_row_sums_are_each_rows_own_pairwise_sum(n):
    """The premise of the twin's part totals (one ``parts.sum(axis=1)`` for the reference's
    ``np.sum`` of each part): numpy sums each row of a C-contiguous array pairwise, as it sums the
    row alone, so the bits are the same."""
    rng = np.random.default_rng(n)
    parts = np.maximum(rng.standard_normal((23, n)), 0.0) * rng.uniform(0, 1e3, (23, 1))
    want = np.array([float(np.sum(parts[p])) for p in range(parts.shape[0])])
    assert parts.sum(axis=1).tobytes() == want.tobytes()
