"""The web layer: the REST API (``/api/v1``) for municipal systems, on the same service
functions as the CLI. It parses requests, authenticates, and maps ``ShuyakuError`` to RFC
9457 problem documents once; it holds no rule, scope filter or role check of its own."""
