"""Development diagnostics: measurements that chose a default, not slices of the report."""
