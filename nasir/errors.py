"""Typed errors for nasir.

Every error derives from :class:`NasirError` and also from the builtin exception a caller would
naturally catch (``ValueError``, ``KeyError``, ...), so ``except ValueError`` keeps working.
Messages name the offending thing, the rule it broke and, where possible, the fix.
"""

from __future__ import annotations

__all__ = [
    "NasirError",
    "InvalidArchError",
    "CycleError",
    "DisconnectedNodeError",
    "ArityError",
    "ShapeMismatchError",
    "AttributeValueError",
    "UnknownOpError",
    "UnknownNameError",
    "DuplicateNameError",
    "ArchStringError",
    "ArchIndexError",
    "SchemaError",
    "BenchmarkFileError",
    "BenchmarkQueryError",
    "MissingDependencyError",
    "SpaceTooLargeError",
    "SpaceConfigError",
    "SkeletonOptionError",
    "StudyStorageError",
    "StudyMismatchError",
    "StudyInUseError",
    "BudgetError",
    "StudyConfigError",
    "StrategyOptionError",
    "ProxyOptionError",
    "ExecutorError",
    "ReplayMismatchError",
    "ScorerOutputError",
    "NoSupernetError",
    "MeasurementError",
    "ParetoInputError",
    "EmptySpaceError",
    "PredictorDataError",
    "NotFittedError",
    "NoUncertaintyError",
    "StrategyConfigError",
    "UnsupportedProxyError",
    "DirectionError",
    "AskTellError",
    "TellResultTypeError",
    "SeedTypeError",
    "SeedValueError",
    "ExecutorConfigError",
    "ReportInputError",
    "RuntimeOptionError",
    "DeviceUnavailableError",
    "ProviderError",
    "ModelFileError",
    "ModelLoadError",
    "ModelInputError",
    "ExportOptionError",
    "LatencyCacheError",
    "ModelTypeError",
    "OptionValueError",
    "DataConfigError",
    "GrammarError",
    "UndefinedSymbolError",
    "InfiniteLanguageError",
    "UnsatisfiableConstraintsError",
    "InvalidDerivationError",
    "ParameterError",
    "UnboundParameterError",
    "UnknownParameterError",
    "ParameterTypeError",
    "ArchTooLargeError",
]


class NasirError(Exception):
    """Root of every error nasir raises on purpose."""


class InvalidArchError(NasirError, ValueError):
    """An architecture graph breaks a structural rule of the IR."""


class CycleError(InvalidArchError):
    """The graph has a directed cycle; architectures must be DAGs."""


class DisconnectedNodeError(InvalidArchError):
    """A node is unreachable from the input or cannot reach the output."""


class ArityError(InvalidArchError):
    """A node has the wrong number of inputs for its op."""


class ShapeMismatchError(InvalidArchError):
    """Shape inference found incompatible tensor shapes at a node."""


class AttributeValueError(InvalidArchError):
    """An op attribute is missing, unknown, of the wrong type or out of range."""


class UnknownNameError(NasirError, KeyError):
    """A name was looked up in a registry that does not hold it."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class UnknownOpError(UnknownNameError):
    """An op name is not in the op registry."""


class DuplicateNameError(NasirError, ValueError):
    """A name was registered twice in the same registry."""


class ArchStringError(NasirError, ValueError):
    """A search space's architecture string cannot be parsed."""


class ArchIndexError(NasirError, IndexError):
    """An architecture index is outside the space."""


class SchemaError(NasirError, ValueError):
    """Serialised data (JSON, tables) does not follow the expected schema."""


class BenchmarkFileError(NasirError, FileNotFoundError):
    """A benchmark file is missing or unreadable."""


