"""``python -m detente.cli`` — the same as the ``detente`` command."""

from detente.cli import app

if __name__ == "__main__":
    app(prog_name="detente")
