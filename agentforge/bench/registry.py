"""Benchmarks by short name; each adapter is imported only when named."""

from __future__ import annotations

import importlib
from pathlib import Path

from agentforge.bench.protocol import BenchError, Benchmark

BENCHMARKS: dict[str, tuple[str, str]] = {
    "local": ("agentforge.bench.local", "LocalBenchmark"),
    "polyglot": ("agentforge.bench.polyglot", "PolyglotBenchmark"),
    "swebench": ("agentforge.bench.swebench_adapter", "SWEBenchBenchmark"),
}
"""name -> (module, class). The classes take `source` (a folder or file) and options."""


def benchmark_names() -> list[str]:
    """Every registered benchmark name."""
    return list(BENCHMARKS)


def get_benchmark(name: str, source: Path | str | None = None, **options) -> Benchmark:
    """Instantiate a benchmark by name; an unknown name lists the valid ones."""
    if name not in BENCHMARKS:
        raise BenchError(
            f"unknown benchmark {name!r}; valid benchmarks: {', '.join(BENCHMARKS)}"
        )
    module_name, class_name = BENCHMARKS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if (exc.name or "").startswith("agentforge"):
            raise
        raise BenchError(
            f"benchmark {name!r} needs a missing package ({exc.name}); "
            f"install it with: pip install 'agentforge[{name}]'"
        ) from exc
    cls = getattr(module, class_name)
    return cls(source=Path(source) if source is not None else None, **options)
