"""numba twins of three sections of the crisis engine's month loop (``engine._simulate_chunk``).

* step 2, diplomacy: meetings, postponements, online talks, pending postponed meetings, expert
  groups (:func:`meetings`), then φ per dyad, the groups' damping and the agreements per
  flashpoint (:func:`phi_step`);
* step 3, information and the triangle: leaks, verification, Bayes on the loyalty beliefs,
  stag-hunt deals, ties, the balance step, the failed wedge, noise and the split
  (:func:`triangle_step`);
* the negotiation tracks of step 4: Abreu–Gul concessions with momentum, deadline and holdout
  (:func:`track_step`).

The numpy code in the engine is the reference. Each twin does its floating-point operations in
the same order, one run at a time, so the numbers are the same bytes (``tests/test_crisis_compiled_diplo.py``
compares whole chunks). The random numbers are drawn by the caller, with numpy, in the same calls
and order as the reference; values that do not change during a chunk are computed once, by the
reference's own numpy expressions (:class:`Diplomacy`), and the sums over group slots and pending
tracks stay numpy reductions. Clipping follows numpy's ``clip`` (NaN passes through, ``-0.0``
stays ``-0.0``: :func:`_clip`). Models: Abreu & Gul (2000), Marvel et al. (2011),
Kamenica & Gentzkow (2011) as cited in :mod:`detente.crisis.kernels`.

Importing this module imports numba (the ``fast`` extra); the engine imports it only when the
twins are switched on (``DETENTE_COMPILED``, :mod:`detente.crisis.compiled`).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from detente.crisis import kernels as K

_njit = numba.njit(cache=True, nogil=True)


@_njit
def _clip(x: float, lo: float, hi: float) -> float:
    """numpy's ``clip`` of one value: NaN passes through, a bound replaces only a value beyond it."""
    y = lo if x < lo else x
    y = hi if y > hi else y
    return x if x != x else y


# The loops below are written without branches on the random draws (``&``/``|`` on booleans and
# selects of values already computed): a mispredicted branch per comparison would cost more than
# the arithmetic. Loops over runs in the inner position are left to LLVM to vectorise.

# ---------------------------------------------------------------- step 2: meetings and groups
@_njit
def meetings(U: Any, urow: Any, p_meet: Any, sched: Any, sched_on: Any, flags: Any, par: Any, step: int,
             agreed: Any, pending_hold: Any, gstock: Any, nact: Any) -> Any:
    """Meetings, postponements, online talks, pending postponed meetings and expert groups of
    every track (engine step 2, up to the sums over group slots).

    ``U[:, urow[k, c]]`` are the uniform draws of track ``k`` (layout (run, draw)): c = 0 meeting,
    1 postponement, 2 permanent groups, 3 new group (-1: not drawn). ``flags[k]``: stall actor a
    party, the online-only channel, pending holds, permanent groups, new groups, the cap on groups.
    ``par[k, run · step]``: postpone prob, hold keep, η, ω·Δ, ω_idle·Δ, permanent rate, new-group
    prob (``step`` 0: one row for every run, the values being the same).
    ``pending_hold``, ``gstock`` and ``nact`` are updated in place.
    """
    n = agreed.shape[0]
    NK = agreed.shape[1]
    met = np.zeros((n, NK), np.bool_)
    postponed = np.zeros((n, NK), np.bool_)
    online = np.zeros((n, NK), np.bool_)
    gmult = np.empty(n)
    gadd = np.empty(n)
    for k in range(NK):
        stall_in = flags[k, 0] != 0
        online_only = flags[k, 1] != 0
        hold = flags[k, 2] != 0
        perm = flags[k, 3] != 0
        newg = flags[k, 4] != 0
        cap = flags[k, 5]
        top = 0
        for i in range(n):
            top = max(top, nact[k, i])
        pk = p_meet[k]
        sk = sched[k]
        on_k = sched_on[k]
        c_meet = urow[k, 0]
        c_pst = max(urow[k, 1], 0)
        c_perm = max(urow[k, 2], 0)
        c_new = max(urow[k, 3], 0)
        pk_ = par[k]
        for i in range(n):
            scheduled = sk | (U[i, c_meet] < pk)
            if stall_in:
                pst = scheduled & (U[i, c_pst] < pk_[i * step, 0])
                on = online_only | on_k
            else:
                pst = False
                on = on_k
            m = scheduled & (not pst) & (not agreed[i, k])
            met[i, k] = m
            postponed[i, k] = pst
            online[i, k] = on & m
            if hold:
                pending_hold[i, k] = pending_hold[i, k] * pk_[i * step, 1] + (1.0 if pst else 0.0)
            if top:
                g_met = m
                g_pst = pst
                if perm:
                    g_met = g_met | (U[i, c_perm] < pk_[i * step, 5])
                    g_pst = g_pst & (not g_met)
                # K.group_step with a = 1 and a = 0, as the reference evaluates it
                e = pk_[i * step, 2]
                m_met = 1.0 - e
                m_pst = 1.0 - pk_[i * step, 3]
                m_idle = 1.0 - pk_[i * step, 4]
                mult = m_met if g_met else (m_pst if g_pst else m_idle)
                add = e if g_met else 0.0
                ga = 0.0 * mult + add
                gadd[i] = ga
                gmult[i] = (1.0 * mult + add) - ga
        for slot in range(top):
            gs = gstock[k, slot]
            nk = nact[k]
            for i in range(n):
                v = gs[i] * gmult[i]
                v = v + gadd[i]
                gs[i] = v * (1.0 if nk[i] > slot else 0.0)
        if newg:
            nk = nact[k]
            for i in range(n):
                nk[i] += (U[i, c_new] < pk_[i * step, 6]) & (nk[i] < cap)
    return met, postponed, online


