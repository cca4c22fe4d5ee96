"""Entry script of the bundle's `sam-labeler` executable (PyInstaller; see sam-labeler.spec).

The executable starts the GUI and serves every sub-command, like the pip-installed `sam-labeler`; it
is also the interpreter of the app's worker processes (multiprocessing workers, e.g. the accept service).
"""
import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a spawned worker runs its task here instead of the app
    from app.__main__ import main

    main()
