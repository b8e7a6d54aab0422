"""The README's six-line CSV scenario, run exactly as the README shows it, prints what the
README shows (an 80-column terminal, a fresh run store)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_example() -> tuple[str, str, str]:
    """The CSV block, the command and the output block of the README's "A scenario in six lines"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## A scenario in six lines", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, flags=re.S)
    csv = next(b for lang, b in blocks if lang == "text" and b.startswith("actor,issue,"))
    (command,) = [b.strip() for lang, b in blocks if lang == "bash"]
    output = next(b for lang, b in blocks if lang == "text" and not b.startswith("actor,"))
    return csv, command, output


def test_the_readme_example_gives_the_readme_output(tmp_path):
    csv, command, output = readme_example()
    assert len(csv.strip().splitlines()) == 6                # a header and five rows
    (tmp_path / "trade.csv").write_text(csv, encoding="utf-8")
    argv = shlex.split(command)
    assert argv[0] == "detente"
    env = dict(os.environ, COLUMNS="80", DETENTE_HOME=str(tmp_path / "home"),
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    cp = subprocess.run([sys.executable, "-m", "detente", *argv[1:]], cwd=tmp_path, env=env, capture_output=True,
                        text=True, encoding="utf-8")
    assert cp.returncode == 0, cp.stderr
    got = [line.rstrip() for line in cp.stdout.splitlines()]
    want = [line.rstrip() for line in output.strip("\n").splitlines()]
    positions = [got.index(line) for line in want]           # every shown line is printed, in order
    assert positions == sorted(positions)


def test_the_readme_forecast_is_the_hand_computed_weighted_mean():
    csv, _, output = readme_example()
    rows = [r.split(",") for r in csv.strip().splitlines()[1:]]
    w = [float(cap) * float(sal) for _, _, _, sal, cap in rows]
    mean = sum(wi * float(r[2]) for wi, r in zip(w, rows, strict=True)) / sum(w)
    assert f"│ tariff │ {mean:.4g}    │" in output
