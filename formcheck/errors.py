"""The one exception type users see: its message is a single line that says what to do."""


class FormcheckError(Exception):
    """A problem with the user's input or setup, reported as one clear line (never a traceback)."""


class VideoError(FormcheckError):
    """The input file cannot be read as a video."""


class ModelError(FormcheckError):
    """The pose model is missing, corrupt or cannot be prepared."""
