"""What the cluster and anomaly kinds share: preprocessing for distance-based methods, profiles
of a group of rows against the rest in words, a 2-D projection, and the training skeleton.
Not a task kind itself (it is not in `taskkind.BUILTIN`)."""
