"""The ``rnnkit`` command line: thin typer commands over plain, importable functions."""
