"""The store's machinery under the engines: the PynamoDB model bound to the settings, keys, the
steps (the rules, no I/O), one call's bookkeeping (breaker, metrics) and the two drivers.

May import ``conf`` and ``exceptions`` only; ``backends/`` builds Django's contract on top of it.
"""
