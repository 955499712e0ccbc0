"""Command-line diagnostics: `taskping-tui doctor` (checks the set-up) and `taskping-tui inspect` (runs one
mail through the gate without typing anything). No Textual imports here."""
