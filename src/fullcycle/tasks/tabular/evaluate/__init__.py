"""The supervised table's evaluation report: metrics with bootstrap intervals, CV, baseline,
verdict, curves, explanations, slices, fairness, the model card, and the paired comparison of
two models. Kind-agnostic pieces (the page, JSON, charts, bootstrap, saved test rows) are the
evaluate stage's: fullcycle/evaluate/."""
