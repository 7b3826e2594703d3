"""``python -m kinemic_cli`` (what ``torchrun -m kinemic_cli`` runs)."""

from .cli import main

main()
