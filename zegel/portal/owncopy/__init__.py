"""The recipient's own copy (NTA 7516 6.1.18): the conversation as a PDF (pdf.py), each message
as an .eml that any mail program opens (eml.py).

Both are built from the messages the portal already decided this recipient may see
(content.visible_messages, opened by the view): nothing here looks messages up on its own, so
a copy holds no more than the conversation page shows. What goes in: docs/recipients.md and
docs/architecture.md ("The recipient's own copy").
"""
