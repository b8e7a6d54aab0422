"""Parameters of the Bueno de Mesquita expected-utility model (:mod:`detente.models.bdm`) and
the options they resolve to, shared by the round-by-round model and its batched Monte-Carlo
kernel (:mod:`detente.models.bdm_batch`).

They live in their own module so that both depend on it and ``bdm`` alone imports
``bdm_batch`` (no import cycle). The choices D1-D14 follow the specification in
``docs/models/bdm.md`` (Bueno de Mesquita 1994, 2002; Scholz, Calbert & Smith 2011;
Masad 2014, 2016).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from detente.models.params import ModelParams

__all__ = ["BDMParams", "VARIANT_DEFAULTS", "NORMALISED", "Options", "Variant", "resolved_options", "SORTED_MIN_ACTORS",
           "uses_sorted_sums"]

Variant = Literal["detente", "scholz2011", "masad2014", "masad2016"]


class BDMParams(ModelParams):
    """Parameters of the expected-utility model.

    Fields left at ``None`` take the value fixed by the chosen ``variant`` (see
    :data:`VARIANT_DEFAULTS`); setting one overrides that single choice, so every ambiguity
    of the model (spec ``bdm.md`` section 8, D1-D14) can be varied on its own.
    """

    variant: Variant = Field("detente", description="Named variant fixing every choice below.")
    rounds: int = Field(10, ge=0, description="Maximum number of bargaining rounds.")
    Q: float = Field(1.0, ge=0, le=1, description="Probability (as perceived) that the target would not move absent a challenge (D14).")
    T: float = Field(1.0, ge=0, le=1, description="Probability that such an unchallenged move would be towards the reference point (D14).")

    # D1 probability of success
    probability: Literal["printed", "net_vote", "all_pairs"] | None = Field(
        None, description="D1: 'printed' positive-vote share (P_ij + P_ji = 1), 'net_vote' (masad2014), "
        "'all_pairs' denominator over every ordered actor pair (scholz2011).")
    voter_exponent: bool | None = Field(None, description="D1: raise each voter's distances to its own risk exponent.")
    # D2 perspective
    perspective: Literal["receiver", "own"] | None = Field(
        None, description="D2: 'receiver' = the evaluating actor computes both e_i and e_j with its own "
        "exponent; 'own' = e_j is the proposer's own view (masad2014).")
    # D3 U_b / U_w and the reference point
    ub_uw: Literal["none", "challenger", "both"] | None = Field(
        None, description="D3: U_b/U_w distance: 'none' (scholz2011), 'challenger' = |x_i-mu| + |x_i-x_j| "
        "(masad2014), 'both' = |x_i-mu| + |x_j-mu| (masad2016). Only matters when Q < 1.")
    q_sign: Literal["printed", "flipped"] | None = Field(
        None, description="D3: sign of the (1-Q)[T U_b + (1-T) U_w] term: printed (minus) or flipped (plus, masad2014).")
    reference_point: Literal["median", "mean", "median_then_mean"] | None = Field(
        None, description="D3: mu in U_b/U_w; 'median_then_mean' = median for the r=1 pass, mean for the second (masad2014).")
    # D4 median
    median_rule: Literal["weighted", "sequential", "largest_margin"] | None = Field(
        None, description="D4: 'weighted' median over held positions (ties -> lower), 'sequential' pairwise "
        "comparison over distinct positions in ascending order (scholz2011), 'largest_margin' pair (masad).")
    # D5 risk
    risk: Literal["security", "own_positions", "neutral"] | None = Field(
        None, description="D5: risk exponents from all actors' security levels, from the actor's own security "
        "at 11 hypothetical positions (clamped), or all r = 1.")
    # D6/D7 offers
    offers: Literal["detente", "scholz2011", "masad2014", "masad2016"] | None = Field(
        None, description="D6/D7: classification and selection rule of offers (see docs/models/bdm.md).")
    capitulation_reachable: bool | None = Field(
        None, description="D6: scholz2011 codes the capitulation test so that it is never true; True repairs it.")
    relabel_quirk: bool | None = Field(
        None, description="D7: masad2016 re-derives the chosen offer's category against the last threat examined.")
    offer_threshold: float | None = Field(
        None, description="D7: a proposer makes an offer when its own expected utility exceeds this "
        "(masad2014: 0, masad2016: 1e-4); not used by the scholz2011 rule.")
    eu_tolerance: float | None = Field(
        None, ge=0, description="D6: expected utilities with |E| below this are treated as exactly 0, so "
        "floating-point noise (e.g. -5.6e-17) cannot decide a category (detente: 1e-12; references: 0).")
    # D8 conflicts
    conflict: Literal["loser_moves", "mutual_draw"] | None = Field(
        None, description="D8: 'loser_moves' = the receiver of a confrontation moves to the proposer "
        "(deterministic); 'mutual_draw' = a conflict is fought only when both chose each other, winner drawn with P.")
    conflict_winner: Literal["draw", "likelier"] | None = Field(
        None, description="D8: 'draw' = random draw with P (seeded); 'likelier' = the side with P >= 0.5 wins.")
    renege: bool | None = Field(None, description="D8: a proposer whose offer was accepted cancels its conflicts and stays put.")
    # D10 normalisation
    scale_range: Literal["positions", "issue"] = Field(
        "positions", description="D10: distance normaliser Delta: range of the initial positions (all "
        "references) or the issue's bounds.")
    # D11 stopping and outcome
    stop: Literal["fixed", "consensus", "convergence", "discount"] = Field(
        "fixed", description="D11: run the fixed number of rounds (stopping early only at consensus), stop at "
        "consensus, at convergence (|dmedian| and |dmean| <= tolerance*Delta for `patience` rounds, or a "
        "period-2 cycle), or by BDM's discount criterion (|dmedian| < discount*Delta).")
    tolerance: float = Field(1e-6, ge=0, description="D11: convergence tolerance (fraction of Delta).")
    patience: int = Field(2, ge=1, description="D11: rounds the convergence test must hold.")
    discount: float = Field(0.05, ge=0, le=1, description="D11: per-round discount rate of the 'discount' rule.")
    forecast: Literal["median", "mean"] = Field("median", description="D11: which summary of the final round is the forecast.")
    # D12 stochastic elements
    shock_probability: float = Field(0.0, ge=0, le=1, description="D12: per actor and round chance that its salience is redrawn (BDM 2002 uses 0.2).")
    monte_carlo: int = Field(0, ge=0, description="D12: extra seeded runs summarised with intervals (0 = none).")
    interval: float = Field(0.9, gt=0, lt=1, description="D12: central interval of the Monte Carlo summary.")
    record_eu: bool = Field(True, description="Record the per-round expected-utility matrix.")
    vote_sums: Literal["auto", "sorted", "pairwise"] = Field(
        "auto", description="How the vote sums behind the probabilities are computed (numerics only: both "
        "methods are exact in real arithmetic and differ by round-off). 'pairwise' sums every voter's vote "
        "in every contest, O(n^3); 'sorted' sorts voters by position and uses prefix sums, O(n^2 log n), "
        "wherever voters' utilities are linear in distance (not under voter exponents other than 1, "
        "where the pairwise sums are used); 'auto' = 'sorted' on issues with at least "
        "SORTED_MIN_ACTORS (64) actors, else 'pairwise'.")


VARIANT_DEFAULTS: dict[str, dict[str, Any]] = {
    "detente": dict(
        probability="printed", voter_exponent=False, perspective="receiver", ub_uw="both", q_sign="printed",
        reference_point="median", median_rule="weighted", risk="security", offers="detente",
        capitulation_reachable=True, relabel_quirk=False, offer_threshold=1e-9, eu_tolerance=1e-12, conflict="mutual_draw",
        conflict_winner="draw", renege=True,
    ),
    "scholz2011": dict(
        probability="all_pairs", voter_exponent=True, perspective="receiver", ub_uw="none", q_sign="printed",
        reference_point="median", median_rule="sequential", risk="security", offers="scholz2011",
        capitulation_reachable=False, relabel_quirk=False, offer_threshold=0.0, eu_tolerance=0.0, conflict="loser_moves",
        conflict_winner="likelier", renege=False,
    ),
    "masad2014": dict(
        probability="net_vote", voter_exponent=False, perspective="own", ub_uw="challenger", q_sign="flipped",
        reference_point="median_then_mean", median_rule="largest_margin", risk="security", offers="masad2014",
        capitulation_reachable=True, relabel_quirk=False, offer_threshold=0.0, eu_tolerance=0.0, conflict="loser_moves",
        conflict_winner="likelier", renege=False,
    ),
    "masad2016": dict(
        probability="printed", voter_exponent=False, perspective="receiver", ub_uw="both", q_sign="printed",
        reference_point="median", median_rule="largest_margin", risk="security", offers="masad2016",
        capitulation_reachable=True, relabel_quirk=True, offer_threshold=1e-4, eu_tolerance=0.0, conflict="mutual_draw",
        conflict_winner="draw", renege=True,
    ),
}

#: from this many actors on an issue, ``vote_sums="auto"`` uses the sorted vote sums (below it the
#: pairwise sums, which the batched engine reproduces bit for bit and which the published
#: conformance cases were pinned with; the sorted sums are not faster there)
SORTED_MIN_ACTORS = 64


def uses_sorted_sums(vote_sums: str, n: int) -> bool:
    """Whether ``vote_sums`` selects the sorted vote sums on an issue with ``n`` actors (for
    linear utilities; under voter exponents other than 1 the pairwise sums are always used)."""
    return vote_sums == "sorted" or (vote_sums == "auto" and n >= SORTED_MIN_ACTORS)


#: variants that compute on positions min-max normalised to [0, 1]
NORMALISED = {"detente": True, "scholz2011": False, "masad2014": False, "masad2016": True}


@dataclass(frozen=True)
class Options:
    """Every choice of a run after the variant's defaults and the set fields are combined
    (:func:`resolved_options`), as attributes."""

    probability: str
    voter_exponent: bool
    perspective: str
    ub_uw: str
    q_sign: str
    reference_point: str
    median_rule: str
    risk: str
    offers: str
    capitulation_reachable: bool
    relabel_quirk: bool
    offer_threshold: float
    eu_tolerance: float
    conflict: str
    conflict_winner: str
    renege: bool
    vote_sums: str = "auto"  # BDMParams.vote_sums (numerics, not a variant choice)


def resolved_options(params: BDMParams) -> dict[str, Any]:
    """Every choice of the run: the variant's defaults overridden by the fields that are set."""
    d = dict(VARIANT_DEFAULTS[params.variant])
    for k in d:
        v = getattr(params, k)
        if v is not None:
            d[k] = v
    return d
