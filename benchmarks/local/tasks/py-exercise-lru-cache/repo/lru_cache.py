import time


class ExpiringLRU:
    def __init__(self, capacity: int, ttl: float, clock=time.monotonic) -> None:
        raise NotImplementedError