@_njit
def phi_step(phi: Any, phi_base: Any, phi_max: Any, agreement_phi: Any, step: int, nact: Any, gsum: Any,
             agreed: Any, t_dyad_ptr: Any, t_dyads: Any, t_fp_ptr: Any, t_fps: Any, J: int) -> Any:
    """φ per dyad (in place, clipped to [0, 1]), the groups' damping and the agreements per
    flashpoint, and each track's φ (engine step 2 after the sums over group slots; ``gsum`` is
    ``gstock.sum(axis=1)``, layout (track, run)). Track ``k``'s dyads are
    ``t_dyads[t_dyad_ptr[k]:t_dyad_ptr[k + 1]]`` (in the spec's order), its flashpoints likewise.
    The sums run in the reference's order (per dyad or flashpoint: its base, then the tracks in
    order), in (dyad, run) work arrays."""
    n = phi.shape[0]
    ND = phi.shape[1]
    NK = agreed.shape[1]
    phiT = np.empty((ND, n))
    for d in range(ND):
        for i in range(n):
            phiT[d, i] = phi_base[d, i * step]
    gdT = np.zeros((J, n))
    afT = np.zeros((J, n))
    tpT = np.empty((NK, n))
    extra = np.empty(n)
    ag = np.empty(n)
    for k in range(NK):
        na_k = nact[k]
        gs_k = gsum[k]
        pm = phi_max[k]
        ap = agreement_phi[k]
        tp = tpT[k]
        for i in range(n):
            na = na_k[i]
            q = gs_k[i] / max(na, 1)
            ms = q if na > 0 else 0.0
            t = pm[i * step] * ms
            tp[i] = t
            a = 1.0 if agreed[i, k] else 0.0
            ag[i] = a
            extra[i] = t + ap[i * step] * a
        for q in range(t_dyad_ptr[k], t_dyad_ptr[k + 1]):
            row = phiT[t_dyads[q]]
            for i in range(n):
                row[i] = row[i] + extra[i]
        for q in range(t_fp_ptr[k], t_fp_ptr[k + 1]):
            gd = gdT[t_fps[q]]
            af = afT[t_fps[q]]
            for i in range(n):
                gd[i] = gd[i] + gs_k[i]
                a = af[i]
                af[i] = a if a >= ag[i] else ag[i]
    g_damp = np.empty((n, J))
    agreed_fp = np.empty((n, J))
    track_phi = np.empty((n, NK))
    for i in range(n):
        for d in range(ND):
            phi[i, d] = _clip(phiT[d, i], 0.0, 1.0)
        for j in range(J):
            g_damp[i, j] = gdT[j, i]
            agreed_fp[i, j] = afT[j, i]
        for k in range(NK):
            track_phi[i, k] = tpT[k, i]
    return g_damp, agreed_fp, track_phi


