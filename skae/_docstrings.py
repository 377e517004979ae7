"""Docstrings filled from templates, and the parameter descriptions autoencoders share.

Every templated docstring in skae is filled one way: the text holds
placeholders ``%(name)s`` and ``fill_docstring`` (a class decorator) or
``render`` (a string) replaces each with its value; any other ``%`` (as in
"5% labeled") and every brace (numpydoc's ``{"pca", "random"}``) stays as
written.

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
sentence true of one estimator is not copied into another's. Whole entries
that several docstrings hold word for word (the MLP autoencoders' shared
parameters, the fitted attributes of training, ``TableCodec``'s statistics)
are ``SECTIONS``, each docstring holding a section's placeholder, such as
``%(mlp_parameters)s``, on a line of its own.
"""

import re
import textwrap

__all__ = ["SECTIONS", "fill_budget_docs", "fill_docstring", "fill_parameter_docs", "render"]

# A placeholder: %(name)s.
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def render(template, values):
    """``template`` with each placeholder ``%(name)s`` replaced by ``str(values[name])``.

    Parameters
    ----------
    template : str
        The text; a ``%`` that starts no placeholder, and braces, stay as written.
    values : dict
        The value of each placeholder's name (more names than the text uses are fine).

    Returns
    -------
    text : str

    Raises
    ------
    KeyError
        If the text names a placeholder ``values`` lacks.

    Examples
    --------
    >>> from skae._docstrings import render
    >>> render('loss : {"mse", "bce"}, default=%(loss)s (5% of rows)', {"loss": '"mse"'})
    'loss : {"mse", "bce"}, default="mse" (5% of rows)'
    """

    def value(match):
        name = match.group(1)
        if name not in values:
            raise KeyError(f"The docstring names the placeholder %({name})s, which has no value.")
        return str(values[name])

    return _PLACEHOLDER.sub(value, template)


def fill_docstring(**values):
    """Class decorator: fill the class docstring's placeholders ``%(name)s`` with ``values``.

    Parameters
    ----------
    **values
        The value of each placeholder (see ``render``).

    Returns
    -------
    decorate : callable
        Sets ``cls.__doc__`` and returns the class.

    Examples
    --------
    >>> from skae._docstrings import fill_docstring
    >>> @fill_docstring(default=10)
    ... class Example:
    ...     '''n_neighbors : int, default=%(default)s'''
    >>> Example.__doc__
    'n_neighbors : int, default=10'
    """

    def decorate(cls):
        cls.__doc__ = render(cls.__doc__, values)
        return cls

    return decorate

