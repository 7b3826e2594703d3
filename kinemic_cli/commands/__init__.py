"""The CLI: the Typer app (:mod:`.app`) and one module per command group; each parses options, calls ONE library function and prints its result."""
