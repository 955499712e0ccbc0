"""Textual screens of the app: the main screen and the presenters that word its panel entries."""
