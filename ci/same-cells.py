#!/usr/bin/env python3
"""Do two runs of `punchlab run` agree cell by cell? Each cell (topology,
models, lifecycle scenario, repeat) must have the same outcome, path and
expected path in both results.json files; times may differ.

usage: ci/same-cells.py OLD/results.json NEW/results.json
Exit 0 when every cell agrees and both hold the same cells, else 1 with
each difference on a line."""
import json
import sys


def cells(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"same-cells: cannot read {path}: {e}")
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        sys.exit(f"same-cells: {path} is not a results.json of punchlab run (no \"scenarios\" list)")
    out = {}
    for s in data["scenarios"]:
        key = (s.get("topology"), s.get("a"), s.get("b"), s.get("c", ""), s.get("lifecycle", ""), s.get("repeat", 1))
        out[key] = (s.get("outcome"), s.get("path"), s.get("expected_path"))
    return out


def main():
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) == 2 else 2
    old, new = cells(sys.argv[1]), cells(sys.argv[2])
    bad = 0
    for key in sorted(set(old) | set(new), key=str):
        name = " ".join(str(k) for k in key if k not in ("", None, 0, 1))
        if key not in new or key not in old:
            print(f"{name}: only in {sys.argv[1] if key in old else sys.argv[2]}")
            bad += 1
        elif old[key] != new[key]:
            print(f"{name}: outcome, path, expected {old[key]} then {new[key]}")
            bad += 1
    print(f"{len(old.keys() & new.keys())} cells compared, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
