"""Unit 4's widgets. Each wires controls to pure functions in ``dlcourse.explore.unit4_*``.

Controls that only look things up redraw at once. Where a setting needs a training run
that takes longer than a tenth of a second, the demo has a **Run** button and a progress
bar (:class:`RunDemo`): the controls say what to train, the figure keeps showing the
last results (and says so) until Run is pressed.
"""

from __future__ import annotations

from typing import Callable

import ipywidgets as W

from ..explore import unit4_augment as aug
from ..explore import unit4_capacity as cap
from ..explore import unit4_ensemble as ens
from ..explore import unit4_overfit as ovf
from ..explore import unit4_penalty as pen
from ..explore import unit4_pretrain as pre
from .base import Demo, dropdown, slider


class RunDemo(Demo):
    """A :class:`Demo` whose expensive step runs on a button.

    ``train(progress=..., **values)`` fills the cache that ``compute`` reads; ``needs_run(data)``
    says whether the figure shows older results than the controls ask for (then the
    button is highlighted). ``progress(done, total)`` moves the progress bar.
    """

    def __init__(self, controls: dict, compute: Callable, view, train: Callable, train_controls: tuple,
                 **kw):
        self.train = train
        self.train_controls = train_controls
        self.run_button = W.Button(description="Run", icon="play", tooltip="train with these settings")
        self.progress = W.IntProgress(value=0, min=0, max=1, description="training",
                                      style={"description_width": "initial"})
        self.run_button.on_click(self.run)
        super().__init__(controls, compute, view, extra=[W.HBox([self.run_button, self.progress])], **kw)

    def _report(self, done: int, total: int) -> None:
        self.progress.max = max(total, 1)
        self.progress.value = done

    def run(self, _button=None) -> None:
        """Train with the current settings (the progress bar moves), then redraw."""
        self.run_button.disabled = True
        self.progress.value = 0
        try:
            values = self.values()
            self.train(progress=self._report, **{k: values[k] for k in self.train_controls})
        finally:
            self.run_button.disabled = False
        self.update()

    def update(self) -> None:
        super().update()
        pending = bool(getattr(self.data, "pending", False))
        self.run_button.button_style = "warning" if pending else ""


# ----------------------------------------------------------------------------------- capacity lab
class CapacityLab(RunDemo):
    """Polynomials update at once; networks of every width train on Run (about a second or two)."""

    def __init__(self, family: str = "polynomial", degree: int = 3, width: int = 4, n_train: int = 20,
                 noise: float = 0.3, headless: bool | None = None):
        controls = {
            "family": dropdown(["polynomial", "network"], family, "model"),
            "degree": slider(degree, 0, cap.DEGREES[-1], 1, "degree", integer=True),
            "width": W.SelectionSlider(options=list(cap.WIDTHS), value=width, description="width",
                                       continuous_update=False),
            "n_train": W.SelectionSlider(options=list(cap.N_TRAIN), value=n_train, description="n train",
                                         continuous_update=False),
            "noise": W.SelectionSlider(options=list(cap.NOISE), value=noise, description="noise σ",
                                       continuous_update=False),
        }
        super().__init__(controls, cap.compute_capacity, cap.CapacityView(), self._train, ("n_train", "noise"),
                         figsize=(10.5, 3.4), title="Capacity lab",
                         hint="raise the degree until the validation error turns up; then shrink n train to 10 "
                              "and find the quadrant 'high bias, high variance' at degree 2.",
                         text=cap.describe_capacity, headless=headless)
        controls["family"].observe(self._show_slider, names="value")
        self._show_slider()

    def warm(self) -> None:
        """The networks train before the first picture when the lab opens on them (a second or two)."""
        values = self.values()
        if values["family"] == "network":
            cap.network_curves(values["n_train"], values["noise"])

    @staticmethod
    def _train(progress, n_train, noise):
        cap.network_curves(n_train, noise, progress=progress)

    def _show_slider(self, _change=None):
        poly = self.controls["family"].value == "polynomial"
        self.controls["degree"].layout.display = None if poly else "none"
        self.controls["width"].layout.display = "none" if poly else None
        self.run_button.layout.display = "none" if poly else None
        self.progress.layout.display = "none" if poly else None


