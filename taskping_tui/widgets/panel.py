"""A titled sidebar panel: a list of entries, or a sentence saying what will appear there."""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option, OptionDoesNotExist

EntryType = TypeVar("EntryType")


def with_dividers(options: list[Option]) -> list[Option | None]:
    """A divider line between options (None in OptionList terms): multi-line entries run together without."""
    return [item for index, option in enumerate(options) for item in ([None, option] if index else [option])]


class Panel(Vertical, Generic[EntryType], can_focus=True):
    """Base of the three sidebar panels. Subclasses set TITLE, write their empty-state text, and say how
    an entry (their view model, e.g. a CommandEntry) is identified and rendered.

    The panel itself takes focus while it is empty, so the sidebar's keys work before any entry exists;
    once it has entries, focus passes to the list.
    """

    DEFAULT_CSS = """
    Panel {
        height: 1fr;
        border: round $foreground 30%;
        border-title-color: $text-muted;
        border-subtitle-color: $text-muted;
        padding: 0 1;

        &:focus-within {
            border: round $accent;
            border-title-color: $text;
        }

        .panel-empty {
            display: none;
            color: $text-muted;
        }

        .panel-problem {
            display: none;
            color: $error;
            margin-bottom: 1;
        }

        &.-problem .panel-problem {
            display: block;
        }

        &.-empty .panel-empty {
            display: block;
        }

        &.-empty.-problem .panel-empty {
            display: none;
        }

        &.-empty .panel-list {
            display: none;
        }

        .panel-list {
            height: 1fr;
            border: none;
            padding: 0;
            background: transparent;
            /* The sidebar is narrow: a one-cell scrollbar leaves a column more for the entries. */
            scrollbar-size-vertical: 1;

            &:focus {
                border: none;
            }
        }

        /* A tinted row instead of the solid block cursor: entries keep their state colours readable. */
        .panel-list > .option-list--option-highlighted {
            color: $foreground;
            background: $primary 15%;
            text-style: none;
        }

        .panel-list:focus > .option-list--option-highlighted {
            color: $foreground;
            background: $primary 30%;
            text-style: none;
        }
    }
    """

    TITLE = ""
    # New entries go on top (notifications, mail) or at the end (the command queue).
    NEWEST_FIRST: ClassVar[bool] = True

    count: reactive[int] = reactive(0)

    def __init__(self, empty_text: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="panel -empty")
        self._empty_text = empty_text
        self._entries: dict[str, EntryType] = {}

    def option_id(self, entry: EntryType) -> str:
        """The id of the list option that shows ``entry``."""
        raise NotImplementedError

    def render_entry(self, entry: EntryType) -> Content:
        raise NotImplementedError

    def show(self, entry: EntryType) -> None:
        """Add ``entry``, or update it in place when it is already shown."""
        option_id = self.option_id(entry)
        self._entries[option_id] = entry
        self.add_entry(option_id, self.render_entry(entry), newest_first=self.NEWEST_FIRST)

    def show_all(self, entries: list[EntryType]) -> None:
        """Show exactly ``entries`` in this order, keeping the highlighted one highlighted."""
        self._entries = {self.option_id(entry): entry for entry in entries}
        self.replace_entries([(option_id, self.render_entry(entry)) for option_id, entry in self._entries.items()])

    @property
    def highlighted_entry(self) -> EntryType | None:
        key = self.highlighted_key
        return self._entries.get(key) if key is not None else None

    def compose(self) -> ComposeResult:
        yield Static(self._empty_text, classes="panel-empty", markup=False)
        yield OptionList(classes="panel-list")

    def on_mount(self) -> None:
        self.border_title = self.TITLE

    @property
    def option_list(self) -> OptionList:
        return self.query_one(".panel-list", OptionList)

    @property
    def highlighted_key(self) -> str | None:
        entries = self.option_list
        if entries.highlighted is None:
            return None
        return entries.get_option_at_index(entries.highlighted).id

    def on_option_list_option_highlighted(self) -> None:
        self.refresh_bindings()

    def add_entry(self, entry_id: str, prompt: Content | Text | str, *, newest_first: bool = True) -> None:
        """Add one entry, or replace the entry with the same id in place."""
        entries = self.option_list
        try:
            entries.get_option(entry_id)
        except OptionDoesNotExist:
            option = Option(prompt, id=entry_id)
            if newest_first and entries.option_count:
                highlighted = entries.highlighted
                options = [option, *(entries.get_option_at_index(i) for i in range(entries.option_count))]
                entries.clear_options()
                entries.add_options(with_dividers(options))
                if highlighted is not None:
                    # Stay on the entry the user was on (it moved down by one), not lose the highlight.
                    entries.highlighted = highlighted + 1
            else:
                entries.add_options([None, option] if entries.option_count else [option])
        else:
            entries.replace_option_prompt(entry_id, prompt)
        self.count = entries.option_count

    def on_focus(self) -> None:
        if self.count:
            entries = self.option_list
            entries.focus()
            # Without a highlighted entry the panel's keys (approve, resend…) do nothing until an arrow key.
            if entries.highlighted is None:
                entries.highlighted = 0

    def replace_entries(self, entries: list[tuple[str, Content | str]]) -> None:
        """Show exactly ``entries`` in this order, keeping the highlighted entry highlighted."""
        highlighted = self.highlighted_key
        option_list = self.option_list
        option_list.clear_options()
        option_list.add_options(with_dividers([Option(prompt, id=key) for key, prompt in entries]))
        keys = [key for key, _ in entries]
        if highlighted in keys:
            option_list.highlighted = keys.index(highlighted)
        self.count = option_list.option_count

    def watch_count(self, count: int) -> None:
        self.set_class(count == 0, "-empty")
        self.border_subtitle = str(count) if count else ""
