"""Progress for long command-line steps: one tqdm bar per stage of the report."""

from __future__ import annotations


class StageBars:
    """One tqdm bar per stage of a long command (silent when stderr is not a terminal)."""

    def __init__(self, labels: dict[str, str]):
        self.labels, self.stage, self.bar = labels, None, None

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=self.labels.get(stage, stage), unit="step", disable=None, leave=True)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
