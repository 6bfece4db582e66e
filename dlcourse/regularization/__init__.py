r"""Regularization (Unit 4): everything that trades training fit for generalization.

* :mod:`.penalties` — L1, L2 (weight decay) and elastic-net penalties and their gradients,
  on weights only (parameters whose name contains ``"bias"`` are skipped).
* :mod:`.early_stopping` — :class:`EarlyStopping` with a copy of the best weights.
* :mod:`.splits` — k-fold and stratified k-fold indices, bootstrap samples.
* :mod:`.learners` — tiny base learners: :class:`DecisionTree` / :func:`DecisionStump`,
  :class:`LogisticRegression`.
* :mod:`.ensembles` — bagging, AdaBoost (SAMME) and stacking, for any ``fit``/``predict``.
* :mod:`.augment` — rotations, shifts, flips and noise for 8×8 digits; :func:`augment_batch`.
* :mod:`.pretraining` — greedy layer-wise autoencoder pretraining, then fine-tuning.
* :mod:`.bias_variance` — bias², variance and noise estimated by refitting (and the 0-1 loss version).
* :mod:`.linear_models` — ridge, lasso and elastic net (coordinate descent) for penalty paths.

Dropout and batch normalization are layers: :mod:`dlcourse.layers.dropout`,
:mod:`dlcourse.layers.batchnorm`.
"""

from .augment import augment_batch, gaussian_noise, hflip, rotate, translate
from .bias_variance import (BiasVariance, RegressionProblem, ZeroOneBiasVariance, bias_variance_decomposition,
                            polynomial_fit_predict, sine_problem, zero_one_bias_variance)
from .early_stopping import EarlyStopping
from .ensembles import (AdaBoost, Bagging, Stacking, adaboost_fit, adaboost_predict, bagging_fit,
                        bagging_predict, default_predict, majority_vote, proba_features, stacking_fit,
                        stacking_predict)
from .learners import DecisionStump, DecisionTree, LogisticRegression
from .linear_models import (LinearFit, elastic_net_fit, elastic_net_path, penalized_objective,
                            quadratic_elastic_net, ridge_fit, soft_threshold)
from .penalties import (elastic_net_penalty, elastic_net_penalty_grad, is_penalized, l1_penalty,
                        l1_penalty_grad, l2_penalty, l2_penalty_grad, named_parameters)
from .pretraining import (Pretrained, build_classifier, fine_tune, greedy_pretrain, predict_classes,
                          pretrain_and_finetune, train_autoencoder_layer)
from .splits import BootstrapSample, Fold, bootstrap_sample, kfold_indices, stratified_kfold_indices

__all__ = [
    "l1_penalty", "l1_penalty_grad", "l2_penalty", "l2_penalty_grad", "elastic_net_penalty",
    "elastic_net_penalty_grad", "is_penalized", "named_parameters",
    "EarlyStopping",
    "Fold", "BootstrapSample", "kfold_indices", "stratified_kfold_indices", "bootstrap_sample",
    "DecisionTree", "DecisionStump", "LogisticRegression",
    "Bagging", "bagging_fit", "bagging_predict", "AdaBoost", "adaboost_fit", "adaboost_predict",
    "Stacking", "stacking_fit", "stacking_predict", "default_predict", "majority_vote", "proba_features",
    "rotate", "translate", "hflip", "gaussian_noise", "augment_batch",
    "Pretrained", "train_autoencoder_layer", "greedy_pretrain", "build_classifier", "fine_tune",
    "predict_classes", "pretrain_and_finetune",
    "BiasVariance", "RegressionProblem", "bias_variance_decomposition", "sine_problem",
    "polynomial_fit_predict", "ZeroOneBiasVariance", "zero_one_bias_variance",
    "LinearFit", "soft_threshold", "ridge_fit", "elastic_net_fit", "elastic_net_path", "penalized_objective",
    "quadratic_elastic_net",
]
