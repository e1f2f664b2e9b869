"""The command language: text to a typed command. Pure: no I/O, imports nothing of EVA's."""

__all__: list[str] = []
