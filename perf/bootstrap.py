"""Bootstrap intervals over seeds, shared by the search benchmarks."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Sequence
from typing import TypeVar

Sample = TypeVar("Sample")


def bootstrap(samples: Sequence[Sample], rng: random.Random,
              statistic: Callable[[Sequence[Sample]], float] = statistics.fmean,
              resamples: int = 2000) -> tuple[float, float, float]:
    """The statistic of the samples and its bootstrap 95% percentile interval; each sample is
    resampled whole, so paired values (a tuple per seed) stay paired."""
    n = len(samples)
    values = sorted(statistic(rng.choices(samples, k=n)) for _ in range(resamples))
    return statistic(samples), values[int(0.025 * resamples)], values[int(0.975 * resamples)]
