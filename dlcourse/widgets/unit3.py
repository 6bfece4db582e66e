"""Unit 3's widgets. Each wires controls to pure functions in ``dlcourse.explore.unit3_*``."""

from __future__ import annotations

import ipywidgets as W

from ..explore import unit3_clipping as uc
from ..explore import unit3_gd as gd
from ..explore import unit3_init as ui
from ..explore import unit3_race as ur
from ..explore import unit3_real_race as rr
from ..explore import unit3_schedules as us
from ..landscapes import LANDSCAPES
from ..plotting import LayeredRenderer
from .base import Demo, dropdown, set_range, slider


def log_slider(value, low_exp, high_exp, description, step=0.05):
    return W.FloatLogSlider(value=value, base=10, min=low_exp, max=high_exp, step=step, description=description,
                            continuous_update=False, style={"description_width": "initial"})


# ------------------------------------------------------------------------------------ the race
class RaceDemo(Demo):
    """The optimizer race: landscape, racers, per-racer hyperparameters, start, step scrubber.

    The sliders ``lr`` and ``hyper`` edit the racer chosen in ``tune``; every racer keeps its
    own values (``demo.hyper[name]``), reset to the landscape's tuned defaults when the
    landscape changes. Runs are cached, so scrubbing and playing recompute nothing.
    """

    reconfigure_on = ("landscape", "tune", "steps")   # each first sets other controls (ranges, values)

    def __init__(self, landscape: str = "rosenbrock", racers=ur.DEFAULT_RACERS, extra: dict | None = None,
                 steps: int = 500, headless: bool | None = None):
        self.table = ur.all_racers(extra)
        self.cache = ur.RaceCache()   # this demo's runs: scrubbing and playing recompute nothing
        names = list(self.table)
        racers = tuple(racers) + tuple(n for n in (extra or {}) if n not in racers)
        unknown = [n for n in racers if n not in self.table]
        if unknown:
            raise ValueError(f"unknown racer(s) {unknown}; choose from {names}")
        self.landscape = landscape
        self.hyper = self._defaults(landscape)
        controls = {
            "landscape": dropdown(list(ur.RACE_LANDSCAPES), landscape, "landscape"),
            "noise": slider(0.0, 0.0, 1.0, 0.05, "gradient noise"),
            "racers": W.SelectMultiple(options=names, value=racers, rows=5, description="racers"),
            "tune": dropdown(names, racers[0], "tune"),
            "lr": log_slider(0.01, -5, 1, "learning rate"),
            "hyper": slider(0.5, 0.0, 1.0, 0.01, "—"),
            "x0": slider(0.0, -1, 1, 0.05, "start x"),
            "y0": slider(0.0, -1, 1, 0.05, "start y"),
            "steps": slider(steps, 50, 1000, 50, "steps", integer=True),
            "step": slider(steps, 0, steps, 1, "show step", integer=True),
        }
        self.play = W.Play(min=0, max=steps, step=5, interval=100, description="replay the race")
        W.link((controls["step"], "value"), (self.play, "value"))
        self._configure_landscape(landscape, controls)
        self._configure_tune(racers[0], controls)
        super().__init__(controls, self._compute, ur.RaceView(), figsize=(11, 4),
                         title="The optimizer race",
                         hint="pick racers and a landscape, tune each racer (choose it in 'tune'), "
                              "then drag 'show step' or press ▶.", extra=[self.play], headless=headless)

    def _defaults(self, landscape: str) -> dict:
        return {name: ur.default_hyper(r, landscape) for name, r in self.table.items()}

    def make_renderer(self):
        # one cached static layer per landscape: switching back to a landscape redraws nothing
        return LayeredRenderer(self.fig, self.plot, self.margins)

    def _configure_landscape(self, landscape: str, controls: dict) -> None:
        land = LANDSCAPES[landscape]
        for key, lim, v in (("x0", land.xlim, land.start[0]), ("y0", land.ylim, land.start[1])):
            set_range(controls[key], lim[0], lim[1], float(v), (lim[1] - lim[0]) / 200)

    def _configure_tune(self, name: str, controls: dict) -> None:
        racer, h = self.table[name], self.hyper[name]
        lr, other = controls["lr"], controls["hyper"]
        lr.disabled = "lr" not in h
        if "lr" in h:
            lr.value = h["lr"]
        extra = [p for p in racer.hypers if p.name != "lr"]
        other.disabled = not extra
        if extra:
            p = extra[0]
            other.description = p.label
            set_range(other, p.low, p.high, h[p.name], 1 if p.integer else 0.01)
        else:
            other.description = "—"

    def reconfigure(self, name, value) -> None:
        if name == "landscape":
            self._new_landscape(value)
        elif name == "tune":
            self._configure_tune(value, self.controls)
        else:
            self.set_steps(value)

    def _new_landscape(self, landscape: str) -> None:
        self.hyper = self._defaults(landscape)
        self._configure_landscape(landscape, self.controls)
        self._configure_tune(self.controls["tune"].value, self.controls)

    def _compute(self, landscape, noise, racers, tune, lr, hyper, x0, y0, steps, step):
        h = self.hyper[tune]
        if "lr" in h:
            h["lr"] = float(lr)
        for p in self.table[tune].hypers:
            if p.name != "lr":
                h[p.name] = int(round(hyper)) if p.integer else float(hyper)
        return ur.compute_race(landscape, racers or (tune,), self.hyper, (x0, y0), steps, step, noise,
                               extra={n: r for n, r in self.table.items() if n not in ur.RACERS}, cache=self.cache)