# ---------------------------------------------------------------- step 3: information, triangle
@_njit
def triangle_step(s: int, U: Any, lcfg: Any, lpar: Any, rp: Any, step: int, has_fb: bool, online: Any, deal1: Any,
                  deal2: Any, mu1: Any, mu2: Any, noise: Any, x01: Any, x02: Any, x12: Any, wedge_fail: Any,
                  split_step: Any, has_seesaw: bool, courted_first: Any, forced_split: bool, prov_on: bool,
                  has_wait: bool, wait: Any) -> Any:
    """Engine step 3 with a triangle, run by run (see the module).

    ``U`` holds the draws, layout (run, draw). ``lcfg[l]`` = (first draw column in ``U``, which
    belief the leak moves: 0 none, 1 partner 1's, 2 partner 2's; 1 if the claim is "dealing");
    ``lpar[run · step, l]`` = (fake rate, true rate, v0, (1 − v0)·online_verify, Bayes a, Bayes b).
    ``rp[run · step]`` = the values of :data:`TRIANGLE_VALUES` (``ms_s``, ``ms_0``: the stag-hunt
    thresholds μ* of a partner courted, temptation T + s, and not, T + 0).
    ``mu1``, ``mu2``, ``noise`` and ``split_step`` are updated in place; the other state comes back new.
    """
    n = mu1.shape[0]
    NL = lcfg.shape[0]
    NK = online.shape[1]
    nleak = np.zeros(n)
    nfake = np.zeros(n)
    nver = np.zeros(n)
    d1 = np.empty(n, np.bool_)
    d2 = np.empty(n, np.bool_)
    n01 = np.empty(n)
    n02 = np.empty(n)
    n12 = np.empty(n)
    wf = wedge_fail.copy()
    for i in range(n):
        v = i * step
        fmem, mu_prior, ms_s, ms_0, cg, dstep, rec, bal, hold_tie, prov_gain, nfac, fake_block = (
            rp[v, 0], rp[v, 1], rp[v, 2], rp[v, 3], rp[v, 4], rp[v, 5], rp[v, 6], rp[v, 7], rp[v, 8], rp[v, 9],
            rp[v, 10], rp[v, 11])
        oa = False
        for k in range(NK):
            oa = oa | online[i, k]
        oaf = 1.0 if oa else 0.0
        a1 = deal1[i]
        a2 = deal2[i]
        m1 = mu1[i]
        m2 = mu2[i]
        nl = nleak[i]
        nf = nfake[i]
        nv = nver[i]
        no = noise[i]
        for li in range(NL):
            r0 = lcfg[li, 0]
            which = lcfg[li, 1]
            lp = lpar[v, li]
            f_rate = lp[0]
            t_rate = lp[1]
            f_true = f_rate * (1.0 - fake_block * oaf) if has_fb else f_rate
            about = (a2 if which == 1 else a1) if which != 0 else False
            hit = U[i, r0] < t_rate
            is_true = (about & hit) if lcfg[li, 2] != 0 else ((not about) & hit)
            is_fake = (not is_true) & (U[i, r0 + 1] < f_true)
            got = is_true | is_fake
            nl = nl + (1.0 if got else 0.0)
            nf = nf + (1.0 if is_fake else 0.0)
            if which == 0:
                continue
            v_eff = lp[2] + lp[3] * oaf
            checked = U[i, r0 + 2] < v_eff
            caught = is_fake & checked
            nv = nv + (1.0 if caught else 0.0)
            no = no + (1.0 if (is_fake & (not checked)) else 0.0)
            # K.leak_posterior where a leak arrived unchecked
            mu = m1 if which == 1 else m2
            num = mu * lp[5]
            den = num + (1.0 - mu) * lp[4]
            post = num / (den if den > 0 else 1.0)
            post = post if den > 0 else mu
            mu = post if (got & (not caught)) else mu
            if which == 1:
                m1 = mu
            else:
                m2 = mu
        nleak[i] = nl
        nfake[i] = nf
        nver[i] = nv
        m1 = m1 + (mu_prior - m1) * fmem
        m2 = m2 + (mu_prior - m2) * fmem
        mu1[i] = m1
        mu2[i] = m2
        cf = courted_first[i] if has_seesaw else False
        dl1 = m1 < (ms_s if cf else ms_0)
        dl2 = m2 < (ms_0 if cf else ms_s)
        f1 = 1.0 if dl1 else 0.0
        f2 = 1.0 if dl2 else 0.0
        y12 = x12[i]
        down = y12 - dstep * (f1 + f2)
        up = y12 + rec * (1.0 - y12)
        y12 = down if (dl1 | dl2) else up
        y01 = x01[i]
        y02 = x02[i]
        if has_seesaw:
            c = cg
            y01 = y01 + (c if cf else -c) * (1.0 + f1)
            y02 = y02 + (-c if cf else c) * (1.0 + f2)
        # K.balance_step on the clipped ties
        c01 = _clip(y01, -1.0, 1.0)
        c02 = _clip(y02, -1.0, 1.0)
        c12 = _clip(y12, -1.0, 1.0)
        b = bal
        z01 = _clip(c01 + b * c02 * c12, -1.0, 1.0)
        z02 = _clip(c02 + b * c01 * c12, -1.0, 1.0)
        z12 = _clip(c12 + b * c01 * c02, -1.0, 1.0)
        if forced_split:
            z12 = -1.0
            dl1 = True
            dl2 = True
        n01[i] = z01
        n02[i] = z02
        n12[i] = z12
        d1[i] = dl1
        d2[i] = dl2
        if prov_on:
            holds = (z12 > hold_tie) & (not dl1) & (not dl2)
            h = 1.0 if holds else 0.0
            w = wait[i] if has_wait else 0.0
            wf[i] = wf[i] + (h - wf[i]) * prov_gain * (1.0 - w)
        noise[i] = no * nfac
        ss = split_step[i]
        split_step[i] = s if ((z12 <= 0) & (ss < 0)) else ss
    return nleak, nfake, nver, d1, d2, n01, n02, n12, wf


