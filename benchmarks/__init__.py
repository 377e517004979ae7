"""skae's benchmark against PCA: ``python -m benchmarks`` (see ``--help``).

Modules: ``datasets`` (what is compared on), ``reducers`` (PCA, TruncatedSVD,
KernelPCA and every skae autoencoder found at run time), ``metrics`` (held-out
reconstruction, downstream accuracy, trustworthiness, timings), ``runner``
(the loop over datasets, seeds, code sizes and reducers), ``report`` (tables,
targets and plots). ``speed.py`` is the training-speed benchmark.
"""
