"""Runnable entry: `python cli.py ARGS` behaves exactly like `proxynas ARGS`."""

from proxynas.cli import main

if __name__ == "__main__":
    main()
