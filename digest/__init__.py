"""digest: a scheduled newsletter digest generator.

The pipeline runs left to right: sources → selection → grouping → issue →
render. ``build_issue`` and ``render_issue`` are the entry points that the
CLI, the scheduler and the preview all call.
"""

__version__ = "0.1.0"
