"""Unit 4's exercises: what the student writes, the reference, fresh random test cases.

Exercises with randomness take it as an argument (a mask, a generator), or are checked
by properties every correct answer shares (a stratified split may deal the samples to
the folds in any order; a bootstrap sample depends on how the generator is called).
"""

from __future__ import annotations

import numpy as np

from ..layers.batchnorm import BatchNorm1d
from ..regularization import l2_penalty, l2_penalty_grad, majority_vote
from ..regularization.splits import stratified_kfold_indices
from .exercise import BadReturn, Exercise, skeleton
from .registry import register


# -- 4.1 stratified k-fold -----------------------------------------------------------------------
def _fold_ids_reference(y, k):
    """Fold id of each sample: sort by class, deal to the folds in turn (no shuffling)."""
    fold_of = np.empty(len(y), dtype=int)
    for j, fold in enumerate(stratified_kfold_indices(y, k, shuffle=False)):
        fold_of[fold.val] = j
    return fold_of


def _fold_cases(rng):
    cases = []
    for n_per_class, k, sort in (([7, 5, 9], 3, True), ([10, 4, 6, 3], 4, False), ([13, 8], 5, False),
                                 ([5, 5, 5, 7, 2], 3, True), ([20, 3], 2, False)):
        y = np.repeat(np.arange(len(n_per_class)), n_per_class)
        cases.append({"y": y if sort else rng.permutation(y), "k": k})
    return cases


def _run_folds(fn, case):
    """Compare what every correct stratified split shares: balanced fold sizes, class counts per fold."""
    y, k = case["y"], case["k"]
    out = fn(y=y.copy(), k=k)
    try:
        ids = np.asarray(out)
    except ValueError:   # a list of index arrays of different lengths
        ids = np.empty(0)
    if ids.shape != y.shape:
        raise BadReturn(f"must return one fold id per sample, an array of shape {y.shape} (not a list of folds), "
                        f"got {type(out).__name__}" + (f" of shape {ids.shape}" if ids.size else ""))
    if not np.all(np.isin(ids, np.arange(k))):
        raise BadReturn(f"fold ids must be the integers 0 to {k - 1}, got values such as "
                         f"{ids[~np.isin(ids, np.arange(k))][0]!r}")
    ids = ids.astype(int)
    classes = np.unique(y)
    counts = np.array([np.sort(np.bincount(ids[y == c], minlength=k)) for c in classes])
    return {"fold sizes (sorted)": np.sort(np.bincount(ids, minlength=k)),
            "members of each class per fold (sorted, one row per class)": counts}


# -- 4.2 L2 penalty and its gradient --------------------------------------------------------------
def _l2_reference(params, alpha):
    return l2_penalty(params, alpha), l2_penalty_grad(params, alpha)


def _l2_cases(rng):
    cases = []
    for sizes in ((3, 4, 2), (2, 5, 3, 2), (6, 1)):
        params = {}
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            params[f"{2 * i}.weight"] = rng.normal(size=(b, a))
            params[f"{2 * i}.bias"] = rng.normal(size=b)
        cases.append({"params": params, "alpha": float(rng.uniform(0.01, 1.0))})
    return cases


def _run_l2(fn, case):
    params = {k: v.copy() for k, v in case["params"].items()}
    out = fn(params=params, alpha=case["alpha"])
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict)):
        raise BadReturn("must return a pair (penalty, grads) with grads a dict {name: array}")
    penalty, grads = out
    result = {"penalty": np.asarray(penalty, dtype=np.float64)}
    for name in case["params"]:
        if name not in grads:
            raise BadReturn(f"grads has no entry {name!r}: give every parameter a gradient (zeros for biases)")
        result[f"grads[{name!r}]"] = np.asarray(grads[name], dtype=np.float64)
    for name, v in params.items():
        result[f"params[{name!r}] after the call"] = v
    return result


# -- 4.3 and 4.4 inverted dropout --------------------------------------------------------------
def _dropout_forward_reference(x, mask, p, training):
    return x * mask / (1.0 - p) if training else x.copy()


def _dropout_backward_reference(grad_out, mask, p):
    return grad_out * mask / (1.0 - p)


def _dropout_cases(rng, backward=False):
    cases = []
    for shape, p, training in (((4, 5), 0.5, True), ((3, 6), 0.2, True), ((2, 3, 4), 0.7, True),
                               ((5, 4), 0.5, False), ((4, 4), 0.0, True)):
        case = {"x": rng.normal(size=shape), "mask": (rng.random(shape) >= p).astype(float), "p": p,
                "training": training}
        if backward:
            if not training:
                continue
            case = {"grad_out": case["x"], "mask": case["mask"], "p": p}
        cases.append(case)
    return cases


