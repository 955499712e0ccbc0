"""The app's panels and dialogs, one widget per file."""
