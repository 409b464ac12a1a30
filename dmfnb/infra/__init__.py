"""Infrastructure of the book, not of the model: scales, the reproduce runner, process pool,
array backend, classroom export, figure style, and the check/table types chapters report in."""