# -- 4.5 batch normalization, forward ------------------------------------------------------------
def _batchnorm_reference(x, gamma, beta, running_mean, running_var, momentum, eps, training):
    layer = BatchNorm1d(x.shape[1], eps=eps, momentum=momentum)
    layer.params["weight"][...], layer.params["bias"][...] = gamma, beta
    layer.running_mean[...], layer.running_var[...] = running_mean, running_var
    layer.train(training)
    return layer.forward(x), layer.running_mean.copy(), layer.running_var.copy()


def _batchnorm_cases(rng):
    cases = []
    for n, c, training in ((6, 3, True), (4, 5, True), (8, 2, False), (5, 4, True), (3, 3, False)):
        cases.append({"x": rng.normal(2.0, 3.0, (n, c)), "gamma": rng.uniform(0.5, 2, c), "beta": rng.normal(size=c),
                      "running_mean": rng.normal(size=c), "running_var": rng.uniform(0.5, 2, c),
                      "momentum": float(rng.choice([0.1, 0.3])), "eps": 1e-5, "training": training})
    cases[0]["eps"] = 0.5   # an eps large enough to tell sqrt(var + eps) from sqrt(var) + eps
    return cases


def _run_batchnorm(fn, case):
    out = fn(**{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in case.items()})
    if not (isinstance(out, tuple) and len(out) == 3):
        raise BadReturn("must return a triple (out, new_running_mean, new_running_var)")
    return {name: np.asarray(v, dtype=np.float64) for name, v in zip(("out", "running_mean", "running_var"), out)}


# -- 4.6 early stopping ---------------------------------------------------------------------------
def _early_stopping_reference(val_losses, patience, min_delta):
    best, best_epoch, bad = np.inf, -1, 0
    for epoch, v in enumerate(val_losses):
        if v < best - min_delta:
            best, best_epoch, bad = v, epoch, 0
        else:
            bad += 1
            if bad >= patience:
                return epoch, best_epoch
    return len(val_losses) - 1, best_epoch


def _early_stopping_cases(rng):
    u_shape = list(1.0 / (1 + np.arange(12)) + 0.004 * np.arange(12) ** 1.5)   # falls, then rises
    plateau = [1.0, 0.8, 0.7, 0.7, 0.7, 0.69, 0.7, 0.71, 0.72, 0.73]          # ties are not improvements
    creep = [1.0, 0.9, 0.895, 0.891, 0.888, 0.886, 0.885, 0.884]             # small gains, below min_delta
    noisy = list(np.round(0.6 + 0.3 * np.exp(-np.arange(25) / 5) + rng.normal(0, 0.02, 25), 4))
    return [{"val_losses": u_shape, "patience": 3, "min_delta": 0.0},
            {"val_losses": plateau, "patience": 2, "min_delta": 0.0},
            {"val_losses": plateau, "patience": 4, "min_delta": 0.0},
            {"val_losses": creep, "patience": 2, "min_delta": 0.01},
            {"val_losses": creep, "patience": 10, "min_delta": 0.0},
            {"val_losses": noisy, "patience": int(rng.integers(2, 6)), "min_delta": 0.0}]


def _run_early_stopping(fn, case):
    out = fn(val_losses=list(case["val_losses"]), patience=case["patience"], min_delta=case["min_delta"])
    if not (isinstance(out, tuple) and len(out) == 2):
        raise BadReturn("must return a pair (stop_epoch, best_epoch)")
    return {"stop_epoch": np.asarray(out[0], dtype=np.float64), "best_epoch": np.asarray(out[1], dtype=np.float64)}


# -- 4.7 a bootstrap sample -------------------------------------------------------------------
def _bootstrap_reference(n, rng):
    idx = rng.integers(0, n, size=n)
    return idx, np.setdiff1d(np.arange(n), idx)


def _bootstrap_cases(rng):
    return [{"n": n, "seed": int(rng.integers(0, 2**31))} for n in (10, 50, 200)]


SAMPLES = 200


