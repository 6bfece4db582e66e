"""Unit 1's widgets. Each wires controls to pure functions in ``dlcourse.explore``."""

from __future__ import annotations

import ipywidgets as W

from ..activations import ACTIVATIONS
from ..data import TOY_DATASETS
from ..explore import activation_explorer as act
from ..explore import autoencoder_explorer as ae
from ..explore import backprop_example as bp
from ..explore import graph_explorer as ge
from ..explore import playground as pg
from ..explore import saliency as sal
from .base import Demo, dropdown, set_range, slider

MAX_INPUTS = 5


class GraphExplorer(Demo):
    """Preset expression + input sliders + a backward-step slider (with a play button)."""

    reconfigure_on = ("preset",)   # a new preset first sets the sliders' names, ranges and values

    def __init__(self, preset: str = "q = x + y, f = q·z", headless: bool | None = None):
        self.inputs = [slider(0.0, -5, 5, 0.1, f"input {i}") for i in range(MAX_INPUTS)]
        controls = {"preset": dropdown(list(ge.PRESETS), preset, "expression")}
        controls |= {f"v{i}": s for i, s in enumerate(self.inputs)}
        controls["step"] = slider(0, 0, 10, 1, "backward step", integer=True)
        self.play = W.Play(min=0, max=10, interval=900, description="walk the backward pass")
        W.jslink((self.play, "value"), (controls["step"], "value"))
        self._configure(preset, controls)
        super().__init__(controls, self._compute, ge.GraphView(), figsize=(8.5, 3.6),
                         title="Computational-graph explorer",
                         hint="move the inputs, then step backward and watch each local gradient "
                              "multiply the upstream one.",
                         extra=[self.play], text=ge.explain_step, headless=headless)
        self.set_steps(self._n_steps(preset))

    @staticmethod
    def _configure(preset, controls):
        _, specs = ge.PRESETS[preset]
        for i in range(MAX_INPUTS):
            s = controls[f"v{i}"]
            if i < len(specs):
                name, default, low, high = specs[i]
                set_range(s, low, high, default)
                s.description = name
                s.layout.display = None
            else:
                s.layout.display = "none"
        controls["step"].value = 0

    @staticmethod
    def _n_steps(preset: str) -> int:
        """The number of backward steps of ``preset`` (its graph, hence this number, does not depend on the inputs)."""
        _, specs = ge.PRESETS[preset]
        return ge.compute_graph_state(preset, {spec[0]: spec[1] for spec in specs}, 0).n_steps

    def reconfigure(self, name, value) -> None:
        self._configure(value, self.controls)
        self.set_steps(self._n_steps(value))

    @staticmethod
    def _compute(preset, step, **inputs):
        _, specs = ge.PRESETS[preset]
        values = {spec[0]: inputs[f"v{i}"] for i, spec in enumerate(specs)}
        return ge.compute_graph_state(preset, values, step)


def make_graph_explorer(preset: str = "q = x + y, f = q·z", headless: bool | None = None) -> GraphExplorer:
    return GraphExplorer(preset, headless)


def make_activation_explorer(name: str = "sigmoid", headless: bool | None = None) -> Demo:
    controls = {
        "name": dropdown(list(ACTIVATIONS), name, "activation"),
        "n_layers": slider(10, 1, 30, 1, "layers", integer=True),
        "spread": slider(1.0, 0.1, 3.0, 0.05, "weight scale"),
    }
    return Demo(controls, act.compute_activation, act.ActivationView(), figsize=(9, 3.3),
                title="Activation explorer",
                hint="compare sigmoid, tanh and ReLU at 20 layers; then set the weight scale to 1.4 "
                     "(He's initialization) and watch ReLU's gradient survive.", text=act.describe_activation,
                     headless=headless)


class PlaygroundDemo(Demo):
    """Structural controls rebuild the network; the play button trains it a few steps per frame."""

    def __init__(self, steps_per_frame: int = 10, warm_steps: int = 150, headless: bool | None = None, **settings):
        self.steps_per_frame = steps_per_frame
        controls = {
            "dataset": dropdown(list(TOY_DATASETS), settings.get("dataset", "moons"), "data"),
            "hidden": slider(settings.get("hidden", 8), 1, 32, 1, "hidden units", integer=True),
            "depth": slider(settings.get("depth", 2), 1, 4, 1, "hidden layers", integer=True),
            "activation": dropdown(["tanh", "relu", "sigmoid", "linear"], settings.get("activation", "tanh"),
                                   "activation"),
            "lr": W.FloatLogSlider(value=settings.get("lr", 0.3), base=10, min=-3, max=0.5, step=0.1,
                                   description="learning rate", continuous_update=False,
                                   style={"description_width": "initial"}),
        }
        self.play = W.Play(min=0, max=100000, interval=200, description="train")
        self.reset_button = W.Button(description="reset", icon="refresh")
        self.reset_button.on_click(lambda _: self.update())
        self.playground = None
        super().__init__(controls, self._rebuild, pg.PlaygroundView(), figsize=(8.5, 3.4),
                         title="Network playground",
                         hint="press ▶ to train; try XOR with a linear activation, then with tanh.",
                         extra=[W.HBox([self.play, self.reset_button])], headless=headless)
        self.play.observe(self._on_frame, names="value")
        if warm_steps and self.playground is not None:  # the first picture shows a network in training
            self.playground.train(warm_steps)
            self.data = self.playground.snapshot()
            self.redraw()

    def _rebuild(self, **settings):
        self.playground = pg.Playground(**settings)
        return self.playground.snapshot()

    def _on_frame(self, _change):
        self.playground.train(self.steps_per_frame)
        self.data = self.playground.snapshot()
        self.redraw()