def make_race(landscape: str = "rosenbrock", racers=ur.DEFAULT_RACERS, extra: dict | None = None,
              steps: int = 500, headless: bool | None = None) -> RaceDemo:
    """The optimizer race. ``extra={"mine": MyOptimizer}`` enters your own optimizer class."""
    return RaceDemo(landscape, racers, extra, steps, headless)


def _race_from_the_start() -> RaceDemo:
    demo = make_race()
    demo.play.value = 0
    return demo


# ------------------------------------------------------------------------ gradient descent
def make_lr_explorer(lr: float = 0.5, kappa: float = 10.0, headless: bool | None = None) -> Demo:
    """Gradient descent on a quadratic: convergence, oscillation and divergence around 2/L."""
    controls = {"lr": slider(lr, 0.05, 2.5, 0.05, "learning rate η"),
                "kappa": slider(kappa, 1.0, 50.0, 1.0, "condition number κ = L/μ"),
                "steps": slider(40, 10, 100, 10, "steps", integer=True)}
    return Demo(controls, gd.compute_lr, gd.LRView(), figsize=(10, 3.4), title="Learning-rate explorer",
                hint="raise η past 1/L = 1 (oscillation), then past 2/L = 2 (divergence); raise κ and watch "
                     "the flat direction crawl.", headless=headless)


def make_minibatch_demo(batch_size: int = 16, lr: float = 0.1, headless: bool | None = None) -> Demo:
    """Mini-batch SGD on a two-weight regression of the diabetes data, against full-batch descent."""
    controls = {"batch_size": W.SelectionSlider(options=list(gd.BATCH_SIZES), value=batch_size,
                                                description="batch size", continuous_update=False,
                                                style={"description_width": "initial"}),
                "lr": log_slider(lr, -2.5, 0.3, "learning rate")}
    return Demo(controls, gd.compute_minibatch, gd.MinibatchView(), figsize=(10, 3.4),
                title="Mini-batch noise",
                hint="batch size 1 is SGD, 442 is the full batch: compare the paths, the loss per epoch "
                     "and the time an epoch takes.", headless=headless)


# ------------------------------------------------------------------------ schedules
def make_schedule_explorer(lr0: float = 1.0, warmup: int = 0, highlight: str = "cosine",
                           headless: bool | None = None) -> Demo:
    """Four schedules and a constant rate, with a warm-up, and the training runs they give.

    Each new (α₀, warm-up) pair trains five softmax regressions on the digits (about a tenth
    of a second); pairs seen before come from a cache.
    """
    controls = {"lr0": W.SelectionSlider(options=list(us.LR0_CHOICES), value=lr0, description="α₀",
                                         continuous_update=False, style={"description_width": "initial"}),
                "warmup": slider(warmup, 0, 5, 1, "warm-up epochs", integer=True),
                "highlight": dropdown(list(us.schedule_table(1.0)), highlight, "highlight")}
    return Demo(controls, us.compute_schedules, us.ScheduleView(), figsize=(10, 3.4),
                title="Schedule explorer",
                hint="at α₀ = 3 the constant rate stalls in the noise: which decay gets lowest? "
                     "Then add warm-up and look at epoch 1.", headless=headless)


# ------------------------------------------------------------------------ initialisation
def make_init_explorer(initializer: str = "Glorot normal", activation: str = "tanh", depth: int = 15,
                       headless: bool | None = None) -> Demo:
    """A deep MLP (width 128): activations and gradients per layer for each initializer × activation."""
    controls = {"initializer": dropdown(list(ui.INIT_CHOICES), initializer, "initializer"),
                "activation": dropdown(list(ui.INIT_ACTIVATIONS), activation, "activation"),
                "depth": slider(depth, 10, 30, 5, "layers", integer=True)}
    return Demo(controls, ui.compute_init, ui.InitView(), figsize=(10, 3.6), title="Initialisation explorer",
                hint="try 'small normal' with tanh (vanishing), 'normal (σ = 1)' with relu (exploding), "
                     "then He with relu and Glorot with tanh.", text=ui.describe_init, headless=headless)


