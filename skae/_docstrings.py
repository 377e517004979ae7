"""Parameter descriptions that several autoencoders share, written once.

Where ``init="pca"`` puts the network differs between estimators: exactly at
PCA's solution for a linear code (``AutoencoderTransformer``,
``DenoisingAE``, ``ContractiveAE`` with an identity code), near it for a
nonlinear code (``SparseAE``, ``ContractiveAE`` with a sigmoid or tanh code).
The descriptions that say so (``init``, ``early_stopping``, ``pretraining``)
are written here once, with those of the training budget's ``"auto"``
settings (``batch_size``, ``max_iter``, ``n_iter_no_change``, the warm-up of
``learning_rate_init``) and of the fitted attributes that say how long training
ran (``n_iter_``, ``n_epochs_``, ``loss_curve_``), which every autoencoder
shares; each estimator's docstring holds a placeholder such as
``%(init)s`` under the parameter's ``name : type`` line, and
``fill_parameter_docs`` fills it with that estimator's start, so that a
sentence true of one estimator is not copied into another's.
"""

import textwrap

__all__ = ["fill_budget_docs", "fill_parameter_docs"]

# The training budget's "auto" settings (skae._budget), the same for every autoencoder.
# {rule}: how cross-validation picks the length (skae._budget.SelectionRule).
_VALIDATION = (
    "How the number of epochs is chosen, on rows not trained on. ``True``: hold out "
    "``validation_fraction`` of the rows and stop when their loss stops improving, "
    "restoring the weights of the lowest validation loss, the starting ones included. "
    '``"auto"``: the same when that split holds at least 100 rows; on fewer rows, the '
    "training length is chosen by 5-fold cross-validation (every row validates once, "
    "and 0 epochs, the start, is a candidate; {rule}. The start is fitted on the "
    "training rows only, so that its validation loss is honest."
)
VALIDATION = _VALIDATION.format(
    rule="the folds also score the way back from each epoch's weights to the start, in "
    "quarters; the point whose mean loss is lowest once charged two standard errors of its "
    "paired difference to the start's wins, the start counting 0), then the model trains "
    "on all rows for as many optimizer steps and is pulled back toward its start by the "
    "chosen fraction"
)
VALIDATION_LOWEST = _VALIDATION.format(
    rule="the length with the lowest mean loss wins), then the model trains on all rows "
    "for that many epochs"
)
BUDGET = {
    "batch_size": (
        'Rows per training batch. ``"auto"``: an eighth of the rows, between 32 and 256, '
        "so that a small table gets several optimizer steps per epoch (256 from 2,048 "
        "rows up)."
    ),
    "max_iter": (
        'Maximum number of epochs. ``"auto"``: 200, or more on small data, so that '
        "training may take 2,000 optimizer steps."
    ),
    "n_iter_no_change": (
        "Epochs without an improvement of at least ``tol`` before stopping. "
        '``"auto"``: 10, or more on small data, so that training stops after 300 '
        "optimizer steps without improvement (not after 10 steps)."
    ),
    "learning_rate_init": (
        "Learning rate of the optimizer, reached after a linear warm-up over the first "
        "100 optimizer steps of a new network (a tenth of the steps ``max_iter`` allows, "
        "if fewer)."
    ),
    "validation": VALIDATION,
    "validation_lowest": VALIDATION_LOWEST,
    # Fitted attributes: how long training ran, and what the loss curve covers.
    "loss_curve_": (
        "Training loss of the returned network at each epoch of its own training, the rows "
        "of ``history_``: greedy pretraining first (when asked for), then every epoch "
        "trained, those past the best one included when early stopping restores the best "
        "weights (as ``MLPRegressor``'s). Not the cross-validation folds' epochs, whose "
        "mean validation curve is in ``validation_scores_``. Continued by ``warm_start`` "
        "fits and ``partial_fit`` calls."
    ),
    "n_iter_": (
        "Number of epochs the solver ran, in scikit-learn's sense: those of every "
        "cross-validation fold (as ``LogisticRegressionCV`` counts its folds' iterations), "
        "of greedy pretraining and of the returned network's training, those past the best "
        "one included (as ``MLPRegressor``). Never 0 after a ``fit``, even when "
        "cross-validation keeps the start. Accumulates over ``warm_start`` fits and "
        "``partial_fit`` calls. The training length of the returned weights is "
        "``n_epochs_``."
    ),
    "n_epochs_": (
        "Number of epochs of training behind the returned weights, greedy pretraining "
        "included: after cross-validation, the chosen count trained on all rows (0 when "
        "the start is kept); with a validation split, up to the epoch whose weights were "
        "restored; otherwise every epoch run. Accumulates over ``warm_start`` fits and "
        "``partial_fit`` calls. ``n_epochs_ <= len(loss_curve_) <= n_iter_``."
    ),
}