class BenchmarkQueryError(NasirError, KeyError):
    """A benchmark has no value for the requested architecture, dataset or metric."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MissingDependencyError(NasirError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class SpaceTooLargeError(NasirError, ValueError):
    """Enumeration was asked of a space too large to enumerate."""


class SpaceConfigError(NasirError, ValueError):
    """A search space (or one of its helpers) was given an argument it cannot take: an unknown encoding kind or dataset,
    an empty stage list, too few ops, a bound out of range, options that conflict or lack what they need."""


class SkeletonOptionError(SpaceConfigError, TypeError):
    """A space's ``network()`` was given skeleton options its network does not take (a ``TypeError``, as Python's own)."""


class StudyStorageError(SchemaError):
    """The file is not a nasir study database (corrupt, another application's, another schema), or lacks the study."""


class StudyMismatchError(StudyStorageError):
    """The stored study is another search (space, strategy, objective, directions or seed differ)."""


class StudyInUseError(StudyStorageError):
    """Another live process is running the study; two writers would number trials over each other."""


class BudgetError(NasirError, ValueError):
    """A study was given no budget, or one that is not a positive finite number."""


class StudyConfigError(NasirError, ValueError):
    """A study's arguments are invalid or do not fit together (seed, name, batch size, the strategy's space or objectives)."""


class StrategyOptionError(NasirError, TypeError):
    """A strategy was given an option it does not take, or not one it needs."""


class ProxyOptionError(NasirError, TypeError):
    """A zero-cost proxy was given an option its implementation does not take (a ``TypeError``, as Python's own)."""


class ExecutorError(NasirError, RuntimeError):
    """An executor cannot run the objective (e.g. it cannot be sent to worker processes)."""


class ReplayMismatchError(NasirError, RuntimeError):
    """Stored trials are not what this strategy (seed, settings, code version) would have proposed."""


class ScorerOutputError(NasirError, ValueError):
    """A scorer returned something other than one number per architecture it was given."""


class NoSupernetError(NasirError, TypeError):
    """The space cannot build mixed cells (it is not op-on-edge, e.g. NB101 or DARTS), so it has no supernet to prune."""


class MeasurementError(NasirError, ValueError):
    """A measurement gave no value, a non-number or a non-finite change, which no rank can order."""


class ParetoInputError(NasirError, ValueError):
    """Points and directions given to a Pareto helper do not fit together."""


class EmptySpaceError(NasirError, ValueError):
    """A restricted space found no member where one was needed (the predicate rejects everything)."""


class PredictorDataError(NasirError, ValueError):
    """``X`` or ``y`` given to a predictor has the wrong shape, too few rows or non-finite values."""


class NotFittedError(NasirError, ValueError, AttributeError):
    """A predictor was asked to predict before ``fit``; both bases, as scikit-learn's, so callers
    catching either (or the ``AttributeError`` this used to be) keep working."""


class NoUncertaintyError(NasirError, AttributeError):
    """A strategy that samples from its predictor's uncertainty (BANANAS, HybridBO) was given one without ``predict_std``."""


class StrategyConfigError(NasirError, ValueError):
    """A strategy (or TE-NAS pruning) was given an option value it cannot take: a count below its minimum, no op left to search."""


class UnsupportedProxyError(NasirError, NotImplementedError):
    """A zero-cost proxy has no implementation in the requested framework (the message says why)."""


class DirectionError(NasirError, ValueError):
    """A metric direction is neither 'maximize' nor 'minimize', or a metric that needs one has none."""


class AskTellError(NasirError, ValueError):
    """``ask``/``tell`` misuse: ``ask(n)`` with n < 1, ``tell`` of an architecture or trial not awaiting a result, or a
    result that does not fit (metrics where one number is needed, or one number where metrics are)."""


class TellResultTypeError(AskTellError, TypeError):
    """``tell`` got a result that is neither metrics, a number nor an error (exception or text)."""


class SeedTypeError(NasirError, TypeError):
    """A seed is not an int, a ``numpy.random.Generator`` or None."""


class SeedValueError(NasirError, ValueError):
    """A seed is a negative int, or too large for the framework that takes it."""


class ExecutorConfigError(NasirError, ValueError):
    """An executor was given a setting it cannot take (e.g. ``max_workers`` below 1)."""


class ReportInputError(NasirError, ValueError):
    """A report picture or table was asked of inputs that do not fit (proxy and truth of different lengths, an unknown
    picture format, a trial table file that is neither CSV nor JSON)."""


class RuntimeOptionError(NasirError, ValueError):
    """An option the runtime does not know, or a value it cannot take."""


class DeviceUnavailableError(NasirError, RuntimeError):
    """The runtime cannot reach the requested device (no GPU, no such index): never a silent fallback."""


class ProviderError(NasirError, RuntimeError):
    """The requested execution provider is unknown, or (strict mode) not the one onnxruntime runs."""


class ModelFileError(NasirError, FileNotFoundError):
    """An ONNX model file does not exist."""


class ModelLoadError(NasirError, ValueError):
    """onnxruntime cannot build a session for a model (invalid file, unsupported op or IR version)."""


class ModelInputError(NasirError, ValueError):
    """The arrays given to a model do not match its inputs (their number, a fixed batch size, a shape)."""


class ExportOptionError(NasirError, ValueError):
    """An export setting ONNX cannot take: an opset out of range, a batch axis that is neither a size nor a name."""


class LatencyCacheError(SchemaError):
    """A latency cache path cannot be opened as SQLite, or holds another schema (the message names the file)."""


class ModelTypeError(NasirError, TypeError):
    """A function that takes a network (a frontend's ``lower``, ``train`` or proxy scoring, ONNX export, latency
    measurement) was given something other than a nasir Network, an Arch or a model it knows."""


class OptionValueError(NasirError, ValueError):
    """A keyword option got a value outside the few it takes (a tensor layout, a scoring dtype); the message lists them."""


class DataConfigError(NasirError, ValueError):
    """A data loader was given settings that do not fit together (training batches without a random generator)."""


class GrammarError(NasirError, ValueError):
    """A grammar is malformed: a right-hand side breaks the interface rules, a symbol never terminates."""


class UndefinedSymbolError(GrammarError, UnknownNameError):
    """A non-terminal is used (or chosen as start) but has no productions."""


class InfiniteLanguageError(SpaceTooLargeError):
    """Enumeration or an exact count was asked of a recursive grammar without a size bound."""


class UnsatisfiableConstraintsError(GrammarError):
    """No derivation satisfying the constraints was found within the allowed number of tries."""


class InvalidDerivationError(GrammarError):
    """A derivation tree or architecture does not belong to the grammar."""


class ParameterError(GrammarError):
    """Parameters passed down the tree are used inconsistently (the subclasses say how)."""


class UnboundParameterError(ParameterError):
    """An op (or a binding) reads a parameter that no ancestor binds on some path from the start, and it has no default."""


class UnknownParameterError(ParameterError, UnknownNameError):
    """A non-terminal reference binds a parameter that nothing the non-terminal derives reads."""


class ParameterTypeError(ParameterError, TypeError):
    """A parameter is bound to values of different types (or to an unhashable value, or scaled but not a number)."""


class ArchTooLargeError(NasirError, ValueError):
    """An architecture has more nodes than a graph encoding is padded to (the space's node bound)."""