# ------------------------------------------------------------------------ clipping
def make_clipping_demo(lr: float = 0.002, threshold: float = 10.0, headless: bool | None = None) -> Demo:
    """Gradient descent on a linear recurrence, started past the wall w > 1: no clipping, by value, by norm."""
    controls = {"lr": log_slider(lr, -3, -0.5, "learning rate"),
                "threshold": log_slider(threshold, -1, 2, "clip threshold"),
                "w0": slider(1.1, 0.5, 1.2, 0.01, "start w"),
                "u0": slider(0.5, -0.5, 2.0, 0.05, "start u"),
                "T": slider(30, 5, 50, 5, "sequence length T", integer=True)}
    return Demo(controls, uc.compute_clipping, uc.ClipView(), figsize=(10, 3.5),
                title="Exploding gradients and clipping",
                hint="move the start left of the wall (w0 < 1): nothing explodes; right of it, the first "
                     "unclipped step overflows. Then try learning rate 0.02 with threshold 1.",
                text=uc.describe_clipping, headless=headless)


# ------------------------------------------------------------------------ 2-D race vs real race
def make_compare_demo(digits: dict | None = None, landscape: str = "rosenbrock", headless: bool | None = None) -> Demo:
    """The 2-D race on a landscape beside the same racers training a network on the digits.

    ``digits`` is what :func:`dlcourse.explore.unit3_real_race.run_real_race` returns (run it
    once, with its progress bar); without it the default run is computed (a few seconds).
    """
    cache = ur.RaceCache()   # this demo's races: switching back to a landscape recomputes nothing

    def compute(landscape):
        return rr.compute_compare(rr.default_real_race() if digits is None else digits, landscape, cache)

    controls = {"landscape": dropdown(list(ur.RACE_LANDSCAPES), landscape, "2-D landscape")}
    return Demo(controls, compute, rr.CompareView(),
                figsize=(10, 3.5), title="Does the 2-D race predict the real race?",
                hint="switch landscapes and watch the rank correlation: which landscape, if any, "
                     "ranks the racers as the network does?", headless=headless)


# What benchmarks/run.py measures: each list changes a control and changes it back,
# so that every move is a real update ("play" advances the animation by one frame).
BENCHMARK_CASES = {
    "unit3 optimizer race (scrub)": (make_race, [("step", 100), ("step", 250), ("step", 400), ("step", 500)]),
    "unit3 optimizer race (play)": (_race_from_the_start, [("play", None)] * 4),
    "unit3 optimizer race (tune one racer)": (make_race, [("lr", 0.002), ("lr", 0.00464), ("x0", -1.0),
                                                          ("x0", -1.2), ("noise", 0.2), ("noise", 0.0)]),
    "unit3 optimizer race (landscape)": (make_race, [("landscape", "beale"), ("landscape", "rosenbrock")]),
    "unit3 learning-rate explorer": (make_lr_explorer, [("lr", 1.5), ("lr", 2.1), ("kappa", 30.0), ("kappa", 10.0),
                                                        ("lr", 0.5)]),
    "unit3 schedule explorer": (make_schedule_explorer, [("highlight", "step"), ("lr0", 3.0), ("warmup", 2),
                                                         ("warmup", 0), ("lr0", 1.0), ("highlight", "cosine")]),
    "unit3 initialisation explorer": (make_init_explorer, [("initializer", "He normal"), ("activation", "relu"),
                                                           ("initializer", "normal (σ = 1)"),
                                                           ("initializer", "Glorot normal"), ("activation", "tanh")]),
    "unit3 exploding gradients and clipping": (make_clipping_demo, [("threshold", 1.0), ("lr", 0.02), ("w0", 0.8),
                                                                    ("w0", 1.1), ("lr", 0.002), ("threshold", 10.0)]),
    "unit3 2-D race vs digits": (make_compare_demo, [("landscape", "beale"), ("landscape", "himmelblau"),
                                                     ("landscape", "ill_conditioned_bowl"),
                                                     ("landscape", "rosenbrock")]),
    "unit3 mini-batch noise": (make_minibatch_demo, [("batch_size", 1), ("batch_size", 442), ("lr", 0.3),
                                                     ("lr", 0.1), ("batch_size", 16)]),
}
