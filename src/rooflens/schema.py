"""The one schema version of rooflens's JSON documents: report.json and the subsets that
``rooflens analyze --json`` and ``rooflens predict --json`` print (docs/report-json.md).

History — every change is additive, so an older file still loads (missing sections get their
defaults; :func:`rooflens.analysis.assemble.upgrade` recomputes what it can):

- 1.0 — the first report.json;
- 1.1 — ``kernel_groups`` and grouped findings;
- 1.2 — ``comparison.notes`` (tensor-core padding);
- 1.3 — ``attainable_time_s`` and ``prediction.calibration`` / ``run_timeline`` (calibrated
  prediction), ``kernels[].counters`` / ``counters_from`` (NCU on a representative sample),
  ``breakdown`` (time per step and layer), ``ranks`` (tensor parallel), ``evidence`` /
  ``confidence`` of inferred kernels, ``prediction.decode_step_times_s``, ``stake_basis`` of
  findings (their time at stake beyond ``attainable`` or the ``ideal`` roofline);
- 1.4 — ``bubble_ratio_range``, ``host_time_range_s`` and ``at_run_host`` in
  ``prediction.run_timeline.eager|cuda_graph`` (the host's per-process spread, and the run at
  the measured run's host speed);
- 1.5 — ``at_probed_host`` in ``prediction.run_timeline.eager|cuda_graph`` (the run at the host
  speed the built-in workload's probe measured in its own process).

The run folder's ``manifest.json`` and the calibration file carry versions of their own.
"""

from __future__ import annotations

SCHEMA_VERSION = "1.5"
