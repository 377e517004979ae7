"""skae's benchmarks: ``python -m benchmarks`` (see ``--help``).

The report is made of *slices* (``benchmarks/slices.py`` defines the contract,
the per-run cache and the runner; ``__main__.py`` lists them and writes the
report). ``reduction`` compares every autoencoder with PCA on held-out
reconstruction and downstream accuracy, using ``datasets`` (what is compared
on), ``reducers`` (PCA, TruncatedSVD, KernelPCA and every skae autoencoder) and
``metrics``; ``speed`` times training epochs against hand-written loops;
``stats`` holds the paired comparisons over seeds that every slice reports.
"""
