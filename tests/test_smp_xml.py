"""KTAB SMP XML reader: what it keeps, what it rejects (specs/smp.md §13.2-13.3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detente.errors import InputError
from detente.formats import load
from detente.formats.ktab_xml import parse_ktab_xml_bytes, read_ktab_xml
from detente.models import smp

FIX = Path(__file__).resolve().parent / "fixtures" / "smp"

BASE = """<?xml version="1.0" encoding="UTF-8"?>
<Scenario>
  <name>T</name>
  <desc>toy</desc>
  <prngSeed>{seed}</prngSeed>
  {params}
  <Dimensions><dName>X</dName><dName>Y</dName></Dimensions>
  <Actors>
{actors}
  </Actors>
  {ia}
</Scenario>
"""

ACTOR = """    <Actor><name>{n}</name><description>d</description><capability>{c}</capability>
      <Position><dCoord>{x}</dCoord><dCoord>{y}</dCoord></Position>
      <Salience><dSal>{sx}</dSal><dSal>{sy}</dSal></Salience></Actor>"""

PARAMS = """<ModelParameters>
    <VictoryProbModel>Square</VictoryProbModel><PCEModel>Conditional</PCEModel>
    <StateTransitions>Deterministic</StateTransitions><VotingRule>{vr}</VotingRule>
    <BigRAdjust>{ra}</BigRAdjust><BigRRange>Mid</BigRRange><ThirdPartyCommit>SemiCommit</ThirdPartyCommit>
    <InterVecBrgn>S2P2</InterVecBrgn><BargnModel>InitOnlyInterp</BargnModel>
  </ModelParameters>"""


def make(actors=None, seed="0042", params="", ia="") -> bytes:
    actors = actors or [("A", 10, 20, 30, 40, 50), ("B", 5, 80, 70, 30, 30), ("C", 8, 50, 10, 60, 10)]
    body = "\n".join(ACTOR.format(n=n, c=c, x=x, y=y, sx=sx, sy=sy) for n, c, x, y, sx, sy in actors)
    return BASE.format(seed=seed, params=params, actors=body, ia=ia).encode()


def problems(raw: bytes) -> list[str]:
    with pytest.raises(InputError) as ei:
        parse_ktab_xml_bytes(raw, file="t.xml")
    return [str(p) for p in ei.value.problems]


def test_reads_scenario_and_metadata():
    s = parse_ktab_xml_bytes(make(params=PARAMS.format(vr="Proportional", ra="No"),
                                  ia="<IdealAdjustment><iaPair><adjustingIdeal>A</adjustingIdeal>"
                                     "<referencePos>B</referencePos><adjust>0.2</adjust></iaPair></IdealAdjustment>"))
    assert s.issue_ids == ["X", "Y"] and s.actor_ids == ["A", "B", "C"]
    assert s.salience_scale == "percent" and s.stance("B", "Y").position == 70
    m = s.metadata["smp"]
    assert m["seed"] == "42"
    assert m["parameters"]["VotingRule"] == "Prop" and m["parameters"]["BigRAdjust"] == "None"
    assert m["ideal_adjustment"] == [{"adjusting": "A", "reference": "B", "adjust": 0.2}]
    res = smp.run(s, smp.SMPParams())
    assert res.params["victory_prob_model"] == "Square"
    # an explicit parameter wins over the file's
    res = smp.run(s, smp.SMPParams(victory_prob_model="Octic"))
    assert res.params["victory_prob_model"] == "Octic"


def test_registry_load_and_bom():
    s = load(FIX / "dummyData_3Dim.xml")  # starts with a UTF-8 byte-order mark
    assert len(s.actors) == 7 and "ideal_adjustment" not in s.metadata["smp"]
    assert s.metadata["smp"]["seed"] == "3707583219545544125"


def test_e1_empty_dcoord_rejected():
    with pytest.raises(InputError) as ei:
        read_ktab_xml(FIX / "smpExample.xml")
    (p,) = ei.value.problems
    assert p.column == "dCoord" and p.line == 32 and "empty" in p.message


def test_many_problems_at_once():
    raw = make(actors=[("A", 0, 120, 30, 60, 50), ("A", 5, 80, 70, 30, 30), ("", 8, "x", 10, 60, 10)],
               seed="", params=PARAMS.format(vr="Majority", ra="OneThird"),
               ia="<IdealAdjustment><iaPair><adjustingIdeal>Zed</adjustingIdeal>"
                  "<referencePos>A</referencePos><adjust>1</adjust></iaPair></IdealAdjustment>")
    msgs = "\n".join(problems(raw))
    for needle in ("prngSeed", "unknown option for <VotingRule>", "capability must be positive",
                   "position outside [0, 100]", "total salience above 100", "duplicate actor name",
                   "actor without a name", "not a number", "actor not found"):
        assert needle in msgs, needle


def test_incomplete_model_parameters():
    raw = make(params="<ModelParameters><VotingRule>Prop</VotingRule></ModelParameters>")
    msgs = problems(raw)
    assert len(msgs) == 8 and all("ModelParameters: missing" in m for m in msgs)


def test_missing_seed_and_too_few_actors():
    raw = make(actors=[("A", 10, 20, 30, 40, 50), ("B", 5, 80, 70, 30, 30)]).replace(b"<prngSeed>0042</prngSeed>", b"")
    msgs = "\n".join(problems(raw))
    assert "missing element <prngSeed>" in msgs and "too few actors" in msgs


def test_zero_salience_and_negative_row_rejected():
    raw = make(actors=[("A", 10, 20, 30, 0, 0), ("B", 5, 80, 70, 30, 30), ("C", 8, 50, 10, 60, 10)],
               ia="<IdealAdjustment><iaPair><adjustingIdeal>B</adjustingIdeal><referencePos>B</referencePos>"
                  "<adjust>-2</adjust></iaPair></IdealAdjustment>")
    msgs = "\n".join(problems(raw))
    assert "total salience is 0" in msgs and "negative" in msgs


def test_wrong_number_of_coordinates():
    raw = make().replace(b"<dCoord>20</dCoord>", b"", 1)
    msgs = "\n".join(problems(raw))
    assert "1 <dCoord> for 2 dimensions" in msgs


@pytest.mark.parametrize("evil", [
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    b"<Scenario><name>&lol2;</name></Scenario>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Scenario><name>&e;</name></Scenario>',
])
def test_entities_and_dtds_refused(evil):
    msgs = problems(evil)
    assert "refused for safety" in msgs[0]


def test_malformed_xml_located():
    with pytest.raises(InputError) as ei:
        parse_ktab_xml_bytes(b"<Scenario>\n<name>x</nam>\n</Scenario>", file="bad.xml")
    assert ei.value.problems[0].line == 2


def test_affinity_reaches_the_model():
    s = read_ktab_xml(FIX / "smpExample-det.xml")
    res = smp.run(s, smp.SMPParams())
    ideals = [r.extra["ideals"]["Alice"] for r in res.issues["FirstDim"].rounds]
    pos = [r.positions["Alice"] for r in res.issues["FirstDim"].rounds]
    assert ideals[0] == pos[0]
    assert any(abs(i - p) > 1e-9 for i, p in zip(ideals[1:], pos[1:]))  # 0.87 own + 0.13 old ideal
    assert "ideal adjustment" in " ".join(res.notes)
    assert np.isclose(ideals[1], 0.87 * pos[1] + 0.13 * ideals[0])
