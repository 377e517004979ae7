"""skae's benchmarks: ``python -m benchmarks`` (see ``--help``).

The report is made of *slices* (``benchmarks/slices.py`` defines the contract
and the runner; ``cache.py`` the run records a run resumes from and the code
fingerprints they are keyed by; ``record.py`` writes each slice's files and
the report; ``__main__.py`` is the command line). ``reduction`` compares every
autoencoder with PCA on held-out reconstruction and downstream accuracy, using
``datasets`` (what is compared on), ``reducers`` (PCA, TruncatedSVD, KernelPCA
and every skae autoencoder) and ``metrics``; ``outliers`` scores the detectors
on the tables of ``outlier_tables``; ``speed`` times training epochs against
hand-written loops. ``stats`` holds the paired comparisons over seeds that
every slice reports, ``display`` the ``mean ± std`` cells and the plots'
common steps.
"""