def make_capacity_lab(headless: bool | None = None, **settings) -> CapacityLab:
    return CapacityLab(headless=headless, **settings)


# ------------------------------------------------------------------------------------ penalty lab
def make_penalty_lab(penalty: str = "L1 (lasso)", log_alpha: float = -1.0, l1_ratio: float = 0.5,
                     headless: bool | None = None) -> Demo:
    def warm():
        for rho in (1.0, 0.0) + pen.L1_RATIOS:   # every path once (about 0.1 s each), so that moves are instant
            pen.coefficient_path(rho)

    controls = {
        "penalty": dropdown(list(pen.PENALTIES), penalty, "penalty"),
        "log_alpha": slider(log_alpha, float(pen.LOG_ALPHAS.min()), float(pen.LOG_ALPHAS.max()), 0.1, "log₁₀ α"),
        "l1_ratio": W.SelectionSlider(options=list(pen.L1_RATIOS), value=l1_ratio, description="ρ (elastic net)",
                                      continuous_update=False, style={"description_width": "initial"}),
    }
    return Demo(controls, pen.compute_penalty, pen.PenaltyView(), figsize=(10.5, 3.5), title="Penalty lab",
                hint="slide α up under L1 and count the weights that hit exactly zero; switch to L2 at the same α.",
                text=pen.describe_penalty, headless=headless, warm=warm)


# ---------------------------------------------------------------------------------- overfitting lab
def make_overfitting_lab(p: float = 0.0, weight_decay: float = 0.0, patience: int = 10,
                         pretrain: tuple = (), headless: bool | None = None) -> RunDemo:
    """``pretrain``: extra ``(p, weight_decay)`` runs to train at once, for comparison."""
    def warm():
        for setting in ((p, weight_decay),) + tuple(pretrain):
            ovf.train_overfit_run(*setting)

    controls = {
        "p": W.SelectionSlider(options=list(ovf.DROPOUT), value=p, description="dropout p", continuous_update=False),
        "weight_decay": W.SelectionSlider(options=list(ovf.WEIGHT_DECAY), value=weight_decay,
                                          description="weight decay λ", continuous_update=False,
                                          style={"description_width": "initial"}),
        "patience": slider(patience, 1, 60, 1, "patience", integer=True),
    }

    def train(progress, p, weight_decay):
        ovf.train_overfit_run(p, weight_decay, progress=progress)

    return RunDemo(controls, ovf.compute_overfit, ovf.OverfitView(), train, ("p", "weight_decay"),
                   figsize=(10.5, 3.4), title="Overfitting lab (100 training digits)",
                   hint="press Run with p = 0.5, then with λ = 0.001; move the patience and watch where training "
                        "would stop.", text=ovf.describe_overfit, headless=headless, warm=warm)


# ----------------------------------------------------------------------------- augmentation explorer
def make_augmentation_explorer(degrees: float = 10.0, shift: int = 1, noise: float = 0.0, flip: float = 0.0,
                               headless: bool | None = None) -> RunDemo:
    controls = {
        "index": slider(0, 0, 99, 1, "digit", integer=True),
        "degrees": slider(degrees, 0, 45, 5, "rotation ±°"),
        "shift": slider(shift, 0, 2, 1, "shift ±px", integer=True),
        "noise": slider(noise, 0, 0.3, 0.05, "noise σ"),
        "flip": slider(flip, 0, 1, 0.25, "flip probability"),
        "rng": slider(0, 0, 20, 1, "seed", integer=True),
    }

    def train(progress, degrees, shift, noise, flip):
        aug.accuracy_curves(degrees, shift, noise, flip, progress=progress)

    return RunDemo(controls, aug.compute_augment, aug.AugmentView(), train, ("degrees", "shift", "noise", "flip"),
                   figsize=(9.5, 3.4), title="Augmentation explorer",
                   hint="set flip probability to 0.5 and press Run: a mirrored 2 is not a 2.",
                   text=aug.describe_augment, headless=headless,
                   warm=lambda: aug.accuracy_curves(degrees, shift, noise, flip))


