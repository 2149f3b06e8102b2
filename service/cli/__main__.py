"""``python -m service.cli``: the ``skyground`` command without the installed script."""

from service.cli import main

if __name__ == "__main__":
    main()
