"""rich renders a table with non-ASCII text (accents, CJK, emoji, box drawing) to the
standard output, as to a UTF-8 terminal, and to a file. Width and colour system are fixed
so the output does not depend on the terminal the test runs in."""
import sys

from rich.console import Console
from rich.table import Table

table = Table(title="Café menu — テスト", show_lines=True)
table.add_column("Item", style="bold cyan")
table.add_column("Origin", justify="center")
table.add_column("Price €", justify="right", style="green")
rows = [
    ("Crème brûlée", "France 🇫🇷", "6.50"),
    ("Smørrebrød", "Danmark", "8.25"),
    ("抹茶ラテ", "日本", "4.80"),
    ("Piñata cake 🎂", "México", "12.00"),
    ("Ελληνικός καφές", "Ελλάδα", "3.10"),
]
for row in rows:
    table.add_row(*row)

terminal = Console(
    file=sys.stdout, width=72, color_system="truecolor", force_terminal=True,
    legacy_windows=False, emoji=True,
)
terminal.print(table)
terminal.print("[bold red]Ünïcödé[/] :thumbs_up: done", highlight=False)

with open(sys.argv[1], "w", encoding="utf-8") as out:
    plain = Console(file=out, width=60, color_system=None, force_terminal=False)
    plain.print(table)
    plain.rule("fin ✓")
