"""curves.csv of a local run, the input of hoverslam-plot (curves.png): one sample a row,
`elapsed_s,env_steps,series,value`. Series: eval_success, eval_return (each evaluation),
train_landed, train_return, lag_mean, steps_per_s (each progress line). Python 3 standard
library only.
"""

import math
import subprocess

HEADER = "elapsed_s,env_steps,series,value\n"


class CurveLog:
    def __init__(self, path):
        self.path = path
        path.write_text(HEADER)  # one launch, one set of curves

    def add(self, elapsed_s, env_steps, **series):
        """Appends one row per series given (a None value is skipped)."""
        rows = [f"{elapsed_s:.1f},{env_steps or 0},{name},{value:.6g}\n"
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