def _bootstrap_samples(fn, case):
    """The part of 4.7's check that calls the function: SAMPLES draws from the case's seed, as plain arrays.

    Row s of ``indices`` is draw s (padded with -1 where it is shorter than n), ``lengths`` its length, and row s
    of ``out_of_bag counts`` how often each of 0..n-1 appears in its out-of-bag list (``out_of_bag foreign``:
    entries outside 0..n-1). The grader runs only this part in its sandbox and :func:`_bootstrap_properties`
    outside, so a forged report would have to contain SAMPLES valid bootstrap samples.
    """
    n, gen = case["n"], np.random.default_rng(case["seed"])
    indices, lengths = np.full((SAMPLES, n), -1.0), np.zeros(SAMPLES)
    oob_counts, oob_foreign = np.zeros((SAMPLES, n)), np.zeros(SAMPLES)
    for s in range(SAMPLES):
        out = fn(n=n, rng=gen)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise BadReturn("must return a pair (indices, out_of_bag)")
        idx, oob = (np.asarray(a).ravel() for a in out)
        lengths[s] = len(idx)
        indices[s, :min(n, len(idx))] = idx[:n]
        inside = (oob >= 0) & (oob < n) & (oob == np.round(oob))
        oob_counts[s] = np.bincount(oob[inside].astype(int), minlength=n)[:n]
        oob_foreign[s] = np.sum(~inside)
    return {"indices": indices, "lengths": lengths, "out_of_bag counts": oob_counts, "out_of_bag foreign": oob_foreign}


def _bootstrap_properties(case, samples):
    """Properties every correct bootstrap shares, computed from :func:`_bootstrap_samples`' arrays."""
    n = case["n"]
    idx, lengths = np.asarray(samples["indices"]), np.asarray(samples["lengths"])
    counts, foreign = np.asarray(samples["out_of_bag counts"]), np.asarray(samples["out_of_bag foreign"])
    if idx.shape != (SAMPLES, n) or lengths.shape != (SAMPLES,) or counts.shape != (SAMPLES, n) \
            or foreign.shape != (SAMPLES,):
        raise BadReturn("the samples have the wrong shapes")
    full = lengths == n
    outside = np.any((idx < 0) | (idx >= n) | (idx != np.round(idx)), axis=1) | ~full
    drawn = np.zeros((SAMPLES, n), bool)
    for s in range(SAMPLES):
        valid = idx[s][(idx[s] >= 0) & (idx[s] < n)].astype(int)
        drawn[s, valid] = True
    oob_wrong = np.any(counts != ~drawn, axis=1) | (foreign > 0)
    repeats = [len(np.unique(idx[s, :n])) < n for s in range(SAMPLES) if full[s]]
    left_out = (counts.sum(axis=1) + foreign) / n
    expected = (1 - 1 / n) ** n
    return {"samples with len(indices) != n": np.float64(np.sum(~full)),
            "samples with an index outside 0..n-1": np.float64(np.sum(outside & full)),
            "samples whose out_of_bag is not the set of indices never drawn": np.float64(np.sum(oob_wrong)),
            "drawn with replacement (some sample has a repeated index)": np.float64(any(repeats)),
            "mean out-of-bag fraction is within 0.03 of (1 - 1/n)^n": np.float64(abs(np.mean(left_out) - expected)
                                                                                 < 0.03)}


def _run_bootstrap(fn, case):
    """Properties every correct bootstrap shares, over SAMPLES samples drawn from the case's seed."""
    return _bootstrap_properties(case, _bootstrap_samples(fn, case))


# The grader calls the function with `inside` in its sandbox and judges the samples with `judge` outside.
_run_bootstrap.inside, _run_bootstrap.judge = _bootstrap_samples, _bootstrap_properties


# -- 4.8 majority vote --------------------------------------------------------------------------
def _vote_cases(rng):
    cases = [{"predictions": rng.integers(0, 2, (5, 12))}, {"predictions": rng.integers(0, 4, (7, 15))},
             {"predictions": rng.integers(0, 3, (4, 10))}]
    cases.append({"predictions": np.array([[0, 1, 2, 2], [1, 0, 2, 0], [1, 2, 0, 0], [0, 2, 1, 2]])})  # ties
    cases.append({"predictions": np.array([[3, 5, 5], [3, 1, 5], [7, 1, 1]])})   # labels need not be 0..K-1
    return cases


# -- 4.9 FGSM -------------------------------------------------------------------------------------
def _fgsm_reference(x, grad, eps):
    return np.clip(x + eps * np.sign(grad), 0.0, 1.0)


def _fgsm_cases(rng):
    cases = []
    for shape, eps in (((64,), 0.1), ((3, 64), 0.05), ((8, 8), 0.3)):
        grad = rng.normal(size=shape)
        grad.flat[0] = 0.0    # a zero gradient leaves its pixel alone
        cases.append({"x": rng.uniform(0, 1, shape), "grad": grad, "eps": eps})
    return cases


