"""Make the fixed train/validation split of the DEU development file, by proposal.

Reads only the ``prnr`` and ``wave`` columns (no positions, no outcomes). Within each wave
the sorted proposal ids are permuted with ``numpy.random.default_rng(SEED)`` (one generator,
waves in the order DEU I, DEU II, DEU III) and the first ``round(n / 3)`` go to validation.

Usage: python preregistration/make_split.py ../shared/data/deu/deu3_dev.csv > preregistration/deu_split.csv
"""

import csv
import sys

import numpy as np

SEED = 20250607


def split(path: str) -> dict[str, str]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    wave_of: dict[str, str] = {}
    for r in rows:
        wave_of.setdefault(r["prnr"], r["wave"])
    rng = np.random.default_rng(SEED)
    side: dict[str, str] = {}
    for wave in ("DEU I", "DEU II", "DEU III"):
        ids = sorted(p for p, w in wave_of.items() if w == wave)
        perm = rng.permutation(len(ids))
        n_val = round(len(ids) / 3)
        for rank, k in enumerate(perm):
            side[ids[k]] = "validation" if rank < n_val else "train"
    return side


if __name__ == "__main__":
    s = split(sys.argv[1])
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["prnr", "side"])
    for p in sorted(s):
        w.writerow([p, s[p]])
