"""Markdown tables of an ``evaluation.json`` for the model card.

    python -m export.report models/default/evaluation.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def fmt(m: dict) -> str:
    lo, hi = m["auc_ci95"]
    return f"{m['auc']:.3f} [{lo:.3f}, {hi:.3f}]"


def table(results: dict) -> str:
    rows = ["| condition | fake kind | frame AUC [95 % CI] | window AUC [95 % CI] | frame acc | window acc | "
            "window EER | windows real/fake |", "|---|---|---|---|---|---|---|---|"]
    for cond, kinds in results.get("conditions", {}).items():
        for kind, lv in kinds.items():
            if kind == "per_clip":
                continue
            f, w = lv.get("frame"), lv.get("window")
            if not f or not w:
                continue
            rows.append(f"| {cond} | {kind} | {fmt(f)} | {fmt(w)} | {f['accuracy']:.3f} | {w['accuracy']:.3f} | "
                        f"{w['eer']:.3f} | {w['n_real']}/{w['n_fake']} |")
    for name, kinds in results.get("datasets", {}).items():
        for kind, lv in kinds.items():
            w = lv.get("window") or lv.get("frame")
            rows.append(f"| {name} | {kind} | {fmt(lv['frame'])} | {fmt(w)} | | | {w['eer']:.3f} | |")
    return "\n".join(rows)


def real_table(results: dict, condition: str = "clean") -> str:
    rows = ["| real test clip | mean frame score | mean window score | windows called fake |", "|---|---|---|---|"]
    for clip, m in results.get("conditions", {}).get(condition, {}).get("per_clip", {}).items():
        if m["kind"] == "real":
            rows.append(f"| {clip} | {m['frame_mean']:.3f} | {m['window_mean']:.3f} | {m['windows_fake']:.2f} |")
    return "\n".join(rows)


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("models/default/evaluation.json")
    results = json.loads(path.read_text())
    print(table(results))
    print()
    print(real_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
