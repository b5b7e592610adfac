"""The monitor: one row of numbers per training step, in memory and on disk.

Rows are dicts (`step`, `loss_d`, `loss_g`, `d_real`, `d_fake`, `wasserstein`, `penalty`,
`grad_norm_d`, `grad_norm_g`, `lr_d`, `lr_g`, and `time`: the seconds that step took), appended to `history.jsonl` in the
run folder as they come, so a crashed run keeps what it measured.
"""
import json
import math
import os


class Monitor:
    def __init__(self, path=None):
        self.rows = []
        self.path = path

    def record(self, row):
        row = {k: (float(v) if isinstance(v, float) or hasattr(v, "item") else v)
               for k, v in row.items()}
        self.rows.append(row)
        if self.path is not None:
            with open(self.path, "a") as f:
                f.write(json.dumps(row, allow_nan=True) + "\n")

    def truncate(self, step):
        """Keep rows up to and including `step` (a resumed run rewinds to its checkpoint)."""
        self.rows = [r for r in self.rows if r["step"] <= step]
        if self.path is not None:
            tmp = self.path + ".tmp"
            with open(tmp, "w") as f:
                for r in self.rows:
                    f.write(json.dumps(r) + "\n")
            os.replace(tmp, self.path)

    @staticmethod
    def read(path):
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def last(self, key, n=50):
        """Mean of the last n finite values of `key` (for progress bars and logs)."""
        values = [r[key] for r in self.rows[-n:] if key in r and math.isfinite(r[key])]
        return sum(values) / len(values) if values else float("nan")

    def __len__(self):
        return len(self.rows)
