"""formcheck: exercise form checking for physiotherapy home programmes."""

__version__ = "0.1.0"
