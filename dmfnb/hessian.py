"""(filled by its chapter)"""

__all__: list[str] = []
