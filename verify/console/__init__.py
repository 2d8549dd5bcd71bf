"""What a command shows and checks at the terminal: progress of long runs, argument checks.

The lowest layer: every command (``verify report``, ``selfcheck``, ``gate``, ``explore``) uses it,
and it imports nothing of the package.
"""
