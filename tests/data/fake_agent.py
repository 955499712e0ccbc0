"""A deterministic stand-in agent for snapshot and pane tests: draws a fixed screen, then echoes lines."""

import sys

ESC = "\x1b"


def main() -> None:
    out = sys.stdout
    out.write(f"{ESC}]0;✳ Fake Agent{ESC}\\")
    border = f"{ESC}[1;38;5;208m"
    out.write(f"{border}╭{'─' * 34}╮{ESC}[0m\r\n")
    out.write(
        f"{border}│{ESC}[0m {ESC}[1mFake Agent{ESC}[0m {ESC}[2mv1.0 · deterministic{ESC}[0m  {border}│{ESC}[0m\r\n"
    )
    out.write(f"{border}╰{'─' * 34}╯{ESC}[0m\r\n\r\n")
    colours = " ".join(
        f"{ESC}[{30 + i}m{name}{ESC}[0m"
        for i, name in enumerate(["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"])
    )
    out.write(f"16 colours: {colours}\r\n")
    out.write(
        f"styles: {ESC}[1mbold{ESC}[0m {ESC}[3mitalic{ESC}[0m {ESC}[4munderline{ESC}[0m "
        f"{ESC}[7mreverse{ESC}[0m {ESC}[9mstrike{ESC}[0m {ESC}[38;2;255;105;180mtruecolor{ESC}[0m "
        f"{ESC}[48;5;24m 256-bg {ESC}[0m 宽字符\r\n\r\n"
    )
    out.write(f"{ESC}[38;5;244m● Ready. Type a line and press Enter.{ESC}[0m\r\n")
    out.write("❯ ")
    out.flush()
    for line in sys.stdin:
        out.write(f"you said: {line.strip()}\r\n❯ ")
        out.flush()


if __name__ == "__main__":
    main()
