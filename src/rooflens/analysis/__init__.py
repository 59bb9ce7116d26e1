"""Pure analyses over plain data: timeline (runs, bubbles), kernels (roofline points, rules),
operators (kernel-name classification), compare (prediction vs measurement), findings (ranked).

Nothing here opens a file or draws a chart: inputs come from :mod:`rooflens.traces` and
:mod:`rooflens.predict`, outputs are the dict sections of ``report.json`` (docs/report-json.md).
"""
