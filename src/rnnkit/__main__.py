"""``python -m rnnkit`` runs the CLI (this is also what ``torchrun -m rnnkit`` uses)."""
from rnnkit.cli.app import main

if __name__ == "__main__":
    main()
