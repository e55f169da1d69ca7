"""Console entry points. The threading backend is chosen before anything else."""

from kingsync import backend  # noqa: F401  (selects oslo.service's threading backend)
