"""``python -m engine.cli``: the ``corpus`` command."""
from engine.cli import main

main()
