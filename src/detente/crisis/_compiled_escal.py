"""numba twin of step 5 of the crisis engine's month loop: allies, war parties, Richardson forces
and the escalation ladder (:func:`detente.crisis.engine._simulate_chunk`, "5. escalation, allies"),
and of its crisis bargaining per flashpoint (the block "crisis bargaining (risk–return)").

The numpy code in the engine is the reference. :class:`EscalationTwin` does the same IEEE
operations in the same order, one run at a time, in one compiled call per month (the numpy code
makes a few dozen array calls per flashpoint and alliance), so its results are the same bytes
(``tests/test_crisis_compiled_escal.py``; :mod:`detente.crisis.compiled` gives the general rules).
The details that keep the bytes equal:

* the random numbers are drawn by numpy, in the same calls, sizes and order as the numpy code
  (three per pressured alliance, then one per flashpoint; none of them depends on the state), and
  handed to the twin;
* ``np.maximum``/``np.minimum`` and the ``clip`` ufunc are written out with numpy's own rules for
  NaN and for the sign of zero (:func:`_np_max`, :func:`_np_min`, :func:`_np_clip`); Python's
  ``max``/``min`` differ on both;
* ``np.power`` is the C library's ``pow`` (numba's ``math.pow``), except numpy's shortcuts when
  the exponent is one number for the whole array (2 → x·x, 0.5 → sqrt, −1 → 1/x), which the
  crisis contest reaches with a fixed contest exponent (:func:`_np_power`);
* the binomial draws of deliveries keep :func:`detente.crisis.engine._binomial_small`'s loop over
  the count with its stop when no run needs a higher count (a step across all runs at a time);
* sums are the engine's, term by term in its order (war-party terms over alliances, pushes).

Importing this module imports numba (the ``fast`` extra); the engine imports it only when it uses
the compiled twins. Values that are not finite send the step (or the chunk) to the numpy code.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

# error_model="numpy": a float division by zero gives inf/NaN as numpy's does (no exception)
_njit = numba.njit(cache=True, nogil=True, error_model="numpy")


# numpy-semantics helpers are kept in each twin module (not shared): numba's on-disk cache
# does not notice a change in another module a cached function calls
@_njit
def _np_max(a: float, b: float) -> float:
    """``np.maximum(a, b)`` on two floats: NaN propagates, ``b`` when they compare equal (±0)."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a > b else b


