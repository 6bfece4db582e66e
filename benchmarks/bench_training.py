"""The training path's speed target: one epoch of notebook 5.2's CNN through ``dlcourse.train.fit`` is no slower
than the hand-written loop it replaced.

The reference loop is what ``dlcourse/train.py`` ran before the training path was unified: its own Adam and its own
softmax cross-entropy, inlined here (benchmark only, nothing imports it). Both train a fresh ``numpy_cnn`` on the
same shuffled batches of 32 digits with Adam (lr 3e-3), one thread, alternated so that both see the same load; the
row is the ratio of the median times (target 1.05: "no slower", with 5 % for timer noise).

    python benchmarks/bench_training.py         # prints the rows
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_unit5 import _median_ratio, _row  # noqa: E402  (the same timing and row format as Unit 5's)

THREADS = 1
REPEATS = 11          # alternated runs of each; the median of 5 still moved by ±3 % between runs
TARGET = 1.05


def _hand_written_epoch(model, X, y, lr: float, batch_size: int, rng) -> float:
    """The loop ``fit`` replaced: private softmax cross-entropy and Adam, written out."""
    import numpy as np

    params = model.parameters()
    m, v = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    b1, b2, eps, t, total = 0.9, 0.999, 1e-8, 0, 0.0
    model.train()
    order = rng.permutation(len(X))
    for s in range(0, len(X), batch_size):
        idx = order[s:s + batch_size]
        logits = model.forward(X[idx])
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        rows = np.arange(len(idx))
        grad = np.exp(log_p)
        grad[rows, y[idx]] -= 1.0
        total += float(-log_p[rows, y[idx]].mean()) * len(idx)
        model.zero_grad()
        model.backward(grad / len(idx))
        t += 1
        for p, g, mp, vp in zip(params, model.gradients(), m, v):
            mp += (1.0 - b1) * (g - mp)
            vp += (1.0 - b2) * (g * g - vp)
            p -= lr * (mp / (1.0 - b1 ** t)) / (np.sqrt(vp / (1.0 - b2 ** t)) + eps)
    return total / len(X)


def verify_same_training(fit_loss: float, fit_params, hand_loss: float, hand_params, tol: float = 1e-9) -> None:
    """``fit`` did the hand-written loop's work: the same epoch loss and weights (same batches, same Adam), and the
    loss fell below chance, ln 10 = 2.30 (it learned).

    Fails (``Failed``, the row says why) for a ``fit`` that skips steps, shuffles differently, updates with another
    rule, or trains nothing (an epoch that returns at once would be fast for the wrong reason).
    """
    import math

    import numpy as np
    from benchlib import Failed

    if not math.isfinite(fit_loss) or not fit_loss < math.log(10):
        raise Failed(f"fit's epoch loss {fit_loss:.4f} is not below chance (ln 10 = 2.3026): it did not learn")
    if abs(fit_loss - hand_loss) > tol * max(1.0, abs(hand_loss)):
        raise Failed(f"fit's epoch loss {fit_loss!r} differs from the hand-written loop's {hand_loss!r}")
    worst = max(float(np.max(np.abs(p - q))) for p, q in zip(fit_params, hand_params))
    if worst > tol:
        raise Failed(f"fit's weights differ from the hand-written loop's by up to {worst:.2e} (> {tol:g})")


def bench_cnn_epoch() -> list[dict]:
    """One epoch of the 5.2 CNN on the digits: ``fit`` / the hand-written loop."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from dlcourse.explore.unit5_cnn import digit_images, numpy_cnn
    from dlcourse.optim import Adam
    from dlcourse.train import fit

    Xtr, _, ytr, _ = digit_images()

    last = {}

    def ours():
        model = numpy_cnn(rng=0)
        history = fit(model, Xtr, ytr, optimizer=Adam(model.parameters(), lr=3e-3), epochs=1, batch_size=32, rng=0,
                      progress=False)
        last["fit"] = (history["loss"][-1], model.parameters())

    def theirs():
        model = numpy_cnn(rng=0)
        loss = _hand_written_epoch(model, Xtr, ytr, 3e-3, 32, np.random.default_rng(0))
        last["hand"] = (loss, model.parameters())

    with threadpool_limits(THREADS):
        a, b, ratio = _median_ratio(ours, theirs, REPEATS)   # alternated, after one warm-up run of each
    verify_same_training(*last["fit"], *last["hand"])
    name = (f"5.2 CNN, one epoch of {len(Xtr)} digits: fit {a * 1e3:.0f} ms / hand-written loop {b * 1e3:.0f} ms, "
            f"{THREADS} thread (both: mean loss {last['fit'][0]:.4f})")
    return [_row(name, ratio, "×", TARGET)]


BENCHMARKS = {"training fit vs hand-written loop": bench_cnn_epoch}


if __name__ == "__main__":
    for group, fn in BENCHMARKS.items():
        for r in fn():
            print(f"{r['name']:<105} {r['value']:>6.2f} {r['unit']} ≤ {r['target']}  {'yes' if r['ok'] else 'NO'}")
