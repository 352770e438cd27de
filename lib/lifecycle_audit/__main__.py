"""`python -m lifecycle_audit`: the same as the `lifecycle-audit` command."""

from .cli import main

if __name__ == "__main__":  # the runner's worker processes import this module without running it
    main()
