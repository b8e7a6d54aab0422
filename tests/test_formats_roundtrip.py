"""Writers and round trips: YAML/JSON are loss-free; long CSV/XLSX, BDM, KTAB CSV and
Decide keep everything they can hold; every shared reference input survives
file -> Scenario -> YAML -> Scenario unchanged. Also: the published JSON Schema is current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detente.errors import InputError
from detente.formats import load, save
from detente.scenario import Actor, Issue, Scenario, Stance, scenario_json_schema

REPO = Path(__file__).resolve().parents[1]
FX = Path(__file__).resolve().parent / "fixtures" / "formats"


def without_metadata(s: Scenario) -> Scenario:
    return s.model_copy(update={"metadata": {}})


def table_scenario(name: str = "tab", scale: str = "percent") -> Scenario:
    """A scenario that long tables can hold completely."""
    k = 1.0 if scale == "percent" else 0.01
    return Scenario(
        name=name,
        salience_scale=scale,
        actors=[Actor(id="US", capability=10), Actor(id="CN", capability=8.5), Actor(id="RU", capability=6)],
        issues=[Issue(id="taiwan", lower=0, upper=100, status_quo=30), Issue(id="ukraine", lower=-50, upper=50)],
        stances=[
            Stance(actor="US", issue="taiwan", position=20, salience=80 * k),
            Stance(actor="CN", issue="taiwan", position=100, salience=100 * k),
            Stance(actor="RU", issue="taiwan", position=70.25, salience=30 * k),
            Stance(actor="US", issue="ukraine", position=-40, salience=90 * k, capability=12),
            Stance(actor="RU", issue="ukraine", position=50, salience=0.1 * k),
        ],
    )


# --------------------------------------------------------------------------- YAML / JSON
@pytest.mark.parametrize("ext,opts", [(".yaml", {}), (".yaml", {"compact": True}), (".json", {}), (".yml", {})])
def test_yaml_json_lossless(tmp_path, ext, opts):
    s = load(FX / "full.yaml")
    assert s.relations and s.dynamics and s.issue("taiwan").labels
    out = save(s, tmp_path / f"out{ext}", **opts)
    t = load(out)
    assert t == s and t.content_hash() == s.content_hash()


def test_compact_yaml_is_compact(tmp_path):
    s = load(FX / "full.yaml")
    text = save(s, tmp_path / "c.yaml", compact=True).read_text()
    assert "columns: [actor, issue, position, salience, capability]" in text
    assert "- [US, ukraine, -40.0, 90.0, 12.0]" in text


def test_referenced_yaml_equals_inline(tmp_path):
    s = load(FX / "referenced.yaml")
    save(s, tmp_path / "inline.yaml")
    assert load(tmp_path / "inline.yaml") == s


# --------------------------------------------------------------------------- tables
@pytest.mark.parametrize("scale", ["percent", "unit"])
@pytest.mark.parametrize("ext", [".csv", ".xlsx"])
def test_long_table_round_trip(tmp_path, ext, scale):
    s = table_scenario("tab", scale)
    out = save(s, tmp_path / f"tab{ext}")
    t = load(out)
    assert without_metadata(t) == s
    assert t.metadata["format"] == ("long_csv" if ext == ".csv" else "long_xlsx")


def test_long_table_explicit_scale_when_inference_would_fail(tmp_path):
    s = table_scenario("tab", "unit").model_copy(update={"salience_scale": "percent"})
    text = save(s, tmp_path / "tab.csv").read_text()
    assert text.splitlines()[0].split(",")[4] == "salience_percent"
    assert load(tmp_path / "tab.csv").salience_scale == "percent"


def test_long_table_refuses_what_it_cannot_hold(tmp_path):
    s = table_scenario().model_copy(update={"actors": table_scenario().actors + [Actor(id="EU")]})
    with pytest.raises(InputError, match="EU"):
        save(s, tmp_path / "x.csv")


def test_bdm_round_trip(tmp_path):
    s = load(FX / "bdm_emission.csv")
    out = save(s, tmp_path / "bdm_emission.csv", format="bdm")
    assert out.read_text().splitlines()[0] == "Actor,Capability,Position,Salience,Lower,Upper"
    t = load(out)
    assert without_metadata(t) == without_metadata(s)
    with pytest.raises(InputError):
        save(table_scenario(), tmp_path / "two.csv", format="bdm")


def test_ktab_round_trip(tmp_path):
    s = load(FX / "ktab_small.csv")
    out = save(s, tmp_path / "k.csv", format="ktab_csv")
    t = load(out)
    assert t == s  # name, description, headers, descriptions, order: all kept
    # YAML -> KTAB -> YAML
    save(s, tmp_path / "k.yaml")
    y = load(tmp_path / "k.yaml")
    save(y, tmp_path / "k2.csv", format="ktab_csv")
    assert load(tmp_path / "k2.csv") == y
    assert out.read_text() == (tmp_path / "k2.csv").read_text()


def test_ktab_writer_refuses_misfits(tmp_path):
    with pytest.raises(InputError) as ei:
        save(table_scenario(), tmp_path / "k.csv", format="ktab_csv")
    msgs = str(ei.value)
    assert "ukraine" in msgs and "CN / ukraine" in msgs


def test_ktab_unit_saliences_written_as_percent(tmp_path):
    s = load(FX / "ktab_small.csv")
    unit = s.model_copy(update={"salience_scale": "unit",
                                "stances": [st.model_copy(update={"salience": st.salience / 100})
                                            for st in s.stances]})
    save(unit, tmp_path / "u.csv", format="ktab_csv")
    t = load(tmp_path / "u.csv")
    assert t.salience_scale == "percent"
    for a, b in zip(t.stances, s.stances):
        assert a.salience == pytest.approx(b.salience, abs=1e-12)


def test_decide_round_trip(tmp_path):
    s = load(FX / "decide_small.csv")
    out = save(s, tmp_path / "decide_small.csv", format="decide")
    t = load(out)
    assert without_metadata(t) == without_metadata(s)
    # a unit-scale scenario whose saliences exceed... nothing: percent with small values keeps its scale
    p = table_scenario("pct", "unit").model_copy(update={"salience_scale": "percent"})
    save(p, tmp_path / "pct.txt", format="decide")
    q = load(tmp_path / "pct.txt", format="decide")
    assert q.salience_scale == "percent"
    for a, b in zip(q.issues, p.issues):
        assert (a.lower, a.upper) == (b.lower, b.upper)
    for a, b in zip(q.stances, p.stances):
        assert (a.position, a.salience) == (b.position, b.salience)
        assert q.issue_arrays(a.issue).capability.tolist() == p.issue_arrays(a.issue).capability.tolist()


# --------------------------------------------------------------------------- shared inputs
def _shared_inputs(shared: Path) -> list[Path]:
    out = sorted((shared / "conformance" / "bdm" / "inputs").glob("*.csv"))
    out += sorted(p for p in (shared / "conformance" / "exchange" / "inputs").iterdir() if "error" not in p.name)
    out += sorted((shared / "conformance" / "smp" / "inputs").glob("*.csv"))
    return out


def test_shared_inputs_yaml_round_trip(shared, tmp_path):
    files = _shared_inputs(shared)
    assert len(files) >= 4 + 8 + 8
    for f in files:
        s = load(f)
        save(s, tmp_path / "s.yaml")
        assert load(tmp_path / "s.yaml") == s, f.name
        save(s, tmp_path / "s.json")
        assert load(tmp_path / "s.json") == s, f.name


def test_shared_inputs_native_round_trip(shared, tmp_path):
    native = {"bdm": "bdm", "exchange": "decide", "smp": "ktab_csv"}
    for f in _shared_inputs(shared):
        fmt = native[f.parent.parent.name]
        s = load(f)
        out = save(s, tmp_path / f.name, format=fmt)
        t = load(out, format=fmt)
        if fmt == "ktab_csv":
            assert t == s, f.name
        else:
            assert without_metadata(t) == without_metadata(s), f.name


def test_convert_chain_keeps_numbers(shared, tmp_path):
    """Decide -> YAML -> long CSV -> YAML: every actor x issue number survives."""
    s = load(shared / "conformance" / "exchange" / "inputs" / "sample_data.txt")
    save(s, tmp_path / "a.yaml")
    save(load(tmp_path / "a.yaml"), tmp_path / "sample_data.csv")
    t = load(tmp_path / "sample_data.csv")
    for iid in s.issue_ids:
        a, b = s.issue_arrays(iid), t.issue_arrays(iid)
        assert a.actors == b.actors
        assert a.position.tolist() == b.position.tolist()
        assert a.salience.tolist() == b.salience.tolist()
        assert a.capability.tolist() == b.capability.tolist()
        assert (a.issue.lower, a.issue.upper) == (b.issue.lower, b.issue.upper)


# --------------------------------------------------------------------------- schema
def test_published_schema_is_current():
    published = json.loads((REPO / "schemas" / "scenario.schema.json").read_text())
    assert published == scenario_json_schema(), "regenerate: detente schema > schemas/scenario.schema.json"


def test_json_keeps_json_types(tmp_path):
    s = load(FX / "full.yaml").model_copy(update={"metadata": {"big": 1e5, "flag": "yes", "n": None}})
    save(s, tmp_path / "s.json")
    t = load(tmp_path / "s.json")
    assert t.metadata == {"big": 1e5, "flag": "yes", "n": None} and t == s


def test_writer_errors_name_the_output_file(tmp_path):
    with pytest.raises(InputError) as ei:
        save(table_scenario(), tmp_path / "k.csv", format="ktab_csv")
    assert all(p.file == str(tmp_path / "k.csv") for p in ei.value.problems)
    with pytest.raises(InputError, match="no writer"):
        save(table_scenario(), tmp_path / "k.csv", format="bdm_xlsx")
