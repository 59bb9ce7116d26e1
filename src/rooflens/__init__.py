"""rooflens: how far is this LLM, on this GPU, from what the hardware allows — and why.

Layers (see docs/architecture.md): ``model`` + ``hardware`` + ``predict`` make the roofline
prediction; ``capture`` runs workloads under nsys/ncu/torch.profiler; ``traces`` parse
profiles into plain data; ``analysis`` turns that data into figures; ``report`` renders.
"""

__version__ = "0.1.0"