# ------------------------------------------------------------------------------------- ensemble lab
class EnsembleLab(Demo):
    """Bagging and boosting share the size slider; stacking picks which model to show."""

    def __init__(self, method: str = "bagging", n_models: int = 1, headless: bool | None = None):
        controls = {
            "method": dropdown(list(ens.METHODS), method, "method"),
            "n_models": slider(n_models, 1, ens.MAX_MODELS, 1, "models / rounds", integer=True),
            "shown": dropdown([], None, "stacking: show"),   # the stacked models' names: see warm
        }
        super().__init__(controls, ens.compute_ensemble, ens.EnsembleView(), figsize=(9.5, 3.5),
                         title="Ensemble lab (noisy moons)",
                         hint="bagging: add trees and watch the variance fall while the bias stays; boosting: add "
                              "rounds and watch the bias fall.", text=ens.describe_ensemble, headless=headless)
        controls["method"].observe(self._show, names="value")
        self._show()

    def warm(self) -> None:
        """Every method's curves (about 4 s in all, once: every later move is a look-up); the stacked models' names."""
        for m in ens.METHODS:
            ens.ensemble_curves(m)
        labels = ens.ensemble_curves("stacking").labels
        self.controls["shown"].options = list(labels)
        self.controls["shown"].value = labels[-1]

    def _show(self, _change=None):
        stacking = self.controls["method"].value == "stacking"
        self.controls["n_models"].layout.display = "none" if stacking else None
        self.controls["shown"].layout.display = None if stacking else "none"


def make_ensemble_lab(headless: bool | None = None, **settings) -> EnsembleLab:
    return EnsembleLab(headless=headless, **settings)


# -------------------------------------------------------------------------------------- pretraining
def make_pretraining_lab(architecture: str = "64-32-16 (3 hidden layers)", n_labels: int = 50,
                         headless: bool | None = None) -> RunDemo:
    controls = {
        "architecture": dropdown(list(pre.ARCHITECTURES), architecture, "network"),
        "n_labels": W.SelectionSlider(options=list(pre.SIZES), value=n_labels, description="labelled digits",
                                      continuous_update=False, style={"description_width": "initial"}),
    }

    def train(progress, architecture):
        pre.pretrain_curves(pre.ARCHITECTURES[architecture], progress=progress)

    return RunDemo(controls, pre.compute_pretrain, pre.PretrainView(), train, ("architecture",),
                   figsize=(9.5, 3.3), title="Greedy layer-wise pretraining",
                   hint="compare the gap at 20 labels with the gap at 500; then Run the shallower network.",
                   text=pre.describe_pretrain, headless=headless,
                   warm=lambda: pre.pretrain_curves(pre.ARCHITECTURES[architecture]))


# What benchmarks/run.py measures: each list changes a control and changes it back, so that every
# move is a real update. Training runs sit behind Run buttons and are not in these lists.
BENCHMARK_CASES = {
    "unit4 capacity lab": (make_capacity_lab, [("degree", 9), ("degree", 1), ("n_train", 50), ("noise", 0.6),
                                               ("noise", 0.3), ("n_train", 20), ("degree", 3)]),
    "unit4 penalty lab": (make_penalty_lab, [("log_alpha", -0.5), ("log_alpha", -2.0), ("penalty", "L2 (ridge)"),
                                             ("penalty", "elastic net"), ("l1_ratio", 0.8),
                                             ("penalty", "L1 (lasso)"), ("log_alpha", -1.0)]),
    "unit4 overfitting lab": (make_overfitting_lab, [("patience", 3), ("patience", 30), ("patience", 10)]),
    "unit4 augmentation explorer": (make_augmentation_explorer, [("index", 5), ("degrees", 30.0), ("shift", 2),
                                                                 ("flip", 0.5), ("flip", 0.0), ("shift", 1),
                                                                 ("degrees", 10.0), ("index", 0)]),
    "unit4 ensemble lab": (make_ensemble_lab, [("n_models", 10), ("n_models", 30), ("method", "boosting"),
                                               ("n_models", 5), ("method", "stacking"), ("shown", "deep tree"),
                                               ("method", "bagging"), ("n_models", 1)]),
    "unit4 pretraining lab": (make_pretraining_lab, [("n_labels", 20), ("n_labels", 500), ("n_labels", 50)]),
}