@_njit
def _np_min(a: float, b: float) -> float:
    """``np.minimum(a, b)`` on two floats: NaN propagates, ``b`` when they compare equal (±0)."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a < b else b


@_njit
def _np_clip(x: Any, lo: Any, hi: Any) -> Any:
    """The ``clip`` ufunc (``kernels.clip``) on floats or integers (numba compiles one version per
    type): ``lo`` only below it, ``hi`` only above it (so ``clip(-0.0, 0.0, hi)`` stays ``-0.0``),
    NaN stays NaN."""
    if x < lo:
        x = lo
    if x > hi:
        x = hi
    return x


@_njit
def _np_power(x: float, m: float, scalar_m: bool) -> float:
    """``np.power(x, m)`` on float64: the C library's ``pow``, except numpy's shortcuts for an
    exponent that is one number for the whole array (2 → x·x, 0.5 → sqrt, −1 → 1/x; 0 and 1 give
    pow's own values)."""
    if scalar_m:
        if m == 2.0:
            return x * x
        if m == 0.5:
            return math.sqrt(x)
        if m == -1.0:
            return 1.0 / x
    return math.pow(x, m)


@_njit
def _all_finite(a: Any) -> bool:
    for v in a.ravel():  # noqa: SIM110 (a loop: numba compiles it, not a generator)
        if not math.isfinite(v):
            return False
    return True


@_njit
def _binomial_into(out: Any, k: Any, p: Any, u: Any, pmf: Any, cdf: Any, kk: Any, rows: Any) -> None:
    """``engine._binomial_small(k, p, u)`` into ``out`` (int32): inversion of one uniform per run,
    the count raised step by step in all runs together until no run needs a higher one."""
    n = k.shape[0]
    m = 0
    for r in range(n):
        out[r] = 0
        if k[r] != 0:
            rows[m] = r
            m += 1
    if m == 0:
        return
    kmax = 0.0
    for t in range(m):
        r = rows[t]
        kk[t] = float(k[r])
        if t == 0 or kk[t] > kmax:
            kmax = kk[t]
        q = 1.0 - p[r]
        pmf[t] = math.pow(q, kk[t])
        cdf[t] = pmf[t]
    top = int(kmax)
    for x in range(top):
        any_more = False
        for t in range(m):
            if u[rows[t]] >= cdf[t] and kk[t] > x:
                any_more = True
                break
        if not any_more:
            break
        fx = float(x)
        fx1 = float(x + 1)
        for t in range(m):
            r = rows[t]
            if u[r] >= cdf[t] and kk[t] > x:
                out[r] += 1
            q = 1.0 - p[r]
            odds = p[r] / (q if q > 0 else 1.0)
            pmf[t] = pmf[t] * (kk[t] - fx) / fx1 * odds
            cdf[t] = cdf[t] + pmf[t]


@_njit
def _allies(dtm: float, allies_lag: bool, pressured: Any, apar: Any, u: Any, pending: Any, q: Any, push_map: Any,
            rung_push: Any, tally: Any) -> None:
    """Requests, deliveries, perceived support q and the protégés' acts of every pressured alliance,
    in the alliances' order (the numpy code's first loop of step 5)."""
    NA = pending.shape[0]
    n = pending.shape[1]
    J = push_map.shape[1]
    ra = 1 if apar.shape[2] > 1 else 0      # parameters per run, or one value for all runs
    deliver = np.zeros(n, np.int32)
    p_del = np.empty(n)
    pmf = np.empty(n)
    cdf = np.empty(n)
    kk = np.empty(n)
    rows = np.empty(n, np.int64)
    for i in range(NA):
        if not pressured[i]:
            continue
        a_last = math.nan
        e_last = math.nan
        for r in range(n):
            a = -apar[i, 0, r * ra] * dtm
            if a != a_last:
                a_last = a
                e_last = math.exp(a)
                tally[0] += 1
            if u[i, 0, r] < 1.0 - e_last:
                pending[i, r] += 1
        if allies_lag:
            a_last = math.nan
            for r in range(n):
                a = -dtm / apar[i, 1, r * ra]
                if a != a_last:
                    a_last = a
                    e_last = math.exp(a)
                    tally[0] += 1
                p_del[r] = 1.0 - e_last
            _binomial_into(deliver, pending[i], p_del, u[i, 1], pmf, cdf, kk, rows)
        else:
            for r in range(n):
                deliver[r] = pending[i, r]
        for r in range(n):
            d = deliver[r]
            pending[i, r] -= d
            w = 1.0 if d == 0 else math.pow(1.0 - apar[i, 2, r * ra], float(d))
            q[r, i] = 1.0 - (1.0 - q[r, i]) * w
            act = 1.0 if (d > 0 and u[i, 2, r] < apar[i, 3, r * ra]) else 0.0
            for j in range(J):
                if push_map[i, j]:
                    rung_push[r, j] = rung_push[r, j] + act


@_njit
def _war_parties(mh_map: Any, wpar: Any, q: Any, mh: Any) -> None:
    """The war parties' moral-hazard terms of every flashpoint, summed over its alliances in their
    order (``mh`` must hold zeros)."""
    J = mh_map.shape[0]
    NA = mh_map.shape[1]
    n = q.shape[0]
    rw = 1 if wpar.shape[2] > 1 else 0
    for j in range(J):
        for r in range(n):
            m = 0.0
            for i in range(NA):
                if mh_map[j, i]:
                    hs = wpar[i, 0, r * rw]
                    p0 = wpar[i, 1, r * rw]
                    dp = wpar[i, 2, r * rw]
                    cst = wpar[i, 3, r * rw]
                    m = m + hs * _np_max(0.0, p0 + q[r, i] * dp - cst) / _np_max(dp, 1e-9)
            mh[r, j] = m


@_njit
def _escalation(s: int, dtm: float, fp_dirs: Any, prox: Any, rich: Any, has_rich: Any, fx: Any, fy: Any, f_eq: Any,
                esc: Any, g_damp: Any, rung_push: Any, u: Any, rung: Any, top_rung: Any, rung_step: Any,
                forces: Any, tally: Any) -> None:
    """The Richardson forces and the escalation ladder of every flashpoint (the loop over ``fps``
    after the war parties), one run at a time; ``forces`` must hold zeros."""
    J = rung.shape[0]
    n = rung.shape[1]
    ndir = prox.shape[0]
    rr = 1 if rich.shape[2] > 1 else 0
    re = 1 if esc.shape[2] > 1 else 0
    for j in range(J):
        top = top_rung[j]
        # the last argument of each exponential and its value (exp is a function: the same bits)
        a_up = math.nan
        e_up = math.nan
        a_down = math.nan
        e_down = math.nan
        for i in range(n):
            adv = 0.0
            for r in range(ndir):
                if fp_dirs[j, r]:
                    adv = _np_max(adv, prox[r, i])
            if has_rich[j]:
                kR = rich[j, 0, i * rr]
                lR = rich[j, 1, i * rr]
                aR = rich[j, 2, i * rr]
                bR = rich[j, 3, i * rr]
                gR = rich[j, 4, i * rr]
                hR = rich[j, 5, i * rr]
                gp = rich[j, 6, i * rr]
                x = fx[i, j]
                y = fy[i, j]
                dx = kR * y - aR * x + gR + gp * adv
                dy = lR * x - bR * y + hR
                x = _np_max(x + dx * dtm, 0.0)
                y = _np_max(y + dy * dtm, 0.0)
                fx[i, j] = x
                fy[i, j] = y
                forces[i, j] = math.log((x + y) / f_eq[i, j])
            a = -(esc[j, 0, i * re] + esc[j, 1, i * re] * adv) * dtm
            if a != a_up:               # most runs share the argument (kernels.exp_common)
                a_up = a
                e_up = math.exp(a)
                tally[0] += 1           # a store: LLVM cannot compute exp in every run and select
            up = 1.0 - e_up
            e = rung_push[i, j]
            w = 1.0 if e == 0.0 else math.pow(esc[j, 2, i * re], e)
            up = 1.0 - (1.0 - up) * w
            a = -(esc[j, 3, i * re] + esc[j, 4, i * re] * g_damp[i, j]) * dtm
            if a != a_down:
                a_down = a
                e_down = math.exp(a)
                tally[0] += 1
            down = 1.0 - e_down
            uu = u[j, i]
            old = int(rung[j, i])
            if uu < up:
                step = 1
            elif uu > 1.0 - down:
                step = -1
            else:
                step = 0
            new = _np_clip(old + step, 0, top)
            if new > old and rung_step[i, j, new] < 0:
                rung_step[i, j, new] = s
            rung[j, i] = new


@_njit
def _step(s: int, dtm: float, allies_lag: bool, pressured: Any, apar: Any, ua: Any, pending: Any, q: Any,
          push_map: Any, mh_map: Any, wpar: Any, mh: Any, fp_dirs: Any, prox: Any, rich: Any, has_rich: Any, fx: Any,
          fy: Any, f_eq: Any, esc: Any, g_damp: Any, rung_push: Any, u: Any, rung: Any, top_rung: Any,
          rung_step: Any, forces: Any, tally: Any) -> None:
    """Step 5 of one month: allies, war parties, forces and the ladder (``mh``, ``forces`` zeros)."""
    _allies(dtm, allies_lag, pressured, apar, ua, pending, q, push_map, rung_push, tally)
    _war_parties(mh_map, wpar, q, mh)
    _escalation(s, dtm, fp_dirs, prox, rich, has_rich, fx, fy, f_eq, esc, g_damp, rung_push, u, rung, top_rung,
                rung_step, forces, tally)


@_njit
def _in_crisis(rung_j: Any, crisis_rung: int) -> bool:
    for v in rung_j:  # noqa: SIM110 (a loop: numba compiles it, not a generator)
        if v >= crisis_rung:
            return True
    return False


@_njit
def _crisis(j: int, rung_j: Any, crisis_rung: int, cpar: Any, noise: Any, capA: Any, capB: Any, m: Any,
            scalar_m: bool, cm: Any, use_cm: bool, pwar: Any) -> bool:
    """P(war) of flashpoint ``j``'s crisis bargaining in the runs at or above its crisis rung, into
    ``pwar[:, j]`` (the engine's block "crisis bargaining (risk–return)": the contest of
    ``_crisis_contest`` and ``kernels.risk_return_pwar``); False, with nothing written, when an
    input of those runs is not finite."""
    n = rung_j.shape[0]
    rc = 1 if cpar.shape[2] > 1 else 0
    rm = 0 if scalar_m else 1
    for i in range(n):
        if rung_j[i] >= crisis_rung:
            if not (math.isfinite(cpar[j, 0, i * rc]) and math.isfinite(cpar[j, 1, i * rc])
                    and math.isfinite(cpar[j, 2, i * rc]) and math.isfinite(noise[i]) and math.isfinite(capA[i])
                    and math.isfinite(capB[i]) and math.isfinite(m[i * rm]) and (not use_cm or math.isfinite(cm[i]))):
                return False
    for i in range(n):
        if rung_j[i] >= crisis_rung:
            cbar = cpar[j, 0, i * rc] * (1.0 + cpar[j, 1, i * rc] * noise[i])
            mi = m[i * rm]
            a = _np_power(capA[i], mi, scalar_m)
            p = a / (a + _np_power(capB[i], mi, scalar_m))
            c_A = cpar[j, 2, i * rc]
            if use_cm:
                c_A = c_A * cm[i]
            x = _np_min(p + (cbar - c_A) / 2.0, 1.0)
            pw = (x - p) / cbar
            pwar[i, j] = _np_clip(pw, 0.0, 0.5) if c_A < cbar else 0.0
    return True


@_njit
def _states_finite(prox: Any, g_damp: Any, rung_push: Any, fx: Any, fy: Any, q: Any) -> bool:
    return (_all_finite(prox) and _all_finite(g_damp) and _all_finite(rung_push) and _all_finite(fx)
            and _all_finite(fy) and _all_finite(q))


class EscalationTwin:
    """The compiled step 5 of one chunk: the parameters as per-run arrays (built once per chunk)
    and :meth:`step`, called once per month in place of the numpy code.

    ``spec``, ``V`` (the chunk's values), ``directions``, ``dyad_ids`` and ``pressure_of`` (alliance
    → its ally-pressure policy) are the engine's; the parameter paths read are exactly those the
    numpy code reads, under the same conditions.
    """

    def __init__(self, spec: Any, V: Any, n: int, directions: list[tuple[int, str, str]], dyad_ids: list[str],
                 pressure_of: dict[int, int], dtm: float) -> None:
        fps = spec.flashpoints
        alls = spec.alliances
        st = spec.settings
        J = len(fps)
        NA = len(alls)
        self.n = n
        self.dtm = float(dtm)
        self.allies_lag = bool(st.allies_lag)

        # parameter packs (group, parameter, run): one column when no value is drawn per run (the
        # same numbers for every run, read from one place), else one column per run
        def pack(shape: tuple[int, int], values: dict[tuple[int, int], Any]) -> np.ndarray:
            per_run = any(np.ndim(v) for v in values.values())
            out = np.zeros((*shape, n if per_run else 1))
            for (a, b), v in values.items():
                out[a, b] = np.asarray(v, dtype=float)
            return out

        # allies: request rate, delivery lag, q gain, P(the protégé follows) of each pressured alliance
        self.pressured = np.array([i in pressure_of for i in range(NA)], dtype=np.bool_)
        av: dict[tuple[int, int], Any] = {}
        for i, pk in pressure_of.items():
            av[i, 0] = V[f"policies.ally_pressure.{pk}.request_rate_m"]
            av[i, 1] = V[f"alliances.{i}.lag_mean_m"]
            av[i, 2] = V[f"policies.ally_pressure.{pk}.q_gain"]
            av[i, 3] = V[f"alliances.{i}.follows_patron"]
        self.apar = pack((NA, 4), av)
        self.push_map = np.array([[f.local == al.protege or al.protege in f.hawks for f in fps] for al in alls],
                                 dtype=np.bool_).reshape(NA, J)
        # war parties (switch `war_parties`): hawk share, provocation p0, dp and cost of each alliance
        self.mh_map = np.zeros((J, NA), dtype=np.bool_)
        wv: dict[tuple[int, int], Any] = {}
        for j, f in enumerate(fps if st.war_parties else ()):
            for i, al in enumerate(alls):
                if al.protege == f.local or al.protege in f.hawks:
                    if not self.mh_map[:, i].any():
                        hs_num = spec.actors[al.protege].hawk_share
                        wv[i, 0] = V[f"actors.{al.protege}.hawk_share"] if hs_num is not None else 0.0
                        for k, x in enumerate(("provoke_p0", "provoke_dp", "provoke_cost")):
                            wv[i, 1 + k] = V[f"alliances.{i}.{x}"]
                    self.mh_map[j, i] = True
        self.wpar = pack((NA, 4), wv)
        # forces and ladder
        self.fp_dirs = np.array([[dyad_ids[di] in f.dyads for di, _D, _R in directions] for f in fps],
                                dtype=np.bool_).reshape(J, len(directions))
        self.has_rich = np.array([f.richardson is not None for f in fps], dtype=np.bool_)
        ev: dict[tuple[int, int], Any] = {}
        rv: dict[tuple[int, int], Any] = {}
        for j, f in enumerate(fps):
            e = f"flashpoints[{f.id}].escalation"
            for k, x in enumerate(("up_m", "up_pressure", "push_factor", "down_m", "down_groups")):
                ev[j, k] = V[f"{e}.{x}"]
            if f.richardson is not None:
                b = f"flashpoints[{f.id}].richardson"
                for k, x in enumerate(("k", "l", "a", "b", "g", "h", "g_pressure")):
                    rv[j, k] = V[f"{b}.{x}"]
        self.esc = pack((J, 5), ev)
        # crisis bargaining: c̄, fake noise and c_A of each flashpoint, its crisis rung
        self.cpar = pack((J, 3), {(j, k): V[f"flashpoints[{f.id}].crisis.{x}"] for j, f in enumerate(fps)
                                  for k, x in enumerate(("c_bar", "fake_noise", "c_A"))})
        self.crisis_rung = [int(f.crisis.rung) for f in fps]
        self.rich = pack((J, 7), rv)
        self.top_rung = np.array([f.escalation.rungs - 1 for f in fps], dtype=np.int64)
        self.ua = np.empty((NA, 3, n))
        self.exps = np.zeros(1, np.int64)   # exponentials computed (the others reuse the previous run's)
        self.u = np.empty((J, n))
        self.ok = all(_all_finite(a) for a in (self.apar, self.wpar, self.esc, self.rich))   # (cpar: per call)

    @classmethod
    def build(cls, spec: Any, V: Any, n: int, directions: list[tuple[int, str, str]], dyad_ids: list[str],
              pressure_of: dict[int, int], dtm: float) -> EscalationTwin | None:
        """The twin of one chunk, or None when a parameter is not finite (the numpy code then runs)."""
        twin = cls(spec, V, n, directions, dyad_ids, pressure_of, dtm)
        return twin if twin.ok else None

    def in_crisis(self, j: int, rung: np.ndarray) -> bool:
        """Whether some run of flashpoint ``j`` is at or above its crisis rung."""
        return bool(_in_crisis(rung[j], self.crisis_rung[j]))

    def crisis_pwar(self, j: int, rung: np.ndarray, noise: np.ndarray, capA: np.ndarray, capB: np.ndarray, m: Any,
                    cm: np.ndarray | None, pwar: np.ndarray) -> bool:
        """P(war) of flashpoint ``j``'s crisis bargaining into ``pwar[:, j]`` (the runs in crisis),
        from the demander's and the opponent's capabilities over all runs, the contest exponent
        ``m`` (a number or one per run) and the demander's cost multiplier ``cm`` (None without
        cost coupling); False, nothing written, when a value is not finite (the engine then runs
        the numpy code for this flashpoint)."""
        scalar_m = np.ndim(m) == 0
        m_arr = np.full(1, float(m)) if scalar_m else np.ascontiguousarray(m, dtype=float)
        cm_arr = np.zeros(0) if cm is None else np.ascontiguousarray(cm, dtype=float)
        return bool(_crisis(j, rung[j], self.crisis_rung[j], self.cpar, noise, np.ascontiguousarray(capA, dtype=float),
                            np.ascontiguousarray(capB, dtype=float), m_arr, scalar_m, cm_arr, cm is not None, pwar))

    def step(self, s: int, rng: np.random.Generator, pending: np.ndarray, q: np.ndarray, prox: np.ndarray,
             fx: np.ndarray, fy: np.ndarray, f_eq: np.ndarray, g_damp: np.ndarray, rung_push: np.ndarray,
             rung: np.ndarray, rung_step: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Step 5 of month ``s``: ``pending``, ``q``, ``rung_push``, ``fx``, ``fy``, ``rung`` and
        ``rung_step`` updated in place; returns the war parties' terms ``mh`` and the forces, or
        None (nothing drawn, nothing changed) when a state value is not finite: the engine then
        runs the numpy code."""
        if not _states_finite(prox, g_damp, rung_push, fx, fy, q):
            return None
        # the numpy code's draws, in its order: request, delivery, act of each pressured alliance,
        # then one per flashpoint (rng.random(n) each; none depends on the state)
        # (plain rng.random(n) calls: the sensitivity studies' common-random-number stand-in for a
        # Generator provides random(size) only)
        for i in np.flatnonzero(self.pressured):
            for k in range(3):
                self.ua[i, k] = rng.random(self.n)
        for j in range(self.u.shape[0]):
            self.u[j] = rng.random(self.n)
        J = self.u.shape[0]
        mh = np.zeros((self.n, J))
        forces = np.zeros((self.n, J))
        _step(s, self.dtm, self.allies_lag, self.pressured, self.apar, self.ua, pending, q, self.push_map,
              self.mh_map, self.wpar, mh, self.fp_dirs, prox, self.rich, self.has_rich, fx, fy, f_eq, self.esc,
              g_damp, rung_push, self.u, rung, self.top_rung, rung_step, forces, self.exps)
        return mh, forces