# ---------------------------------------------------------------- step 4: negotiation tracks
@_njit
def track_rows(met: Any, agreed: Any, started: Any) -> Any:
    """Runs whose track meets this step (``met & ~agreed``) per track, the first meetings, and
    ``started`` updated in place (the part of the track block before its draws)."""
    n = met.shape[0]
    NK = met.shape[1]
    count = np.zeros(NK, np.int64)
    first_meet = np.empty((n, NK), np.bool_)
    for i in range(n):
        for k in range(NK):
            mk = met[i, k] & (not agreed[i, k])
            st = started[i, k]
            count[k] += mk
            first_meet[i, k] = mk & (not st)
            started[i, k] = st | mk
    return count, first_meet


@_njit
def track_step(k: int, s: int, dtm: float, u: Any, met: Any, agreed: Any, agree_step: Any, first_meet: Any,
               nsteps_track: Any, track_phi: Any, tp: Any, step: int, has_dl: bool, dl_factor: Any,
               lam_ag: Any, init_mass: Any, obst: Any) -> None:
    """Concessions on track ``k`` in the runs where it meets (``u`` = the (5, runs) draws):
    steps taken, the momentum and holdout multiplier, the deadline factor (per run, this step)
    and the two sides' concession tests; ``agreed``, ``agree_step`` and ``nsteps_track`` in place.
    ``tp[run · step]`` = (h0, γ, holdout) of the track.
    An exponential whose argument equals the previous run's is not evaluated again (the same
    value: what ``K.exp_common`` does for the momentum)."""
    n = met.shape[0]
    rows = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        rows[m] = i
        m += met[i, k] & (not agreed[i, k])
    # the last argument and value of each exponential
    xa = np.nan
    ea = 0.0
    xb = np.nan
    eb = 0.0
    xc = np.nan
    ec = 0.0
    xd = np.full(2, np.nan)
    ed = np.zeros(2)
    for r in range(m):
        i = rows[r]
        ns = nsteps_track[i, k]
        x = tp[i * step, 1] * ns
        if x != xa:
            xa = x
            ea = math.exp(x)
        momentum = ea
        x = -tp[i * step, 0] * momentum * dtm
        if x != xb:
            xb = x
            eb = math.exp(x)
        step_p = 1.0 - eb
        nsteps_track[i, k] = ns + (1.0 if u[0, r] < step_p else 0.0)
        x = -tp[i * step, 2] * track_phi[i, k]
        if x != xc:
            xc = x
            ec = math.exp(x)
        mult = momentum * ec
        if has_dl:
            mult = mult * dl_factor[i]
        fm = first_meet[i, k]
        conc = False
        for j in range(2):
            x = -lam_ag[i, k, j] * mult * dtm
            if x != xd[j]:
                xd[j] = x
                ed[j] = math.exp(x)
            pj = 1.0 - ed[j]
            now = (u[1 + j, r] < pj) | (fm & (u[3 + j, r] < init_mass[i, k, j]))
            conc = conc | ((not obst[i, k, j]) & now)
        agreed[i, k] = agreed[i, k] | conc
        a = agree_step[i, k]
        agree_step[i, k] = s if conc else a


