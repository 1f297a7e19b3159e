"""`fullcycle init`: look at the data and write a commented config."""

from __future__ import annotations

from pathlib import Path

from fullcycle.data.dataset import Dataset
from fullcycle.problem import define_problem

TEMPLATE = """\
# fullcycle config, written by `fullcycle init` from {source}
# Every key is checked: a typo is an error that lists the valid keys.
project: {project}
seed: 42                      # one seed drives splits, models and search

data:
  source: {source}
  target: {target}
  # Roles inferred from the data; change any of them (numeric, categorical, boolean,
  # datetime, text, identifier, ignore).
  roles:
{roles}
problem:
  task: {task}                # auto, binary, multiclass or regression
  metric: {metric}            # optimised by the search
{positive}  success:                    # checked at the end of `fullcycle run`
    {metric}: "{rule}"

split:
  test_size: 0.2              # held out, scored once at the end
  cv_folds: 5

train:
  time_budget: 60             # seconds for the model search
  families: [linear, random_forest, lightgbm]
"""


def write_config(data: str, target: str, output: Path) -> str:
    dataset = Dataset.read(data, target=target)
    problem = define_problem(dataset.target, target)
    roles = "\n".join(
        f"    {c.name}: {c.role}" + (f"    # {c.note}" if c.note else "")
        for c in dataset.schema.columns if c.name != target) or "    {}"
    rule = {"roc_auc": ">= 0.75", "log_loss": "<= 1.0"}.get(problem.metric, "")
    if problem.metric == "rmse":
        spread = float(dataset.frame[target].astype(float).std())
        rule = f"<= {spread:.4g}"  # better than predicting the mean
    positive = (f"  positive_class: \"{problem.positive_class}\"\n"
                if problem.positive_class is not None else "")
    project = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in Path(data).stem)
    output.write_text(TEMPLATE.format(source=data, target=target, roles=roles, task=problem.task,
                                      metric=problem.metric, rule=rule, positive=positive,
                                      project=project or "fullcycle"))
    return (f"{len(dataset.frame)} rows, {len(dataset.schema.features)} features, "
            f"{problem.task} task, metric {problem.metric}")
