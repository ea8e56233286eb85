"""curves.csv of a local run, the input of hoverslam-plot (curves.png): one sample a row,
`elapsed_s,env_steps,series,value`. Series: eval_success, eval_return (each evaluation),
train_landed, train_return, lag_mean, steps_per_s (each progress line). A resumed run (the
same run directory again) appends, its minutes and env steps counted on from the last row (the
learner's counter starts again at 0 in a new process). Python 3 standard library only.
"""

import math
import subprocess

HEADER = "elapsed_s,env_steps,series,value\n"


class CurveLog:
    def __init__(self, path):
        self.path = path
        self.offset_s, self.offset_steps = self.resumed_at(path) or (0.0, 0)
        if not self.offset_s and not self.offset_steps:
            path.write_text(HEADER)

    @staticmethod
    def resumed_at(path):
        """(last elapsed_s, last env_steps) of an earlier launch's file; None when there is
        none to extend."""
        try:
            lines = path.read_text().splitlines()
        except OSError:
            return None
        if not lines or lines[0] + "\n" != HEADER:
            return None
        try:
            rows = [line.split(",") for line in lines[1:] if line]
            return (max((float(r[0]) for r in rows), default=0.0),
                    max((int(r[1]) for r in rows), default=0))
        except (ValueError, IndexError):
            return None

    def add(self, elapsed_s, env_steps, **series):
        """One row per series given; samples without a value or env-step count are skipped."""
        if env_steps is None:
            return
        at, steps = self.offset_s + elapsed_s, self.offset_steps + env_steps
        rows = [f"{at:.1f},{steps},{name},{value:.6g}\n"
                for name, value in series.items() if value is not None and math.isfinite(value)]
        with open(self.path, "a") as f:
            f.writelines(rows)


def plot(binary, csv, png, title):
    """Draws csv into png with hoverslam-plot; returns None, or why it failed."""
    try:
        r = subprocess.run([str(binary), "--csv", str(csv), "--out", str(png), "--title", title],
                           capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    return None if r.returncode == 0 else (r.stderr.strip().splitlines() or ["failed"])[-1]
