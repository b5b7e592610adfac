"""The monitor: one row of numbers per training step, kept in memory and handed to a sink.

Rows are dicts (`step`, `loss_d`, `loss_g`, `d_real`, `d_fake`, `wasserstein`, `penalty`,
`grad_norm_d`, `grad_norm_g`, `lr_d`, `lr_g`, the apps' `l1`, `cycle`, ..., and `time`: the
seconds that step took). With a run folder the sink is `RunFolder.append_history`, which
appends each row to history.jsonl as it comes, so a crashed run keeps what it measured.
"""
import math


class Monitor:
    def __init__(self, sink=None):
        self.rows = []
        self.sink = sink

    def record(self, row):
        row = {k: (float(v) if isinstance(v, float) or hasattr(v, "item") else v)
               for k, v in row.items()}
        self.rows.append(row)
        if self.sink is not None:
            self.sink(row)

    def last(self, key, n=50):
        """Mean of the last n finite values of `key` (for progress bars and logs)."""
        values = [r[key] for r in self.rows[-n:]
                  if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
        return sum(values) / len(values) if values else float("nan")

    def __len__(self):
        return len(self.rows)