# The training budget's "auto" settings (skae._budget), the same for every autoencoder.
# %(rule)s: how cross-validation picks the length (skae._budget.SelectionRule).
_VALIDATION = (
    "How the number of epochs is chosen, on rows not trained on. ``True``: hold out "
    "``validation_fraction`` of the rows and stop when their loss stops improving, "
    "restoring the weights of the lowest validation loss, the starting ones included. "
    '``"auto"``: the same when that split holds at least 100 rows; on fewer rows, the '
    "training length is chosen by 5-fold cross-validation (every row validates once, "
    "and 0 epochs, the start, is a candidate; %(rule)s. The start is fitted on the "
    "training rows only, so that its validation loss is honest."
)
VALIDATION = render(
    _VALIDATION,
    {
        "rule": "the folds also score the way back from each epoch's weights to the start, "
        "in quarters; the point whose mean loss is lowest once charged two standard errors of "
        "its paired difference to the start's wins, the start counting 0), then the model "
        "trains on all rows for as many optimizer steps and is pulled back toward its start "
        "by the chosen fraction"
    },
)
VALIDATION_LOWEST = render(
    _VALIDATION,
    {
        "rule": "the length with the lowest mean loss wins), then the model trains on all "
        "rows for that many epochs"
    },
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

# Parameter descriptions, one paragraph each. %(how)s: where init="pca" starts the
# network, as an adverbial phrase; %(start)s: the same start, as a noun.
TEMPLATES = {
    **BUDGET,
    **SHARED,
    "init": (
        '``"pca"`` adds a linear path from input to code and from code to output, set '
        "to PCA's projection and reconstruction, beside the hidden layers, whose last "
        "layer starts at zero: the network starts %(how)s, and training moves away from it "
        "only as far as that lowers the loss on rows not trained on (``early_stopping``). "
        "On new rows it usually, not always, ends below that start's error: the user "
        "guide's *Never worse than PCA?* gives the conditions measured. "
        '``"random"`` is a plain MLP with PyTorch\'s default initialization. With a '
        'sigmoid output (``loss="bce"``) the linear path works in logit space, so the '
        "start is PCA's reconstruction to first order about the mean."
    ),
    "early_stopping": (
        VALIDATION
        + ' With ``init="pca"`` the model thus ends at %(start)s unless training lowers the '
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
        "pretrained, and training still starts at %(start)s. Runs when the network is "
        "initialized (``fit``, or the first ``partial_fit``)."
    ),
}


# Whole docstring entries (name and type at 4 spaces, the description at 8) that
# several estimators share, in the order they stand: an estimator's docstring holds
# the section's placeholder, e.g. %(mlp_parameters)s, on a line of its own.
SECTIONS = {
    # The layers: hidden_layer_sizes, activation, output_activation.
    "layer_parameters": """\
    hidden_layer_sizes : array-like of int, default=(256, 128)
        Widths of the encoder's hidden layers; the decoder mirrors them. An
        empty tuple gives a single linear layer each way.
    activation : {"relu", "tanh", "logistic", "sigmoid", "elu", "gelu", "selu", \
"leaky_relu", "identity"}, default="relu"
        Activation of the hidden layers.
    output_activation : {"auto", "identity", "sigmoid"}, default="auto"
        Activation of the reconstruction. ``"auto"`` is ``"sigmoid"`` for
        ``loss="bce"`` and ``"identity"`` otherwise.""",
    # The loss and the start: loss, init.
    "start_parameters": """\
    loss : {"mse", "bce"}, default="mse"
        Reconstruction loss. ``"bce"`` (binary cross-entropy) needs data in [0, 1].
    init : {"pca", "random"}, default="pca"
        %(init)s""",
    # Regularization and the optimizer: dropout to optimizer.
    "optimizer_parameters": """\
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    batch_norm : bool, default=False
        Whether to add batch normalization to the hidden layers.
    alpha : float, default=0.0
        Weight decay (L2 penalty) passed to the optimizer.
    batch_size : int or "auto", default="auto"
        %(batch_size)s
    learning_rate_init : float, default=1e-3
        %(learning_rate_init)s
    max_iter : int or "auto", default="auto"
        %(max_iter)s
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch optimizer class, \
default="adam"
        The optimizer.""",
    # How the training length is chosen: early_stopping.
    "early_stopping_parameters": """\
    early_stopping : bool or "auto", default="auto"
        %(early_stopping)s""",
    # Stopping settings, device and threads: validation_fraction to n_jobs.
    "patience_parameters": """\
    validation_fraction : float, default=0.1
        Fraction of rows in early stopping's validation split.
    n_iter_no_change : int or "auto", default="auto"
        %(n_iter_no_change)s
    tol : float, default=1e-4
        Minimal improvement of the monitored loss.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    n_jobs : int, default=None
        Number of torch threads during ``fit`` and inference. ``None`` uses
        ``OMP_NUM_THREADS`` when set (as in joblib workers), otherwise 1
        (safe on a busy machine, see the performance guide); ``-1`` uses all
        physical cores. torch's setting is restored afterwards.""",
    # What fit shows and how it goes on: verbose, callbacks, warm_start.
    "run_parameters": """\
    verbose : int, default=0
        Show a progress bar over epochs when positive.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Passed to the skorch training engine (copied at ``fit``).
    warm_start : bool, default=False
        Whether ``fit`` continues from the current weights and optimizer
        state. The training parameters (``learning_rate_init``, ``alpha``,
        ``batch_size``, ``early_stopping``, ...) are read anew at each call;
        changing one the architecture depends on (``n_components``,
        ``hidden_layer_sizes``, ``activation``, ...) raises an error.""",
    # Greedy pretraining, then distributed.
    "pretraining_parameters": """\
    pretraining : {"layerwise"} or None, default=None
        %(pretraining)s
    pretraining_max_iter : int, default=20
        Epochs per layer of the greedy phase.

    distributed : bool, default=False
        %(distributed)s""",
    # The trained network and its history: module_ to loss_curve_.
    "network_attributes": """\
    module_ : skae.nn.Autoencoder
        The trained torch module, with ``encode`` and ``decode``.
    net_ : skorch.NeuralNet
        The training engine; ``net_.history`` holds per-epoch losses.
    history_ : skorch.History
        Per-epoch records (losses, durations).
    loss_curve_ : list of float
        %(loss_curve_)s""",
    # Validation scores and how long training ran: validation_scores_ to n_epochs_.
    "validation_attributes": """\
    validation_scores_ : list of float
        Negative validation loss of the starting weights, then of each epoch,
        in the last ``fit`` (only with ``early_stopping``; ``partial_fit``
        removes it). After cross-validation, the mean over the folds of
        the score after ``n`` epochs, at index ``n``, up to the chosen count
        (the final model then takes as many optimizer steps on all rows).
    best_validation_score_ : float
        Negative validation loss of the returned weights: the best of
        ``validation_scores_``; after cross-validation, its score at the
        chosen point (a length and a shrinkage, ``skae._budget.surest_gain``)
        (only with ``early_stopping``).
    n_iter_ : int
        %(n_iter_)s
    n_epochs_ : int
        %(n_epochs_)s""",
    # What TableCodec learns (and TabularAE shows): mean_, scale_, categories_.
    "codec_statistics": """\
    mean_ : ndarray of shape (n_numeric,)
        Mean of each numeric column (over observed cells), in column order.
    scale_ : ndarray of shape (n_numeric,)
        Standard deviation of each numeric column (1 for a constant column).
    categories_ : list of ndarray
        The categories of each categorical column, in column order; the
        position in the array is the one-hot position.""",
    # pretraining_loss_curves_, then the input's features.
    "pretraining_attributes": """\
    pretraining_loss_curves_ : list of list of float
        With ``pretraining="layerwise"``, the training loss of each layer's
        shallow autoencoder at each epoch of the greedy phase. These epochs
        also start ``loss_curve_`` and ``history_`` (rows with
        ``phase="pretraining"`` and ``layer``).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when they are all strings.""",
}
# Whole sections of the MLP autoencoders (AutoencoderTransformer, DenoisingAE,
# SparseAE, ContractiveAE), made of the parts above.
SECTIONS["mlp_parameters"] = "\n".join(
    SECTIONS[name]
    for name in (
        "layer_parameters",
        "start_parameters",
        "optimizer_parameters",
        "early_stopping_parameters",
        "patience_parameters",
    )
)
SECTIONS["fit_parameters"] = "\n".join(
    SECTIONS[name] for name in ("run_parameters", "pretraining_parameters")
)
SECTIONS["training_attributes"] = "\n".join(
    SECTIONS[name] for name in ("network_attributes", "validation_attributes")
)

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
    """Class decorator: fill the docstring's placeholders from ``TEMPLATES`` and ``SECTIONS``.

    Parameters
    ----------
    how : str
        Where ``init="pca"`` starts the network, e.g. ``"exactly at PCA's solution"``.
    start : str
        The same start as a noun phrase, e.g. ``"PCA's solution"``.

    Returns
    -------
    decorate : callable
        ``fill_docstring`` with every description and section, for this start.

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
    start_of = {"how": how, "start": start}
    descriptions = {name: _paragraph(render(text, start_of)) for name, text in TEMPLATES.items()}
    return fill_docstring(**descriptions, **_sections(descriptions, SECTIONS))


def fill_budget_docs(cls):
    """Class decorator: fill only the training budget's placeholders (``BUDGET``, ``SHARED``).

    Of the ``SECTIONS``, those whose own placeholders are the budget's.

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
    descriptions = {name: _paragraph(text) for name, text in {**BUDGET, **SHARED}.items()}
    budget_sections = [
        "codec_statistics",
        "layer_parameters",
        "optimizer_parameters",
        "patience_parameters",
        "run_parameters",
        "training_attributes",
        "validation_attributes",
    ]
    sections = _sections(descriptions, budget_sections)
    return fill_docstring(**descriptions, **sections)(cls)


def _sections(descriptions, names):
    """The ``SECTIONS`` named, their own placeholders filled from ``descriptions``."""
    return {name: render(SECTIONS[name], descriptions) for name in names}