# ---------------------------------------------------------------- the per-chunk driver
#: The per-run values of :func:`triangle_step`, in the order of its ``rp`` columns.
TRIANGLE_VALUES = ("fmem", "mu_prior", "ms_s", "ms_0", "cg", "dstep", "rec", "bal", "hold_tie", "prov_gain", "nfac",
                   "fake_block")

def _row(x: Any, n: int) -> np.ndarray:
    """A value of ``V`` (a number or one value per run) as a contiguous float array over runs."""
    return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=float), (n,)))


class Diplomacy:
    """The twins' side of one chunk: the values that stay fixed during the chunk (computed once,
    by the reference's numpy expressions, then one value per run), the draws of each step (numpy,
    the reference's calls in its order) and the calls of the compiled steps.

    The engine makes one per chunk when the twins are on and calls :meth:`meetings`,
    :meth:`phi`, :meth:`triangle` and :meth:`tracks` in place of its numpy code."""

    def __init__(self, *, V: Any, n: int, dtm: float, rng: Any, tracks: Any, stall: Any, hold_on: bool,
                 hold_keep: Any, perm_rate: Any, gmax: int, didx: dict[str, int], fidx: dict[str, int],
                 dyads: Any, leaks: Any, leaks_enabled: bool, actors: Any, tri: Any, t1: str, t2: str,
                 fake_block: Any, seesaw: Any, mu_prior: Any, stag: tuple[float, float, float, float],
                 prov_on: bool, prov_gain: Any, pivot_tracks: list[int], step_end: Any,
                 months_between: Any) -> None:
        self.V, self.n, self.dtm, self.rng = V, n, dtm, rng
        self.tracks, self.stall = tracks, stall
        self.step_end, self.months_between = step_end, months_between
        NK = len(tracks)
        self.NK = NK
        # without drawn assumptions every value is one number: one row serves every run (step 0)
        self.step = 1 if any(np.ndim(x) for x in V.v.values()) else 0
        m = n if self.step else 1
        self.J = len(fidx)

        # ---- step 2: per track, its draws, flags and values per run
        self.urow = np.full((max(NK, 1), 4), -1, np.int64)
        self.flags = np.zeros((max(NK, 1), 6), np.int64)
        self.par = np.zeros((max(NK, 1), m, 7))   # layout (track, run, value)
        self.p_meet = np.zeros(max(NK, 1))
        nrow = 0
        for k, t in enumerate(tracks):
            self.p_meet[k] = 1.0 - math.exp(-np.mean(V[f"tracks[{t.id}].meet_prob_m"]) * dtm)
            stall_in = stall is not None and stall.actor in t.parties
            perm = perm_rate is not None and stall is not None and stall.track == t.id
            newg = stall is not None and stall.track == t.id
            self.urow[k, 0] = nrow
            nrow += 1
            if stall_in:
                self.urow[k, 1] = nrow
                nrow += 1
                self.par[k, :, 0] = _row(V["policies.stall.postpone_prob"] if stall.postpone else 0.0, m)
            if perm:
                self.urow[k, 2] = nrow
                nrow += 1
                self.par[k, :, 5] = _row(perm_rate, m)
            if newg:
                self.urow[k, 3] = nrow
                nrow += 1
                rate = V["policies.stall.new_groups_per_quarter"] / 3.0 if stall.expert_groups else 0.0
                self.par[k, :, 6] = _row(1.0 - np.exp(-rate * dtm), m)
            hold = hold_on and stall_in
            if hold:
                self.par[k, :, 1] = _row(hold_keep, m)
            eta, om, omi = (V[f"tracks[{t.id}].{x}"] for x in ("eta", "omega", "omega_idle"))
            self.par[k, :, 2] = _row(eta, m)
            self.par[k, :, 3] = _row(om * dtm, m)
            self.par[k, :, 4] = _row(omi * dtm, m)
            self.flags[k] = (stall_in, bool(stall is not None and stall.online_only), hold, perm, newg,
                             min(stall.max_groups, gmax) if stall is not None else 0)
        self.U2 = np.empty((n, nrow))            # layout (run, draw)
        # φ: the dyads' base values, the tracks' values, the tracks' dyads and flashpoints
        self.phi_base = np.array([_row(V[f"dyads[{d.id}].phi_base"], m) for d in dyads]).reshape(len(dyads), m)
        self.phi_max = np.array([_row(V[f"tracks[{t.id}].phi_max"], m) for t in tracks]).reshape(NK, m)
        self.agreement_phi = np.array([_row(V[f"tracks[{t.id}].agreement_phi"], m) for t in tracks]).reshape(NK, m)
        self.t_dyad_ptr = np.cumsum([0] + [len(t.dyads) for t in tracks]).astype(np.int64)
        self.t_dyads = np.array([didx[d] for t in tracks for d in t.dyads], np.int64)
        self.t_fp_ptr = np.cumsum([0] + [len(t.flashpoints) for t in tracks]).astype(np.int64)
        self.t_fps = np.array([fidx[f] for t in tracks for f in t.flashpoints], np.int64)

        # ---- step 4: the tracks' values per run
        self.tpar = np.zeros((max(NK, 1), m, 3))   # layout (track, run, value)
        for k, t in enumerate(tracks):
            for c, x in enumerate(("h0", "gamma", "holdout")):
                self.tpar[k, :, c] = _row(V[f"tracks[{t.id}].{x}"], m)
        self.no_dl = np.zeros(0)

        # ---- step 3 (with a triangle)
        self.tri = tri is not None
        if not self.tri:
            return
        pairs = {(t1, t2): 1, (t2, t1): 2}
        NL = len(leaks)
        self.lcfg = np.zeros((NL, 3), np.int64)
        self.lpar = np.zeros((m, max(NL, 1), 6))   # layout (run, leak, value)
        nrow = 0
        for li, lk in enumerate(leaks):
            which = pairs.get((lk.receiver, lk.about))
            rate = V[f"policies.leaks.{li}.rate_m"] if leaks_enabled else 0.0
            fs = V[f"policies.leaks.{li}.fake_share"]
            f_rate = 1.0 - np.exp(-rate * fs * dtm)
            t_rate = (1.0 - np.exp(-rate * (1.0 - fs) * dtm)) * V["triangle.true_leak_prob"]
            self.lcfg[li] = (nrow, 0 if which is None else which, lk.claim == "dealing")
            nrow += 2 if which is None else 3
            self.lpar[:, li, 0] = _row(f_rate, m)
            self.lpar[:, li, 1] = _row(t_rate, m)
            if which is None:
                continue
            recv = actors[lk.receiver]
            v0 = V[f"actors.{lk.receiver}.verify"] if recv.verify is not None else 0.0
            cred = V[f"actors.{lk.receiver}.credulity"] if recv.credulity is not None else 0.0
            f_bel = f_rate * (1.0 - cred)
            p_dis = 1.0 - (1.0 - t_rate) * (1.0 - f_bel)
            a_l, b_l = (p_dis, f_bel) if lk.claim == "dealing" else (f_bel, p_dis)
            self.lpar[:, li, 2] = _row(v0, m)
            self.lpar[:, li, 3] = _row((1.0 - v0) * V["triangle.online_verify"], m)
            self.lpar[:, li, 4] = _row(a_l, m)
            self.lpar[:, li, 5] = _row(b_l, m)
        self.U3 = np.empty((n, nrow))            # layout (run, draw)
        self.has_fb = fake_block is not None
        mem = V["triangle.belief_memory"]
        R_, T_, P_, S_ = stag
        # the thresholds of a partner not courted (T + 0) and courted (T + s), by the reference kernel
        ms_0 = K.stag_hunt_mu_star(R_, T_ + np.zeros(m), P_, S_)
        self.seesaw = seesaw is not None
        if seesaw is not None:
            self.period = V["policies.seesaw.period_months"]
            ms_s = K.stag_hunt_mu_star(R_, T_ + _row(V["policies.seesaw.offer_s"], m), P_, S_)
            cg = V["policies.seesaw.courting_gain"] * dtm
        else:
            ms_s, cg = ms_0, 0.0
        nd = V["triangle.noise_decay_m"]
        values = {"fmem": 1.0 - np.exp(-mem * dtm), "mu_prior": mu_prior, "ms_s": ms_s, "ms_0": ms_0, "cg": cg,
                  "dstep": V["triangle.defect_step"] * dtm, "rec": V["triangle.loyal_recovery"] * dtm,
                  "bal": V["triangle.balance_rate"] * dtm,
                  "hold_tie": V["triangle.coupling.provocation.hold_tie"] if prov_on else 0.0,
                  "prov_gain": prov_gain, "nfac": math.exp(-nd * dtm) if np.ndim(nd) == 0 else np.exp(-nd * dtm),
                  "fake_block": fake_block if fake_block is not None else 0.0}
        self.rp = np.empty((m, len(TRIANGLE_VALUES)))           # layout (run, value)
        for c, name in enumerate(TRIANGLE_VALUES):
            self.rp[:, c] = _row(values[name], m)
        self.no_courting = np.zeros(n, bool)
        self.no_wait = np.zeros(n)
        self.forced_split = bool(tri.forced_split)
        self.prov_on = prov_on
        self.wait_tracks = pivot_tracks if (prov_on and hold_on and pivot_tracks) else []

    def meetings(self, evs: list[Any], agreed: np.ndarray, pending_hold: np.ndarray, gstock: np.ndarray,
                 nact: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step 2 up to the sums over group slots: ``(met, postponed, online)``; ``pending_hold``,
        ``gstock`` and ``nact`` in place. The draws: per track, meeting, postponement,
        permanent groups, new group (those the track has), as in the reference."""
        n, U2 = self.n, self.U2
        NK = self.NK
        sched = np.zeros(max(NK, 1), bool)
        sched_on = np.zeros(max(NK, 1), bool)
        for k, t in enumerate(self.tracks):
            mine = [e for e in evs if e.track == t.id]
            sched[k] = bool(mine)
            sched_on[k] = bool(mine) and any(e.format in ("video", "online") for e in mine)
            for c in range(4):
                r = self.urow[k, c]
                if r >= 0:
                    U2[:, r] = self.rng.random(n)
        return meetings(U2, self.urow, self.p_meet, sched, sched_on, self.flags, self.par, self.step, agreed,
                        pending_hold,
                        gstock, nact)

    def phi(self, phi: np.ndarray, nact: np.ndarray, gsum: np.ndarray, agreed: np.ndarray) -> tuple[Any, Any, Any]:
        """φ per dyad in place; ``(g_damp, agreed_fp, track_phi)``. ``gsum``: ``gstock.sum(axis=1)``."""
        return phi_step(phi, self.phi_base, self.phi_max, self.agreement_phi, self.step, nact, gsum, agreed,
                        self.t_dyad_ptr, self.t_dyads, self.t_fp_ptr, self.t_fps, self.J)

    def triangle(self, s: int, tau: float, online: np.ndarray, deal1: np.ndarray, deal2: np.ndarray,
                 mu1: np.ndarray, mu2: np.ndarray, noise: np.ndarray, x01: np.ndarray, x02: np.ndarray,
                 x12: np.ndarray, wedge_fail: np.ndarray, split_step: np.ndarray,
                 pending_hold: np.ndarray) -> tuple[Any, ...]:
        """Step 3 with a triangle: ``(nleak, nfake, nver, deal1, deal2, x01, x02, x12, wedge_fail)``;
        ``mu1``, ``mu2``, ``noise`` and ``split_step`` in place. The draws: per leak, a true
        leak, a fake one and (when it moves a belief) the check, as in the reference."""
        n, U3 = self.n, self.U3
        r = 0
        for li in range(self.lcfg.shape[0]):
            for _ in range(2 if self.lcfg[li, 1] == 0 else 3):
                U3[:, r] = self.rng.random(n)
                r += 1
        if self.seesaw:
            cf = np.ascontiguousarray(np.broadcast_to((np.floor(tau / self.period) % 2) == 0, (n,)))
        else:
            cf = self.no_courting
        has_wait = bool(self.wait_tracks)
        # the reference's reduction over the pivot's tracks, in numpy
        wait = np.minimum(pending_hold[:, self.wait_tracks].sum(axis=1), 1.0) if has_wait else self.no_wait
        return triangle_step(s, U3, self.lcfg, self.lpar, self.rp, self.step, self.has_fb, online, deal1, deal2, mu1, mu2, noise,
                             x01, x02, x12, wedge_fail, split_step, self.seesaw, cf, self.forced_split, self.prov_on,
                             has_wait, wait)

    def tracks_step(self, s: int, met: np.ndarray, agreed: np.ndarray, started: np.ndarray, agree_step: np.ndarray,
                    nsteps_track: np.ndarray, track_phi: np.ndarray, lam_ag: np.ndarray, init_mass: np.ndarray,
                    obst: np.ndarray) -> None:
        """The negotiation-track block of step 4 (state in place). The draws: ``(5, runs)`` per
        track that meets somewhere, in track order, as in the reference."""
        count, first_meet = track_rows(met, agreed, started)
        V, dtm = self.V, self.dtm
        for k, t in enumerate(self.tracks):
            m = int(count[k])
            if not m:
                continue
            u = self.rng.random((5, m))
            has_dl = t.deadline is not None
            dl = self.no_dl
            if has_dl:
                dlb, dlw, dlt = (V[f"tracks[{t.id}].{x}"] for x in
                                 ("deadline_boost", "deadline_width_months", "deadline_tail_months"))
                to_dl = self.months_between(self.step_end[s], t.deadline)
                near = math.exp(-abs(to_dl) / dlw) if np.ndim(dlw) == 0 else np.exp(-abs(to_dl) / dlw)
                dl = _row(1.0 + dlb * near * (to_dl >= -dlt), self.n)
            track_step(k, s, dtm, u, met, agreed, agree_step, first_meet, nsteps_track, track_phi,
                       self.tpar[k], self.step, has_dl, dl, lam_ag, init_mass, obst)