def make_playground(headless: bool | None = None, **settings) -> PlaygroundDemo:
    return PlaygroundDemo(headless=headless, **settings)


def make_backprop_stepper(headless: bool | None = None) -> Demo:
    controls = {
        "step": slider(0, 0, 30, 1, "steps done", integer=True),
        "show": W.ToggleButtons(options=["forward", "backward", "update"], value="forward"),
        "lr": slider(1.0, 0.1, 5.0, 0.1, "learning rate η"),
    }
    return Demo(controls, bp.compute_stepper, bp.StepperView(), figsize=(9, 3.4),
                title="Backpropagation, one step at a time",
                hint="step through forward → backward → update, then move to the next training step.",
                headless=headless)


def make_saliency_demo(headless: bool | None = None) -> Demo:
    controls = {
        "index": slider(0, 0, 448, 1, "test digit", integer=True),
        "output": W.Dropdown(options=[("predicted", -1)] + [(str(k), k) for k in range(10)], value=-1,
                             description="output o_m"),
    }
    return Demo(controls, sal.compute_saliency, sal.SaliencyView(), figsize=(8.5, 2.8),
                title="Saliency", hint="pick a digit, then ask which pixels would raise another class's score (its logit).",
                headless=headless)


def make_linear_ae_demo(headless: bool | None = None) -> Demo:
    controls = {"epoch": slider(150, 1, 150, 1, "epoch", integer=True)}
    return Demo(controls, ae.compute_linear_ae, ae.LinearAEView(), figsize=(9, 2.9),
                title="Linear autoencoder vs PCA", hint="drag the epoch: the angle to PCA's plane goes to 0.",
                headless=headless)


def make_embedding_demo(headless: bool | None = None) -> Demo:
    controls = {"index": slider(0, 0, 448, 1, "test digit", integer=True)}
    return Demo(controls, ae.compute_embedding, ae.EmbeddingView(), figsize=(9, 3.2),
                title="Deep autoencoder: a 2-D code", hint="move through the digits and watch where each lands.",
                headless=headless)


def make_outlier_demo(headless: bool | None = None) -> Demo:
    controls = {"threshold": W.FloatLogSlider(value=0.3, base=10, min=-2, max=0, step=0.02,
                                              description="threshold", continuous_update=False)}
    return Demo(controls, ae.compute_outliers, ae.OutlierView(), figsize=(9, 3.0),
                title="Outliers by reconstruction error",
                hint="lower the threshold until every injected outlier is caught, then lower it further "
                     "and count the ordinary digits flagged with them.", headless=headless)


# What benchmarks/run.py measures: each list changes a control and changes it back,
# so that every move is a real update ("play" advances the animation by one frame).
BENCHMARK_CASES = {
    "unit1 graph explorer": (make_graph_explorer, [("step", 1), ("step", 2), ("v0", 1.5), ("v0", 2.0), ("step", 0)]),
    "unit1 activation explorer": (make_activation_explorer, [("name", "tanh"), ("n_layers", 20), ("spread", 2.0),
                                                             ("spread", 1.0), ("n_layers", 10), ("name", "sigmoid")]),
    "unit1 network playground (train frame)": (make_playground, [("play", None)] * 4),
    "unit1 network playground (rebuild)": (make_playground, [("hidden", 12), ("hidden", 8), ("depth", 3),
                                                             ("depth", 2), ("dataset", "xor"), ("dataset", "moons")]),
    "unit1 backprop stepper": (make_backprop_stepper, [("step", 3), ("show", "backward"), ("show", "update"),
                                                       ("show", "forward"), ("step", 0)]),
    "unit1 saliency": (make_saliency_demo, [("index", 5), ("output", 3), ("output", -1), ("index", 0)]),
    "unit1 linear autoencoder vs PCA": (make_linear_ae_demo, [("epoch", 10), ("epoch", 80), ("epoch", 150)]),
    "unit1 deep autoencoder embedding": (make_embedding_demo, [("index", 3), ("index", 40), ("index", 0)]),
    "unit1 outliers": (make_outlier_demo, [("threshold", 0.05), ("threshold", 0.2), ("threshold", 0.3)]),
}