# The hint levels of each exercise (Exercise.hints): the idea, the formula, a skeleton with blanks.
_HINTS = {
    "4.1": (
        r"Deal the samples out to the folds like cards: line them up class by class and hand out folds "
        r"$0, 1, \dots, k-1, 0, 1, \dots$ in turn. Each class then spreads evenly, and because the dealing goes on "
        r"across classes, one class's left-overs go to the next folds instead of always to fold 0.",
        r"A *stable* argsort of `y` (`kind='stable'`) lists the sample indices class by class. The sample at "
        r"position $i$ of that order gets fold $i \bmod k$. The result is indexed by sample, not by position: "
        r"the entry of sample `order[i]` is $i \bmod k$.",
        skeleton("""
            order = ____                                # sample indices, class by class
            fold = np.empty(____, dtype=int)
            fold[____] = np.arange(len(y)) % ____
            return ____
        """),
    ),
    "4.2": (
        r"Weight decay penalises the weights, not the biases. Go through the parameters by name: each weight adds "
        r"to the penalty and gets a gradient, each bias gets a zero gradient. Never change the arrays you are given.",
        r"$\Omega = \frac{\alpha}{2}\sum_{\text{weights}}\sum_i w_i^2$ and $\partial\Omega/\partial w = \alpha w$; "
        r"a bias gets zeros of its own shape. A parameter is a bias when its name contains `'bias'` (PyTorch's "
        r"names, such as `'0.bias'`). Make each gradient a new array: an in-place `value *= ...` would change "
        r"the caller's weights.",
        skeleton("""
            penalty = 0.0
            grads = {}
            for name, value in ____:
                if ____:                          # a bias
                    grads[name] = ____
                else:
                    penalty += ____
                    grads[name] = ____
            return ____, ____
        """),
    ),
    "4.3": (
        r"In training, the dropped units output 0 and the kept ones are scaled up, so that the expected output "
        r"equals the input. At test time dropout does nothing.",
        r"Training: $y = m \odot x/(1 - p)$ with the given mask $m$ (1 = kept). Evaluation (`training=False`): "
        r"$y = x$. Check: $\mathbb E[m_i] = 1 - p$, so $\mathbb E[y_i] = x_i$.",
        skeleton("""
            if not ____:
                return ____
            return ____ / (____)
        """),
    ),
    "4.4": (
        r"For a fixed mask, the forward pass is linear in $x$ and treats each element on its own. So the backward "
        r"pass multiplies the upstream gradient, element by element, by the same factor the forward pass used.",
        r"$y_i = m_i x_i/(1 - p)$ gives $\partial y_i/\partial x_i = m_i/(1 - p)$, so "
        r"$\partial L/\partial x_i = \partial L/\partial y_i \cdot m_i/(1 - p)$: a dropped unit gets no gradient.",
        skeleton("""
            return ____ * ____ / (____)
        """),
    ),
    "4.5": (
        r"Training: normalise each feature (column) with the batch's own mean and variance, then scale by $\gamma$ "
        r"and shift by $\beta$; also move the running statistics a little towards the batch's. Evaluation: "
        r"normalise with the running statistics, and return them unchanged.",
        r"Per column, $\mu = \frac1N\sum_n x_n$ and $\sigma^2 = \frac1N\sum_n (x_n - \mu)^2$ (biased, for "
        r"normalising); $y = \gamma\,(x - \mu)/\sqrt{\sigma^2 + \epsilon} + \beta$, with $\epsilon$ inside the root. "
        r"The running statistics use the *unbiased* variance: $\hat\mu \leftarrow (1 - m)\,\hat\mu + m\,\mu$ and "
        r"$\hat\sigma^2 \leftarrow (1 - m)\,\hat\sigma^2 + m\,\frac{N}{N-1}\sigma^2$. Every statistic has shape "
        r"$(C,)$: reduce over axis 0.",
        skeleton("""
            if ____:
                n = ____                                   # the batch size
                mean, var = ____, ____                     # over the batch axis; var biased
                running_mean = ____
                running_var = ____                         # with the unbiased variance
            else:
                mean, var = ____, ____
            out = ____ * (x - ____) / ____ + ____
            return ____, ____, ____
        """),
    ),
    "4.6": (
        r"Walk through the epochs keeping three things: the best loss so far, the epoch where it happened, and how "
        r"many epochs in a row have not improved on it. Stop as soon as that count reaches `patience`.",
        r"An epoch improves when its loss $\ell < \ell_\text{best} - \delta$, with $\delta$ = `min_delta` (strictly: a "
        r"tie does not count). "
        r"An improvement records the loss and the epoch and resets the count to 0; any other epoch adds 1, and when "
        r"the count reaches `patience` you return (this epoch, the best epoch). If the loop ends, training ran to "
        r"the last epoch: return its index. Epochs are 0-based; start with best $= +\infty$.",
        skeleton("""
            best, best_epoch, bad = ____, -1, 0
            for epoch, loss in ____(val_losses):
                if ____:
                    best, best_epoch, bad = ____, ____, ____
                else:
                    bad += 1
                    if ____:
                        return ____, ____
            return ____, best_epoch
        """),
    ),
    "4.7": (
        r"A bootstrap sample draws $n$ times *with replacement* from the $n$ examples: some come twice or more, and "
        r"about 37 % never. Those never drawn are the out-of-bag examples. Use the generator you are given.",
        r"`rng.integers(low, high, size=...)` draws integers with `high` excluded, so the indices "
        r"$0, \dots, n-1$ need `high` $= n$. The out-of-bag set is $\{0, \dots, n-1\}$ minus the drawn indices, "
        r"sorted: `np.setdiff1d(a, b)` returns the sorted values of `a` that are not in `b`.",
        skeleton("""
            indices = rng.integers(____, ____, size=____)
            out_of_bag = np.setdiff1d(____, ____)
            return indices, out_of_bag
        """),
    ),
    "4.8": (
        r"Look at one column at a time: it holds every model's vote for one example. Count the votes for each "
        r"label and keep the label with the most; in a tie, the smallest label wins.",
        r"`np.unique` with `return_counts=True` returns the sorted distinct labels and how often each occurs. "
        r"`np.argmax` returns the *first* position of the maximum: with sorted labels, the smallest of the tied "
        r"ones. Shapes: `predictions` is (models, examples), and the result holds one label per example.",
        skeleton("""
            P = np.asarray(____)
            out = []
            for column in ____:                    # one column per example
                labels, counts = ____
                out.append(____)
            return np.array(____)
        """),
    ),
    "4.9": (
        r"Move every pixel by the same small amount $\epsilon$, in the direction that increases the loss: only the "
        r"*sign* of each gradient entry matters, not its size. Then keep the pixels valid.",
        r"$x_{\text{adv}} = \operatorname{clip}\bigl(x + \epsilon\,\operatorname{sign}(\nabla_x L),\ 0,\ 1\bigr)$. "
        r"`np.sign` gives $-1$, 0 or $+1$ per entry; `np.clip(a, low, high)` bounds every entry.",
        skeleton("""
            step = ____ * np.sign(____)
            return np.clip(____, ____, ____)
        """),
    ),
}


