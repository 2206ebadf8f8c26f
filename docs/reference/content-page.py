#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Turns one of the notes in docs/ into a gi-docgen content page.

gi-docgen takes a page's title from a `Title:` line at its very top, and
the notes, which are read as they are on a forge and in $datadir/doc,
start with a comment or their heading instead. The page gets its first
`# ` heading as title, and links between notes point at their pages.

usage: content-page.py INPUT.md OUTPUT.md
"""
import re
import sys

source = open(sys.argv[1], encoding='utf-8').read()
heading = re.search(r'^# (.+)$', source, re.M)
if heading is None:
    sys.exit(f'{sys.argv[1]}: no "# " heading to take the title from')
body = re.sub(r'^<!--.*?-->\n', '', source, flags=re.S)
body = re.sub(r'\]\(([a-z-]+)\.md\)', r'](\1.html)', body)
with open(sys.argv[2], 'w', encoding='utf-8') as out:
    out.write(f'Title: {heading.group(1)}\n\n{body}')
