"""What the two alignment benchmarks share: the English story they read, and how an error list is summarised."""

from __future__ import annotations

import numpy as np

STORY = (
    "In the morning, Mara was a ghost in the old house on Hollow Street. She had been there for 30 years, "
    "waiting for someone to notice the lights. Nobody did. The neighbours said the place was empty, "
    "and the postman didn't even slow down. Then, on a rainy Tuesday in October, a girl named Iris "
    "knocked on the door. She was eleven, and she wasn't afraid of anything. \"Is anyone home?\" she asked. "
    "Mara didn't answer. She couldn't. But the lamp in the hallway flickered twice, and Iris smiled. "
    "Every day after school, Iris came back with a notebook and a flashlight. She asked questions, "
    "and Mara answered with the lights: once for yes, twice for no. By December they had a whole language. "
    "Iris learned that Mara had planted the apple tree in 1994, that she loved thunderstorms, and that "
    "she missed the smell of bread. So Iris baked bread in the old oven, burning the first three loaves. "
    "The fourth one was perfect. Mara couldn't taste it, but the whole house glowed warm and gold, "
    "and for the first time in thirty years, she wasn't waiting for anyone at all."
)


def stats(err_ms: np.ndarray, *, over_ms: float | None = None) -> str:
    """Median, p95 and max of the absolute errors (ms), the count above ``over_ms`` when given, and the mean signed."""
    if err_ms.size == 0:
        return "n/a"
    a = np.abs(err_ms)
    over = f">{over_ms:g} ms: {int((a > over_ms).sum())}/{a.size}  " if over_ms is not None else ""
    return (f"median {np.median(a):5.1f} ms  p95 {np.percentile(a, 95):5.1f} ms  max {a.max():6.1f} ms  "
            f"{over}(mean signed {np.mean(err_ms):+5.1f} ms, n={a.size})")
