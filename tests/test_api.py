"""The public surface is curated: this list changes only on purpose."""

import fullcycle

EXPECTED = [
    "Config", "ConfigError", "DataError", "Dataset", "FullcycleError", "IntegrityError", "Model",
    "ModelError", "Problem", "ProblemError", "Project", "RegistryError", "Schema", "SourceError",
    "TrainReport", "ValidationError", "__version__", "define_problem", "detect_task",
]


def test_all_is_pinned() -> None:
    assert sorted(fullcycle.__all__) == sorted(EXPECTED)


def test_every_exported_name_exists() -> None:
    for name in fullcycle.__all__:
        assert hasattr(fullcycle, name), name


def test_errors_share_one_base() -> None:
    for name in ("ConfigError", "DataError", "ModelError", "ProblemError", "SourceError",
                 "IntegrityError", "RegistryError", "ValidationError"):
        assert issubclass(getattr(fullcycle, name), fullcycle.FullcycleError)
