"""Model selection and training."""

from fullcycle.automl.families import FAMILIES, Family, get_family
from fullcycle.automl.search import Candidate, Search, SearchResult
from fullcycle.automl.train import TrainOutcome, train_model

__all__ = ["FAMILIES", "Candidate", "Family", "Search", "SearchResult", "TrainOutcome",
           "get_family", "train_model"]
