"""PDF documents Zegel writes itself: the proof of delivery and the recipient's own copy.

fpdf2 draws them with the DejaVu Sans fonts bundled in zegel/core/fonts (licence next to them),
so names and text in any European script come out as written, on a machine without any fonts
installed. The file carries no JavaScript, no forms and no external links: only text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONTS = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVu"


class Document(FPDF):
    """An A4 page with a running footer ("page 2 of 3" in the caller's words)."""

    def __init__(self, *, title: str, author: str, footer: str = "") -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_title(title)
        self.set_author(author)
        self.set_creator("Zegel")
        self.set_lang("nl")
        self.footer_text = footer
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 18, 18)
        self.alias_nb_pages()
        self.add_page()

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(90, 90, 90)
        text = f"{self.footer_text}  {self.page_no()}/{{nb}}" if self.footer_text \
            else f"{self.page_no()}/{{nb}}"
        self.cell(0, 6, text, align="R")
        self.set_text_color(0, 0, 0)

    def heading(self, text: str, size: float = 15) -> None:
        self.set_font(FAMILY, "B", size)
        self.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)

    def paragraph(self, text: str, size: float = 10) -> None:
        self.set_font(FAMILY, "", size)
        self.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)

    def field(self, label: str, value: str, size: float = 10) -> None:
        """'Label: value' on one line that wraps under the value."""
        self.set_font(FAMILY, "B", size)
        width = self.get_string_width(label + " ") + 1
        self.cell(width, size * 0.5, label)
        self.set_font(FAMILY, "", size)
        self.multi_cell(0, size * 0.5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def rows(self, header: list[str], rows: list[list[str]], widths: list[float],
             size: float = 8.5) -> None:
        """A plain table (header row first) that breaks across pages and repeats its header.
        `widths` are relative: they are scaled to the page."""
        self.set_font(FAMILY, "", size)
        usable = self.w - self.l_margin - self.r_margin
        total = sum(widths)
        with self.table(col_widths=tuple(w * usable / total for w in widths),
                        line_height=size * 0.55, text_align="LEFT",
                        first_row_as_headings=True) as table:
            for values in [header, *rows]:
                row = table.row()
                for value in values:
                    row.cell(value)
        self.ln(2)

    def output_bytes(self) -> bytes:
        return bytes(self.output())


def utc(moment: datetime | None) -> str:
    """A moment as the documents print it: ISO 8601 in UTC with a Z ("" for none)."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
