"""`python -m shuyaku.cli`."""

from shuyaku.cli import main

main()
