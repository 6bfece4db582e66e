"""Unit 5's speed targets: ``dlcourse.layers.Conv2d`` and ``LSTM`` against PyTorch on the CPU.

Each benchmark first checks that our layer computes what torch computes (output and input gradient, with torch's
weights, in float32 and float64; a difference fails the group), then returns rows ``{name, value, unit, target, ok}``
like ``benchmarks/run.py``: the value is the ratio of our forward + backward time to torch's, measured in one run with
the same thread count for both (NumPy's BLAS through threadpoolctl, torch through ``torch.set_num_threads``),
alternating the two so that both see the same load, and taking the median of the repeats. Conv2d (float64) is timed
against torch in float32 (torch's default) and in float64 (our default). The recurrent layers take torch's ``dtype``
argument, so LSTM is compared like with like: ours and torch's both in float32, then both in float64. MultiheadAttention
and TransformerEncoderLayer (float64) are checked against torch in float64, then timed like Conv2d.

    python benchmarks/bench_unit5.py            # prints the rows
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

THREADS = 1
REPEATS = 9
TARGET = 3.0   # ours within 3 times torch's time


def _row(name: str, value: float, unit: str, target: float) -> dict:
    return {"name": name, "value": round(float(value), 4), "unit": unit, "target": target, "ok": value <= target}


def _median_ratio(ours, theirs, repeats: int = REPEATS) -> tuple[float, float, float]:
    """Median times (s) of ``ours()`` and ``theirs()``, alternated, and the ratio of the medians."""
    ours(), theirs()                                     # warm up caches and allocators
    t_ours, t_theirs = [], []
    for _ in range(repeats):
        for fn, times in ((ours, t_ours), (theirs, t_theirs)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    a, b = statistics.median(t_ours), statistics.median(t_theirs)
    return a, b, a / b


def _compare(label: str, make_ours, make_theirs) -> list[dict]:
    """``make_ours(dtype)`` returns our timed function for that torch dtype, or ``None`` for the float64 default."""
    import torch
    from threadpoolctl import threadpool_limits

    rows, threads = [], torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        with threadpool_limits(THREADS):
            for dtype in (torch.float32, torch.float64):
                ours, our_dtype = make_ours(dtype)
                a, b, ratio = _median_ratio(ours, make_theirs(dtype))
                name = (f"{label} forward+backward: dlcourse ({our_dtype}) {a * 1e3:.1f} ms / torch "
                        f"({str(dtype).split('.')[-1]}) {b * 1e3:.1f} ms, {THREADS} thread")
                rows.append(_row(name, ratio, "×", TARGET))
    finally:
        torch.set_num_threads(threads)
    return rows


def _check_against_torch(label: str, ours, theirs, x, grad, dtype) -> None:
    """Before anything is timed: with torch's weights, our output and input gradient equal torch's, else Failed."""
    import numpy as np
    import torch
    from benchlib import Failed

    ours.load_torch(theirs)
    out, grad_in = ours.forward(x), ours.backward(grad)
    out = out[0] if isinstance(out, tuple) else out       # recurrent layers return (output, state) as torch does
    xt = torch.tensor(x, dtype=dtype, requires_grad=True)
    tout = theirs(xt)
    tout = tout[0] if isinstance(tout, tuple) else tout
    tout.backward(torch.tensor(grad, dtype=dtype))
    tol = 1e-3 if dtype == torch.float32 else 1e-8
    for what, a, b in (("output", out, tout), ("input gradient", grad_in, xt.grad)):
        a, b = np.asarray(a, dtype=np.float64), b.detach().double().numpy()
        if a.shape != b.shape or not np.allclose(a, b, rtol=tol, atol=tol):
            diff = f"max difference {np.max(np.abs(a - b)):.3g}" if a.shape == b.shape else f"{a.shape} vs {b.shape}"
            raise Failed(f"{label}: dlcourse's {what} differs from torch's ({str(dtype).split('.')[-1]}, {diff})")


def bench_conv2d() -> list[dict]:
    """Conv2d(3, 16, 3, padding=1) on a batch of 64 images of 32×32."""
    import numpy as np
    import torch

    from dlcourse.layers import Conv2d

    x = np.random.default_rng(0).normal(size=(64, 3, 32, 32))
    layer = Conv2d(3, 16, 3, padding=1, rng=0)
    grad = np.ones((64, 16, 32, 32))

    def ours():
        layer.forward(x)
        layer.backward(grad)

    def make_ours(dtype):
        return ours, "float64"

    def make_theirs(dtype):
        tconv = torch.nn.Conv2d(3, 16, 3, padding=1).to(dtype)
        xt = torch.tensor(x, dtype=dtype, requires_grad=True)
        gt = torch.ones(64, 16, 32, 32, dtype=dtype)

        def theirs():
            tconv(xt).backward(gt)
        return theirs

    for dtype in (torch.float32, torch.float64):
        theirs = torch.nn.Conv2d(3, 16, 3, padding=1).to(dtype)
        _check_against_torch("Conv2d", Conv2d(3, 16, 3, padding=1, rng=0), theirs, x[:4], grad[:4], dtype)
    return _compare("Conv2d N=64, 3→16, 32×32, k=3, p=1", make_ours, make_theirs)


def bench_lstm() -> list[dict]:
    """LSTM(128, 128) over T = 32 steps, batch 64."""
    import numpy as np
    import torch

    from dlcourse.layers import LSTM

    def make_ours(dtype):
        name = str(dtype).split(".")[-1]
        layer = LSTM(128, 128, rng=0, dtype=dtype)
        x = np.random.default_rng(0).normal(size=(32, 64, 128)).astype(name)
        grad = np.ones((32, 64, 128), name)

        def ours():
            layer.forward(x)
            layer.backward(grad)
        return ours, name

    x = np.random.default_rng(0).normal(size=(32, 64, 128))

    def make_theirs(dtype):
        tlstm = torch.nn.LSTM(128, 128).to(dtype)
        xt = torch.tensor(x, dtype=dtype, requires_grad=True)
        gt = torch.ones(32, 64, 128, dtype=dtype)

        def theirs():
            tlstm(xt)[0].backward(gt)
        return theirs

    for dtype in (torch.float32, torch.float64):
        name = str(dtype).split(".")[-1]
        _check_against_torch("LSTM", LSTM(128, 128, rng=0, dtype=dtype), torch.nn.LSTM(128, 128).to(dtype),
                             x[:8, :4].astype(name), np.ones((8, 4, 128), name), dtype)
    return _compare("LSTM T=32, N=64, D=H=128", make_ours, make_theirs)


class _SelfAttention:
    """Our MultiheadAttention as a one-input layer (query = key = value), for :func:`_check_against_torch`."""

    def __init__(self, mha):
        self.mha = mha

    def load_torch(self, module):
        self.mha.load_torch(module.mha)

    def forward(self, x):
        return self.mha.forward(x, x, x)[0]

    def backward(self, grad):
        return sum(self.mha.backward(grad))        # the input feeds query, key and value


def _TorchSelfAttention(mha):
    import torch

    class SelfAttention(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = mha

        def forward(self, x):
            return self.mha(x, x, x)[0]

    return SelfAttention()


def bench_attention() -> list[dict]:
    """MultiheadAttention(128, 8) self-attention and TransformerEncoderLayer(128, 8, 512), N=32, L=64, batch first.

    Ours computes in float64; torch is timed in float32 (its default) and in float64 (the same dtype as ours).
    """
    import numpy as np
    import torch

    from dlcourse.layers import MultiheadAttention, TransformerEncoderLayer

    x = np.random.default_rng(0).normal(size=(32, 64, 128))
    grad = np.ones_like(x)
    mha = MultiheadAttention(128, 8, batch_first=True, rng=0)
    enc = TransformerEncoderLayer(128, 8, 512, dropout=0.0, batch_first=True, rng=0)
    small = np.random.default_rng(1).normal(size=(4, 8, 128))
    _check_against_torch("MultiheadAttention", _SelfAttention(mha), _TorchSelfAttention(
        torch.nn.MultiheadAttention(128, 8, batch_first=True).double()), small, np.ones_like(small), torch.float64)
    _check_against_torch("TransformerEncoderLayer", enc, torch.nn.TransformerEncoderLayer(
        128, 8, 512, dropout=0.0, batch_first=True).double(), small, np.ones_like(small), torch.float64)

    def ours_mha():
        mha.forward(x, x, x)
        mha.backward(grad)

    def ours_enc():
        enc.forward(x)
        enc.backward(grad)

    def theirs(make):
        def build(dtype):
            module = make().to(dtype)
            xt = torch.tensor(x, dtype=dtype, requires_grad=True)
            gt = torch.ones(32, 64, 128, dtype=dtype)

            def run():
                out = module(xt, xt, xt)[0] if isinstance(module, torch.nn.MultiheadAttention) else module(xt)
                out.backward(gt)
            return run
        return build

    return (_compare("MultiheadAttention N=32, L=64, E=128, 8 heads", lambda d: (ours_mha, "float64"),
                     theirs(lambda: torch.nn.MultiheadAttention(128, 8, batch_first=True)))
            + _compare("TransformerEncoderLayer N=32, L=64, d=128, 8 heads, d_ff=512",
                       lambda d: (ours_enc, "float64"),
                       theirs(lambda: torch.nn.TransformerEncoderLayer(128, 8, 512, dropout=0.0, batch_first=True))))


BENCHMARKS = {"unit5 conv2d vs torch": bench_conv2d, "unit5 lstm vs torch": bench_lstm,
              "unit5 attention vs torch": bench_attention}


if __name__ == "__main__":
    for group, fn in BENCHMARKS.items():
        for r in fn():
            print(f"{r['name']:<105} {r['value']:>6.2f} {r['unit']} ≤ {r['target']}  {'yes' if r['ok'] else 'NO'}")
