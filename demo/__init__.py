"""`make run`: the operator on a local cluster with the samples and a few demo workloads."""
