"""``python -m kinemic_cli`` (what ``torchrun -m kinemic_cli`` runs)."""

from .commands.app import main

main()
