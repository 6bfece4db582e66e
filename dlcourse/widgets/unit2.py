"""Unit 2's widgets: the loss-function lab. Each wires controls to pure functions in ``dlcourse.explore``."""

from __future__ import annotations

import ipywidgets as W
from ..explore import unit2_imbalance as imb
from ..explore import unit2_label_noise as noise
from ..explore import unit2_loss_explorer as lx
from ..explore import unit2_metric_learning as ml
from ..explore import unit2_outliers as out
from ..explore import unit2_softmax_kl as skl
from ..plotting import LayeredRenderer
from .base import Demo, dropdown, set_range, slider

# where the "read off at" slider starts in each view, and its range and step
AT = {"regression: residual": (2.0, -4.0, 4.0, 0.05), "classification: margin": (0.5, -3.0, 3.0, 0.05),
      "classification: probability": (0.01, 0.005, 0.995, 0.005)}


class LossExplorer(Demo):
    """Overlay losses of one view; the sliders that do not apply to that view are hidden.

    Each view has its own cached static layer (a :class:`~dlcourse.plotting.LayeredRenderer` keyed by
    ``LossView.key``, the view), drawn when the explorer first draws, so that switching views is as fast
    as moving a slider (only the curves are redrawn over a cached background).
    """

    reconfigure_on = ("mode",)   # a new view first sets its losses, its "read off at" range and its sliders

    def __init__(self, mode: str = "regression: residual", losses=None, headless: bool | None = None):
        controls = {
            "mode": dropdown(list(lx.MODES), mode, "view"),
            "losses": W.SelectMultiple(options=list(lx.MODES[mode].losses), rows=5, description="losses",
                                       style={"description_width": "initial"}),
            "at": slider(0.0, -4, 4, 0.05, "read off at"),
            "delta": slider(1.0, 0.1, 3.0, 0.1, "Huber δ"),
            "margin": slider(1.0, 0.0, 3.0, 0.1, "margin m"),
            "gamma": slider(2.0, 0.0, 5.0, 0.5, "focal γ"),
            "smoothing": slider(0.1, 0.0, 0.5, 0.05, "smoothing ε"),
        }
        self._configure(mode, controls, losses)
        super().__init__(controls, lx.compute_loss_curves, lx.LossView(), figsize=(9, 3.3),
                         title="Loss explorer",
                         hint="pick losses to overlay; slide δ or m and watch where the gradient stops growing.",
                         text=lx.describe_loss_curves, headless=headless)

    @staticmethod
    def _configure(mode, controls, losses=None):
        spec = lx.MODES[mode]
        controls["losses"].options = list(spec.losses)
        controls["losses"].value = tuple(spec.default if losses is None else losses)
        value, low, high, step = AT[mode]
        set_range(controls["at"], low, high, value, step)
        for name in lx.PARAMS:
            controls[name].layout.display = None if name in spec.params else "none"

    def make_renderer(self):
        return LayeredRenderer(self.fig, self.plot, self.margins)

    def warm(self) -> None:
        self.draw_every_view()

    def draw_every_view(self) -> None:
        """Draw each other view's static layer once, now, so that no switch of view waits for one.

        Runs before the first picture (:meth:`warm`); the renderer keeps the layers when the notebook keeps its
        picture (:meth:`dlcourse.plotting.LayeredRenderer.static_png`).
        """
        if self.headless:
            return
        mode = self.controls["mode"].value
        for other in lx.MODES:
            if other != mode:
                self.renderer.render(lx.compute_loss_curves(other))
        if self.data is not None:
            self.renderer.render(self.data)       # the view on show goes back on the canvas

    def reconfigure(self, name, value) -> None:
        self._configure(value, self.controls)


def make_loss_explorer(mode: str = "regression: residual", losses=None, headless: bool | None = None) -> LossExplorer:
    return LossExplorer(mode, losses, headless)


def make_outlier_lab(model: str = "line", headless: bool | None = None) -> Demo:
    controls = {
        "n_outliers": slider(1, 0, len(out.OUTLIER_X), 1, "outliers", integer=True),
        "height": slider(15.0, -5.0, 20.0, 0.5, "outlier height"),
        "delta": slider(1.0, 0.1, 5.0, 0.1, "Huber δ"),
        "model": W.ToggleButtons(options=["line", "small net"], value=model),
    }
    return Demo(controls, out.compute_outlier_fit, out.OutlierView(), figsize=(9.5, 3.4),
                title="Outlier lab",
                hint="drag the outlier height; then add outliers one by one and watch which fit follows them.",
                text=out.describe_outlier_fit, headless=headless)


def make_softmax_demo(headless: bool | None = None) -> Demo:
    controls = {f"z{i + 1}": slider(v, -5.0, 10.0, 0.5, f"logit z{i + 1}") for i, v in enumerate(skl.NOTES_LOGITS)}
    controls["temperature"] = W.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.05,
                                               description="temperature T", continuous_update=False,
                                               style={"description_width": "initial"})
    return Demo(controls, skl.compute_softmax, skl.SoftmaxView(), figsize=(9, 3.2),
                title="Softmax with a temperature",
                hint="raise T towards 10 and the distribution flattens; lower it to 0.1 and it picks the arg-max.",
                headless=headless)


