"""Compiled twin of the crisis engine's hazard step (step 6 of ``engine._simulate_chunk``).

The numpy code of the step is the reference; this twin does the same IEEE operations in the same
order, one run at a time, so the engine's outputs are the same bytes (see
:mod:`detente.crisis.compiled` for the switch ``DETENTE_COMPILED`` and the C-library functions both
call). Importing this module imports numba (the ``fast`` extra); the engine imports it only when
the twins are switched on.

The step, per month (specs/crisis.md §7.4; ``engine._hazard_parts``):

* :func:`hazard_month` — for every run and flashpoint the base hazard ``λ_b = λ₀·e^{neg}·m·alive``,
  the cause terms ``max(β_c x_c, 0)`` (times the initiator weight), the background part and the
  cause parts ``λ_b(e^{Σx} − 1)·t/Σx``, their sum ``λ_j``, ``h_j = 1 − e^{−λ_j Δ}`` and
  ``P(any) = 1 − e^{−Σ_j λ_j Δ}``. It also returns whether every ``λ_j`` is finite: only then does
  the engine use it (a value that is not finite, a NaN or an infinity anywhere in a part, shows in
  ``λ_j``; the engine then takes the numpy code for the month, so NaN payloads and numpy's
  NaN-propagating ``maximum`` never have to agree with the twin's).
* the sums of the parts over the runs stay numpy's (pairwise summation, the reference's own call on
  each part); the draws stay numpy's, in the reference's order.
* :func:`onset_month` — the cause sums and initiator sums of the month's diagnostics, then for the
  runs with an onset the flashpoint, initiator and cause picked by inversion of the drawn uniforms,
  and the onset records.

Signed zeros: where numpy's ``maximum(x, 0)`` and the twin's could return zeros of different sign
(``x = -0.0``), the zero only reaches accumulators that start at ``+0.0`` (``λ_j``, the cause and
initiator sums, the picking weights), where ``+0.0 + (±0.0) = +0.0``; no output byte depends on it.

Calls left out: ``e^{±0}``, ``e^{+0} − 1`` and ``1 − e^{−0·Δ}`` are written as their exact values
(1, +0.0, +0.0), and a dead flashpoint (``alive`` false) whose ``λ₀·e^{neg}·m`` is certainly finite
(``neg ≤ 50``, ``|λ₀|, |m| ≤ 1e100``) gets ``λ_b = 0`` and excess 0 without calling ``exp``/``expm1``:
the reference's ``finite × 0`` is a zero too, of a sign that by the rule above reaches no output.
Otherwise (an infinite ``e^{neg}`` times 0 gives NaN in the reference) the twin computes it and hands
the month back. The postponed-meeting sums over a flashpoint's tracks are added in order, as numpy's
``sum(axis=1)`` does for fewer than 8 columns (more: the numpy code runs the step).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from detente.crisis import kernels as K
from detente.crisis.spec import resolve

_njit = numba.njit(cache=True, nogil=True)

# kinds of hazard parts (the ``terms`` of ``engine._simulate_chunk`` step 6)
BACKGROUND, DIRECTION, CRISIS, MORAL_HAZARD, ESCALATION, PROVOCATION = range(6)


@_njit
def _maximum(a: float, b: float) -> float:
    """``np.maximum`` of two numbers (NaN propagates; for equal zeros either may be returned)."""
    if a >= b or a != a:
        return a
    return b


@_njit
def _minimum(a: float, b: float) -> float:
    """``np.minimum`` of two numbers (NaN propagates; for equal zeros either may be returned)."""
    if a <= b or a != a:
        return a
    return b


@_njit
def hazard_month(lam_fp: Any, h_fp: Any, p_any: Any, parts: Any, with_any: bool, dtm: float,
                 fp_lam0: Any, fp_groups: Any, fp_agree: Any, fp_hold: Any, fp_bgsum: Any, fp_start: Any,
                 p_kind: Any, p_src: Any, p_c1: Any, p_c2: Any, p_w: Any, p_den: Any,
                 coef_s: Any, coef_row: Any, coef_a: Any, smult: Any, hold_cols: Any, hold_k: Any, pending_hold: Any,
                 g_damp: Any, agreed_fp: Any, alive: Any, forced: Any, prox: Any, pwar: Any, mh: Any,
                 rung: Any, forces: Any, wedge_fail: Any) -> bool:
    """One month of hazards for every run (see the module). Fills ``lam_fp``, ``h_fp`` (run,
    flashpoint), ``parts`` (part, run) and, with ``with_any`` (fewer than 8 flashpoints, where
    numpy's sum over them is sequential), ``p_any``; returns whether every ``λ_j`` is finite.

    Each pass runs over all runs for one flashpoint and one part (rows of ``parts`` hold the
    cause terms until they are multiplied into parts), so that each loop reads and writes a few
    contiguous rows only; each element still sees the reference's operations in its order."""
    n, J = lam_fp.shape
    lam_b = np.empty(n)
    total_e = np.empty(n)
    lam = np.empty(n)
    for j in range(J):
        c = fp_groups[j]
        r = coef_row[c]
        for i in range(n):
            k = coef_a[r, i] if r >= 0 else coef_s[c]
            lam_b[i] = (-k) * g_damp[i, j]
        c = fp_agree[j]
        r = coef_row[c]
        for i in range(n):
            k = coef_a[r, i] if r >= 0 else coef_s[c]
            lam_b[i] = lam_b[i] + k * agreed_fp[i, j]
        if fp_hold[j] >= 0:
            c = fp_hold[j]
            r = coef_row[c]
            nk = hold_k[j]
            for i in range(n):
                k = coef_a[r, i] if r >= 0 else coef_s[c]
                x = pending_hold[i, hold_cols[j, 0]]
                for q in range(1, nk):     # numpy's sum over fewer than 8 tracks: in order
                    x = x + pending_hold[i, hold_cols[j, q]]
                lam_b[i] = lam_b[i] - k * _minimum(x, 1.0)
        c = fp_lam0[j]
        r = coef_row[c]
        m = smult[j]
        for i in range(n):
            k = coef_a[r, i] if r >= 0 else coef_s[c]
            neg = lam_b[i]
            if not alive[i, j] and neg <= 50.0 and abs(k) <= 1e100 and abs(m) <= 1e100:
                lam_b[i] = 0.0     # a finite λ₀·e^{neg}·m times 0: a zero (see the module on its sign)
            else:
                v = k * (math.exp(neg) if neg != 0.0 else 1.0)     # e^{±0} = 1 exactly
                v = v * m
                lam_b[i] = v * (1.0 if alive[i, j] else 0.0)
            total_e[i] = 0.0
        p0 = fp_start[j]
        p1 = fp_start[j + 1]
        for p in range(p0 + 1, p1):
            kind = p_kind[p]
            src = p_src[p]
            w = p_w[p]
            c = p_c1[p]
            r = coef_row[c]
            c2 = p_c2[p]
            r2 = coef_row[c2]
            row = parts[p]
            if kind == DIRECTION:
                for i in range(n):
                    k = coef_a[r, i] if r >= 0 else coef_s[c]
                    t = k * (1.0 if forced[src, i] else 0.0)
                    t = t + (coef_a[r2, i] if r2 >= 0 else coef_s[c2]) * prox[src, i]
                    row[i] = t
            elif kind == CRISIS:
                for i in range(n):
                    k = coef_a[r, i] if r >= 0 else coef_s[c]
                    row[i] = k * pwar[i, j]
            elif kind == MORAL_HAZARD:
                for i in range(n):
                    k = coef_a[r, i] if r >= 0 else coef_s[c]
                    row[i] = k * mh[i, j]
            elif kind == ESCALATION:
                d = p_den[p]
                for i in range(n):
                    k = coef_a[r, i] if r >= 0 else coef_s[c]
                    t = k * float(rung[j, i])
                    t = t / d
                    row[i] = t + (coef_a[r2, i] if r2 >= 0 else coef_s[c2]) * _maximum(forces[i, j], 0.0)
            else:
                for i in range(n):
                    k = coef_a[r, i] if r >= 0 else coef_s[c]
                    row[i] = k * wedge_fail[i]
            if w != 1.0:
                for i in range(n):
                    t = _maximum(row[i], 0.0) * w
                    row[i] = t
                    total_e[i] = total_e[i] + t
            else:
                for i in range(n):
                    t = _maximum(row[i], 0.0)
                    row[i] = t
                    total_e[i] = total_e[i] + t
        bgs = fp_bgsum[j]
        row = parts[p0]
        for i in range(n):
            te = total_e[i]
            if lam_b[i] == 0.0 and te <= 700.0:
                total_e[i] = 0.0   # 0·(e^{Σx} − 1)/Σx with a finite quotient: a zero
            else:
                e = lam_b[i] * (math.expm1(te) if te != 0.0 else 0.0)    # Σx = +0.0: e^0 − 1 = +0.0
                total_e[i] = e / (te if te > 0 else 1.0)      # the excess over background
            v = lam_b[i] * bgs
            row[i] = v
            lam[i] = 0.0 + v
        for p in range(p0 + 1, p1):
            row = parts[p]
            for i in range(n):
                v = total_e[i] * row[i]
                row[i] = v
                lam[i] = lam[i] + v
        for i in range(n):
            v = lam[i]
            if not math.isfinite(v):
                return False
            lam_fp[i, j] = v
            # λ = +0.0 (a sum started at +0.0 is never −0.0): 1 − e^{−0·Δ} is +0.0 exactly
            h_fp[i, j] = -math.expm1((-v) * dtm) if v != 0.0 else 0.0
    if with_any:
        for i in range(n):
            tot = lam_fp[i, 0]
            for j in range(1, J):
                tot = tot + lam_fp[i, j]
            p_any[i] = -math.expm1((-tot) * dtm) if tot != 0.0 else 0.0
    return True


@_njit
def onset_month(s: int, rows: Any, u_pick: Any, u_who: Any, u_cause: Any, h_fp: Any, parts: Any, tots: Any,
                fp_start: Any, p_cause: Any, p_who: Any, bg: Any, bg_sum: Any, bg_norm: Any, causes: Any,
                diag_init_s: Any, onset_step: Any, onset_init: Any, onset_cause: Any, alive: Any,
                first_step: Any, first_fp: Any, first_init: Any, stop: bool, who_out: Any) -> None:
    """The month's cause and initiator sums (from the parts' sums ``tots``), then the onsets in
    ``rows``: flashpoint, initiator and cause by inversion of ``u_pick``, ``u_who``, ``u_cause``
    over the cumulative sums of ``h_j``, the initiator weights and the cause weights."""
    J = h_fp.shape[1]
    A = bg.shape[1]
    NC = causes.shape[1]
    for j in range(J):
        for p in range(fp_start[j], fp_start[j + 1]):
            t = tots[p]
            causes[j, p_cause[p]] += t
            w = p_who[p]
            if w < 0:
                ws = bg_sum[j]
                if ws > 0:
                    for a in range(A):
                        diag_init_s[j, a] += t * bg[j, a] / ws
            else:
                diag_init_s[j, w] += t
    hs = np.empty(J)
    W = np.empty(A)
    Cw = np.empty(NC)
    for q in range(rows.shape[0]):
        r = rows[q]
        acc = h_fp[r, 0]
        hs[0] = acc
        for j in range(1, J):
            acc = acc + h_fp[r, j]
            hs[j] = acc
        x = u_pick[q] * hs[J - 1]
        pick = 0
        for j in range(J):
            if x > hs[j]:
                pick += 1
        pick = min(pick, J - 1)
        W[:] = 0.0
        Cw[:] = 0.0
        for p in range(fp_start[pick], fp_start[pick + 1]):
            lv = parts[p, r]
            w = p_who[p]
            if w < 0:
                for a in range(A):
                    W[a] = W[a] + lv * bg_norm[pick, a]
            else:
                W[w] = W[w] + lv
            Cw[p_cause[p]] = Cw[p_cause[p]] + lv
        for a in range(1, A):
            W[a] = W[a - 1] + W[a]
        x = u_who[q] * W[A - 1]
        who = 0
        for a in range(A):
            if x > W[a]:
                who += 1
        who = min(who, A - 1)
        for k in range(1, NC):
            Cw[k] = Cw[k - 1] + Cw[k]
        x = u_cause[q] * Cw[NC - 1]
        cause = 0
        for k in range(NC):
            if x > Cw[k]:
                cause += 1
        cause = min(cause, NC - 1)
        who_out[q] = who
        onset_step[r, pick] = s
        onset_init[r, pick] = who
        onset_cause[r, pick] = cause
        alive[r, pick] = False
        if first_step[r] < 0:
            first_step[r] = s
            first_fp[r] = pick
            first_init[r] = who
        if stop:
            alive[r, :] = False


class HazardTwin:
    """The compiled hazard step of one chunk: the flashpoints' parts laid out once (from the same
    values and in the same order as the numpy code builds its ``terms``), then one
    :meth:`hazards` and one :meth:`onsets` call per month.

    ``fps``, ``directions``, ``dyad_ids``, ``aidx``, ``V``, ``bgs``, ``allowed`` and the provocation
    and postponement settings are the engine's own objects of the chunk.
    """

    def __init__(self, *, n: int, fps: list[Any], directions: list[tuple[int, str, str]], dyad_ids: list[str],
                 aidx: dict[str, int], V: Any, bgs: list[np.ndarray], allowed: np.ndarray, prov_term: Any,
                 hold_on: bool, hold_fp: list[list[int]], n_cause: int, c: Any):
        self.n = n
        self.fp_ids = [f.id for f in fps]
        J = len(fps)
        self.J = J
        coef_s: list[float] = []
        coef_row: list[int] = []
        rows: list[np.ndarray] = []

        def coef(x: Any) -> int:
            a = np.asarray(x, dtype=float)
            coef_s.append(float(a) if a.ndim == 0 else 0.0)
            if a.ndim:
                coef_row.append(len(rows))
                rows.append(np.broadcast_to(a, (n,)))
            else:
                coef_row.append(-1)
            return len(coef_s) - 1

        fp_lam0, fp_groups, fp_agree, fp_hold, fp_start = [], [], [], [], [0]
        p_kind: list[int] = []
        p_src: list[int] = []
        p_c1: list[int] = []
        p_c2: list[int] = []
        p_w: list[float] = []
        p_den: list[float] = []
        p_cause: list[int] = []
        p_who: list[int] = []
        self.supported = J > 0
        for j, f in enumerate(fps):
            b = f"flashpoints[{f.id}].beta"
            fp_lam0.append(coef(V[f"flashpoints[{f.id}].base_hazard_m"]))
            fp_groups.append(coef(V[f"{b}.groups"]))
            fp_agree.append(coef(V[f"{b}.agreement"]))
            fp_hold.append(coef(V["policies.stall.hold_damping"]) if hold_on and hold_fp[j] else -1)
            # (cause, kind, source row, coefficient 1, coefficient 2, divisor, initiator)
            terms: list[tuple[int, int, int, Any, Any, float, Any]] = []
            for r, (di, D, _R) in enumerate(directions):
                if dyad_ids[di] in f.dyads and D in f.involves:
                    terms.append((1, DIRECTION, r, V[f"{b}.forced"], V[f"{b}.pressure"], 1.0, aidx[D]))
            terms.append((2, CRISIS, j, V[f"{b}.crisis_pwar"], None, 1.0, aidx[f.crisis.demander]))
            terms.append((3, MORAL_HAZARD, j, V[f"{b}.moral_hazard"], None, 1.0, aidx[f.local]))
            den = f.escalation.rungs - 1
            if den == 0:
                self.supported = False   # x / 0 would raise in numba: the numpy code handles it
            terms.append((4, ESCALATION, j, V[f"{b}.rung"], V[f"{b}.forces"], float(den), bgs[j]))
            if prov_term is not None and f.id in prov_term[0]:
                terms.append((5, PROVOCATION, 0, prov_term[1], None, 1.0, aidx[prov_term[2]]))
            # the background part, then the kept terms (engine._hazard_parts)
            p_kind.append(BACKGROUND)
            p_src.append(0)
            p_c1.append(0)
            p_c2.append(0)
            p_w.append(1.0)
            p_den.append(1.0)
            p_cause.append(0)
            p_who.append(-1)
            for cause, kind, src, c1, c2, dv, who in terms:
                w = float(who.sum()) if isinstance(who, np.ndarray) else float(allowed[who])
                if w > 0:
                    p_kind.append(kind)
                    p_src.append(src)
                    p_c1.append(coef(c1))
                    p_c2.append(coef(c2) if c2 is not None else 0)
                    p_w.append(w)
                    p_den.append(dv)
                    p_cause.append(cause)
                    p_who.append(-1 if isinstance(who, np.ndarray) else int(who))
            fp_start.append(len(p_kind))
        i64 = np.int64
        self.fp_lam0, self.fp_groups = np.array(fp_lam0, i64), np.array(fp_groups, i64)
        self.fp_agree, self.fp_hold = np.array(fp_agree, i64), np.array(fp_hold, i64)
        self.fp_start = np.array(fp_start, i64)
        self.p_kind, self.p_src = np.array(p_kind, i64), np.array(p_src, i64)
        self.p_c1, self.p_c2 = np.array(p_c1, i64), np.array(p_c2, i64)
        self.p_w, self.p_den = np.array(p_w, float), np.array(p_den, float)
        self.p_cause, self.p_who = np.array(p_cause, i64), np.array(p_who, i64)
        self.coef_s, self.coef_row = np.array(coef_s + [0.0], float), np.array(coef_row + [-1], i64)
        self.coef_a = np.ascontiguousarray(np.array(rows, float).reshape(len(rows), n)) if rows else np.zeros((1, n))
        A = len(aidx)
        self.bg = np.zeros((max(J, 1), A))
        self.bg_sum = np.zeros(max(J, 1))
        self.bg_norm = np.zeros((max(J, 1), A))
        for j in range(J):
            self.bg[j] = bgs[j]
            self.bg_sum[j] = bgs[j].sum()                         # the reference's ``who.sum()``
            self.bg_norm[j] = bgs[j] / max(bgs[j].sum(), 1e-300)  # the reference's picking weights
        self.fp_bgsum = self.bg_sum.copy()
        # the tracks whose postponed meetings hold each flashpoint (numpy sums fewer than 8 in order)
        width = max([len(hold_fp[j]) for j in range(J) if self.fp_hold[j] >= 0], default=1)
        self.supported = self.supported and width < 8
        self.hold_cols = np.zeros((max(J, 1), max(width, 1)), i64)
        self.hold_k = np.zeros(max(J, 1), i64)
        for j in range(J):
            if self.fp_hold[j] >= 0:
                self.hold_cols[j, :len(hold_fp[j])] = hold_fp[j]
                self.hold_k[j] = len(hold_fp[j])
        self.no_hold = np.zeros((1, 1))
        # each step's hazard multipliers from the shocks (the reference's formula, computed once)
        self.smult = np.array([self._shock_mults(c, s) for s in range(c.n_steps)], float).reshape(c.n_steps, J)
        self.with_any = J < 8
        self.n_parts = len(p_kind)
        self.n_cause = n_cause

    def _shock_mults(self, c: Any, s: int) -> list[float]:
        """Each flashpoint's hazard multiplier of step ``s`` from the shocks (the reference's own
        formula: a window covering part of the step scales the hazard for that part only)."""
        out = []
        for fid in self.fp_ids:
            smult = 1.0
            for shk in c.shocks:
                if fid in shk.hazard_mult and shk.window[0] <= c.step_end[s] and c.step_start[s] <= shk.window[1]:
                    days = (min(shk.window[1], c.step_end[s]) - max(shk.window[0], c.step_start[s])).days + 1
                    frac = days / ((c.step_end[s] - c.step_start[s]).days + 1)
                    smult = smult * (1.0 - frac + frac * resolve(shk.hazard_mult[fid]))
            out.append(smult)
        return out

    def hazards(self, s: int, dtm: float, pending_hold: np.ndarray, g_damp: np.ndarray, agreed_fp: np.ndarray,
                alive: np.ndarray, forced: np.ndarray, prox: np.ndarray, pwar: np.ndarray, mh: np.ndarray,
                rung: np.ndarray, forces: np.ndarray, wedge_fail: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """``(h_fp, p_any, parts, tots)`` of step ``s``, or None when the numpy code must do it."""
        if not self.supported:
            return None
        n, J = self.n, self.J
        lam_fp = np.empty((n, J))
        h_fp = np.empty((n, J))
        p_any = np.empty(n)
        parts = np.empty((self.n_parts, n))
        ok = hazard_month(lam_fp, h_fp, p_any, parts, self.with_any, float(dtm), self.fp_lam0, self.fp_groups,
                          self.fp_agree, self.fp_hold, self.fp_bgsum, self.fp_start, self.p_kind, self.p_src,
                          self.p_c1, self.p_c2, self.p_w, self.p_den, self.coef_s, self.coef_row, self.coef_a,
                          self.smult[s], self.hold_cols, self.hold_k, pending_hold if self.hold_k.any() else self.no_hold,
                          g_damp, agreed_fp, alive, forced, prox, pwar, mh, rung, forces, wedge_fail)
        if not ok:
            return None
        if not self.with_any:
            p_any = K.hazard_prob(lam_fp.sum(axis=1), dtm)   # the reference's call: numpy's own sum
        # each part's sum over the runs: numpy's pairwise sum, as the reference's own call on each part
        # (a reduction along the contiguous axis sums each row pairwise: the same bits as np.sum of the
        # row, tests/test_crisis_compiled_hazard.py; one call instead of one per part)
        tots = parts.sum(axis=1)
        return h_fp, p_any, parts, tots

    def onsets(self, s: int, rows: np.ndarray, u_pick: np.ndarray, u_who: np.ndarray, u_cause: np.ndarray,
               h_fp: np.ndarray, parts: np.ndarray, tots: np.ndarray, causes: np.ndarray, diag_init_s: np.ndarray,
               onset_step: np.ndarray, onset_init: np.ndarray, onset_cause: np.ndarray, alive: np.ndarray,
               first_step: np.ndarray, first_fp: np.ndarray, first_init: np.ndarray, stop: bool) -> np.ndarray:
        """The month's cause and initiator sums and its onsets; returns the initiator of each onset."""
        who = np.empty(rows.shape[0], np.int64)
        onset_month(int(s), rows, u_pick, u_who, u_cause, h_fp, parts, tots, self.fp_start, self.p_cause,
                    self.p_who, self.bg, self.bg_sum, self.bg_norm, causes, diag_init_s, onset_step, onset_init,
                    onset_cause, alive, first_step, first_fp, first_init, bool(stop), who)
        return who