register(
    Exercise("4.1", "stratified_fold_ids", "a stratified k-fold split", _fold_ids_reference, _fold_cases, _run_folds,
             hints=_HINTS["4.1"]),
    Exercise("4.2", "l2_penalty_and_grad", "the L2 penalty and its gradient", _l2_reference, _l2_cases, _run_l2,
             hints=_HINTS["4.2"]),
    Exercise("4.3", "dropout_forward", "inverted dropout, forward", _dropout_forward_reference,
             _dropout_cases,
             hints=_HINTS["4.3"]),
    Exercise("4.4", "dropout_backward", "inverted dropout, backward", _dropout_backward_reference,
             lambda rng: _dropout_cases(rng, backward=True),
             hints=_HINTS["4.4"]),
    Exercise("4.5", "batchnorm_forward", "batch normalization, forward (train and eval)", _batchnorm_reference,
             _batchnorm_cases, _run_batchnorm,
             hints=_HINTS["4.5"]),
    Exercise("4.6", "early_stopping_epoch", "early stopping with patience", _early_stopping_reference,
             _early_stopping_cases, _run_early_stopping,
             hints=_HINTS["4.6"]),
    Exercise("4.7", "bootstrap_sample", "a bootstrap sample and its out-of-bag set", _bootstrap_reference,
             _bootstrap_cases, _run_bootstrap,
             hints=_HINTS["4.7"]),
    Exercise("4.8", "majority_vote", "the majority vote of an ensemble", majority_vote, _vote_cases,
             hints=_HINTS["4.8"]),
    Exercise("4.9", "fgsm", "the fast gradient sign method", _fgsm_reference, _fgsm_cases,
             hints=_HINTS["4.9"]),
)
