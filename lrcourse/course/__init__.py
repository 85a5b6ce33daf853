"""What the notebooks use to show things: the figure style, the package's own source, the
environment check, and the source lesson's code (bugs included) with its printed table."""
