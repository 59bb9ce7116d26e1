"""Time at stake: the seconds (per chosen run) a finding's fix could save at most.

Time at stake of one kernel under one rule (:data:`RULE_KINDS`, column ``stake``):

- ``beyond_roof`` (``far_from_roof``, ``below_roof``, and the diagnoses ``latency_bound``,
  ``low_occupancy``, ``low_l2_hit``): duration × (1 − roof fraction), the time beyond the
  kernel's roofline time at its intensity.  A diagnosis explains *why* a kernel misses its roof,
  so the most its fix can win is that same gap — never more (the whole duration only when the
  roof fraction is unknown).
- ``speedup`` (NCU rules): NCU's estimated speedup × duration, for its *global* estimates only
  (a *local* estimate is about the section's own metric, not the kernel's runtime: 0).
- ``duration`` (``copy_cast``): the whole kernel, which a fused producer/consumer removes.
- ``excess`` (``fragmented_operator``): measured − predicted time of the operator.
- ``idle`` (``launch_bound``): window − GPU busy of the chosen run.

**With a calibration** (comparison rows carry ``attainable_time_s``), the operator-level stakes
(``excess`` and ``beyond_roof``) count what the *implementation* loses instead: the time beyond
what this GPU attains at the operator's shape, not beyond the ideal roofline (part of that is
the GPU's, no fix wins it).  A fragmented operator's stake is max(0, measured − attainable) of
its (operator, phase) row; a roof/diagnosis kernel's is duration × max(0, 1 − attainable /
measured) of its row, so a group holding all of a row's kernels stakes exactly the row's
measured − attainable.  A group uses that basis only when every kernel of it has a calibrated
row (else the roofline for all of them).  ``stake_basis`` says which basis a finding's stake
used: ``attainable``, ``ideal`` (measured − ideal roofline), ``duration``, ``ncu`` or ``idle``.
"""

from __future__ import annotations

from typing import Any

from rooflens.vocab import canonical_operator, canonical_phase

# rule → (level, stake kind).  Levels: a finding folds into a group of a *lower* level number
# on the same subject and kernel.  NCU rules (level "ncu") never fold: they carry their own
# estimate and advice.
RULE_KINDS: dict[str, tuple[int, str]] = {
    "launch_bound": (0, "idle"),
    "fragmented_operator": (1, "excess"),
    "copy_cast": (2, "duration"),
    "far_from_roof": (3, "beyond_roof"),
    "below_roof": (3, "beyond_roof"),
    # Diagnoses: why a kernel misses its roof.  On one kernel, the first of them holds the others.
    "latency_bound": (4, "beyond_roof"),
    "low_occupancy": (5, "beyond_roof"),
    "low_l2_hit": (6, "beyond_roof"),
}
UNKNOWN_LEVEL = 7  # a rule added to analysis.kernels later: a diagnosis, folded last

# Stake kind → ``stake_basis`` on the ideal roofline (no calibration, or none for the kernels).
_BASIS = {"idle": "idle", "excess": "ideal", "duration": "duration", "beyond_roof": "ideal",
          "speedup": "ncu"}  # fmt: skip

# (operator, phase) → share of the row's measured time beyond attainable (see
# :func:`implementation_shares`).
Shares = dict[tuple[str, str], float]


def time_at_stake(f: dict[str, Any], k: dict[str, Any]) -> float:
    """Seconds a per-kernel finding ``f`` on kernel ``k`` could save at most (module docstring)."""
    dur = float(k.get("duration_s") or 0.0)
    if f.get("source") == "ncu":
        # Only a "global" estimate speaks of the kernel's runtime; a "local" one of the metric of
        # its own section (TheoreticalOccupancy's 81 %, say), which is no time to be saved.
        speedup = f.get("estimated_speedup")
        if speedup is None or f.get("speedup_type") == "local":
            return 0.0
        return dur * float(speedup)
    _, kind = RULE_KINDS.get(f.get("rule") or "", (UNKNOWN_LEVEL, "beyond_roof"))
    roof = k.get("roof_fraction")
    if kind == "duration" or roof is None:
        return dur
    return dur * max(0.0, 1.0 - float(roof))


def implementation_shares(operators: list[dict[str, Any]] | None) -> Shares:
    """Per calibrated comparison row with measured time, (operator, phase) → the share of its
    measured time that is beyond attainable: max(0, measured − attainable) / measured.

    Empty without a calibration (no row has ``attainable_time_s``).  A row faster than
    attainable (L2-resident operands, say) loses nothing: share 0.
    """
    out: Shares = {}
    for o in operators or []:
        meas, att = o.get("measured_time_s"), o.get("attainable_time_s")
        if att is not None and meas:
            gap = max(0.0, float(meas) - float(att))
            out[(str(o["name"]), str(o.get("phase") or "prefill"))] = gap / float(meas)
    return out


def attainable_stake(f: dict[str, Any], k: dict[str, Any], shares: Shares) -> float | None:
    """Seconds beyond attainable of a ``beyond_roof`` finding on kernel ``k``: its duration ×
    its operator row's share (:func:`implementation_shares`); None when the rule is of another
    kind or the kernel's (operator, phase) has no calibrated row."""
    if (f.get("source") or "rooflens") == "ncu":
        return None
    if RULE_KINDS.get(f.get("rule") or "", (UNKNOWN_LEVEL, "beyond_roof"))[1] != "beyond_roof":
        return None
    share = shares.get((subject_of(k), canonical_phase(k.get("phase"))))
    return None if share is None else float(k.get("duration_s") or 0.0) * share


def subject_of(k: dict[str, Any]) -> str:
    """What a finding is about: the operator, else the kernel's short name."""
    op = k.get("operator")
    if op and op != "other":
        return canonical_operator(str(op))
    return str(k.get("short_name") or k.get("name") or "?")


def settle_stake(g: dict[str, Any]) -> None:
    """A group's stake on one basis: beyond attainable when every kernel had a calibrated row."""
    att = g.pop("_attainable", None)
    if att is not None:
        g["time_at_stake_s"], g["stake_basis"] = att, "attainable"
    elif g["source"] == "ncu":
        g["stake_basis"] = "ncu"
    else:
        g["stake_basis"] = _BASIS[RULE_KINDS.get(g["rule"], (UNKNOWN_LEVEL, "beyond_roof"))[1]]
