"""The schedule engine: the vocabulary (`model`), the rules any schedule must pass (`rules`), shift
templates and break placement (`shifts`), the week's grid of slots and templates (`grid`), the search
(`engine`) and its lower bound (`bound`), how a schedule scores (`scoring`) and the CLI's files (`files`)."""
