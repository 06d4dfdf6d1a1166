"""``python -m fewshot``: the same as the ``fewshot`` command."""

from .cli import main

raise SystemExit(main())
