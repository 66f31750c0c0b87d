"""Internals of the DataLoader (torch.utils.data._utils): collation, fetchers, worker loop."""
import atexit

# None until set up, False while the interpreter runs, True once it is exiting: the loader's
# shutdown code must not touch queues and processes that the interpreter is tearing down.
python_exit_status = False


def _set_python_exit_flag() -> None:
    global python_exit_status
    python_exit_status = True


atexit.register(_set_python_exit_flag)

from . import collate, fetch, worker  # noqa: E402,F401
