"""`python -m proxynas.cli ARGS` behaves like `proxynas ARGS`."""

from proxynas.cli import main

main()
