"""Model selection and training."""

from fullcycle.tasks.tabular.search.families import FAMILIES, Family, get_family
from fullcycle.tasks.tabular.search.search import Candidate, Search, SearchResult
from fullcycle.tasks.tabular.search.train import TrainOutcome, train_model

__all__ = ["FAMILIES", "Candidate", "Family", "Search", "SearchResult", "TrainOutcome",
           "get_family", "train_model"]
