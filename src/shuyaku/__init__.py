"""shuyaku — 国保情報集約システム (prefecture-level NHI information aggregation)."""

__version__ = "0.1.0"
