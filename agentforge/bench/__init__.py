"""Benchmarks: the protocol, SWE-bench-shaped tasks, adapters by name, grading in sandboxes."""

from agentforge.bench.protocol import BenchError, Benchmark
from agentforge.bench.registry import benchmark_names, get_benchmark
from agentforge.bench.task import Check, CheckKind, Outcome, Prediction, Task, TaskResult

__all__ = [
    "BenchError", "Benchmark", "Check", "CheckKind", "Outcome", "Prediction", "Task",
    "TaskResult", "benchmark_names", "get_benchmark",
]
