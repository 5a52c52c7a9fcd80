"""Peak memory of a Dask cluster's workers, sampled in a thread during a benchmark."""

from __future__ import annotations

import os
import threading


def worker_rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


class Watcher:
    """Samples the workers' RSS and the host's load average in a thread; remembers the peaks."""

    def __init__(self, client, interval: float = 0.5) -> None:
        self.client = client
        self.interval = interval
        self.stop_event = threading.Event()
        self.reset()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def reset(self) -> None:
        self.peak: dict[str, int] = {}
        self.loads: list[float] = []
        self.missed = 0
        self.last_error: str | None = None

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                for worker, rss in self.client.run(worker_rss).items():
                    self.peak[worker] = max(self.peak.get(worker, 0), rss)
            except Exception as exc:  # noqa: BLE001 - a worker being restarted or busy: count the missed sample
                self.missed += 1
                self.last_error = repr(exc)
            self.loads.append(os.getloadavg()[0])
            self.stop_event.wait(self.interval)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)

    def summary(self) -> dict:
        loads = self.loads or [os.getloadavg()[0]]
        return {
            "peak_worker_rss_gib": max(self.peak.values(), default=0) / 2**30,
            "peak_rss_gib_by_worker": {w: r / 2**30 for w, r in sorted(self.peak.items())},
            "load_average_1min": {"min": min(loads), "mean": sum(loads) / len(loads), "max": max(loads)},
            "memory_samples": len(self.loads),
            "missed_samples": self.missed,
            "last_sample_error": self.last_error,
        }
