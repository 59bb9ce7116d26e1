"""rooflens: how far is this LLM, on this GPU, from what the hardware allows — and why.

Layers (see docs/architecture.md): ``model`` + ``hardware`` + ``predict`` make the roofline
prediction; ``capture`` runs workloads under nsys/ncu/torch.profiler; ``traces`` parse
profiles into plain data; ``analysis`` turns that data into figures and builds the typed
report document (``report_model``: report.json as dataclasses); ``report`` renders it;
``pipeline`` is where they meet.

The Python API (docs/api.md)::

    rooflens.predict("llama-3-8b", "H200", batch=8, input_len=1024, output_len=64)
    rooflens.analyze("run-folder-or-profile-files", model="llama-3-8b") -> Report
    rooflens.load_report("report.json") -> Report
    Report.document -> rooflens.report_model.ReportDocument
"""

__version__ = "0.1.0"

# The subpackage rooflens.predict is loaded first, so that the function of the same name below
# stays this package's attribute (a later first import of the subpackage would replace it).
import rooflens.predict as _predict_package  # noqa: E402,F401
from rooflens.pipeline import (  # noqa: E402
    Report,
    analyze,
    load_report,
    predict,  # noqa: E402
)

__all__ = ["Report", "__version__", "analyze", "load_report", "predict"]