# Descriptions of other parameters every autoencoder shares, filled by both decorators.
SHARED = {
    "distributed": (
        "Whether ``fit`` and ``partial_fit`` train one model with the other ranks of the "
        "initialized ``torch.distributed`` process group (launched by ``torchrun`` or "
        "``accelerate launch``), each rank passing its own rows: gradients are averaged "
        "over ranks at every step, ``batch_size`` and the ``\"auto\"`` budget count every "
        "rank's rows, PCA's start and early stopping use every rank's rows, and every "
        "rank ends with the same weights. ``True`` without a process group is an error. "
        "See the user guide's *Distributed training*."
    ),
}

# Parameter descriptions, one paragraph each. {how}: where init="pca" starts the
# network, as an adverbial phrase; {start}: the same start, as a noun.
TEMPLATES = {
    **BUDGET,
    **SHARED,
    "init": (
        '``"pca"`` adds a linear path from input to code and from code to output, set '
        "to PCA's projection and reconstruction, beside the hidden layers, whose last "
        "layer starts at zero: the network starts {how}, and training moves away from it "
        "only as far as that lowers the loss on rows not trained on (``early_stopping``). "
        "On new rows it usually, not always, ends below that start's error: the user "
        "guide's *Never worse than PCA?* gives the conditions measured. "
        '``"random"`` is a plain MLP with PyTorch\'s default initialization. With a '
        'sigmoid output (``loss="bce"``) the linear path works in logit space, so the '
        "start is PCA's reconstruction to first order about the mean."
    ),
    "early_stopping": (
        VALIDATION
        + ' With ``init="pca"`` the model thus ends at {start} unless training lowers the '
        "validation loss (what that promises on new rows: the user guide's *Never worse "
        'than PCA?*). ``False``: train on all rows and stop when the training loss stops '
        "improving."
    ),
    "pretraining": (
        '``"layerwise"`` pretrains the network greedily before training it end to '
        "end: each encoder layer and its mirror decoder layer are trained as a shallow "
        "autoencoder on the codes of the (frozen) layers below, for "
        "``pretraining_max_iter`` epochs (Hinton & Salakhutdinov, 2006; Bengio et al., "
        '2007). With ``init="pca"`` only the hidden layers of the nonlinear branch are '
        "pretrained, and training still starts at {start}. Runs when the network is "
        "initialized (``fit``, or the first ``partial_fit``)."
    ),
}

# Where init="pca" starts a network whose code is linear.
EXACT_PCA_START = {"how": "exactly at PCA's solution", "start": "PCA's solution"}


def _paragraph(text):
    """``text`` wrapped as a parameter description (8 spaces), first line not indented."""
    indent = " " * 8
    wrapped = textwrap.fill(
        text, width=79, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )
    return wrapped[len(indent) :]


def fill_parameter_docs(how, start):
    """Class decorator: fill the docstring's ``%(name)s`` placeholders from ``TEMPLATES``.

    Parameters
    ----------
    how : str
        Where ``init="pca"`` starts the network, e.g. ``"exactly at PCA's solution"``.
    start : str
        The same start as a noun phrase, e.g. ``"PCA's solution"``.

    Returns
    -------
    decorate : callable
        Sets ``cls.__doc__`` and returns the class.

    Examples
    --------
    >>> from skae._docstrings import EXACT_PCA_START, fill_parameter_docs
    >>> @fill_parameter_docs(**EXACT_PCA_START)
    ... class Example:
    ...     '''init : {"pca", "random"}, default="pca"
    ...         %(init)s'''
    >>> "the network starts exactly at PCA's solution" in " ".join(Example.__doc__.split())
    True
    """
    descriptions = {
        name: _paragraph(text.format(how=how, start=start)) for name, text in TEMPLATES.items()
    }
    return _filler(descriptions)


def fill_budget_docs(cls):
    """Class decorator: fill only the training budget's placeholders (``BUDGET``, ``SHARED``).

    For an estimator whose other descriptions are its own.

    Examples
    --------
    >>> from skae._docstrings import fill_budget_docs
    >>> @fill_budget_docs
    ... class Example:
    ...     '''batch_size : int or "auto", default="auto"
    ...         %(batch_size)s'''
    >>> "an eighth of the rows" in Example.__doc__
    True
    """
    return _filler({name: _paragraph(text) for name, text in {**BUDGET, **SHARED}.items()})(cls)


def _filler(descriptions):
    def decorate(cls):
        cls.__doc__ = cls.__doc__ % descriptions
        return cls

    return decorate
