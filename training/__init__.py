"""Training: fit, validate and register the models (``python -m training``)."""

from training import counting

# every process that trains (and every cluster worker, which imports this package to run
# its tasks) counts with numpy: the same numbers, some 20 times faster at 100,000 patients
counting.install()
