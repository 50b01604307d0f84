"""One module per part of the page; each draws from data it is given."""
