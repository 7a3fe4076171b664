"""Render: templates (the only home of Jinja2 and premailer), the translation tables, text
layout.
"""
