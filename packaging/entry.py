"""Entry point of the PyInstaller build: the binary is the ``composer`` command.

Its arguments are the CLI's (``composer gui``, ``composer train ...``); with none it opens the
app, as a double-click or a desktop launcher does.
"""

import multiprocessing
import sys

from composer.cli import main

if __name__ == "__main__":
    # A spawn/forkserver worker (MIDI preprocessing) re-runs this binary; this hands it over.
    multiprocessing.freeze_support()
    sys.exit(main(sys.argv[1:] or ["gui"]))