class KLExplorer(Demo):
    """Two distributions from six weight sliders, and buttons that load the notebook's two example pairs."""

    PAIRS = {"close pair": (0.7, 0.2, 0.1, 0.6, 0.3, 0.1),
             "confidently wrong": (0.7, 0.2, 0.1, 0.1, 0.8, 0.1)}

    def __init__(self, headless: bool | None = None):
        names = ["p1", "p2", "p3", "q1", "q2", "q3"]
        defaults = self.PAIRS["close pair"]
        controls = {n: slider(v, 0.0, 1.0, 0.05, f"{n[0].upper()} weight {n[1]}") for n, v in zip(names, defaults)}
        self.buttons = [W.Button(description=label, layout=W.Layout(width="auto")) for label in self.PAIRS]
        for button in self.buttons:
            button.on_click(self._load)
        super().__init__(controls, skl.compute_kl, skl.KLView(), figsize=(9, 3.2), title="KL explorer",
                         hint="each distribution is its three weights divided by their sum; make Q confidently "
                              "wrong and compare the two directions of KL.",
                         extra=[W.HBox(self.buttons)], text=skl.describe_kl, headless=headless)

    def _load(self, button):
        self.set(**dict(zip(["p1", "p2", "p3", "q1", "q2", "q3"], self.PAIRS[button.description])))


def make_kl_explorer(headless: bool | None = None) -> KLExplorer:
    return KLExplorer(headless)


def make_label_noise_lab(loss: str = "cross-entropy", noise_level: float = 0.2, headless: bool | None = None) -> Demo:
    controls = {
        "noise": W.SelectionSlider(options=list(noise.NOISE_LEVELS), value=noise_level, description="labels flipped",
                                   continuous_update=False, style={"description_width": "initial"}),
        "loss": dropdown(noise.LOSS_NAMES, loss, "loss"),
    }
    return Demo(controls, noise.compute_label_noise, noise.NoiseView(), figsize=(9, 3.5),
                title="Label-noise lab",
                hint="at 30 % flipped, compare the decision map under cross-entropy with MAE: which one draws "
                     "islands around the wrong labels?", text=noise.describe_label_noise, headless=headless)


def make_imbalance_lab(ratio: int = 10, weighted: bool = False, headless: bool | None = None) -> Demo:
    controls = {
        "ratio": slider(ratio, 1, 100, 1, "majority : minority", integer=True),
        "weighted": W.Checkbox(value=weighted, description="class weights (balanced)"),
        "threshold": slider(0.5, 0.05, 0.95, 0.05, "decision threshold"),
    }
    return Demo(controls, imb.compute_imbalance, imb.ImbalanceView(), figsize=(10, 3.4),
                title="Class-imbalance lab",
                hint="raise the ratio to 50 : 1 and watch accuracy climb while recall collapses; then switch the "
                     "class weights on.", text=imb.describe_imbalance, headless=headless)


def make_metric_learning_demo(margin: float = 1.0, headless: bool | None = None) -> Demo:
    controls = {
        "margin": W.SelectionSlider(options=list(ml.MARGINS), value=margin, description="margin m",
                                    continuous_update=False, style={"description_width": "initial"}),
        "step": slider(ml.STEPS, 0, ml.STEPS, ml.SNAPSHOT_EVERY, "training step", integer=True),
    }
    return Demo(controls, ml.compute_metric_learning, ml.MetricView(), figsize=(9, 3.8),
                title="Metric learning: contrastive vs triplet",
                hint="drag the training step from 0 and watch the digits sort themselves; compare how tight "
                     "each loss makes a class.", text=ml.describe_metric_learning, headless=headless)


# What benchmarks/run.py measures: each list changes a control and changes it back, so that every move
# is a real update.
BENCHMARK_CASES = {
    "unit2 loss explorer": (make_loss_explorer, [("delta", 0.5), ("at", 1.0), ("losses", ("MSE", "Huber")),
                                                 ("delta", 1.5), ("at", -2.0), ("losses", ("MSE", "MAE", "Huber")),
                                                 ("delta", 1.0), ("at", 2.0)]),
    "unit2 loss explorer (change view)": (make_loss_explorer, [("mode", "classification: margin"),
                                                               ("mode", "classification: probability"),
                                                               ("mode", "regression: residual")]),
    "unit2 outlier lab (lines)": (make_outlier_lab, [("height", 10.0), ("n_outliers", 3), ("delta", 2.0),
                                                     ("height", 15.0), ("n_outliers", 1), ("delta", 1.0)]),
    "unit2 outlier lab (small nets)": (lambda: make_outlier_lab("small net"),
                                       [("height", 10.0), ("n_outliers", 3), ("delta", 2.0),
                                        ("height", 15.0), ("n_outliers", 1), ("delta", 1.0)]),
    "unit2 softmax temperature": (make_softmax_demo, [("temperature", 3.0), ("z1", 5.0), ("temperature", 0.3),
                                                      ("z1", 1.0), ("temperature", 1.0)]),
    "unit2 KL explorer": (make_kl_explorer, [("q1", 0.1), ("q2", 0.8), ("p3", 0.4), ("q1", 0.6), ("q2", 0.3),
                                             ("p3", 0.1)]),
    "unit2 label-noise lab": (make_label_noise_lab, [("noise", 0.3), ("loss", "MAE"), ("noise", 0.1),
                                                     ("loss", "cross-entropy"), ("noise", 0.2)]),
    "unit2 class-imbalance lab": (make_imbalance_lab, [("ratio", 50), ("weighted", True), ("threshold", 0.3),
                                                       ("ratio", 10), ("weighted", False), ("threshold", 0.5)]),
    "unit2 metric learning (step)": (make_metric_learning_demo, [("step", 100), ("step", 200), ("step", 300)]),
    "unit2 metric learning (margin)": (make_metric_learning_demo, [("margin", 2.0), ("margin", 0.5),
                                                                   ("margin", 1.0)]),
}
