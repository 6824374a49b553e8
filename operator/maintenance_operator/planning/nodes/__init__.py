"""Node (hardware) maintenance through the apps' own windows: which pods are where, whose they are, and how far a
node has been emptied of maintained workloads (design.md, "Node (hardware) maintenance"). Pure."""
